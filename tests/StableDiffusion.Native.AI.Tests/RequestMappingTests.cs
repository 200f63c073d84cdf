using System.Drawing;
using System.Text.Json;
using Microsoft.Extensions.AI;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.AI.Tests;

/// <summary>
/// How MEAI's request and options become an <see cref="ImageRequest"/>, and what is refused: every refusal must be an
/// <see cref="ArgumentException"/> raised before the generator is called (the stand-in records no request).
/// </summary>
public sealed class RequestMappingTests
{
    private readonly FakeGenerator _fake = new();

    private Task<ImageGenerationResponse> Generate(ImageGenerationOptions? options = null, string? prompt = "a lighthouse", IEnumerable<AIContent>? originals = null)
        => _fake.Wrapper.GenerateAsync(new ImageGenerationRequest(prompt!, originals!), options);

    private async Task<ArgumentException> Refused(ImageGenerationOptions? options = null, IEnumerable<AIContent>? originals = null)
    {
        var e = await Assert.ThrowsAnyAsync<ArgumentException>(() => Generate(options, originals: originals));
        Assert.Empty(_fake.Requests);
        return e;
    }

    private static ImageGenerationOptions With(string key, object? value) => new() { AdditionalProperties = new() { [key] = value } };

    [Fact]
    public async Task Defaults_give_one_png_text_to_image_request_with_the_prompt()
    {
        var response = await Generate();
        var request = _fake.Single;
        Assert.Equal("a lighthouse", request.Prompt);
        Assert.Equal(1, request.BatchCount);
        Assert.Null(request.Width);
        Assert.Null(request.Height);
        Assert.Null(request.Seed);
        Assert.Null(request.InitImage);
        Assert.Equal("image/png", Assert.IsType<DataContent>(Assert.Single(response.Contents)).MediaType);
    }

    [Fact]
    public async Task A_null_prompt_is_an_empty_one()
    {
        await Generate(prompt: null);
        Assert.Equal("", _fake.Single.Prompt);
    }

    [Fact]
    public async Task Count_and_ImageSize_map_to_BatchCount_Width_and_Height()
    {
        await Generate(new ImageGenerationOptions { Count = 3, ImageSize = new Size(96, 64) });
        var request = _fake.Single;
        Assert.Equal(3, request.BatchCount);
        Assert.Equal(96, request.Width);
        Assert.Equal(64, request.Height);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(65)]
    public async Task Count_out_of_range_is_refused(int count)
    {
        var e = await Refused(new ImageGenerationOptions { Count = count });
        Assert.Contains("Count", e.Message, StringComparison.Ordinal);
        Assert.Contains("64", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Count_64_is_accepted()
    {
        await Generate(new ImageGenerationOptions { Count = 64 });
        Assert.Equal(64, _fake.Single.BatchCount);
    }

    [Theory]
    [InlineData(0, 64)]
    [InlineData(64, -5)]
    [InlineData(8193, 64)]
    public async Task ImageSize_out_of_range_is_refused(int width, int height)
    {
        var e = await Refused(new ImageGenerationOptions { ImageSize = new Size(width, height) });
        Assert.Contains("ImageSize", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("image/png")]
    [InlineData("IMAGE/PNG")]
    public async Task MediaType_png_gives_png(string mediaType)
    {
        var response = await Generate(new ImageGenerationOptions { MediaType = mediaType });
        Assert.Equal("image/png", Assert.IsType<DataContent>(Assert.Single(response.Contents)).MediaType);
    }

    [Theory]
    [InlineData("image/webp")]
    [InlineData("image/jpg")]
    [InlineData("text/plain")]
    [InlineData("")]
    public async Task Other_media_types_are_refused_naming_the_supported_ones(string mediaType)
    {
        var e = await Refused(new ImageGenerationOptions { MediaType = mediaType });
        Assert.Contains("image/png", e.Message, StringComparison.Ordinal);
        Assert.Contains("image/jpeg", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ImageGenerationResponseFormat.Uri)]
    [InlineData(ImageGenerationResponseFormat.Hosted)]
    public async Task Response_formats_other_than_data_are_refused(ImageGenerationResponseFormat format)
    {
        var e = await Refused(new ImageGenerationOptions { ResponseFormat = format });
        Assert.Contains("ResponseFormat", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Response_format_data_is_accepted()
    {
        await Generate(new ImageGenerationOptions { ResponseFormat = ImageGenerationResponseFormat.Data });
        Assert.Single(_fake.Requests);
    }

    [Theory]
    [InlineData(FakeGenerator.ModelFile)]
    [InlineData("TINY-SD1.safetensors")]
    [InlineData("tiny-sd1")]
    public async Task ModelId_naming_the_loaded_model_is_accepted(string modelId)
    {
        await Generate(new ImageGenerationOptions { ModelId = modelId });
        Assert.Single(_fake.Requests);
    }

    [Theory]
    [InlineData("dall-e-3")]
    [InlineData("")]
    [InlineData("tiny")]
    public async Task ModelId_naming_another_model_is_refused(string modelId)
    {
        var e = await Refused(new ImageGenerationOptions { ModelId = modelId });
        Assert.Contains("ModelId", e.Message, StringComparison.Ordinal);
        Assert.Contains(FakeGenerator.ModelFile, e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<object> SeedValues => new() { 1234, 1234L, 1234.0, 1234m, "1234", (short)1234, 1234u, Json("1234"), Json("\"1234\""), Json("1234.0") };

    [Theory]
    [MemberData(nameof(SeedValues))]
    public async Task Seed_accepts_numbers_strings_and_json_that_are_integers(object value)
    {
        await Generate(With("seed", value));
        Assert.Equal(1234L, _fake.Single.Seed);
    }

    [Fact]
    public async Task Seed_minus_one_is_a_random_seed_as_in_A1111()
    {
        await Generate(With("seed", -1));
        Assert.Null(_fake.Single.Seed);
    }

    [Fact]
    public async Task Seed_up_to_long_max_is_accepted()
    {
        await Generate(With("seed", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(long.MaxValue, _fake.Single.Seed);
    }

    public static TheoryData<string, object> BadValues => new()
    {
        { "seed", -2 },
        { "seed", 1.5 },
        { "seed", "abc" },
        { "seed", true },
        { "seed", 1e30 },
        { "seed", ulong.MaxValue },
        { "seed", Json("[1]") },
        { "steps", 0 },
        { "steps", 10_001 },
        { "steps", 20.5 },
        { "steps", "twenty" },
        { "steps", Json("20.5") },
        { "steps", Json("true") },
        { "cfg_scale", -1 },
        { "cfg_scale", double.NaN },
        { "cfg_scale", double.PositiveInfinity },
        { "cfg_scale", 1e300 },
        { "cfg_scale", "7,5" },
        { "negative_prompt", 5 },
        { "negative_prompt", Json("{}") },
        { "sampler", "warp_drive" },
        { "sampler", 3 },
        { "sampler", (Sampler)999 },
        { "sampler", Scheduler.Karras },
        { "scheduler", "sideways" },
        { "scheduler", (Scheduler)999 },
        { "scheduler", Sampler.Euler },
        { "strength", 1.5 },
        { "strength", -0.1 },
        { "strength", "half" },
        { "denoising_strength", 2 },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task A_bad_value_is_refused_naming_the_key_and_what_it_accepts(string key, object value)
    {
        var e = await Refused(With(key, value));
        Assert.Contains($"'{key}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("expected", e.Message, StringComparison.Ordinal);
        Assert.Equal("AdditionalProperties", e.ParamName);
    }

    [Theory]
    [InlineData("width")]
    [InlineData("seeds")]
    [InlineData("denoise")]
    public async Task An_unknown_key_is_refused_listing_the_accepted_ones(string key)
    {
        var e = await Refused(With(key, 1));
        Assert.Contains($"'{key}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("cfg_scale", e.Message, StringComparison.Ordinal);
        Assert.Contains("negative_prompt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_and_its_alias_together_are_refused()
    {
        var e = await Refused(new ImageGenerationOptions { AdditionalProperties = new() { ["strength"] = 0.5, ["denoising_strength"] = 0.6 } });
        Assert.Contains("strength", e.Message, StringComparison.Ordinal);
        Assert.Contains("denoising_strength", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_key_maps_to_its_parameter()
    {
        await Generate(new ImageGenerationOptions
        {
            AdditionalProperties = new()
            {
                ["seed"] = 99,
                ["steps"] = Json("12"),
                ["cfg_scale"] = "4.5",
                ["negative_prompt"] = "blurry",
                ["sampler"] = "dpm++2m",
                ["scheduler"] = Json("\"karras\""),
                ["strength"] = 0.25f,
            },
        });
        var request = _fake.Single;
        Assert.Equal(99L, request.Seed);
        Assert.Equal(12, request.Sampling.Steps);
        Assert.Equal(4.5f, request.Sampling.CfgScale);
        Assert.Equal("blurry", request.NegativePrompt);
        Assert.Equal(Sampler.DpmPlusPlus2M, request.Sampling.Sampler);
        Assert.Equal(Scheduler.Karras, request.Sampling.Scheduler);
        Assert.Equal(0.25f, request.Strength);
    }

    [Fact]
    public async Task Keys_ignore_case_and_A1111_API_aliases_are_accepted()
    {
        await Generate(new ImageGenerationOptions { AdditionalProperties = new() { ["CFG_Scale"] = 3, ["sampler_name"] = "Euler a", ["Denoising_Strength"] = "0.4" } });
        var request = _fake.Single;
        Assert.Equal(3f, request.Sampling.CfgScale);
        Assert.Equal(Sampler.EulerAncestral, request.Sampling.Sampler);
        Assert.Equal(0.4f, request.Strength);
    }

    [Fact]
    public async Task A_null_value_counts_as_absent()
    {
        await Generate(new ImageGenerationOptions { AdditionalProperties = new() { ["seed"] = null, ["steps"] = Json("null") } });
        var request = _fake.Single;
        Assert.Null(request.Seed);
        Assert.Equal(new ImageRequest().Sampling.Steps, request.Sampling.Steps);
    }

    [Theory]
    [InlineData("euler_a", Sampler.EulerAncestral)]
    [InlineData("Euler a", Sampler.EulerAncestral)]
    [InlineData("DPM++ 2M", Sampler.DpmPlusPlus2M)]
    [InlineData("dpm++2m", Sampler.DpmPlusPlus2M)]
    [InlineData("LCM", Sampler.Lcm)]
    public async Task Samplers_by_upstreams_and_A1111s_names(string name, Sampler expected)
    {
        await Generate(With("sampler", name));
        Assert.Equal(expected, _fake.Single.Sampling.Sampler);
    }

    [Fact]
    public async Task A_sampler_value_is_accepted_as_it_is()
    {
        await Generate(With("sampler", Sampler.Heun));
        Assert.Equal(Sampler.Heun, _fake.Single.Sampling.Sampler);
    }

    [Theory]
    [InlineData("karras", Scheduler.Karras)]
    [InlineData("SGM Uniform", Scheduler.SgmUniform)]
    [InlineData("sgm_uniform", Scheduler.SgmUniform)]
    [InlineData("Align Your Steps", Scheduler.Ays)]
    [InlineData("align_your_steps", Scheduler.Ays)]
    [InlineData("Exponential", Scheduler.Exponential)]
    public async Task Schedulers_by_upstreams_and_A1111s_names(string name, Scheduler expected)
    {
        await Generate(With("scheduler", name));
        Assert.Equal(expected, _fake.Single.Sampling.Scheduler);
    }

    [Fact]
    public async Task Scheduler_automatic_leaves_it_to_the_model()
    {
        await Generate(new ImageGenerationOptions
        {
            RawRepresentationFactory = _ => new ImageRequest { Sampling = new SamplingOptions { Scheduler = Scheduler.Karras } },
            AdditionalProperties = new() { ["scheduler"] = "Automatic" },
        });
        Assert.Null(_fake.Single.Sampling.Scheduler);
    }

    [Fact]
    public async Task An_ImageRequest_from_the_raw_representation_factory_is_the_starting_point()
    {
        var loras = new[] { new LoraReference("style.safetensors", 0.5f) };
        await Generate(new ImageGenerationOptions
        {
            Count = 2,
            RawRepresentationFactory = _ => new ImageRequest { Prompt = "ignored", ClipSkip = 2, Loras = loras, BatchCount = 4, Sampling = new SamplingOptions { Steps = 5 } },
            AdditionalProperties = new() { ["steps"] = 8 },
        });
        var request = _fake.Single;
        Assert.Equal("a lighthouse", request.Prompt);
        Assert.Equal(8, request.Sampling.Steps);
        Assert.Equal(2, request.ClipSkip);
        Assert.Same(loras, request.Loras);
        Assert.Equal(2, request.BatchCount);
    }

    [Fact]
    public async Task The_factory_is_given_this_generator()
    {
        object? given = null;
        await Generate(new ImageGenerationOptions { RawRepresentationFactory = g => { given = g; return null; } });
        Assert.Same(_fake.Wrapper, given);
    }

    [Fact]
    public async Task A_raw_representation_of_another_type_is_refused()
    {
        var e = await Refused(new ImageGenerationOptions { RawRepresentationFactory = _ => new Dictionary<string, object>() });
        Assert.Contains("RawRepresentationFactory", e.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(ImageRequest), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_original_image_makes_an_image_to_image_request()
    {
        var source = TestImages.Gradient(48, 32);
        await Generate(originals: [new DataContent(TestImages.Png(source), "image/png")]);
        var init = _fake.Single.InitImage;
        Assert.NotNull(init);
        Assert.Equal(source, init);
    }

    [Fact]
    public async Task An_original_image_of_another_size_than_ImageSize_is_resized()
    {
        var source = TestImages.Gradient(48, 32);
        await Generate(new ImageGenerationOptions { ImageSize = new Size(64, 64) }, originals: [new DataContent(TestImages.Png(source), "image/png")]);
        var init = _fake.Single.InitImage!;
        Assert.Equal((64, 64), (init.Width, init.Height));
        Assert.Equal(PixelFormat.Rgb24, init.Format);
    }

    [Fact]
    public async Task Only_the_first_of_several_original_images_is_used()
    {
        var first = TestImages.Gradient(16, 16);
        var second = TestImages.Gradient(32, 32);
        await Generate(originals: [new DataContent(TestImages.Png(first), "image/png"), new DataContent(TestImages.Png(second), "image/png")]);
        Assert.Equal(first, _fake.Single.InitImage);
    }

    [Fact]
    public async Task An_empty_list_of_original_images_is_text_to_image()
    {
        await Generate(originals: []);
        Assert.Null(_fake.Single.InitImage);
    }

    public static TheoryData<AIContent> NotImages => new()
    {
        new UriContent(new Uri("https://example.com/cat.png"), "image/png"),
        new TextContent("a cat"),
        new DataContent(new byte[] { 1, 2, 3 }, "application/pdf"),
    };

    [Theory]
    [MemberData(nameof(NotImages))]
    public async Task An_original_that_is_not_an_image_DataContent_is_refused(AIContent original)
    {
        var e = await Refused(originals: [original]);
        Assert.Contains("OriginalImages[0]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_original_that_is_not_an_image_is_refused_too()
    {
        var e = await Refused(originals: [new DataContent(TestImages.Png(TestImages.Gradient(8, 8)), "image/png"), new TextContent("mask please")]);
        Assert.Contains("OriginalImages[1]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Image_bytes_that_do_not_decode_are_refused()
    {
        var e = await Refused(originals: [new DataContent(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0, 1, 2, 3 }, "image/png")]);
        Assert.Contains("OriginalImages[0]", e.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<ArgumentException>(e.InnerException);
    }

    [Fact]
    public async Task Cancellation_before_the_start_generates_nothing()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _fake.Wrapper.GenerateAsync(new ImageGenerationRequest("x"), null, cts.Token));
        Assert.Empty(_fake.Requests);
    }

    [Fact]
    public async Task A_null_request_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentNullException>(() => _fake.Wrapper.GenerateAsync(null!));
        Assert.Empty(_fake.Requests);
    }

    private static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
