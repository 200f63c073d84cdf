namespace StableDiffusion.Native.Native;

// The managed records the mappers turn into upstream's structs. They mirror the native fields one to one, in
// upstream's vocabulary (enum values as upstream numbers them), so the generation API above resolves its own
// defaults and names and this layer only copies. A null value keeps the default that upstream's *_init wrote.

/// <summary>What <c>sd_ctx_params_t</c> receives. Paths are validated by the layers above before they get here.</summary>
internal sealed record ContextSpec
{
    public string? ModelPath { get; init; }
    public string? DiffusionModelPath { get; init; }
    public string? ClipLPath { get; init; }
    public string? ClipGPath { get; init; }
    public string? T5xxlPath { get; init; }
    public string? VaePath { get; init; }
    public string? TaesdPath { get; init; }
    public string? ControlNetPath { get; init; }
    public IReadOnlyList<(string Name, string Path)> Embeddings { get; init; } = [];
    /// <summary><c>sd_type_t</c> value; null keeps the file's types.</summary>
    public int? WeightType { get; init; }
    public string? TensorTypeRules { get; init; }
    public int? Threads { get; init; }
    public string? Backend { get; init; }
    public string? ParamsBackend { get; init; }
    public bool? FlashAttention { get; init; }
    public bool? DiffusionFlashAttention { get; init; }
    public bool? DiffusionConvDirect { get; init; }
    public bool? VaeConvDirect { get; init; }
    public bool? EnableMmap { get; init; }
    public bool? EagerLoad { get; init; }
    /// <summary><c>lora_apply_mode_t</c> value.</summary>
    public int? LoraApplyMode { get; init; }
    public string? RpcServers { get; init; }
    public string? MaxVram { get; init; }
    public string? ClipVisionPath { get; init; }
    public string? LlmPath { get; init; }
    public string? LlmVisionPath { get; init; }
    public string? HighNoiseDiffusionModelPath { get; init; }
    public string? UncondDiffusionModelPath { get; init; }
    public string? EmbeddingsConnectorsPath { get; init; }
    public string? AudioVaePath { get; init; }
    public string? IpAdapterPath { get; init; }
    public string? MotionModulePath { get; init; }
    public string? PhotoMakerPath { get; init; }
    public string? PulidWeightsPath { get; init; }
    /// <summary><c>rng_type_t</c> values.</summary>
    public int? RngType { get; init; }
    public int? SamplerRngType { get; init; }
    /// <summary><c>prediction_t</c> value.</summary>
    public int? Prediction { get; init; }
    public bool? TaePreviewOnly { get; init; }
    public bool? ForceSdxlVaeConvScale { get; init; }
    /// <summary><c>sd_vae_format_t</c> value.</summary>
    public int? VaeFormat { get; init; }
    public bool? StreamLayers { get; init; }
    /// <summary>Upstream's assignment syntax (<c>row</c>, <c>diffusion=row,te=layer</c>).</summary>
    public string? SplitMode { get; init; }
    public bool? AutoFit { get; init; }
    /// <summary>Upstream's <c>key=value,...</c> syntax, already checked.</summary>
    public string? ModelArgs { get; init; }
}

/// <summary>What <c>sd_img_gen_params_t</c> receives.</summary>
internal sealed record ImageGenerationSpec
{
    public string Prompt { get; init; } = "";
    public string NegativePrompt { get; init; } = "";
    public int? ClipSkip { get; init; }
    public int Width { get; init; }
    public int Height { get; init; }
    public long Seed { get; init; }
    public int BatchCount { get; init; } = 1;
    public float Strength { get; init; }
    public SampleSpec Sample { get; init; } = new();
    public NativeImage InitImage { get; init; }
    public NativeImage MaskImage { get; init; }
    public NativeImage ControlImage { get; init; }
    public float ControlStrength { get; init; }
    public IReadOnlyList<LoraSpec> Loras { get; init; } = [];
    public TilingSpec Tiling { get; init; } = new();
    public HiresSpec? Hires { get; init; }
    public IReadOnlyList<NativeImage> RefImages { get; init; } = [];
    /// <summary>Upstream's <c>key=value,...</c> syntax, already checked; null keeps upstream's empty default.</summary>
    public string? RefImageArgs { get; init; }
    public NativeImage IpAdapterImage { get; init; }
    public float? IpAdapterStrength { get; init; }
    public PhotoMakerSpec? PhotoMaker { get; init; }
    public PulidSpec? Pulid { get; init; }
    public CacheSpec? Cache { get; init; }
    public int? QwenImageLayers { get; init; }
    public bool CircularX { get; init; }
    public bool CircularY { get; init; }
}

/// <summary>What <c>sd_vid_gen_params_t</c> receives.</summary>
internal sealed record VideoGenerationSpec
{
    public string Prompt { get; init; } = "";
    public string NegativePrompt { get; init; } = "";
    public int? ClipSkip { get; init; }
    public IReadOnlyList<LoraSpec> Loras { get; init; } = [];
    public NativeImage InitImage { get; init; }
    public NativeImage EndImage { get; init; }
    public IReadOnlyList<NativeImage> RefImages { get; init; } = [];
    public IReadOnlyList<RefVideoSpec> RefVideos { get; init; } = [];
    public IReadOnlyList<AudioSpec> RefAudios { get; init; } = [];
    public IReadOnlyList<NativeImage> ControlFrames { get; init; } = [];
    public int Width { get; init; }
    public int Height { get; init; }
    public SampleSpec Sample { get; init; } = new();
    public SampleSpec? HighNoiseSample { get; init; }
    public float? MoeBoundary { get; init; }
    public float? Strength { get; init; }
    public long Seed { get; init; }
    public int Frames { get; init; }
    public int Fps { get; init; }
    public float? VaceStrength { get; init; }
    public TilingSpec Tiling { get; init; } = new();
    public CacheSpec? Cache { get; init; }
    public HiresSpec? Hires { get; init; }
    public bool CircularX { get; init; }
    public bool CircularY { get; init; }
}

internal sealed record LoraSpec(string Path, float Multiplier, bool HighNoise = false);

/// <summary>Interleaved float PCM as <c>sd_audio_t</c> holds it.</summary>
internal sealed record AudioSpec(int SampleRate, int Channels, ReadOnlyMemory<float> Samples);

internal sealed record RefVideoSpec(IReadOnlyList<NativeImage> Frames, int Fps, AudioSpec? Audio);

internal sealed record PhotoMakerSpec(IReadOnlyList<NativeImage> IdImages, string? IdEmbeddingPath, float StyleStrength);

internal sealed record PulidSpec(string IdEmbeddingPath, float IdWeight);

/// <summary>What <c>sd_tiling_params_t</c> receives.</summary>
internal sealed record TilingSpec
{
    public bool Enabled { get; init; }
    public bool Temporal { get; init; }
    public int? TileSizeX { get; init; }
    public int? TileSizeY { get; init; }
    public float? TargetOverlap { get; init; }
    public float? RelSizeX { get; init; }
    public float? RelSizeY { get; init; }
    public string? ExtraArgs { get; init; }
}

/// <summary>What <c>sd_cache_params_t</c> receives; null fields keep <c>sd_cache_params_init</c>'s values.</summary>
internal sealed record CacheSpec
{
    /// <summary><c>sd_cache_mode_t</c> value.</summary>
    public int Mode { get; init; }
    public float? ReuseThreshold { get; init; }
    public float? StartPercent { get; init; }
    public float? EndPercent { get; init; }
    public float? ErrorDecayRate { get; init; }
    public bool? UseRelativeThreshold { get; init; }
    public bool? ResetErrorOnCompute { get; init; }
    public int? FnComputeBlocks { get; init; }
    public int? BnComputeBlocks { get; init; }
    public float? ResidualDiffThreshold { get; init; }
    public int? MaxWarmupSteps { get; init; }
    public int? MaxCachedSteps { get; init; }
    public int? MaxContinuousCachedSteps { get; init; }
    public int? TaylorSeerDerivatives { get; init; }
    public int? TaylorSeerSkipInterval { get; init; }
    /// <summary>Upstream's <c>1,0,1</c> syntax.</summary>
    public string? ScmMask { get; init; }
    public bool? ScmPolicyDynamic { get; init; }
    public float? SpectrumW { get; init; }
    public int? SpectrumM { get; init; }
    public float? SpectrumLam { get; init; }
    public int? SpectrumWindowSize { get; init; }
    public float? SpectrumFlexWindow { get; init; }
    public int? SpectrumWarmupSteps { get; init; }
    public float? SpectrumStopPercent { get; init; }
}

internal sealed record SlgSpec(IReadOnlyList<int> Layers, float Start, float End, float Scale);

/// <summary>What <c>sd_sample_params_t</c> receives.</summary>
internal sealed record SampleSpec
{
    public int? Steps { get; init; }
    public float? CfgScale { get; init; }
    public float? ImageCfg { get; init; }
    public float? DistilledGuidance { get; init; }
    public SlgSpec? Slg { get; init; }
    public int? ShiftedTimestep { get; init; }
    public IReadOnlyList<float> CustomSigmas { get; init; } = [];
    public float? FlowShift { get; init; }
    /// <summary>Upstream's <c>key=value,...</c> syntax, already checked.</summary>
    public string? ExtraArgs { get; init; }
    public float? Eta { get; init; }
    /// <summary><c>sample_method_t</c> value.</summary>
    public int? SampleMethod { get; init; }
    /// <summary><c>scheduler_t</c> value.</summary>
    public int? Scheduler { get; init; }
}

/// <summary>What <c>sd_hires_params_t</c> receives; its presence enables the hires pass.</summary>
internal sealed record HiresSpec
{
    /// <summary><c>sd_hires_upscaler_t</c> value.</summary>
    public int Upscaler { get; init; } = 1;
    public string? ModelPath { get; init; }
    public float Scale { get; init; } = 2f;
    public int Steps { get; init; }
    public float DenoisingStrength { get; init; } = 0.7f;
    public int? TargetWidth { get; init; }
    public int? TargetHeight { get; init; }
    public int? UpscaleTileSize { get; init; }
    public IReadOnlyList<float> CustomSigmas { get; init; } = [];
}
