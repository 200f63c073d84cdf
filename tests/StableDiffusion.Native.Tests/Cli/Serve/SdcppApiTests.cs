using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using StableDiffusion.Native.Cli.Serve;
using StableDiffusion.Native.Tests.Integration;
using static StableDiffusion.Native.Tests.Cli.Serve.ServerTestSupport;

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>
/// sd-server's asynchronous API (<c>/sdcpp/v1</c>, api.md at the pin), driven as its clients drive it: read the
/// capabilities, submit, poll the job, cancel a queued and a running one.
/// </summary>
[Collection(NativeToolCollection.Name)]
public sealed class SdcppApiTests(TinyGeneratorFixture fixture)
{
    private const string Small = """{"prompt":"a lighthouse","width":64,"height":64,"seed":5,"sample_params":{"sample_method":"euler_a","scheduler":"karras","sample_steps":2,"guidance":{"txt_cfg":6.5}}}""";

    private const string Long = """{"prompt":"long","width":64,"height":64,"seed":1,"sample_params":{"sample_steps":10000}}""";

    private static async Task<JsonElement> SubmitAsync(HttpClient client, string body)
    {
        var response = await client.PostAsync("sdcpp/v1/img_gen", Json(body));
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<JsonElement> PollAsync(HttpClient client, string id, Func<JsonElement, bool> until, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromMinutes(2));
        while (true)
        {
            var job = await client.GetFromJsonAsync<JsonElement>($"sdcpp/v1/jobs/{id}");
            if (until(job)) return job;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"job {id} stayed {job}");
            await Task.Delay(50);
        }
    }

    private static bool Ended(JsonElement job) => job.GetProperty("status").GetString() is "completed" or "failed" or "cancelled";

    [SkippableFact]
    public async Task Capabilities_list_the_mode_its_defaults_names_features_and_limits()
    {
        await using var server = await StartAsync(fixture.Generator, new ServeOptions { Queue = 3 });
        using var client = Client(server);
        var caps = await client.GetFromJsonAsync<JsonElement>("sdcpp/v1/capabilities");
        Assert.Equal(Path.GetFileNameWithoutExtension(NativeTestEnvironment.TinySd1), caps.GetProperty("model").GetProperty("stem").GetString());
        Assert.Equal("img_gen", caps.GetProperty("current_mode").GetString());
        Assert.Equal(["img_gen"], caps.GetProperty("supported_modes").EnumerateArray().Select(m => m.GetString()));
        var defaults = caps.GetProperty("defaults_by_mode").GetProperty("img_gen");
        Assert.Equal(defaults.ToString(), caps.GetProperty("defaults").ToString());
        Assert.Equal(SamplingOptions.DefaultSteps, defaults.GetProperty("sample_params").GetProperty("sample_steps").GetInt32());
        Assert.Equal(100, defaults.GetProperty("output_compression").GetInt32());
        Assert.True(caps.GetProperty("features_by_mode").GetProperty("img_gen").GetProperty("cancel_generating").GetBoolean());
        Assert.Equal(["png", "jpeg", "webp"], caps.GetProperty("output_formats").EnumerateArray().Select(f => f.GetString()));
        var samplers = caps.GetProperty("samplers").EnumerateArray().Select(s => s.GetString()).ToList();
        Assert.Equal("default", samplers[0]);
        Assert.Equal(Enum.GetValues<Sampler>().Length + 1, samplers.Count);
        Assert.Contains("euler_a", samplers);
        Assert.Contains(caps.GetProperty("upscalers").EnumerateArray(), u => u.GetProperty("name").GetString() == "Latent (bicubic)");
        Assert.Equal(4, caps.GetProperty("limits").GetProperty("max_queue_size").GetInt32());
        Assert.Equal(ImageRequest.MaxBatchCount, caps.GetProperty("limits").GetProperty("max_batch_count").GetInt32());
    }

    [SkippableFact]
    public async Task An_img_gen_job_is_accepted_polled_to_completion_and_reproduces_by_seed()
    {
        await using var server = await StartAsync(fixture.Generator);
        using var client = Client(server);
        var accepted = await SubmitAsync(client, Small);
        string id = accepted.GetProperty("id").GetString()!;
        Assert.StartsWith("job_", id, StringComparison.Ordinal);
        Assert.Equal("img_gen", accepted.GetProperty("kind").GetString());
        Assert.Contains(accepted.GetProperty("status").GetString(), new[] { "queued", "generating" });
        Assert.Equal("/sdcpp/v1/jobs/" + id, accepted.GetProperty("poll_url").GetString());

        var done = await PollAsync(client, id, Ended);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, done.GetProperty("error").ValueKind);
        Assert.True(done.GetProperty("started").GetInt64() >= done.GetProperty("created").GetInt64());
        Assert.True(done.GetProperty("completed").GetInt64() >= done.GetProperty("started").GetInt64());
        Assert.Equal(0, done.GetProperty("queue_position").GetInt32());
        var result = done.GetProperty("result");
        Assert.Equal("png", result.GetProperty("output_format").GetString());
        Assert.Equal(0, result.GetProperty("images")[0].GetProperty("index").GetInt32());
        byte[] png = Convert.FromBase64String(result.GetProperty("images")[0].GetProperty("b64_json").GetString()!);
        Assert.Equal((64, 64), PngSize(png));
        Assert.Contains("Seed: 5", PngParameters(png), StringComparison.Ordinal);
        Assert.Contains("CFG scale: 6.5", PngParameters(png), StringComparison.Ordinal);

        var again = await PollAsync(client, (await SubmitAsync(client, Small)).GetProperty("id").GetString()!, Ended);
        Assert.Equal(result.GetProperty("images")[0].GetProperty("b64_json").GetString(), again.GetProperty("result").GetProperty("images")[0].GetProperty("b64_json").GetString());

        // Without metadata and as JPEG, as the request asks.
        var bare = await PollAsync(client, (await SubmitAsync(client, Small[..^1] + ""","embed_image_metadata":false,"batch_count":2}""")).GetProperty("id").GetString()!, Ended);
        Assert.Equal(2, bare.GetProperty("result").GetProperty("images").GetArrayLength());
        Assert.Null(PngParameters(Convert.FromBase64String(bare.GetProperty("result").GetProperty("images")[1].GetProperty("b64_json").GetString()!)));
        var jpeg = await PollAsync(client, (await SubmitAsync(client, Small[..^1] + ""","output_format":"jpeg","output_compression":250}""")).GetProperty("id").GetString()!, Ended);
        Assert.Equal("jpeg", jpeg.GetProperty("result").GetProperty("output_format").GetString());
        Assert.Equal([0xFF, 0xD8], Convert.FromBase64String(jpeg.GetProperty("result").GetProperty("images")[0].GetProperty("b64_json").GetString()!)[..2]);
    }

    [SkippableFact]
    public async Task Queued_jobs_report_their_place_and_both_a_queued_and_a_running_job_can_be_cancelled()
    {
        await using var server = await StartAsync(fixture.Generator, new ServeOptions { Queue = 2 });
        using var client = Client(server);
        string running = (await SubmitAsync(client, Long)).GetProperty("id").GetString()!;
        await PollAsync(client, running, j => j.GetProperty("status").GetString() == "generating");
        string second = (await SubmitAsync(client, Small)).GetProperty("id").GetString()!;
        string third = (await SubmitAsync(client, Small)).GetProperty("id").GetString()!;
        var queued = await client.GetFromJsonAsync<JsonElement>($"sdcpp/v1/jobs/{second}");
        Assert.Equal("queued", queued.GetProperty("status").GetString());
        Assert.Equal(1, queued.GetProperty("queue_position").GetInt32());
        Assert.Equal(2, (await client.GetFromJsonAsync<JsonElement>($"sdcpp/v1/jobs/{third}")).GetProperty("queue_position").GetInt32());

        // The queue (1 running + 2 waiting) is full: sd-server's 429 and its error shape.
        var full = await client.PostAsync("sdcpp/v1/img_gen", Json(Small));
        Assert.Equal(HttpStatusCode.TooManyRequests, full.StatusCode);
        Assert.Equal("job queue is full", (await full.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());

        var cancelledQueued = await (await client.PostAsync($"sdcpp/v1/jobs/{second}/cancel", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("cancelled", cancelledQueued.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, cancelledQueued.GetProperty("started").ValueKind);
        Assert.Equal("cancelled", cancelledQueued.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("job cancelled by client", cancelledQueued.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(1, (await client.GetFromJsonAsync<JsonElement>($"sdcpp/v1/jobs/{third}")).GetProperty("queue_position").GetInt32());

        var cancelledRunning = await (await client.PostAsync($"sdcpp/v1/jobs/{running}/cancel", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("cancelled", cancelledRunning.GetProperty("status").GetString());
        Assert.NotEqual(JsonValueKind.Null, cancelledRunning.GetProperty("started").ValueKind);
        Assert.Equal(JsonValueKind.Null, cancelledRunning.GetProperty("result").ValueKind);

        // The one left runs next and completes; cancelling it then changes nothing.
        var last = await PollAsync(client, third, Ended);
        Assert.Equal("completed", last.GetProperty("status").GetString());
        var after = await client.PostAsync($"sdcpp/v1/jobs/{third}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("completed", (await after.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
    }

    [SkippableFact]
    public async Task Bad_submissions_and_unknown_jobs_get_sd_servers_errors()
    {
        await using var server = await StartAsync(fixture.Generator);
        using var client = Client(server);
        foreach (var (body, expected) in new[]
        {
            ("{", "invalid json"),
            ("[]", "JSON object"),
            ("""{"width":64}""", "prompt required"),
            ("""{"prompt":"x","sample_params":{"sample_method":"warp_drive"}}""", "sample_params.sample_method"),
            ("""{"prompt":"x","sample_params":{"sample_steps":0}}""", "sample_steps"),
            ("""{"prompt":"x","init_image":"not base64!"}""", "init_image"),
            ("""{"prompt":"x","hires":{"enabled":true,"upscaler":"nope"}}""", "hires.upscaler"),
            ("""{"prompt":"x","lora":[{"path":"a.safetensors"}]}""", "--lora-model-dir"),
            ("""{"prompt":"x","output_format":"gif"}""", "output_format"),
        })
        {
            var response = await client.PostAsync("sdcpp/v1/img_gen", Json(body));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(JsonValueKind.String, error.GetProperty("error").ValueKind);
            Assert.Contains(expected, error.GetProperty("error").GetString(), StringComparison.Ordinal);
            // sd-server adds the parser's message to its "invalid json".
            if (expected == "invalid json") Assert.Contains("not valid JSON", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        var missing = await client.GetAsync("sdcpp/v1/jobs/job_0_0");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("job not found", (await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync("sdcpp/v1/jobs/job_0_0/cancel", null)).StatusCode);
        Assert.Equal(0, server.State.Queue.Snapshot().Waiting);
    }

    [SkippableFact]
    public async Task An_ended_job_answers_410_once_its_retention_has_passed()
    {
        var model = ModelCatalog.Single(fixture.Generator.Options, null).Default;
        using var queue = new GenerationQueue(new ModelPool(long.MaxValue, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, (model, fixture.Generator)), 1);
        var jobs = new SdcppJobs(queue, retention: TimeSpan.Zero);
        var job = jobs.Submit(NativeTestEnvironment.Small(steps: 1), model, OutputFormat.Png, 100, embedMetadata: true);
        Assert.Same(job, jobs.Find(job.Id).Job);
        await job.Done.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(SdcppJobStatus.Completed, job.Status);
        await Task.Delay(10);
        var (found, gone) = jobs.Find(job.Id);
        Assert.Null(found);
        Assert.True(gone);
        Assert.False(jobs.Find("job_never").Gone);
    }

    [SkippableFact]
    public async Task Shutdown_lets_an_accepted_job_finish()
    {
        var server = await StartAsync(fixture.Generator, new ServeOptions { ShutdownTimeout = TimeSpan.FromMinutes(2) });
        await using (server)
        {
            using var client = Client(server);
            string id = (await SubmitAsync(client, Small.Replace("\"sample_steps\":2", "\"sample_steps\":150", StringComparison.Ordinal))).GetProperty("id").GetString()!;
            await PollAsync(client, id, j => j.GetProperty("status").GetString() == "generating");
            await server.StopAsync().WaitAsync(TimeSpan.FromMinutes(2));
            var job = server.State.Jobs.Find(id).Job!;
            Assert.Equal(SdcppJobStatus.Completed, job.Status);
        }
    }

    [SkippableFact]
    public async Task Sd_cpp_extra_args_in_an_A1111_or_OpenAI_prompt_apply_sdcpp_fields_and_leave_the_prompt()
    {
        await using var server = await StartAsync(fixture.Generator);
        using var client = Client(server);
        const string Block = """<sd_cpp_extra_args>{"seed":77,"sample_params":{"sample_steps":3,"sample_method":"euler","guidance":{"txt_cfg":4.5}}}</sd_cpp_extra_args>""";
        string a1111 = JsonSerializer.Serialize(new { prompt = "a lighthouse " + Block, width = 64, height = 64, steps = 2, seed = 5, cfg_scale = 7 });
        var response = await client.PostAsync("sdapi/v1/txt2img", Json(a1111));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        using var info = JsonDocument.Parse(body.GetProperty("info").GetString()!);
        string infotext = info.RootElement.GetProperty("infotexts")[0].GetString()!;
        Assert.StartsWith("a lighthouse \n", infotext, StringComparison.Ordinal);
        Assert.DoesNotContain("sd_cpp_extra_args", infotext, StringComparison.Ordinal);
        Assert.Contains("Steps: 3,", infotext, StringComparison.Ordinal);
        Assert.Contains("CFG scale: 4.5,", infotext, StringComparison.Ordinal);
        Assert.Contains("Seed: 77,", infotext, StringComparison.Ordinal);
        Assert.Contains("Sampler: euler", infotext, StringComparison.Ordinal);

        string openAi = JsonSerializer.Serialize(new { prompt = Block + "a lighthouse", size = "64x64", response_format = "b64_json" });
        var generated = await (await client.PostAsync("v1/images/generations", Json(openAi))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(77, generated.GetProperty("data")[0].GetProperty("seed").GetInt64());
        string text = PngParameters(Convert.FromBase64String(generated.GetProperty("data")[0].GetProperty("b64_json").GetString()!))!;
        Assert.StartsWith("a lighthouse\n", text, StringComparison.Ordinal);
        Assert.Contains("Steps: 3,", text, StringComparison.Ordinal);

        foreach (string bad in new[] { "<sd_cpp_extra_args>{nope</sd_cpp_extra_args>", "<sd_cpp_extra_args>[1]</sd_cpp_extra_args>",
                     """<sd_cpp_extra_args>{"sample_params":{"sample_steps":-4}}</sd_cpp_extra_args>""", """<sd_cpp_extra_args>{"lora":[{"path":"../x.safetensors"}]}</sd_cpp_extra_args>""" })
        {
            var refused = await client.PostAsync("sdapi/v1/txt2img", Json(JsonSerializer.Serialize(new { prompt = "x " + bad, width = 64, height = 64, steps = 1 })));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("invalid sd_cpp_extra_args", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        // An unclosed tag is prompt text.
        var unclosed = await client.PostAsync("sdapi/v1/txt2img", Json(JsonSerializer.Serialize(new { prompt = "x <sd_cpp_extra_args>{", width = 64, height = 64, steps = 1 })));
        Assert.Equal(HttpStatusCode.OK, unclosed.StatusCode);
    }
}
