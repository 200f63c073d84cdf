using StableDiffusion.Native.Cli.Serve;
using StableDiffusion.Native.Tests.Integration;
using static StableDiffusion.Native.Tests.Cli.Serve.ServerTestSupport;

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>The page of `sdnet serve` in a real browser: fill the form, generate, see the steps, the preview and the image.</summary>
[Collection(NativeToolCollection.Name)]
public sealed class PageTests(TinyGeneratorFixture fixture)
{
    /// <summary>Where the screenshot of the finished page is written, when set.</summary>
    public const string ScreenshotVariable = "SDNET_SCREENSHOT_DIR";

    [SkippableFact]
    public async Task The_page_generates_an_image_with_live_progress_and_no_console_errors()
    {
        var (chromium, reason) = HeadlessChromium.Find();
        Skip.If(chromium is null, reason);
        await using var server = await StartAsync(fixture.Generator);
        await using var browser = await HeadlessChromium.StartAsync(chromium!);
        await browser.NavigateAsync(server.Address);

        Assert.Equal(Path.GetFileName(NativeTestEnvironment.TinySd1), await WaitForAsync(browser, "document.getElementById('model').textContent || null", TimeSpan.FromSeconds(10)));
        await browser.EvaluateAsync("""
            (() => {
              const set = (id, v) => { document.getElementById(id).value = v; };
              set('prompt', 'a lighthouse on a cliff'); set('negative', 'fog');
              set('width', '64'); set('height', '64'); set('steps', '60'); set('seed', '42');
              document.getElementById('generate').click();
            })()
            """);

        // Watch the page while it samples: the step counter and the preview must update before the result arrives.
        var seenSteps = new HashSet<string>();
        bool sawPreview = false;
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            string state = (await browser.EvaluateAsync("""
                JSON.stringify({ step: document.getElementById('step').textContent,
                  preview: !document.getElementById('preview').hidden && document.getElementById('preview').src.startsWith('data:image/png'),
                  width: document.getElementById('image').naturalWidth, hidden: document.getElementById('output').hidden })
                """))!.GetValue<string>();
            using var doc = System.Text.Json.JsonDocument.Parse(state);
            string step = doc.RootElement.GetProperty("step").GetString()!;
            if (step.StartsWith("step ", StringComparison.Ordinal)) seenSteps.Add(step);
            sawPreview |= doc.RootElement.GetProperty("preview").GetBoolean();
            if (!doc.RootElement.GetProperty("hidden").GetBoolean() && doc.RootElement.GetProperty("width").GetInt32() == 64) break;
            await Task.Delay(150);
        }

        Assert.Equal(64, (int)(await browser.EvaluateAsync("document.getElementById('image').naturalWidth"))!.GetValue<double>());
        Assert.True(seenSteps.Count >= 2, "the step counter updated while sampling: " + string.Join(" | ", seenSteps));
        Assert.Contains(seenSteps, s => s.EndsWith("/60", StringComparison.Ordinal));
        Assert.True(sawPreview, "a preview was shown while sampling");
        string parameters = (await browser.EvaluateAsync("document.getElementById('parameters').textContent"))!.GetValue<string>();
        Assert.Contains("Seed: 42", parameters, StringComparison.Ordinal);
        Assert.Contains("Negative prompt: fog", parameters, StringComparison.Ordinal);
        Assert.Equal("done: seed 42", (await browser.EvaluateAsync("document.getElementById('step').textContent"))!.GetValue<string>());
        Assert.Equal(1, (int)(await browser.EvaluateAsync("document.querySelectorAll('#history img').length"))!.GetValue<double>());
        // No key is needed here, so none is asked for.
        Assert.Equal("none", (await browser.EvaluateAsync("getComputedStyle(document.getElementById('key-row')).display"))!.GetValue<string>());

        if (Environment.GetEnvironmentVariable(ScreenshotVariable) is { Length: > 0 } dir)
        {
            Directory.CreateDirectory(dir);
            await File.WriteAllBytesAsync(Path.Combine(dir, "sdnet-serve-page.png"), await browser.ScreenshotAsync());
        }
        Assert.Empty(browser.Errors);
    }

    [SkippableFact]
    public async Task The_page_picks_from_the_servers_lists_runs_img2img_from_an_upload_and_reuses_settings()
    {
        var (chromium, reason) = HeadlessChromium.Find();
        Skip.If(chromium is null, reason);
        await using var server = await StartAsync(fixture.Generator);
        await using var browser = await HeadlessChromium.StartAsync(chromium!);
        await browser.NavigateAsync(server.Address);

        // The pickers hold the server's own lists: every sampler (and "Default"), "automatic" and every scheduler, the model.
        string counts = await WaitForAsync(browser, """
            document.getElementById('model-select').options.length ? JSON.stringify([document.getElementById('sampler').options.length,
              document.getElementById('scheduler').options.length, document.getElementById('model-select').value]) : null
            """, TimeSpan.FromSeconds(10));
        Assert.Equal($"[{Enum.GetValues<Sampler>().Length + 1},{Enum.GetValues<Scheduler>().Length + 1},\"{Path.GetFileName(NativeTestEnvironment.TinySd1)}\"]", counts);

        await browser.EvaluateAsync("""
            (() => {
              const set = (id, v) => { document.getElementById(id).value = v; };
              set('prompt', 'a red door'); set('width', '64'); set('height', '64'); set('steps', '2'); set('seed', '7');
              set('sampler', 'Euler'); set('scheduler', 'karras'); set('cfg', '5');
              document.getElementById('generate').click();
            })()
            """);
        await WaitForAsync(browser, "document.getElementById('step').textContent.startsWith('done') ? 'yes' : null", TimeSpan.FromMinutes(2));
        string first = (await browser.EvaluateAsync("document.getElementById('parameters').textContent"))!.GetValue<string>();
        Assert.Contains("Sampler: euler karras", first, StringComparison.Ordinal);
        Assert.Contains("CFG scale: 5,", first, StringComparison.Ordinal);
        Assert.Contains("Seed: 7,", first, StringComparison.Ordinal);
        Assert.DoesNotContain("Denoising strength", first, StringComparison.Ordinal);

        // Image to image from an uploaded file (a PNG drawn here, handed to the file input as a user's pick would be).
        await browser.EvaluateAsync("""
            (async () => {
              const canvas = document.createElement('canvas'); canvas.width = 64; canvas.height = 64;
              const g = canvas.getContext('2d'); g.fillStyle = '#2060c0'; g.fillRect(0, 0, 64, 64); g.fillStyle = '#f0d020'; g.fillRect(16, 16, 32, 32);
              const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
              const files = new DataTransfer(); files.items.add(new File([blob], 'start.png', { type: 'image/png' }));
              const input = document.getElementById('init'); input.files = files.files; input.dispatchEvent(new Event('change'));
            })()
            """);
        await WaitForAsync(browser, "document.getElementById('init-preview').hidden ? null : 'yes'", TimeSpan.FromSeconds(10));
        await browser.EvaluateAsync("document.getElementById('strength').value = '0.5'; document.getElementById('generate').click()");
        await WaitForAsync(browser, "document.getElementById('step').textContent.startsWith('done') ? 'yes' : null", TimeSpan.FromMinutes(2));
        string second = (await browser.EvaluateAsync("document.getElementById('parameters').textContent"))!.GetValue<string>();
        Assert.Contains("Denoising strength: 0.5", second, StringComparison.Ordinal);
        Assert.Equal(2, (int)(await browser.EvaluateAsync("document.querySelectorAll('#history img').length"))!.GetValue<double>());

        // "Use these settings again" puts the shown image's settings back, seed included.
        string restored = (await browser.EvaluateAsync("""
            (() => {
              const set = (id, v) => { document.getElementById(id).value = v; };
              set('seed', '99'); set('cfg', '9'); set('steps', '30'); set('sampler', ''); set('prompt', 'something else');
              document.getElementById('reuse').click();
              const get = (id) => document.getElementById(id).value;
              return JSON.stringify([get('seed'), get('cfg'), get('steps'), get('sampler'), get('scheduler'), get('prompt')]);
            })()
            """))!.GetValue<string>();
        Assert.Equal("""["7","5","2","Euler","karras","a red door"]""", restored);
        Assert.Empty(browser.Errors);
    }

    [SkippableFact]
    public async Task On_a_server_of_several_models_the_page_switches_model_and_shows_which_one_answered()
    {
        var (chromium, reason) = HeadlessChromium.Find();
        Skip.If(chromium is null, reason);
        NativeTestEnvironment.Require();
        using var folder = new TwoModelFolder();
        await using var server = await StartAsync(folder.Catalog(), new ServeOptions { Host = "127.0.0.1", Port = 0 }, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await using var browser = await HeadlessChromium.StartAsync(chromium!);
        await browser.NavigateAsync(server.Address);

        string models = await WaitForAsync(browser, """
            document.getElementById('model-select').options.length ? JSON.stringify([...document.getElementById('model-select').options].map((o) => o.textContent)) : null
            """, TimeSpan.FromSeconds(10));
        Assert.Equal("""["alpha","beta","beta-fast"]""", models);

        async Task<string> GenerateWith(string model)
        {
            await browser.EvaluateAsync($$"""
                (() => {
                  const set = (id, v) => { document.getElementById(id).value = v; };
                  set('model-select', '{{model}}'); document.getElementById('model-select').dispatchEvent(new Event('change'));
                  set('prompt', 'a red door'); set('width', '64'); set('height', '64'); set('steps', '1'); set('seed', '7');
                  document.getElementById('generate').click();
                })()
                """);
            await WaitForAsync(browser, "document.getElementById('step').textContent.startsWith('done') ? 'yes' : null", TimeSpan.FromMinutes(2));
            return (await browser.EvaluateAsync("document.getElementById('parameters').textContent"))!.GetValue<string>();
        }

        Assert.EndsWith("Model: beta", await GenerateWith("beta.safetensors"), StringComparison.Ordinal);
        Assert.Equal(["beta"], server.State.Queue.Pool.Resident.Select(m => m.Name));
        Assert.EndsWith("Model: alpha", await GenerateWith("alpha.safetensors"), StringComparison.Ordinal);
        Assert.Equal(["alpha", "beta"], server.State.Queue.Pool.Resident.Select(m => m.Name));
        // "Use these settings again" puts the model back too.
        string picked = (await browser.EvaluateAsync("""
            (() => {
              document.getElementById('model-select').value = 'beta-fast.model.json';
              document.getElementById('reuse').click();
              return document.getElementById('model-select').value;
            })()
            """))!.GetValue<string>();
        Assert.Equal("alpha.safetensors", picked);
        Assert.Empty(browser.Errors);
    }

    private static async Task<string> WaitForAsync(HeadlessChromium browser, string expression, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if ((await browser.EvaluateAsync(expression))?.GetValue<string>() is { } value) return value;
            await Task.Delay(100);
        }
        throw new TimeoutException($"'{expression}' stayed null for {limit.TotalSeconds} s.");
    }
}
