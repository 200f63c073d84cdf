using System.Reflection;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.Interop;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Native;
using StableDiffusion.Native.Tests.Integration;
using Xunit.Abstractions;

namespace StableDiffusion.Native.Tests.Native;

/// <summary>
/// Every field of every public parameter struct at the pin is reachable from the public API: a request that sets
/// everything, mapped over upstream's own defaults (or, without a runtime, over structs of 0xFF bytes, so that writing
/// 0, false or null shows too), changes every field: none is left internal. The table it prints is docs/parameters.md's.
/// </summary>
public sealed unsafe class FieldCoverageTests(ITestOutputHelper output)
{
    private static readonly ImageBuffer Rgb = ImageBuffer.Filled(PixelFormat.Rgb24, 96, 80, [1, 2, 3]);

    internal static readonly GeneratorOptions AllOptions = new()
    {
        ModelPath = "m.safetensors", DiffusionModelPath = "d.gguf", ClipLPath = "cl.safetensors", ClipGPath = "cg.safetensors",
        T5xxlPath = "t5.safetensors", VaePath = "vae.safetensors", TaesdPath = "taesd.safetensors", ControlNetPath = "cn.safetensors",
        Embeddings = [new Embedding("emb", "emb.safetensors")], WeightType = QuantizationType.Q8_0, TensorTypeRules = "attn=q4_0",
        Threads = 3, Backend = "CPU", ParamsBackend = "CPU", FlashAttention = true, DiffusionFlashAttention = false, DiffusionConvDirect = true,
        VaeConvDirect = true, EnableMmap = true, EagerLoad = true, LoraApplyMode = LoraApplyMode.AtRuntime, RpcServers = "127.0.0.1:50052", MaxVram = "4",
        ClipVisionPath = "cv.safetensors", LlmPath = "llm.gguf", LlmVisionPath = "llmv.gguf", HighNoiseDiffusionModelPath = "hn.gguf",
        UncondDiffusionModelPath = "un.gguf", EmbeddingsConnectorsPath = "ec.safetensors", AudioVaePath = "avae.safetensors",
        IpAdapterPath = "ip.safetensors", MotionModulePath = "mm.safetensors", PhotoMakerPath = "pm.safetensors", PulidWeightsPath = "pulid.safetensors",
        Rng = RngType.Cpu, SamplerRng = RngType.StdDefault, Prediction = Prediction.Flow, TaePreviewOnly = true, ForceSdxlVaeConvScale = true,
        VaeFormat = VaeFormat.Wan, StreamLayers = true, SplitMode = SplitMode.Row,
        ModuleSplitModes = new Dictionary<ModelModule, SplitMode> { [ModelModule.TextEncoder] = SplitMode.Layer },
        AutoFit = true, QwenImageZeroCondT = true, ModelArguments = new Dictionary<string, string> { ["future_model_key"] = "1" },
    };

    internal static readonly SkipLayerGuidance Slg = new() { Layers = [7, 8], Scale = 2.5f, Start = 0.05f, End = 0.3f, Unconditional = true };

    internal static readonly StepCacheOptions AllCache = new(CacheMode.CacheDit)
    {
        ReuseThreshold = 0.3f, StartPercent = 0.2f, EndPercent = 0.9f, ErrorDecayRate = 0.5f, UseRelativeThreshold = false, ResetErrorOnCompute = false,
        FirstComputeBlocks = 4, LastComputeBlocks = 2, ResidualDiffThreshold = 0.1f, MaxWarmupSteps = 3, MaxCachedSteps = 5, MaxContinuousCachedSteps = 2,
        TaylorSeerDerivatives = 2, TaylorSeerSkipInterval = 3, StepComputationMask = [true, false, true], DynamicMaskPolicy = false,
        SpectrumWeight = 0.5f, SpectrumBasis = 4, SpectrumLambda = 2f, SpectrumWindowSize = 3, SpectrumFlexWindow = 0.25f, SpectrumWarmupSteps = 2,
        SpectrumStopPercent = 0.8f,
    };

    internal static readonly VaeTilingOptions AllTiling = new()
    {
        Temporal = true, TileWidth = 32, TileHeight = 48, TargetOverlap = 0.25f, RelativeWidth = 0.5f, RelativeHeight = 0.25f,
        TemporalTileFrames = 8, ExtraArguments = new Dictionary<string, string> { ["future_tile_key"] = "2" },
    };

    internal static readonly HiresFix AllHires = new(Scale: 1.5f, Steps: 4, DenoisingStrength: 0.3f, Upscaler: HiresUpscaler.LatentBicubic, UpscalerModelPath: "up.safetensors")
    {
        TargetWidth = 144, TargetHeight = 120, UpscaleTileSize = 64, CustomSigmas = [1f, 0.5f, 0f],
    };

    internal static readonly ImageRequest AllRequest = new()
    {
        Prompt = "a lighthouse", NegativePrompt = "blurry", Width = 96, Height = 80, Seed = 1234, BatchCount = 3, ClipSkip = 2,
        Sampling = new SamplingOptions
        {
            Steps = 7, CfgScale = 4.5f, Guidance = 2.25f, Eta = 0.5f, Sampler = Sampler.DpmPlusPlus2M, Scheduler = Scheduler.Karras, ImageCfgScale = 1.5f,
            SkipLayerGuidance = Slg, FlowShift = 3f, ShiftedTimestep = 250, CustomSigmas = [14.6f, 1f, 0f], Apg = new AdaptiveProjectedGuidance { Eta = 0.5f },
            GuidanceSchedule = [7f, 7f, 3.5f], ExtraArguments = new Dictionary<string, string> { ["future_key"] = "1" },
        },
        Loras = [new LoraReference("l.safetensors", 0.5f) { HighNoise = true }], Strength = 0.4f,
        InitImage = Rgb, Mask = ImageBuffer.Filled(PixelFormat.Gray8, 96, 80, [255]), ControlImage = ImageBuffer.Filled(PixelFormat.Rgb24, 96, 80, [9, 9, 9]),
        ControlStrength = 0.6f, Hires = AllHires, StrengthAsNoiseLevel = true,
        ReferenceImages = [Rgb, Rgb], ReferenceImageOptions = new ReferenceImageOptions { Preset = ReferenceImagePreset.Qwen, ResizeBeforeVae = false },
        IpAdapterImage = Rgb, IpAdapterStrength = 0.7f,
        PhotoMaker = new PhotoMakerOptions { IdImages = [Rgb], IdEmbeddingPath = "id.bin", StyleStrength = 30f },
        Pulid = new PulidOptions("face.safetensors", 0.8f), VaeTilingOptions = AllTiling, Cache = AllCache, QwenImageLayers = 4,
        CircularX = true, CircularY = true,
    };

    internal static readonly VideoRequest AllVideo = new()
    {
        Prompt = "waves", NegativePrompt = "static", ClipSkip = 1, Loras = [new LoraReference("l.safetensors", 0.5f) { HighNoise = true }],
        Width = 96, Height = 80, Frames = 9, Fps = 24,
        Sampling = new SamplingOptions
        {
            Steps = 5, CfgScale = 6f, ImageCfgScale = 2f, Guidance = 3f, SkipLayerGuidance = Slg, Sampler = Sampler.Euler, Scheduler = Scheduler.Simple,
            Eta = 0.25f, ShiftedTimestep = 100, CustomSigmas = [1f, 0f], FlowShift = 5f, ExtraArguments = new Dictionary<string, string> { ["k"] = "v" },
        },
        HighNoiseSampling = new SamplingOptions
        {
            Steps = 3, CfgScale = 4f, ImageCfgScale = 1f, Guidance = 2f, SkipLayerGuidance = Slg, Sampler = Sampler.Heun, Scheduler = Scheduler.Karras,
            Eta = 0.1f, ShiftedTimestep = 10, CustomSigmas = [2f, 0f], FlowShift = 8f, ExtraArguments = new Dictionary<string, string> { ["a"] = "b" },
        },
        MoeBoundary = 0.9f, Strength = 0.5f, Seed = 77, InitImage = Rgb, EndImage = Rgb, ReferenceImages = [Rgb],
        ReferenceVideos = [new ReferenceVideo([Rgb, Rgb], 12, AudioBuffer.FromSamples(16000, 1, [0.1f, -0.1f]))],
        ReferenceAudios = [AudioBuffer.FromSamples(22050, 2, [0.5f, 0.5f])], ControlFrames = [Rgb, Rgb, Rgb], VaceStrength = 0.5f,
        VaeTilingOptions = AllTiling, Cache = AllCache, Hires = AllHires, CircularX = true, CircularY = true,
    };

    [Fact]
    public void Every_field_is_reachable_over_a_struct_of_0xFF_bytes()
    {
        var rows = Coverage(native: false);
        Report(rows);
        // No field is internal: every count travels with its collection, every pointer is the managed value's copy.
        var unreached = rows.Where(r => !r.Reached).Select(r => r.Field).ToList();
        Assert.Empty(unreached);
        Assert.True(rows.Count >= 191, $"{rows.Count} fields counted; the pin's structs have 191.");
    }

    [SkippableFact]
    public void Every_field_is_reachable_over_upstreams_defaults()
    {
        NativeTestEnvironment.Require();
        var rows = Coverage(native: true);
        // No field is internal: every count travels with its collection, every pointer is the managed value's copy.
        var unreached = rows.Where(r => !r.Reached).Select(r => r.Field).ToList();
        Assert.Empty(unreached);
    }

    private void Report(List<(string Field, bool Reached)> rows)
    {
        int reached = rows.Count(r => r.Reached);
        output.WriteLine($"{reached} of {rows.Count} fields reached ({100.0 * reached / rows.Count:F1} %)");
        foreach (var (field, ok) in rows) output.WriteLine($"{(ok ? "exposed " : "INTERNAL")} {field}");
    }

    private static List<(string Field, bool Reached)> Coverage(bool native)
    {
        // Keyed by "struct.field": a struct used in several places (sd_image_t, sd_sample_params_t, ...) counts once,
        // and a field is reached only if every occurrence reached it.
        var rows = new Dictionary<string, bool>();
        using var arena = new NativeArena();

        sd_ctx_params_t ctx0 = Filled<sd_ctx_params_t>();
        if (native) Sd.sd_ctx_params_init(&ctx0);
        var ctx = ctx0;
        // Upstream's default for the diffusion-only switch is off, as is AllOptions': turn it on to see it land.
        ContextParamsMapper.Map(native ? AllOptions with { DiffusionFlashAttention = true } : AllOptions, arena, ref ctx);
        Compare(ctx0, ctx, rows);
        Compare(Filled<sd_embedding_t>(), ctx.embeddings[0], rows);

        sd_img_gen_params_t img0 = Filled<sd_img_gen_params_t>();
        if (native) Sd.sd_img_gen_params_init(&img0);
        var img = img0;
        ImageGenParamsMapper.Map(AllRequest, arena, ref img);
        Compare(img0, img, rows);
        Compare(Filled<sd_lora_t>(), img.loras[0], rows);

        sd_vid_gen_params_t vid0 = Filled<sd_vid_gen_params_t>();
        if (native) Sd.sd_vid_gen_params_init(&vid0);
        var vid = vid0;
        VideoGenParamsMapper.Map(AllVideo, arena, ref vid);
        Compare(vid0, vid, rows);
        Compare(Filled<sd_lora_t>(), vid.loras[0], rows);
        Compare(Filled<sd_ref_video_t>(), vid.ref_videos[0], rows);
        Compare(Filled<sd_audio_t>(), vid.ref_audios[0], rows);

        // sd_adetailer_params_t: what DetailerContext maps from Detailer.Apply's prompts and a request's settings.
        var ad0 = Filled<sd_adetailer_params_t>();
        var ad = ad0;
        DetailerParamsMapper.Map("a face", "blurry", Detailer.ExtraArgs(new DetailerRequest { Confidence = 0.5f, MaskMode = DetectionMaskMode.Merge }), arena, ref ad);
        Compare(ad0, ad, rows);
        return rows.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => (r.Key, r.Value)).ToList();
    }

    private static T Filled<T>() where T : unmanaged
    {
        T value;
        new Span<byte>(&value, sizeof(T)).Fill(0xFF);
        return value;
    }

    /// <summary>Rows for a struct's fields; a nested struct is one row (reached if any of its fields is) plus its own rows.</summary>
    private static bool Compare(object before, object after, Dictionary<string, bool> rows)
    {
        bool any = false;
        foreach (var f in before.GetType().GetFields(BindingFlags.Public | BindingFlags.Instance))
        {
            string name = before.GetType().Name + "." + f.Name;
            object? a = f.GetValue(before), b = f.GetValue(after);
            bool changed;
            if (f.FieldType.IsValueType && !f.FieldType.IsPrimitive && !f.FieldType.IsEnum && !f.FieldType.IsPointer)
                changed = Compare(a!, b!, rows);
            else if (f.FieldType.IsPointer)
                changed = (nint)Pointer.Unbox(a!) != (nint)Pointer.Unbox(b!);
            else
                changed = !Equals(a, b);
            rows[name] = rows.TryGetValue(name, out bool earlier) ? earlier && changed : changed;
            any |= changed;
        }
        return any;
    }
}
