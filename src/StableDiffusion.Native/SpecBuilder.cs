using System.Globalization;
using System.Text;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.Native;

namespace StableDiffusion.Native;

/// <summary>
/// Turns the public, validated records into the native layer's specs: names into upstream's numbers, typed settings
/// into upstream's <c>key=value</c> argument strings. Everything here has passed <see cref="Validation"/>.
/// </summary>
internal static class SpecBuilder
{
    private static readonly string[] s_presetNames =
    [
        "default", "flux_kontext", "longcat", "flux2", "qwen", "qwen_layered", "mage_flow", "z_image_omni", "krea2_ostris_edit", "krea2_edit", "cosmos_reference",
    ];

    private static readonly string[] s_moduleNames = ["diffusion", "te", "clip_vision", "vae", "control_net", "photomaker", "upscaler", "detector"];

    internal static string PresetName(ReferenceImagePreset preset) => s_presetNames[(int)preset];

    internal static string ModuleName(ModelModule module) => s_moduleNames[(int)module];

    public static ContextSpec Context(GeneratorOptions options) => new()
    {
        ModelPath = options.ModelPath,
        DiffusionModelPath = options.DiffusionModelPath,
        ClipLPath = options.ClipLPath,
        ClipGPath = options.ClipGPath,
        T5xxlPath = options.T5xxlPath,
        VaePath = options.VaePath,
        TaesdPath = options.TaesdPath,
        ControlNetPath = options.ControlNetPath,
        Embeddings = options.Embeddings.Select(e => (e.Name, e.Path)).ToList(),
        WeightType = options.WeightType is { } w ? (int)w : null,
        TensorTypeRules = options.TensorTypeRules,
        Threads = options.Threads,
        Backend = options.Backend,
        ParamsBackend = options.ParamsBackend,
        FlashAttention = options.FlashAttention,
        // One switch for both unless asked apart: upstream's diffusion-only flag exists for models whose text encoder breaks with it.
        DiffusionFlashAttention = options.DiffusionFlashAttention ?? options.FlashAttention,
        DiffusionConvDirect = options.DiffusionConvDirect,
        VaeConvDirect = options.VaeConvDirect,
        EnableMmap = options.EnableMmap,
        EagerLoad = options.EagerLoad,
        LoraApplyMode = options.LoraApplyMode is { } m ? (int)m : null,
        RpcServers = options.RpcServers,
        MaxVram = options.MaxVram,
        ClipVisionPath = options.ClipVisionPath,
        LlmPath = options.LlmPath,
        LlmVisionPath = options.LlmVisionPath,
        HighNoiseDiffusionModelPath = options.HighNoiseDiffusionModelPath,
        UncondDiffusionModelPath = options.UncondDiffusionModelPath,
        EmbeddingsConnectorsPath = options.EmbeddingsConnectorsPath,
        AudioVaePath = options.AudioVaePath,
        IpAdapterPath = options.IpAdapterPath,
        MotionModulePath = options.MotionModulePath,
        PhotoMakerPath = options.PhotoMakerPath,
        PulidWeightsPath = options.PulidWeightsPath,
        RngType = options.Rng is { } rng ? (int)rng : null,
        SamplerRngType = options.SamplerRng is { } srng ? (int)srng : null,
        Prediction = options.Prediction is { } prediction ? (int)prediction : null,
        TaePreviewOnly = options.TaePreviewOnly,
        ForceSdxlVaeConvScale = options.ForceSdxlVaeConvScale,
        VaeFormat = options.VaeFormat is { } vf ? (int)vf : null,
        StreamLayers = options.StreamLayers,
        SplitMode = SplitModeSpec(options.SplitMode, options.ModuleSplitModes),
        AutoFit = options.AutoFit,
        ModelArgs = Args(
        [
            ("chroma_use_t5_mask", Bool(options.ChromaUseT5Mask)), ("chroma_t5_mask_pad", Int(options.ChromaT5MaskPad)),
            ("chroma_use_dit_mask", Bool(options.ChromaUseDitMask)), ("qwen_image_zero_cond_t", Bool(options.QwenImageZeroCondT)),
        ], options.ModelArguments),
    };

    /// <summary>The keys the typed properties write into each of upstream's argument strings (refused in the dictionaries).</summary>
    internal static readonly string[] ModelArgKeys = ["chroma_use_t5_mask", "chroma_t5_mask_pad", "chroma_use_dit_mask", "qwen_image_zero_cond_t"];

    internal static readonly string[] SampleArgKeys =
        ["apg_eta", "apg_momentum", "apg_norm_threshold", "apg_norm_threshold_smoothing", "slg_uncond", "guidance_schedule", "strength_as_noise_level", "force_first_sigma"];

    internal static readonly string[] TilingArgKeys = ["temporal_tile_frames", "temporal_tile_overlap"];

    private static string? Bool(bool? value) => value is bool b ? (b ? "true" : "false") : null;

    private static string? Int(int? value) => value?.ToString(CultureInfo.InvariantCulture);

    private static string? Float(float? value) => value?.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Upstream's <c>key=value,...</c> form: the typed pairs that are set, then the checked extra pairs; null when empty.</summary>
    internal static string? Args(IEnumerable<(string Key, string? Value)> typed, IReadOnlyDictionary<string, string>? extra)
    {
        var parts = typed.Where(p => p.Value is not null).Select(p => p.Key + "=" + p.Value).ToList();
        if (KeyValues(extra) is { } rest) parts.Add(rest);
        return parts.Count == 0 ? null : string.Join(",", parts);
    }

    /// <summary>Upstream's guidance schedule: runs of equal scales as <c>scale x count</c>, joined by <c>+</c>.</summary>
    internal static string? Schedule(IReadOnlyList<float> scales)
    {
        if (scales.Count == 0) return null;
        var runs = new List<string>();
        for (int i = 0; i < scales.Count;)
        {
            int j = i;
            while (j < scales.Count && scales[j].Equals(scales[i])) j++;
            runs.Add(Float(scales[i]) + "x" + (j - i).ToString(CultureInfo.InvariantCulture));
            i = j;
        }
        return string.Join("+", runs);
    }

    private static string? SplitModeSpec(SplitMode? mode, IReadOnlyDictionary<ModelModule, SplitMode> modules)
    {
        var parts = new List<string>();
        if (mode is { } m) parts.Add(Name(m));
        foreach (var (module, moduleMode) in modules.OrderBy(kv => kv.Key)) parts.Add($"{ModuleName(module)}={Name(moduleMode)}");
        return parts.Count == 0 ? null : string.Join(",", parts);
        static string Name(SplitMode m) => m == StableDiffusion.Native.SplitMode.Row ? "row" : "layer";
    }

    public static ImageGenerationSpec Image(ImageRequest request, long seed, Sampler sampler, Scheduler scheduler) => new()
    {
        Prompt = request.Prompt,
        NegativePrompt = request.NegativePrompt,
        ClipSkip = request.ClipSkip,
        Width = request.RequestedWidth,
        Height = request.RequestedHeight,
        Seed = seed,
        BatchCount = request.BatchCount,
        Strength = request.Strength,
        Sample = MainSample(request.Steps, request.CfgScale, request.ImageCfgScale, request.Guidance, request.SkipLayerGuidance, request.Eta,
            sampler, scheduler, request.ShiftedTimestep, request.CustomSigmas, request.FlowShift, request.Apg, request.GuidanceSchedule,
            [("strength_as_noise_level", Bool(request.StrengthAsNoiseLevel)), ("force_first_sigma", Bool(request.ForceFirstSigma))], request.ExtraSampleArguments),
        // Upstream reads init and control images as RGB and masks as one gray channel, whatever it is handed.
        InitImage = Rgb(request.InitImage),
        MaskImage = ToNative(request.Mask?.ToGray8()),
        ControlImage = Rgb(request.ControlImage),
        ControlStrength = request.ControlStrength,
        Loras = Loras(request.Loras),
        Tiling = Tiling(request.VaeTiling, request.VaeTilingOptions),
        Hires = Hires(request.Hires),
        RefImages = request.ReferenceImages.Select(Rgb).ToList(),
        RefImageArgs = ReferenceArgs(request.ReferenceImageOptions),
        IpAdapterImage = Rgb(request.IpAdapterImage),
        IpAdapterStrength = request.IpAdapterImage is null ? null : request.IpAdapterStrength,
        PhotoMaker = request.PhotoMaker is { } pm ? new PhotoMakerSpec(pm.IdImages.Select(Rgb).ToList(), pm.IdEmbeddingPath, pm.StyleStrength) : null,
        Pulid = request.Pulid is { } pulid ? new PulidSpec(pulid.IdEmbeddingPath, pulid.IdWeight) : null,
        Cache = Cache(request.Cache),
        QwenImageLayers = request.QwenImageLayers,
        CircularX = request.CircularX,
        CircularY = request.CircularY,
    };

    public static VideoGenerationSpec Video(VideoRequest request, long seed, Sampler sampler, Scheduler scheduler) => new()
    {
        Prompt = request.Prompt,
        NegativePrompt = request.NegativePrompt,
        ClipSkip = request.ClipSkip,
        Loras = Loras(request.Loras),
        InitImage = Rgb(request.InitImage),
        EndImage = Rgb(request.EndImage),
        RefImages = request.ReferenceImages.Select(Rgb).ToList(),
        RefVideos = request.ReferenceVideos.Select(v => new RefVideoSpec(v.Frames.Select(Rgb).ToList(), v.Fps, Audio(v.Audio))).ToList(),
        RefAudios = request.ReferenceAudios.Select(a => Audio(a)!).ToList(),
        ControlFrames = request.ControlFrames.Select(Rgb).ToList(),
        Width = request.RequestedWidth,
        Height = request.RequestedHeight,
        Sample = MainSample(request.Steps, request.CfgScale, request.ImageCfgScale, request.Guidance, request.SkipLayerGuidance, request.Eta,
            sampler, scheduler, request.ShiftedTimestep, request.CustomSigmas, request.FlowShift, request.Apg, request.GuidanceSchedule, [], request.ExtraSampleArguments),
        HighNoiseSample = Sample(request.HighNoiseSampling),
        MoeBoundary = request.MoeBoundary,
        Strength = request.Strength,
        Seed = seed,
        Frames = request.Frames,
        Fps = request.Fps,
        VaceStrength = request.VaceStrength,
        Tiling = Tiling(request.VaeTiling, request.VaeTilingOptions),
        Cache = Cache(request.Cache),
        Hires = Hires(request.Hires),
        CircularX = request.CircularX,
        CircularY = request.CircularY,
    };

    /// <summary>The main sampling of an image or video request, whose fields the request holds flat.</summary>
    private static SampleSpec MainSample(int steps, float cfg, float? imageCfg, float? guidance, SkipLayerGuidance? slg, float? eta, Sampler sampler,
        Scheduler scheduler, int? shiftedTimestep, IReadOnlyList<float> sigmas, float? flowShift, AdaptiveProjectedGuidance? apg,
        IReadOnlyList<float> schedule, IEnumerable<(string Key, string? Value)> img2img, IReadOnlyDictionary<string, string> extra)
        => Sample(new SamplingOptions
        {
            Steps = steps, CfgScale = cfg, ImageCfgScale = imageCfg, Guidance = guidance, SkipLayerGuidance = slg, Eta = eta, Sampler = sampler,
            Scheduler = scheduler, ShiftedTimestep = shiftedTimestep, CustomSigmas = sigmas, FlowShift = flowShift, Apg = apg,
            GuidanceSchedule = schedule, ExtraArguments = extra,
        }, img2img)!;

    /// <summary>The typed pairs of upstream's <c>extra_sample_args</c>.</summary>
    private static IEnumerable<(string, string?)> SampleArgs(SamplingOptions s) =>
    [
        ("apg_eta", Float(s.Apg?.Eta)), ("apg_momentum", Float(s.Apg?.Momentum)), ("apg_norm_threshold", Float(s.Apg?.NormThreshold)),
        ("apg_norm_threshold_smoothing", Float(s.Apg?.NormThresholdSmoothing)), ("slg_uncond", Bool(s.SkipLayerGuidance?.Unconditional)),
        ("guidance_schedule", Schedule(s.GuidanceSchedule)),
    ];

    internal static SampleSpec? Sample(SamplingOptions? s, IEnumerable<(string Key, string? Value)>? more = null) => s is null ? null : new SampleSpec
    {
        Steps = s.Steps,
        CfgScale = s.CfgScale,
        ImageCfg = s.ImageCfgScale,
        DistilledGuidance = s.Guidance,
        Slg = Slg(s.SkipLayerGuidance),
        Eta = s.Eta,
        SampleMethod = s.Sampler is { } sm ? (int)sm : null,
        Scheduler = s.Scheduler is { } sc ? (int)sc : null,
        ShiftedTimestep = s.ShiftedTimestep,
        CustomSigmas = s.CustomSigmas,
        FlowShift = s.FlowShift,
        ExtraArgs = Args(SampleArgs(s).Concat(more ?? []), s.ExtraArguments),
    };

    private static SlgSpec? Slg(SkipLayerGuidance? slg) => slg is null ? null : new SlgSpec(slg.Layers, slg.Start, slg.End, slg.Scale);

    private static List<LoraSpec> Loras(IReadOnlyList<LoraReference> loras) => loras.Select(l => new LoraSpec(l.Path, l.Multiplier, l.HighNoise)).ToList();

    private static TilingSpec Tiling(bool enabled, VaeTilingOptions? o) => o is null
        ? new TilingSpec { Enabled = enabled }
        : new TilingSpec
        {
            Enabled = o.Spatial || enabled,
            Temporal = o.Temporal,
            TileSizeX = o.TileWidth,
            TileSizeY = o.TileHeight,
            TargetOverlap = o.TargetOverlap,
            RelSizeX = o.RelativeWidth,
            RelSizeY = o.RelativeHeight,
            ExtraArgs = Args([("temporal_tile_frames", Int(o.TemporalTileFrames)), ("temporal_tile_overlap", Int(o.TemporalTileOverlap))], o.ExtraArguments),
        };

    private static HiresSpec? Hires(HiresFix? h) => h is null ? null : new HiresSpec
    {
        Upscaler = (int)h.Upscaler,
        ModelPath = h.UpscalerModelPath,
        Scale = h.Scale,
        Steps = h.Steps,
        DenoisingStrength = h.DenoisingStrength,
        TargetWidth = h.TargetWidth,
        TargetHeight = h.TargetHeight,
        UpscaleTileSize = h.UpscaleTileSize,
        CustomSigmas = h.CustomSigmas,
    };

    internal static CacheSpec? Cache(StepCacheOptions? c) => c is null ? null : new CacheSpec
    {
        Mode = (int)c.Mode,
        ReuseThreshold = c.ReuseThreshold,
        StartPercent = c.StartPercent,
        EndPercent = c.EndPercent,
        ErrorDecayRate = c.ErrorDecayRate,
        UseRelativeThreshold = c.UseRelativeThreshold,
        ResetErrorOnCompute = c.ResetErrorOnCompute,
        FnComputeBlocks = c.FirstComputeBlocks,
        BnComputeBlocks = c.LastComputeBlocks,
        ResidualDiffThreshold = c.ResidualDiffThreshold,
        MaxWarmupSteps = c.MaxWarmupSteps,
        MaxCachedSteps = c.MaxCachedSteps,
        MaxContinuousCachedSteps = c.MaxContinuousCachedSteps,
        TaylorSeerDerivatives = c.TaylorSeerDerivatives,
        TaylorSeerSkipInterval = c.TaylorSeerSkipInterval,
        ScmMask = c.StepComputationMask.Count == 0 ? null : string.Join(",", c.StepComputationMask.Select(b => b ? "1" : "0")),
        ScmPolicyDynamic = c.DynamicMaskPolicy,
        SpectrumW = c.SpectrumWeight,
        SpectrumM = c.SpectrumBasis,
        SpectrumLam = c.SpectrumLambda,
        SpectrumWindowSize = c.SpectrumWindowSize,
        SpectrumFlexWindow = c.SpectrumFlexWindow,
        SpectrumWarmupSteps = c.SpectrumWarmupSteps,
        SpectrumStopPercent = c.SpectrumStopPercent,
    };

    internal static string? ReferenceArgs(ReferenceImageOptions? o)
    {
        if (o is null) return null;
        var parts = new List<string>();
        if (o.Preset != ReferenceImagePreset.Default) parts.Add("preset=" + PresetName(o.Preset));
        void Bool(string key, bool? value)
        {
            if (value is bool b) parts.Add(key + "=" + (b ? "true" : "false"));
        }
        void Int(string key, int? value)
        {
            if (value is int i) parts.Add(key + "=" + i.ToString(CultureInfo.InvariantCulture));
        }
        Bool("resize_before_vae", o.ResizeBeforeVae);
        Bool("pass_to_vlm", o.PassToVlm);
        Bool("pass_to_dit", o.PassToDit);
        if (o.IndexMode is { } mode) parts.Add("ref_index_mode=" + mode.ToString().ToLowerInvariant());
        Bool("force_ref_timestep_zero", o.ForceTimestepZero);
        Int("vae_input_max_pixels", o.VaeInputMaxPixels);
        if (o.VlmResizeMode is { } resize)
            parts.Add("vlm_resize_mode=" + resize switch { VlmResizeMode.LongestSide => "longest_side", VlmResizeMode.Area => "area", _ => "none" });
        Int("vlm_min_size", o.VlmMinSize);
        Int("vlm_max_size", o.VlmMaxSize);
        return string.Join(",", parts);
    }

    /// <summary>Upstream's <c>key=value,...</c> form of checked pairs (see <see cref="Validation.KeyValues"/>); null when empty.</summary>
    internal static string? KeyValues(IReadOnlyDictionary<string, string>? pairs)
    {
        if (pairs is null || pairs.Count == 0) return null;
        var text = new StringBuilder();
        foreach (var (key, value) in pairs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (text.Length > 0) text.Append(',');
            text.Append(key).Append('=').Append(value);
        }
        return text.ToString();
    }

    private static AudioSpec? Audio(AudioBuffer? audio) => audio is null ? null : new AudioSpec(audio.SampleRate, audio.Channels, audio.Samples);

    private static NativeImage Rgb(ImageBuffer? image) => ToNative(image?.ToRgb24());

    internal static NativeImage ToNative(ImageBuffer? image)
        => image is null ? default : new NativeImage(image.Width, image.Height, image.BytesPerPixel, image.Pixels);
}
