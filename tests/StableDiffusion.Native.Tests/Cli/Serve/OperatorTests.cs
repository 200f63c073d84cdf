using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using StableDiffusion.Native.Cli.Serve;
using StableDiffusion.Native.Tests.Integration;
using static StableDiffusion.Native.Tests.Cli.Serve.ServerTestSupport;

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>What an operator and a load balancer read from a replica: the probes, the metrics and a graceful shutdown.</summary>
[Collection(NativeToolCollection.Name)]
public sealed class OperatorTests(TinyGeneratorFixture fixture)
{
    private const string OneImage = """{"prompt":"x","width":64,"height":64,"steps":1,"seed":1,"batch_size":2}""";

    [SkippableFact]
    public async Task Probes_answer_without_a_key_and_readyz_turns_503_with_retry_after_while_the_queue_is_full()
    {
        await using var server = await StartAsync(fixture.Generator, new ServeOptions { Queue = 0, ApiKey = "k" });
        using var balancer = Client(server);
        using var user = Client(server, "k");

        var health = await balancer.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok", (await health.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        var ready = await balancer.GetAsync("readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Null(ready.Headers.RetryAfter);

        using var stop = new CancellationTokenSource();
        var running = LongTxt2Img(user, stop.Token);
        await WaitUntilSamplingAsync(user);
        var full = await balancer.GetAsync("readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, full.StatusCode);
        Assert.True(full.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "503 without Retry-After");
        var body = await full.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("queue_full", body.GetProperty("reason").GetString());
        Assert.Equal(1, body.GetProperty("generating").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await balancer.GetAsync("healthz")).StatusCode);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        await WaitUntilIdleAsync(user, TimeSpan.FromSeconds(15));
        Assert.Equal(HttpStatusCode.OK, (await balancer.GetAsync("readyz")).StatusCode);
    }

    [SkippableFact]
    public async Task Metrics_export_requests_by_route_and_status_images_generation_seconds_queue_and_model_memory()
    {
        await using var server = await StartAsync(fixture.Generator, new ServeOptions { ApiKey = "k" });
        using var anonymous = Client(server);
        using var user = Client(server, "k");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("metrics")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await user.PostAsync("sdapi/v1/txt2img", Json(OneImage))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await user.PostAsync("sdapi/v1/txt2img", Json("""{"steps":-1}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await user.GetAsync("no/such/route/" + new string('x', 40))).StatusCode);

        var response = await user.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        string text = await response.Content.ReadAsStringAsync();

        Assert.Equal(1, Sample(text, "sdnet_http_requests_total", "route=\"/sdapi/v1/txt2img\"", "status=\"200\""));
        Assert.Equal(1, Sample(text, "sdnet_http_requests_total", "route=\"/sdapi/v1/txt2img\"", "status=\"400\""));
        Assert.Equal(1, Sample(text, "sdnet_http_requests_total", "route=\"/metrics\"", "status=\"401\""));
        // A client cannot mint label values: unknown paths are counted as "other".
        Assert.Equal(1, Sample(text, "sdnet_http_requests_total", "route=\"other\"", "status=\"404\""));
        Assert.DoesNotContain("xxxxxxxx", text, StringComparison.Ordinal);

        Assert.Equal(2, Sample(text, "sdnet_images_generated_total"));
        Assert.Equal(1, Sample(text, "sdnet_generation_duration_seconds_count"));
        Assert.True(Sample(text, "sdnet_generation_duration_seconds_sum") > 0);
        Assert.Equal(1, Sample(text, "sdnet_generation_duration_seconds_bucket", "le=\"+Inf\""));
        Assert.Equal(0, Sample(text, "sdnet_queue_depth"));
        Assert.Equal(1, Sample(text, "sdnet_models_resident"));
        long expected = StableDiffusion.Native.ModelFiles.ModelInfo.FromFile(NativeTestEnvironment.TinySd1).EstimateMemory().TotalBytes;
        Assert.Equal(expected, Sample(text, "sdnet_model_memory_bytes", $"model=\"{Path.GetFileNameWithoutExtension(NativeTestEnvironment.TinySd1)}\""));
    }

    [SkippableFact]
    public async Task Metrics_count_an_interrupted_generation_as_a_failure()
    {
        await using var server = await StartAsync(fixture.Generator);
        using var client = Client(server);
        var running = LongTxt2Img(client);
        await WaitUntilSamplingAsync(client);
        Assert.Equal(1, Sample(await client.GetStringAsync("metrics"), "sdnet_queue_depth"));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("sdapi/v1/interrupt", null)).StatusCode);
        await running;
        await WaitUntilIdleAsync(client, TimeSpan.FromSeconds(15));
        string text = await client.GetStringAsync("metrics");
        Assert.Equal(1, Sample(text, "sdnet_generation_failures_total", "reason=\"interrupted\""));
        Assert.Equal(0, Sample(text, "sdnet_queue_depth"));
    }

    [SkippableFact]
    public async Task Shutdown_stops_accepting_and_lets_the_running_and_the_queued_generations_finish()
    {
        await using var server = await StartAsync(fixture.Generator, new ServeOptions { ShutdownTimeout = TimeSpan.FromMinutes(2) });
        using var client = Client(server);
        // Long enough to be caught sampling, short enough to finish: a step of the tiny model takes milliseconds.
        var running = client.PostAsync("sdapi/v1/txt2img", Json("""{"prompt":"drain","width":64,"height":64,"steps":200,"seed":5}"""));
        await WaitUntilSamplingAsync(client);
        using var other = Client(server);
        var waiting = other.PostAsync("sdapi/v1/txt2img", Json(OneImage));
        while (server.State.Queue.Snapshot().Waiting < 1) await Task.Delay(20);
        var stopping = server.StopAsync();
        foreach (var (reply, images) in new[] { (running, 1), (waiting, 2) })
        {
            var response = await reply;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(images, body.GetProperty("images").GetArrayLength());
            Assert.Equal((64, 64), PngSize(Convert.FromBase64String(body.GetProperty("images")[0].GetString()!)));
        }
        await stopping.WaitAsync(TimeSpan.FromMinutes(1));
        using var late = new HttpClient { BaseAddress = server.Address };
        await Assert.ThrowsAsync<HttpRequestException>(() => late.GetAsync("healthz"));
    }

    [SkippableFact]
    public async Task Shutdown_cancels_what_still_runs_after_the_timeout()
    {
        await using var server = await StartAsync(fixture.Generator, new ServeOptions { ShutdownTimeout = TimeSpan.FromSeconds(1) });
        using var client = Client(server);
        var running = LongTxt2Img(client);
        await WaitUntilSamplingAsync(client);
        var clock = Stopwatch.StartNew();
        await server.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        // 10000 steps take minutes: back within seconds means the timeout cancelled the generation.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"shutdown took {clock.Elapsed}");
        var outcome = await Record.ExceptionAsync(async () =>
        {
            var response = await running;
            Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        });
        Assert.True(outcome is null or HttpRequestException or TaskCanceledException, outcome?.ToString());
        Assert.False(server.State.Queue.Snapshot().Busy);
    }

}
