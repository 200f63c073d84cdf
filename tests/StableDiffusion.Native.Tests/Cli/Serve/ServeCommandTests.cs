using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using StableDiffusion.Native.Tests.Integration;

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>`sdnet serve` as users start it: a process that prints where it listens and stops cleanly on Ctrl+C.</summary>
[Collection(NativeToolCollection.Name)]
public sealed class ServeCommandTests
{
    [SkippableFact]
    public async Task Sdnet_serve_prints_its_address_serves_and_stops_on_SIGINT()
    {
        NativeTestEnvironment.Require();
        Skip.If(OperatingSystem.IsWindows(), "sends SIGINT, which Windows consoles do not have");
        ChildProcess.SkipIfChildrenIgnoreSigInt();
        var (process, stderr, first, address) = await StartServeAsync();
        using var owned = process;
        try
        {
            Assert.StartsWith("serving " + Path.GetFileName(NativeTestEnvironment.TinySd1) + " on http://127.0.0.1:", first, StringComparison.Ordinal);
            Assert.NotEqual(0, address.Port);

            using var client = new HttpClient { BaseAddress = address };
            var models = await client.GetFromJsonAsync<JsonElement>("v1/models");
            Assert.Equal(Path.GetFileNameWithoutExtension(NativeTestEnvironment.TinySd1), models.GetProperty("data")[0].GetProperty("id").GetString());

            using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}; stderr: {await stderr}");
            await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("v1/models"));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [SkippableFact]
    public async Task Sdnet_serve_on_SIGTERM_lets_the_running_generation_finish_within_its_shutdown_timeout()
    {
        NativeTestEnvironment.Require();
        Skip.If(OperatingSystem.IsWindows(), "sends SIGTERM, which Windows does not have");
        var (process, stderr, _, address) = await StartServeAsync("--shutdown-timeout", "120");
        using var owned = process;
        try
        {
            using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(3) };
            // Several seconds of sampling: longer than System.CommandLine's default grace of 2 s after a signal.
            var running = client.PostAsync("sdapi/v1/txt2img", ServerTestSupport.Json("""{"prompt":"drain","width":64,"height":64,"steps":200,"seed":5}"""));
            await ServerTestSupport.WaitUntilSamplingAsync(client);

            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) term.WaitForExit();
            var response = await running;
            Assert.True(response.StatusCode == System.Net.HttpStatusCode.OK, $"{(int)response.StatusCode}; stderr: {await stderr}");
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(1, body.GetProperty("images").GetArrayLength());
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}; stderr: {await stderr}");
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [SkippableFact]
    public async Task Sdnet_serve_models_dir_lists_every_model_with_its_size_and_loads_one_when_asked()
    {
        NativeTestEnvironment.Require();
        using var folder = new TwoModelFolder();
        var (process, stderr, first, address) = await StartServeAsync(["--models-dir", folder.Path, "-m", "beta"], ["--max-memory", "1.5G"]);
        using var owned = process;
        try
        {
            Assert.Matches(@"^serving 3 models from .+ \(up to 1\.50 GiB resident; default beta\) on http://127\.0\.0\.1:\d+/$", first);
            using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
            var models = await client.GetFromJsonAsync<JsonElement>("v1/models");
            Assert.Equal(["alpha", "beta", "beta-fast"], models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
            var response = await client.PostAsync("v1/images/generations", ServerTestSupport.Json("""{"prompt":"x","size":"64x64","steps":1,"response_format":"b64_json"}"""));
            Assert.True(response.StatusCode == System.Net.HttpStatusCode.OK, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            var caps = await client.GetFromJsonAsync<JsonElement>("sdcpp/v1/capabilities");
            Assert.Equal("beta", caps.GetProperty("model").GetProperty("stem").GetString());
            Assert.Equal(["beta"], caps.GetProperty("models").EnumerateArray().Where(m => m.GetProperty("loaded").GetBoolean()).Select(m => m.GetProperty("stem").GetString()));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task Sdnet_serve_refuses_a_folder_without_models_and_a_default_it_does_not_hold()
    {
        using var folder = new TwoModelFolder();
        string empty = Directory.CreateTempSubdirectory("sdnet-empty-").FullName;
        try
        {
            var (code, error) = await ServeAsync("--models-dir", empty, "--port", "0");
            Assert.NotEqual(0, code);
            Assert.Contains("holds no model to serve", error, StringComparison.Ordinal);
            (code, error) = await ServeAsync("--models-dir", folder.Path, "-m", "gamma", "--port", "0");
            Assert.NotEqual(0, code);
            Assert.Contains("alpha, beta, beta-fast", error, StringComparison.Ordinal);
            (code, error) = await ServeAsync("--models-dir", folder.Path, "--max-memory", "lots", "--port", "0");
            Assert.NotEqual(0, code);
            Assert.Contains("--max-memory must be a size", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    /// <summary>Runs <c>sdnet serve</c> in this process, for the refusals that come before it listens.</summary>
    private static async Task<(int Exit, string Error)> ServeAsync(params string[] args)
    {
        var root = new System.CommandLine.RootCommand("test") { StableDiffusion.Native.Cli.Serve.ServeCommand.Create() };
        var error = new StringWriter();
        var configuration = new System.CommandLine.InvocationConfiguration { Output = new StringWriter(), Error = error, ProcessTerminationTimeout = null };
        int exit = await root.Parse(["serve", .. args]).InvokeAsync(configuration);
        return (exit, error.ToString());
    }

    /// <summary>Starts <c>sdnet serve</c> on the tiny model and a free port; returns it once it printed where it listens.</summary>
    private static Task<(Process Process, Task<string> Stderr, string FirstLine, Uri Address)> StartServeAsync(params string[] extra)
        => StartServeAsync(["-m", NativeTestEnvironment.TinySd1], extra);

    /// <summary>Starts <c>sdnet serve</c> with <paramref name="models"/> (its model arguments) on a free port.</summary>
    internal static async Task<(Process Process, Task<string> Stderr, string FirstLine, Uri Address)> StartServeAsync(string[] models, string[] extra)
    {
        var psi = new ProcessStartInfo(ChildProcess.DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { ChildProcess.SdnetDll, "serve" }.Concat(models).Concat(["--port", "0", "-t", NativeTestEnvironment.ThreadsArgument]).Concat(extra)) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            string first = await process.StandardOutput.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("no output; stderr: " + await stderr);
            return (process, stderr, first, new Uri(first[(first.LastIndexOf(" on ", StringComparison.Ordinal) + 4)..]));
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }
}
