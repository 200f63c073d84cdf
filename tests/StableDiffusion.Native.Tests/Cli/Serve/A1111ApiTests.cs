using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using StableDiffusion.Native.Cli.Serve;
using StableDiffusion.Native.Tests.Integration;
using static StableDiffusion.Native.Tests.Cli.Serve.ServerTestSupport;

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>AUTOMATIC1111's routes, driven with raw HTTP as its clients do.</summary>
[Collection(NativeToolCollection.Name)]
public sealed class A1111ApiTests(TinyGeneratorFixture fixture)
{
    private const string Small = """{"prompt":"a lighthouse","negative_prompt":"fog","width":64,"height":64,"steps":2,"seed":42,"sampler_name":"Euler a","scheduler":"karras","batch_size":2,"cfg_scale":6.5,"restore_faces":false,"styles":[]}""";

    [SkippableFact]
    public async Task Txt2img_returns_the_batch_with_seeds_infotexts_and_reproduces_by_seed()
    {
        await using var server = await StartAsync(fixture.Generator);
        using var client = Client(server);
        var first = await client.PostAsync("sdapi/v1/txt2img", Json(Small));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var body = await first.Content.ReadFromJsonAsync<JsonElement>();
        var images = body.GetProperty("images").EnumerateArray().Select(i => Convert.FromBase64String(i.GetString()!)).ToList();
        Assert.Equal(2, images.Count);
        Assert.All(images, png => Assert.Equal((64, 64), PngSize(png)));

        using var info = JsonDocument.Parse(body.GetProperty("info").GetString()!);
        Assert.Equal(42, info.RootElement.GetProperty("seed").GetInt64());
        Assert.Equal(new long[] { 42, 43 }, info.RootElement.GetProperty("all_seeds").EnumerateArray().Select(s => s.GetInt64()));
        Assert.Equal("Euler a", info.RootElement.GetProperty("sampler_name").GetString());
        string infotext = info.RootElement.GetProperty("infotexts")[1].GetString()!;
        Assert.Contains("Seed: 43", infotext, StringComparison.Ordinal);
        Assert.Contains("Negative prompt: fog", infotext, StringComparison.Ordinal);
        Assert.Equal(infotext, PngParameters(images[1]));
        Assert.Equal(6.5, body.GetProperty("parameters").GetProperty("cfg_scale").GetDouble());

        var again = await (await client.PostAsync("sdapi/v1/txt2img", Json(Small))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(body.GetProperty("images")[0].GetString(), again.GetProperty("images")[0].GetString());
        Assert.NotEqual(body.GetProperty("images")[0].GetString(), body.GetProperty("images")[1].GetString());
    }

    [SkippableFact]
    public async Task Img2img_with_a_mask_keeps_the_unmasked_pixels_and_takes_data_urls()
    {
        await using var server = await StartAsync(fixture.Generator);
        using var client = Client(server);
        var source = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 9))[0];
        var mask = Imaging.ImageBuffer.Create(Imaging.PixelFormat.Gray8, 64, 64, 0, static (span, _) =>
        {
            for (int i = 0; i < span.Length; i++) span[i] = (byte)(i % 64 < 32 ? 255 : 0);
        });
        using var maskPng = new MemoryStream();
        mask.SaveAsPng(maskPng);
        string request = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["prompt"] = "a red door",
            ["init_images"] = new[] { "data:image/png;base64," + Convert.ToBase64String(source.EncodePng()) },
            ["mask"] = Convert.ToBase64String(maskPng.ToArray()),
            ["denoising_strength"] = 1.0,
            ["steps"] = 2,
            ["seed"] = 3,
        });
        var response = await client.PostAsync("sdapi/v1/img2img", Json(request));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        byte[] png = Convert.FromBase64String(body.GetProperty("images")[0].GetString()!);
        Assert.Equal((64, 64), PngSize(png));
        Assert.Contains("Denoising strength: 1", PngParameters(png), StringComparison.Ordinal);
        // The reply echoes the request without the images it was sent.
        Assert.Equal(JsonValueKind.Null, body.GetProperty("parameters").GetProperty("init_images").ValueKind);
    }

    [SkippableFact]
    public async Task Lists_samplers_schedulers_the_model_and_options()
    {
        await using var server = await StartAsync(fixture.Generator);
        using var client = Client(server);
        var samplers = await client.GetFromJsonAsync<JsonElement>("sdapi/v1/samplers");
        Assert.Equal(Enum.GetValues<Sampler>().Length, samplers.GetArrayLength());
        Assert.Contains(samplers.EnumerateArray(), s => s.GetProperty("name").GetString() == "DPM++ 2M"
            && s.GetProperty("aliases").EnumerateArray().Any(a => a.GetString() == "dpm++2m"));
        var schedulers = await client.GetFromJsonAsync<JsonElement>("sdapi/v1/schedulers");
        Assert.Contains(schedulers.EnumerateArray(), s => s.GetProperty("name").GetString() == "karras");
        var models = await client.GetFromJsonAsync<JsonElement>("sdapi/v1/sd-models");
        string file = Path.GetFileName(NativeTestEnvironment.TinySd1);
        Assert.Equal(file, Assert.Single(models.EnumerateArray()).GetProperty("title").GetString());
        Assert.DoesNotContain(Path.GetDirectoryName(NativeTestEnvironment.TinySd1)!, models.GetRawText(), StringComparison.Ordinal);
        var options = await client.GetFromJsonAsync<JsonElement>("sdapi/v1/options");
        Assert.Equal(file, options.GetProperty("sd_model_checkpoint").GetString());
        var other = await client.PostAsync("sdapi/v1/options", Json("""{"sd_model_checkpoint":"another.safetensors"}"""));
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        var error = await other.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("model_not_found", error.GetProperty("error").GetString());
        // The 404 names what is served, so a client can correct itself.
        Assert.Contains(Path.GetFileNameWithoutExtension(file), error.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var txt2img = await client.PostAsync("sdapi/v1/txt2img", Json("""{"override_settings":{"sd_model_checkpoint":"sdxl.safetensors"}}"""));
        Assert.Equal(HttpStatusCode.NotFound, txt2img.StatusCode);
    }

    [SkippableFact]
    public async Task Progress_reports_steps_eta_and_a_preview_while_sampling_and_interrupt_stops_it()
    {
        await using var server = await StartAsync(fixture.Generator);
        using var client = Client(server);
        var running = LongTxt2Img(client);
        var report = await WaitUntilSamplingAsync(client, minimumStep: 2);
        var state = report.GetProperty("state");
        Assert.Equal(10000, state.GetProperty("sampling_steps").GetInt32());
        Assert.InRange(report.GetProperty("progress").GetDouble(), 0.0001, 0.5);
        Assert.True(report.GetProperty("eta_relative").GetDouble() > 0);
        // The preview is the latent's projection: 1/8 of the output, a real PNG.
        Assert.Equal((8, 8), PngSize(Convert.FromBase64String(report.GetProperty("current_image").GetString()!)));

        var interrupt = await client.PostAsync("sdapi/v1/interrupt", Json("{}"));
        Assert.True((await interrupt.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("interrupted").GetBoolean());
        var response = await running;
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("interrupted", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        await WaitUntilIdleAsync(client, TimeSpan.FromSeconds(10));
        // The model serves the next request.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("sdapi/v1/txt2img", Json("""{"prompt":"x","width":64,"height":64,"steps":1}"""))).StatusCode);
    }

    [SkippableTheory]
    [InlineData("sdapi/v1/txt2img", "{not json", "not valid JSON")]
    [InlineData("sdapi/v1/txt2img", "[1,2]", "JSON object")]
    [InlineData("sdapi/v1/txt2img", """{"steps":"many"}""", "'steps' must be an integer")]
    [InlineData("sdapi/v1/txt2img", """{"steps":0}""", "'steps' must be 1 to 10000")]
    [InlineData("sdapi/v1/txt2img", """{"width":64.5}""", "'width' must be an integer")]
    [InlineData("sdapi/v1/txt2img", """{"sampler_name":"Bogus"}""", "Unknown sampler 'Bogus'")]
    [InlineData("sdapi/v1/txt2img", """{"batch_size":8,"n_iter":9}""", "batch_size × n_iter")]
    [InlineData("sdapi/v1/img2img", """{"prompt":"x"}""", "'init_images' needs one")]
    [InlineData("sdapi/v1/img2img", """{"init_images":["bm90IGFuIGltYWdl"]}""", "'init_images'")]
    [InlineData("sdapi/v1/img2img", """{"init_images":["%%%"]}""", "not base64")]
    public async Task Bad_input_is_a_400_with_a_json_error_and_the_server_keeps_serving(string path, string body, string expected)
    {
        await using var server = await StartAsync(fixture.Generator);
        using var client = Client(server);
        var response = await client.PostAsync(path, Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();
        // A body that is not JSON at all has its own code, as sd-server's "invalid json".
        Assert.Equal(body == "{not json" ? "invalid_json" : "invalid_request", error.GetProperty("error").GetString());
        Assert.Contains(expected, error.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("sdapi/v1/sd-models")).StatusCode);
    }

    [SkippableFact]
    public async Task OpenAI_routes_answer_bad_input_in_OpenAI_error_shape()
    {
        await using var server = await StartAsync(fixture.Generator);
        using var client = Client(server);
        var response = await client.PostAsync("v1/images/generations", Json("""{"prompt":"x","response_format":"gif"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("response_format", error.GetProperty("param").GetString());
        var missing = await client.PostAsync("v1/images/generations", Json("""{"n":1}"""));
        Assert.Equal("prompt", (await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("param").GetString());
        var notFound = await client.GetAsync("v1/nothing");
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
    }

    [SkippableTheory]
    [InlineData("jpeg", new byte[] { 0xFF, 0xD8, 0xFF })]
    [InlineData("webp", new byte[] { (byte)'R', (byte)'I', (byte)'F', (byte)'F' })]
    public async Task OpenAI_output_format_encodes_jpeg_and_webp(string format, byte[] magic)
    {
        await using var server = await StartAsync(fixture.Generator);
        using var client = Client(server);
        var response = await client.PostAsync("v1/images/generations", Json($$"""{"prompt":"x","size":"64x64","steps":1,"output_format":"{{format}}","output_compression":80}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        byte[] image = Convert.FromBase64String(body.GetProperty("data")[0].GetProperty("b64_json").GetString()!);
        Assert.Equal(magic, image[..magic.Length]);
        Assert.Equal(format, body.GetProperty("output_format").GetString());
    }

    [SkippableFact]
    public async Task A_full_queue_answers_503_with_retry_after()
    {
        await using var server = await StartAsync(fixture.Generator, new ServeOptions { Queue = 1 });
        using var client = Client(server);
        using var stop = new CancellationTokenSource();
        var running = LongTxt2Img(client, stop.Token);
        await WaitUntilSamplingAsync(client);
        var waiting = LongTxt2Img(client, stop.Token);
        var report = default(JsonElement);
        for (int i = 0; i < 100 && (report = await client.GetFromJsonAsync<JsonElement>("sdapi/v1/progress?skip_current_image=true")).GetProperty("state").GetProperty("job_count").GetInt32() < 2; i++)
            await Task.Delay(50);
        Assert.Equal(2, report.GetProperty("state").GetProperty("job_count").GetInt32());

        var refused = await client.PostAsync("sdapi/v1/txt2img", Json("""{"prompt":"x","width":64,"height":64,"steps":1}"""));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal("queue_full", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await WaitUntilIdleAsync(client, TimeSpan.FromSeconds(15));
    }

    [SkippableFact]
    public async Task A_client_that_disconnects_cancels_its_generation()
    {
        await using var server = await StartAsync(fixture.Generator);
        using var client = Client(server);
        using var gone = new CancellationTokenSource();
        var running = LongTxt2Img(client, gone.Token);
        await WaitUntilSamplingAsync(client);
        await gone.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        // 10000 steps would take minutes: idle within seconds means the native sampling loop was stopped.
        var stoppedAfter = await WaitUntilIdleAsync(client, TimeSpan.FromSeconds(15));
        Assert.True(stoppedAfter < TimeSpan.FromSeconds(15));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("sdapi/v1/txt2img", Json("""{"prompt":"x","width":64,"height":64,"steps":1}"""))).StatusCode);
    }

    [SkippableFact]
    public async Task With_an_api_key_requests_without_the_bearer_token_get_401_and_the_page_still_loads()
    {
        await using var server = await StartAsync(fixture.Generator, new ServeOptions { ApiKey = "s3cret" });
        using var anonymous = Client(server);
        using var wrong = Client(server, "guess");
        using var right = Client(server, "s3cret");
        foreach (var path in new[] { "v1/models", "sdapi/v1/sd-models", "sdapi/v1/progress" })
        {
            var denied = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
            Assert.Equal("Bearer", denied.Headers.WwwAuthenticate.Single().Scheme);
            Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync(path)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await right.GetAsync(path)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("sdapi/v1/txt2img", Json("{}"))).StatusCode);
        var page = await anonymous.GetAsync("");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<form", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
