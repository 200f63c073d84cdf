using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using StableDiffusion.Native.Cli.Serve;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.TestModels;
using StableDiffusion.Native.Tests.Integration;
using static StableDiffusion.Native.Tests.Cli.Serve.ServerTestSupport;

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>
/// A models folder of two tiny SD1 checkpoints with different weights (alpha, beta), a manifest over beta with its own
/// defaults (beta-fast) and a TAESD that is no model by itself.
/// </summary>
public sealed class TwoModelFolder : IDisposable
{
    public TwoModelFolder()
    {
        Directory.CreateDirectory(Path);
        Link("alpha.safetensors", TestModelFactory.Sd1(unetChannels: 32, seed: 1));
        Link("beta.safetensors", TestModelFactory.Sd1(unetChannels: 32, seed: 2));
        Link("tiny-decoder.safetensors", ExtraTestModels.Taesd());
        File.WriteAllText(System.IO.Path.Combine(Path, "beta-fast.model.json"), """{"model": "beta.safetensors", "defaults": {"steps": 1, "sampler": "euler"}}""");
    }

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sdnet-models-" + Guid.NewGuid().ToString("N"));

    /// <summary>One model's estimated weight memory (alpha and beta have the same shapes).</summary>
    public long OneModel => ModelInfo.FromFile(System.IO.Path.Combine(Path, "alpha.safetensors")).EstimateMemory().TotalBytes;

    /// <summary>The catalog a server of this folder serves, loading with two threads.</summary>
    internal ModelCatalog Catalog(string? defaultName = null)
        => ModelCatalog.FromFolder(new ModelsFolder(Path), new GeneratorOptions { Threads = NativeTestEnvironment.Threads }, defaultName, NullLogger.Instance);

    private void Link(string name, string target)
    {
        string link = System.IO.Path.Combine(Path, name);
        try
        {
            File.CreateSymbolicLink(link, target);
        }
        catch (IOException)
        {
            File.Copy(target, link); // no symbolic links here (Windows without the privilege)
        }
        catch (UnauthorizedAccessException)
        {
            File.Copy(target, link);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary><c>sdnet serve</c> over a models folder: lists, routing by name, the memory budget, arrival order.</summary>
[Collection(NativeToolCollection.Name)]
public sealed class MultiModelServeTests(TwoModelFolder folder) : IClassFixture<TwoModelFolder>
{
    private static string Txt2Img(string? model, int seed = 3, int steps = 2)
        => $$"""{"prompt":"a lighthouse","width":64,"height":64,"steps":{{steps}},"seed":{{seed}},"sampler_name":"Euler"{{(model is null ? "" : $$""","override_settings":{"sd_model_checkpoint":"{{model}}"}""")}}}""";

    private static async Task<(string Model, byte[] Pixels, string Infotext)> GenerateAsync(HttpClient client, string? model, int seed = 3, int steps = 2)
    {
        var response = await client.PostAsync("sdapi/v1/txt2img", Json(Txt2Img(model, seed, steps)));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var info = JsonDocument.Parse(body.GetProperty("info").GetString()!).RootElement;
        byte[] png = body.GetProperty("images")[0].GetBytesFromBase64();
        // Pixels, not the PNG: its text chunk names the model, so the files of two models always differ.
        return (info.GetProperty("sd_model_name").GetString()!, ServerImages.DecodeRgb(png, "test").Pixels.ToArray(), info.GetProperty("infotexts")[0].GetString()!);
    }

    [Fact]
    public void The_folder_serves_its_checkpoints_and_manifests_and_skips_component_files()
    {
        var catalog = folder.Catalog();
        Assert.Equal(["alpha", "beta", "beta-fast"], catalog.Names);
        Assert.Equal("alpha", catalog.Default.Name);
        Assert.Equal(1, catalog.Find("beta-fast")!.Defaults!.Steps);
        Assert.Equal("beta-fast.model.json", catalog.Find("beta-fast")!.FileName);
        Assert.Same(catalog.Find("beta"), catalog.Find("beta.safetensors [0123abcd]"));
        Assert.Equal(folder.OneModel, catalog.Find("alpha")!.EstimatedBytes);
        Assert.Equal("beta", folder.Catalog("beta").Default.Name);
        var unknown = Assert.Throws<ArgumentException>(() => folder.Catalog("gamma"));
        Assert.Contains("alpha, beta, beta-fast", unknown.Message, StringComparison.Ordinal);
        var error = Assert.Throws<ModelNotFoundException>(() => catalog.Route("gamma", "model"));
        Assert.Contains("alpha, beta, beta-fast", error.Message, StringComparison.Ordinal);
        Assert.Same(catalog.Default, catalog.RouteOpenAi("dall-e-3"));
        Assert.Throws<ModelNotFoundException>(() => catalog.RouteOpenAi("gamma"));
    }

    [Theory]
    [InlineData("12", 12L << 30)]
    [InlineData("1.5", 3L << 29)]
    [InlineData("512M", 512L << 20)]
    [InlineData("12GiB", 12L << 30)]
    [InlineData("2t", 2L << 40)]
    public void Max_memory_reads_gib_or_a_unit(string text, long bytes) => Assert.Equal(bytes, ModelCatalog.ParseSize(text, "--max-memory"));

    [Theory]
    [InlineData("0")]
    [InlineData("-1G")]
    [InlineData("12X")]
    [InlineData("lots")]
    [InlineData("NaN")]
    [InlineData("1e30T")]
    public void Max_memory_refuses_what_is_not_a_size(string text)
        => Assert.Contains("--max-memory", Assert.Throws<ArgumentException>(() => ModelCatalog.ParseSize(text, "--max-memory")).Message, StringComparison.Ordinal);

    [SkippableFact]
    public async Task Each_request_is_served_by_the_model_it_names_and_an_unknown_name_is_a_404_listing_them()
    {
        NativeTestEnvironment.Require();
        await using var server = await ImageServer.StartAsync(folder.Catalog(), new ServeOptions { Host = "127.0.0.1", Port = 0 }, NullLogger.Instance);
        using var client = Client(server);

        var openAi = await client.GetFromJsonAsync<JsonElement>("v1/models");
        Assert.Equal(["alpha", "beta", "beta-fast"], openAi.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        var a1111 = await client.GetFromJsonAsync<JsonElement>("sdapi/v1/sd-models");
        Assert.Equal(["alpha.safetensors", "beta.safetensors", "beta-fast.model.json"], a1111.EnumerateArray().Select(m => m.GetProperty("title").GetString()));
        var caps = await client.GetFromJsonAsync<JsonElement>("sdcpp/v1/capabilities");
        Assert.Equal(["alpha", "beta", "beta-fast"], caps.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("stem").GetString()));
        Assert.All(caps.GetProperty("models").EnumerateArray(), m => Assert.False(m.GetProperty("loaded").GetBoolean()));
        Assert.Empty(server.State.Queue.Pool.Resident); // nothing loads before a request needs it

        var alpha = await GenerateAsync(client, "alpha");
        var beta = await GenerateAsync(client, "beta.safetensors");
        Assert.Equal("alpha", alpha.Model);
        Assert.Equal("beta", beta.Model);
        Assert.NotEqual(alpha.Pixels, beta.Pixels); // other weights, same seed: the request really went to beta
        Assert.Equal(["beta", "alpha"], server.State.Queue.Pool.Resident.Select(m => m.Name));
        Assert.Equal(alpha.Pixels, (await GenerateAsync(client, null)).Pixels); // no name: the default, alpha
        // The manifest's defaults apply to its model only: one step where the request names none.
        var fast = await client.PostAsync("sdapi/v1/txt2img", Json("""{"prompt":"x","width":64,"height":64,"seed":3,"override_settings":{"sd_model_checkpoint":"beta-fast"}}"""));
        string fastInfo = (await fast.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("info").GetString()!;
        Assert.Contains("Steps: 1,", fastInfo, StringComparison.Ordinal);
        Assert.Contains("\"sd_model_name\":\"beta-fast\"", fastInfo, StringComparison.Ordinal);

        // OpenAI's model, sdcpp's model, A1111's checkpoint: an unknown name is a 404 that lists the names served.
        var openAiUnknown = await client.PostAsync("v1/images/generations", Json("""{"prompt":"x","model":"gamma","size":"64x64"}"""));
        Assert.Equal(HttpStatusCode.NotFound, openAiUnknown.StatusCode);
        var openAiError = (await openAiUnknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("model_not_found", openAiError.GetProperty("code").GetString());
        Assert.Equal("model", openAiError.GetProperty("param").GetString());
        Assert.Contains("alpha, beta, beta-fast", openAiError.GetProperty("message").GetString(), StringComparison.Ordinal);
        var sdcppUnknown = await client.PostAsync("sdcpp/v1/img_gen", Json("""{"prompt":"x","model":"gamma"}"""));
        Assert.Equal(HttpStatusCode.NotFound, sdcppUnknown.StatusCode);
        Assert.Contains("alpha, beta, beta-fast", (await sdcppUnknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync("sdapi/v1/txt2img", Json(Txt2Img("gamma")))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("v1/models/gamma")).StatusCode);
        // OpenAI SDKs send their own model names by default: those mean the default model.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("v1/images/generations", Json("""{"prompt":"x","model":"dall-e-2","size":"64x64","steps":1,"response_format":"b64_json"}"""))).StatusCode);

        // A1111's checkpoint switch changes the model of requests that name none.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("sdapi/v1/options", Json("""{"sd_model_checkpoint":"beta.safetensors [deadbeef]"}"""))).StatusCode);
        Assert.Equal("beta.safetensors", (await client.GetFromJsonAsync<JsonElement>("sdapi/v1/options")).GetProperty("sd_model_checkpoint").GetString());
        Assert.Equal("beta.safetensors", (await client.GetFromJsonAsync<JsonElement>("sdapi/v1/sd-models"))[0].GetProperty("title").GetString());
        var switched = await GenerateAsync(client, null);
        Assert.Equal("beta", switched.Model);
        Assert.Equal(beta.Pixels, switched.Pixels);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync("sdapi/v1/options", Json("""{"sd_model_checkpoint":"gamma"}"""))).StatusCode);
    }

    [SkippableFact]
    public async Task The_budget_unloads_the_least_recently_used_model_and_a_model_over_it_is_refused()
    {
        NativeTestEnvironment.Require();
        // Room for two models, not three.
        var options = new ServeOptions { Host = "127.0.0.1", Port = 0, MaxMemory = folder.OneModel * 5 / 2 };
        await using (var server = await ImageServer.StartAsync(folder.Catalog(), options, NullLogger.Instance))
        {
            using var client = Client(server);
            await GenerateAsync(client, "alpha");
            var beta = await GenerateAsync(client, "beta");
            Assert.Equal(["beta", "alpha"], server.State.Queue.Pool.Resident.Select(m => m.Name));
            await GenerateAsync(client, "alpha", steps: 1);
            Assert.Equal(["alpha", "beta"], server.State.Queue.Pool.Resident.Select(m => m.Name));
            // A third model: beta, used least recently, makes room; alpha stays.
            await GenerateAsync(client, "beta-fast");
            Assert.Equal(["beta-fast", "alpha"], server.State.Queue.Pool.Resident.Select(m => m.Name));
            string metrics = await client.GetStringAsync("metrics");
            Assert.Equal(2, Sample(metrics, "sdnet_models_resident"));
            Assert.Equal(folder.OneModel, Sample(metrics, "sdnet_model_memory_bytes", "model=\"beta-fast\""));
            Assert.Equal(folder.OneModel, Sample(metrics, "sdnet_model_memory_bytes", "model=\"alpha\""));
            Assert.DoesNotContain("model=\"beta\"", metrics, StringComparison.Ordinal);
            // Unloaded and loaded again, beta makes the same image; now alpha goes.
            var again = await GenerateAsync(client, "beta");
            Assert.Equal(beta.Pixels, again.Pixels);
            Assert.Equal(["beta", "beta-fast"], server.State.Queue.Pool.Resident.Select(m => m.Name));
        }

        await using (var small = await ImageServer.StartAsync(folder.Catalog(), options with { MaxMemory = folder.OneModel / 2 }, NullLogger.Instance))
        {
            using var client = Client(small);
            var refused = await client.PostAsync("sdapi/v1/txt2img", Json(Txt2Img("alpha")));
            Assert.Equal(HttpStatusCode.InsufficientStorage, refused.StatusCode);
            var error = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("insufficient_memory", error.GetProperty("error").GetString());
            Assert.Contains("--max-memory", error.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Empty(small.State.Queue.Pool.Resident);
        }
    }

    [SkippableFact]
    public async Task Concurrent_requests_for_both_models_are_served_in_arrival_order_each_by_its_model()
    {
        NativeTestEnvironment.Require();
        var options = new ServeOptions { Host = "127.0.0.1", Port = 0, Queue = 8, MaxMemory = folder.OneModel * 3 / 2 };
        await using var server = await ImageServer.StartAsync(folder.Catalog(), options, NullLogger.Instance);
        using var client = Client(server);
        var reference = new Dictionary<string, byte[]>
        {
            ["beta"] = (await GenerateAsync(client, "beta")).Pixels,
            ["alpha"] = (await GenerateAsync(client, "alpha")).Pixels,
        };

        string[] order = ["alpha", "beta", "alpha", "beta", "beta", "alpha"];
        var finished = new List<int>();
        var requests = new List<Task<(string Model, byte[] Pixels, string Infotext)>>();
        long arrived = server.State.Queue.Arrivals;
        for (int i = 0; i < order.Length; i++)
        {
            int index = i;
            requests.Add(GenerateAsync(client, order[i]).ContinueWith(t =>
            {
                lock (finished) finished.Add(index);
                return t.Result;
            }, TaskScheduler.Default));
            // The next one leaves only once this one is admitted, so their arrival order is known.
            var clock = Stopwatch.StartNew();
            while (server.State.Queue.Arrivals < arrived + i + 1 && clock.Elapsed < TimeSpan.FromMinutes(1))
                await Task.Delay(5);
        }
        var results = await Task.WhenAll(requests);
        for (int i = 0; i < order.Length; i++)
        {
            Assert.Equal(order[i], results[i].Model);
            Assert.Equal(reference[order[i]], results[i].Pixels);
        }
        Assert.Equal(Enumerable.Range(0, order.Length), finished);
    }
}
