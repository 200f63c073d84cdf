using StableDiffusion.Native.Native;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.Tests.Native;

namespace StableDiffusion.Native.Tests.Generation;

/// <summary>The parameters added for every upstream feature are checked before native code, with the field named.</summary>
public sealed class ExtendedValidationTests
{
    private static readonly ImageRequest Ok = new() { Prompt = "x", Width = 64, Height = 64 };

    [Theory]
    [InlineData("a,b", "v")]
    [InlineData("k", "v,preset=flux2")]
    [InlineData("k", "v;x=1")]
    [InlineData("k", "a=b")]
    [InlineData("", "v")]
    [InlineData("k", "line\nbreak")]
    [InlineData("k", " ")]
    public void Key_value_arguments_cannot_split_into_other_pairs(string key, string value)
    {
        var request = Ok with { Sampling = Ok.Sampling with { ExtraArguments = new Dictionary<string, string> { [key] = value } } };
        var e = Assert.ThrowsAny<ArgumentException>(() => Validation.Request(request));
        Assert.Equal("Sampling.ExtraArguments", e.ParamName);
    }

    [Theory]
    [InlineData("apg_eta")]
    [InlineData("guidance_schedule")]
    [InlineData("slg_uncond")]
    public void Keys_with_a_typed_property_are_refused_in_the_dictionary(string key)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Validation.Request(Ok with { Sampling = Ok.Sampling with { ExtraArguments = new Dictionary<string, string> { [key] = "1" } } }));
        Assert.Contains("typed property", e.Message);
        Assert.ThrowsAny<ArgumentException>(() => Validation.Request(Ok with { VaeTilingOptions = new VaeTilingOptions { ExtraArguments = new Dictionary<string, string> { ["temporal_tile_frames"] = "4" } } }));
        Assert.Equal("7x2+3.5x1+7x1", UpstreamArgs.Schedule([7f, 7f, 3.5f, 7f]));
        Assert.ThrowsAny<ArgumentException>(() => Validation.Request(Ok with { Sampling = Ok.Sampling with { GuidanceSchedule = [float.NaN] } }));
    }

    [Fact]
    public void Composed_argument_strings_are_upstreams_syntax()
    {
        Assert.Equal("a=1,b=x", UpstreamArgs.KeyValues(new Dictionary<string, string> { ["b"] = "x", ["a"] = "1" }));
        Assert.Null(UpstreamArgs.KeyValues(new Dictionary<string, string>()));
        Assert.Equal("preset=qwen,resize_before_vae=false,ref_index_mode=increase,vlm_resize_mode=longest_side,vlm_max_size=768",
            UpstreamArgs.ReferenceArgs(new ReferenceImageOptions
            {
                Preset = ReferenceImagePreset.Qwen, ResizeBeforeVae = false, IndexMode = ReferenceIndexMode.Increase,
                VlmResizeMode = VlmResizeMode.LongestSide, VlmMaxSize = 768,
            }));
        Assert.Equal("row,diffusion=row,vae=layer", UpstreamArgs.SplitMode(SplitMode.Row,
            new Dictionary<ModelModule, SplitMode> { [ModelModule.Vae] = SplitMode.Layer, [ModelModule.Diffusion] = SplitMode.Row }));
        Assert.Equal("1,0,1", UpstreamArgs.StepMask([true, false, true]));
    }

    public static TheoryData<string, ImageRequest> BadRequests => new()
    {
        { "Cache", Ok with { Cache = new StepCacheOptions(CacheMode.EasyCache) { StartPercent = 0.9f, EndPercent = 0.5f } } },
        { "Cache.SpectrumWeight", Ok with { Cache = new StepCacheOptions(CacheMode.Spectrum) { SpectrumWeight = 2f } } },
        { "Cache.Mode", Ok with { Cache = new StepCacheOptions((CacheMode)99) } },
        { "Sampling.CustomSigmas", Ok with { Sampling = Ok.Sampling with { CustomSigmas = [1f, 2f] } } },
        { "Sampling.CustomSigmas", Ok with { Sampling = Ok.Sampling with { CustomSigmas = [float.NaN] } } },
        { "Sampling.SkipLayerGuidance", Ok with { Sampling = Ok.Sampling with { SkipLayerGuidance = new SkipLayerGuidance { Layers = [-1] } } } },
        { "Sampling.SkipLayerGuidance.End", Ok with { Sampling = Ok.Sampling with { SkipLayerGuidance = new SkipLayerGuidance { Start = 0.5f, End = 0.2f } } } },
        { "Sampling.FlowShift", Ok with { Sampling = Ok.Sampling with { FlowShift = float.PositiveInfinity } } },
        { "ReferenceImages", Ok with { ReferenceImages = Enumerable.Repeat(ImageBuffer.Filled(PixelFormat.Rgb24, 8, 8, [0, 0, 0]), 17).ToList() } },
        { "PhotoMaker", Ok with { PhotoMaker = new PhotoMakerOptions() } },
        { "PhotoMaker.StyleStrength", Ok with { PhotoMaker = new PhotoMakerOptions { IdImages = [ImageBuffer.Filled(PixelFormat.Rgb24, 8, 8, [0, 0, 0])], StyleStrength = 101 } } },
        { "Pulid.IdEmbeddingPath", Ok with { Pulid = new PulidOptions("/no/such/file") } },
        { "VaeTilingOptions.TargetOverlap", Ok with { VaeTilingOptions = new VaeTilingOptions { TargetOverlap = 1f } } },
        { "QwenImageLayers", Ok with { QwenImageLayers = 0 } },
        { "PreviewOptions.Interval", Ok with { PreviewOptions = new PreviewOptions { Interval = 0 } } },
        { "PreviewOptions", Ok with { PreviewOptions = new PreviewOptions { Denoised = false, Noisy = false } } },
        { "Hires", Ok with { Hires = new HiresFix { TargetWidth = 128 } } },
        { "Hires.UpscaleTileSize", Ok with { Hires = new HiresFix { UpscaleTileSize = 8 } } },
        { "ReferenceImageOptions.VlmMaxSize", Ok with { ReferenceImageOptions = new ReferenceImageOptions { VlmMaxSize = 0 } } },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public void Bad_values_are_refused_naming_the_field(string field, ImageRequest request)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Validation.Request(request));
        Assert.StartsWith(field, e.ParamName);
    }

    public static TheoryData<string, VideoRequest> BadVideos => new()
    {
        { "Frames", new VideoRequest { Frames = 0 } },
        { "Fps", new VideoRequest { Fps = 0 } },
        { "MoeBoundary", new VideoRequest { MoeBoundary = 1.5f } },
        { "HighNoiseSampling.Steps", new VideoRequest { HighNoiseSampling = new SamplingOptions { Steps = 0 } } },
        { "InitImage", new VideoRequest { Width = 64, Height = 64, InitImage = ImageBuffer.Filled(PixelFormat.Rgb24, 32, 32, [0, 0, 0]) } },
        { "ControlFrames", new VideoRequest { Width = 64, Height = 64, ControlFrames = [ImageBuffer.Filled(PixelFormat.Rgb24, 32, 32, [0, 0, 0])] } },
        { "ReferenceVideos", new VideoRequest { ReferenceVideos = [new ReferenceVideo([], 16)] } },
        { "Seed", new VideoRequest { Seed = -1 } },
        { "Hires", new VideoRequest { Hires = new HiresFix(Upscaler: HiresUpscaler.Model, UpscalerModelPath: "/no/such/esrgan.safetensors") } },
        { "Hires", new VideoRequest { Hires = new HiresFix(Scale: 9) } },
        // Upstream holds a whole clip in memory: 8192x8192x1024 was OOM-killed at 24 GiB instead of failing.
        { "Frames", new VideoRequest { Width = 8192, Height = 8192, Frames = VideoRequest.MaxFrames } },
        { "Frames", new VideoRequest { Width = 1920, Height = 1080, Frames = 130 } },
    };

    [Fact]
    public void A_video_at_the_pixel_limit_passes()
    {
        Validation.Video(new VideoRequest { Width = 1920, Height = 1080, Frames = 129 });
        Validation.Video(new VideoRequest { Width = 8192, Height = 8192, Frames = 4 });
        Assert.True(1920L * 1080 * 129 <= VideoRequest.MaxPixels);
    }

    [Theory]
    [MemberData(nameof(BadVideos))]
    public void Bad_video_values_are_refused_naming_the_field(string field, VideoRequest request)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Validation.Video(request));
        Assert.StartsWith(field, e.ParamName);
    }

    [Fact]
    public void Every_complete_request_passes_validation_but_for_its_files()
    {
        // The coverage test's requests name files that do not exist: only file checks may fail on them.
        var e = Assert.ThrowsAny<ArgumentException>(() => Validation.Video(FieldCoverageTests.AllVideo));
        Assert.Equal("Loras", e.ParamName);
        Validation.Video(FieldCoverageTests.AllVideo with { Loras = [] });
    }

    [Fact]
    public void Bad_loading_switches_are_refused()
    {
        // An LLM encoder alone is not a model: refused as "no model", whatever the LLM path.
        var alone = Assert.Throws<ArgumentException>(() => Validation.Options(new GeneratorOptions { LlmPath = "/no/such/llm.gguf" }));
        Assert.Equal("options", alone.ParamName);
        Assert.StartsWith("Set ModelPath (a full checkpoint) or DiffusionModelPath.", alone.Message, StringComparison.Ordinal);
        // With a model, a missing LLM file is refused by the LlmPath check itself.
        string missing = Assert.Throws<ArgumentException>(() => Validation.Options(new GeneratorOptions { DiffusionModelPath = typeof(ExtendedValidationTests).Assembly.Location, LlmPath = "/no/such/llm.gguf" })).ParamName!;
        Assert.Equal(nameof(GeneratorOptions.LlmPath), missing);
        Assert.Throws<ArgumentOutOfRangeException>(() => Validation.Options(new GeneratorOptions { DiffusionModelPath = typeof(ExtendedValidationTests).Assembly.Location, Prediction = (Prediction)42 }));
        Assert.Throws<ArgumentException>(() => Validation.Options(new GeneratorOptions { DiffusionModelPath = typeof(ExtendedValidationTests).Assembly.Location, MaxVram = "4;rm" }));
    }

    [Fact]
    public void Detailer_settings_become_upstreams_arguments_or_fail_in_range()
    {
        Assert.Null(Detailer.ExtraArgs(new DetailerRequest()));
        Assert.Equal("input_size=640,confidence=0.25,mask_mode=merge_invert,sort_by=area",
            Detailer.ExtraArgs(new DetailerRequest { InputSize = 640, Confidence = 0.25f, MaskMode = DetectionMaskMode.MergeInvert, SortBy = DetectionOrder.Area }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Detailer.ExtraArgs(new DetailerRequest { InputSize = 100 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Detailer.ExtraArgs(new DetailerRequest { Confidence = 1.5f }));
    }
}
