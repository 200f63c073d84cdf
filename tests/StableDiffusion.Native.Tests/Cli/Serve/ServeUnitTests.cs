using System.Text;
using StableDiffusion.Native.Cli.Serve;

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>The server's parsing and checks, without a native runtime.</summary>
public sealed class ServeUnitTests
{
    private static async Task<JsonInput> Parse(string json)
    {
        var (document, input) = await JsonInput.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(json)), CancellationToken.None);
        _ = document; // kept alive by the test's lifetime; JsonInput reads from it
        return input;
    }

    [Fact]
    public async Task Json_fields_read_numbers_from_numbers_and_strings_and_name_the_field_at_fault()
    {
        var json = await Parse("""{"steps":"30","cfg":7.5,"seed":-1,"flag":1,"name":null,"nested":{"k":2}}""");
        Assert.Equal(30, json.Int("steps", 1, 100));
        Assert.Equal(7.5f, json.Float("cfg", 0, 10));
        Assert.Equal(-1, json.Long("seed", -1, 10));
        Assert.True(json.Bool("flag"));
        Assert.Null(json.String("name"));      // null reads as absent
        Assert.Null(json.Int("absent", 0, 1));
        Assert.Equal(2, json.Object("nested").Int("k", 0, 5));
        Assert.Equal("'steps' must be 1 to 20; it is 30.", Assert.Throws<BadRequestException>(() => json.Int("steps", 1, 20)).Message);
        var wrongType = Assert.Throws<BadRequestException>(() => json.String("cfg"));
        Assert.Equal("cfg", wrongType.Param);
        Assert.Throws<BadRequestException>(() => json.Object("steps"));
    }

    [Fact]
    public async Task An_escaped_unpaired_surrogate_is_the_clients_error_naming_the_field()
    {
        // Valid JSON that .NET cannot turn into a string: it must be a 400, not a handler's unhandled exception.
        var json = await Parse("{\"prompt\":\"a \\ud800 b\",\"styles\":[\"\\udc00\"],\"steps\":\"\\ud800\"}");
        Assert.Equal("prompt", Assert.Throws<BadRequestException>(() => json.String("prompt")).Param);
        Assert.Equal("styles", Assert.Throws<BadRequestException>(() => json.Strings("styles")).Param);
        Assert.Equal("steps", Assert.Throws<BadRequestException>(() => json.Int("steps", 1, 10)).Param);
    }

    [Theory]
    [InlineData("{\"a\":", "not valid JSON")]
    [InlineData("\"text\"", "JSON object")]
    [InlineData("[]", "JSON object")]
    public async Task A_body_that_is_not_one_json_object_is_refused(string body, string expected)
    {
        var e = await Assert.ThrowsAsync<BadRequestException>(() => Parse(body));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infinite_and_fractional_numbers_are_refused_where_integers_or_ranges_apply()
    {
        var json = await Parse("""{"w":64.5,"big":1e300,"f":"NaN"}""");
        Assert.Throws<BadRequestException>(() => json.Int("w", 1, 100));
        Assert.Throws<BadRequestException>(() => json.Float("big", 0, 1e9f));
        Assert.Throws<BadRequestException>(() => json.Float("f", 0, 1));
    }

    [Theory]
    [InlineData("512x768", 512, 768)]
    [InlineData("64X64", 64, 64)]
    [InlineData("auto", null, null)]
    [InlineData(null, null, null)]
    public void Sizes_read_as_openai_writes_them(string? size, int? width, int? height)
        => Assert.Equal((width, height), OpenAiEndpoints.ParseSize(size));

    [Theory]
    [InlineData("512")]
    [InlineData("0x64")]
    [InlineData("64x99999")]
    [InlineData("-64x64")]
    [InlineData("64 x 64")]
    public void Bad_sizes_are_refused(string size)
        => Assert.Equal("size", Assert.Throws<BadRequestException>(() => OpenAiEndpoints.ParseSize(size)).Param);

    [Theory]
    [InlineData("example.com", 7860, "--host")]
    [InlineData("127.0.0.1", 70000, "--port")]
    [InlineData("localhost", 0, "--port")]
    public void Serve_options_are_checked_before_anything_loads(string host, int port, string param)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => new ServeOptions { Host = host, Port = port }.Validate());
        Assert.Equal(param, e.ParamName);
    }

    [Fact]
    public void Serve_options_refuse_an_empty_key_and_a_negative_queue()
    {
        Assert.ThrowsAny<ArgumentException>(() => new ServeOptions { ApiKey = "" }.Validate());
        Assert.ThrowsAny<ArgumentException>(() => new ServeOptions { ApiKey = "a\nb" }.Validate());
        Assert.ThrowsAny<ArgumentException>(() => new ServeOptions { Queue = -1 }.Validate());
        Assert.Equal(System.Net.IPAddress.IPv6Loopback, new ServeOptions { Host = "::1" }.Validate().Address);
    }

    [Fact]
    public void Data_urls_and_bare_base64_decode_and_garbage_is_a_400()
    {
        byte[] bytes = [1, 2, 3, 250];
        string b64 = Convert.ToBase64String(bytes);
        Assert.Equal(bytes, ServerImages.FromBase64(b64, "x"));
        Assert.Equal(bytes, ServerImages.FromBase64("data:image/png;base64," + b64, "x"));
        Assert.Equal("init_images", Assert.Throws<BadRequestException>(() => ServerImages.FromBase64("not base64!", "init_images")).Param);
    }

    [Fact]
    public void An_openai_mask_edits_its_transparent_pixels_and_an_opaque_one_reads_white_as_edit()
    {
        using var transparent = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgba32>(4, 1);
        transparent[0, 0] = new(255, 255, 255, 0);
        transparent[1, 0] = new(0, 0, 0, 255);
        transparent[2, 0] = new(0, 0, 0, 0);
        transparent[3, 0] = new(255, 255, 255, 255);
        var mask = ServerImages.DecodeOpenAiMask(Png(transparent), "mask");
        Assert.Equal(new byte[] { 255, 0, 255, 0 }, mask.Pixels.ToArray());

        using var opaque = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgba32>(2, 1);
        opaque[0, 0] = new(255, 255, 255, 255);
        opaque[1, 0] = new(0, 0, 0, 255);
        Assert.Equal(new byte[] { 255, 0 }, ServerImages.DecodeOpenAiMask(Png(opaque), "mask").Pixels.ToArray());
        Assert.Throws<BadRequestException>(() => ServerImages.DecodeOpenAiMask([1, 2, 3], "mask"));
    }

    private static byte[] Png(SixLabors.ImageSharp.Image image)
    {
        using var stream = new MemoryStream();
        SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, stream);
        return stream.ToArray();
    }

    [Theory]
    [InlineData(new[] { "--port", "70000" }, "--port must be 0 to 65535")]
    [InlineData(new[] { "--host", "not-an-address" }, "--host must be an IP address")]
    [InlineData(new[] { "--queue", "-3" }, "--queue must be 0 to 1000")]
    public void Sdnet_serve_refuses_bad_listen_options_before_loading_a_model(string[] args, string expected)
    {
        // The model does not exist: a check that ran after the load would report that instead.
        var result = ChildProcess.RunSdnet(ChildProcess.SdnetDll, Path.GetTempPath(), new Dictionary<string, string?>(),
            ["serve", "-m", "/nonexistent/model.safetensors", .. args]);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("nonexistent", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Shutdown_timeout_is_checked_and_stretches_the_grace_the_process_gets_after_a_signal()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ServeOptions { ShutdownTimeout = TimeSpan.FromSeconds(-1) }.Validate());
        Assert.Equal("--shutdown-timeout", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ServeOptions { ShutdownTimeout = TimeSpan.FromHours(2) }.Validate());
        new ServeOptions { ShutdownTimeout = TimeSpan.Zero }.Validate();

        var root = new System.CommandLine.RootCommand { ServeCommand.Create(), StableDiffusion.Native.Cli.GenerateCommand.Create() };
        Assert.Equal(TimeSpan.FromSeconds(70), ServeCommand.TerminationTimeout(root.Parse(["serve", "-m", "x.gguf", "--shutdown-timeout", "60"])));
        Assert.Equal(TimeSpan.FromSeconds(40), ServeCommand.TerminationTimeout(root.Parse(["serve", "-m", "x.gguf"])));
        Assert.Null(ServeCommand.TerminationTimeout(root.Parse(["generate", "-m", "x.gguf", "-p", "x"])));
    }

    private static T Read<T>(string json, Func<JsonInput, T> read)
    {
        using var document = System.Text.Json.JsonDocument.Parse(json);
        return read(JsonInput.Of(document.RootElement));
    }

    [Fact]
    public void Sd_servers_cache_option_scm_mask_and_extra_tiling_args_are_read_as_sd_cli_reads_its_flags()
    {
        var cache = Read("""{"cache_mode":"easycache","cache_option":"threshold=0.3,start=0.1,end=0.9","scm_mask":"1,0,1","scm_policy_dynamic":false}""", SdcppEndpoints.Cache)!;
        Assert.Equal(CacheMode.EasyCache, cache.Mode);
        Assert.Equal(0.3f, cache.ReuseThreshold);
        Assert.Equal(0.1f, cache.StartPercent);
        Assert.Equal(0.9f, cache.EndPercent);
        Assert.Equal([true, false, true], cache.StepComputationMask);
        var block = Read("""{"cache_mode":"dbcache","cache_option":"threshold=0.2,Fn=4,Bn=2","scm_policy_dynamic":false}""", SdcppEndpoints.Cache)!;
        Assert.Equal(0.2f, block.ResidualDiffThreshold);
        Assert.Equal(4, block.FirstComputeBlocks);
        Assert.Equal(2, block.LastComputeBlocks);
        Assert.False(block.DynamicMaskPolicy);
        Assert.Null(Read("""{"cache_mode":"disabled"}""", SdcppEndpoints.Cache));

        var tiling = Read("""{"enabled":true,"temporal_tiling":true,"extra_tiling_args":"temporal_tile_frames=8,temporal_tile_overlap=2,other=x"}""", SdcppEndpoints.Tiling)!;
        Assert.Equal(8, tiling.TemporalTileFrames);
        Assert.Equal(2, tiling.TemporalTileOverlap);
        Assert.Equal("x", tiling.ExtraArguments["other"]);
    }

    [Theory]
    [InlineData("""{"cache_mode":"easycache","cache_option":"speed=9"}""", "cache_option", "unknown cache parameter 'speed'")]
    [InlineData("""{"cache_mode":"easycache","cache_option":"threshold"}""", "cache_option", "expected key=value")]
    [InlineData("""{"cache_mode":"easycache","scm_mask":"1,2"}""", "scm_mask", "expected 0 or 1 per step")]
    [InlineData("""{"cache_mode":"warp"}""", "cache_mode", "'warp' is not one of")]
    [InlineData("""{"cache_option":"threshold=1"}""", "cache_option", "need a cache_mode")]
    public void Bad_cache_fields_are_400s_naming_the_field(string json, string field, string expected)
    {
        var e = Assert.Throws<BadRequestException>(() => Read(json, SdcppEndpoints.Cache));
        Assert.Equal(field, e.Param);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_extra_tiling_args_are_a_400_naming_the_field()
    {
        var e = Assert.Throws<BadRequestException>(() => Read("""{"enabled":true,"extra_tiling_args":"temporal_tile_frames=many"}""", SdcppEndpoints.Tiling));
        Assert.Equal("vae_tiling_params.extra_tiling_args", e.Param);
        Assert.Contains("not a whole number", e.Message, StringComparison.Ordinal);
    }
}
