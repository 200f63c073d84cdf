using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native;

/// <summary>
/// Skip-layer guidance (SD3.5, DiT models): an extra guidance term from a forward pass that skips <see cref="Layers"/>,
/// applied between <see cref="Start"/> and <see cref="End"/> of the schedule (upstream <c>sd_slg_params_t</c>).
/// </summary>
public sealed record SkipLayerGuidance
{
    /// <summary>The transformer blocks to skip, each 0 to 1023 (sd-cli's default for SD3.5: 7, 8, 9).</summary>
    public IReadOnlyList<int> Layers { get; init; } = [7, 8, 9];

    /// <summary>Guidance scale of the term, ≥ 0; 0 disables it (upstream default 0; 2.5 is usual for SD3.5 Medium).</summary>
    [Bounds(0, 1e4)]
    public float Scale { get; init; } = 2.5f;

    /// <summary>Where in the schedule it starts, 0 to 1 (upstream default 0.01).</summary>
    [Bounds(0, 1)]
    public float Start { get; init; } = 0.01f;

    /// <summary>Where in the schedule it ends, <see cref="Start"/> to 1 (upstream default 0.2).</summary>
    [Bounds(0, 1)]
    public float End { get; init; } = 0.2f;

    /// <summary>Skip the layers in the unconditional pass instead of an extra one (upstream's <c>slg_uncond</c>; default off).</summary>
    public bool? Unconditional { get; init; }
}

/// <summary>
/// Adaptive projected guidance (APG): reduces oversaturation at high CFG by damping the guidance's parallel component
/// (upstream's <c>apg_*</c> sampling arguments). Null values keep upstream's defaults.
/// </summary>
public sealed record AdaptiveProjectedGuidance
{
    /// <summary>Weight of the parallel component, finite (<c>apg_eta</c>).</summary>
    [Bounds(-1e4, 1e4)]
    public float? Eta { get; init; }

    /// <summary>Momentum of the running guidance average, finite (<c>apg_momentum</c>).</summary>
    [Bounds(-1e4, 1e4)]
    public float? Momentum { get; init; }

    /// <summary>Norm above which guidance is rescaled, ≥ 0 (<c>apg_norm_threshold</c>).</summary>
    [Bounds(0, 1e4)]
    public float? NormThreshold { get; init; }

    /// <summary>Smoothing of that rescaling, 0 to 1 (<c>apg_norm_threshold_smoothing</c>).</summary>
    [Bounds(0, 1)]
    public float? NormThresholdSmoothing { get; init; }
}

/// <summary>
/// How to sample (upstream <c>sd_sample_params_t</c>): the one shape that <see cref="ImageRequest.Sampling"/>,
/// <see cref="VideoRequest.Sampling"/> and the high-noise stage of a two-stage video model
/// (<see cref="VideoRequest.HighNoiseSampling"/>) share, with one set of bounds. Null values keep upstream's defaults
/// (from <c>sd_sample_params_init</c>); a null sampler or scheduler is the model's default.
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>These settings, with each one left unset taken from a model's recommended <paramref name="defaults"/> (its manifest's).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="defaults"/> is null.</exception>
    public SamplingOptions WithDefaults(ModelDefaults defaults)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        return this with
        {
            Steps = Steps ?? defaults.Steps,
            CfgScale = CfgScale ?? defaults.CfgScale,
            Sampler = Sampler ?? defaults.Sampler,
            Scheduler = Scheduler ?? defaults.Scheduler,
            FlowShift = FlowShift ?? defaults.FlowShift,
        };
    }

    /// <summary>Upstream's default step count (<c>sd_sample_params_init</c>), used when <see cref="Steps"/> is null.</summary>
    public const int DefaultSteps = 20;

    /// <summary>Upstream's default CFG scale (<c>sd_sample_params_init</c>), used when <see cref="CfgScale"/> is null.</summary>
    public const float DefaultCfgScale = 7f;

    /// <summary>Sampling steps, 1 to 10000; null is <see cref="DefaultSteps"/> (for the high-noise stage: derived from the MoE boundary).</summary>
    [Bounds(1, 10_000)]
    public int? Steps { get; init; }

    /// <summary>Classifier-free guidance scale, 0 to 10000; null is <see cref="DefaultCfgScale"/>.</summary>
    [Bounds(0, 1e4)]
    public float? CfgScale { get; init; }

    /// <summary>Image guidance scale of instruction-editing models (InstructPix2Pix, Kontext), 0 to 10000; null uses <see cref="CfgScale"/>.</summary>
    [Bounds(0, 1e4)]
    public float? ImageCfgScale { get; init; }

    /// <summary>Distilled guidance (Flux), 0 to 10000; null keeps upstream's default (3.5).</summary>
    [Bounds(0, 1e4)]
    public float? Guidance { get; init; }

    /// <summary>Skip-layer guidance (SD3.5 and other DiTs); null for none.</summary>
    public SkipLayerGuidance? SkipLayerGuidance { get; init; }

    /// <summary>Sampling method; null uses the model's default.</summary>
    public Sampler? Sampler { get; init; }

    /// <summary>Noise schedule; null uses the model's default for the sampler.</summary>
    public Scheduler? Scheduler { get; init; }

    /// <summary>Noise of ancestral and DDIM-like samplers, 0 to 10000; null keeps upstream's per-sampler default.</summary>
    [Bounds(0, 1e4)]
    public float? Eta { get; init; }

    /// <summary>Timestep shift of NitroFusion-style models (upstream <c>shifted_timestep</c>), 0 to 1000; null or 0 for none.</summary>
    [Bounds(0, 1000)]
    public int? ShiftedTimestep { get; init; }

    /// <summary>Explicit sigmas, replacing the scheduler's (one more than the steps, descending, finite, ≥ 0, at most 10001); empty for none.</summary>
    public IReadOnlyList<float> CustomSigmas { get; init; } = [];

    /// <summary>Shift of flow models' schedule (SD3: 3, Wan: 5), -10000 to 10000; null keeps the model's default.</summary>
    [Bounds(-1e4, 1e4)]
    public float? FlowShift { get; init; }

    /// <summary>Adaptive projected guidance (less oversaturation at high CFG); null for none.</summary>
    public AdaptiveProjectedGuidance? Apg { get; init; }

    /// <summary>A CFG scale per step, replacing <see cref="CfgScale"/> step by step (upstream's <c>guidance_schedule</c>); empty for none.</summary>
    public IReadOnlyList<float> GuidanceSchedule { get; init; } = [];

    /// <summary>
    /// Further sampling arguments as key/value pairs, for keys this library does not type (a newer runtime's): upstream's
    /// <c>extra_sample_args</c>. Keys the typed properties set are refused here, and keys and values are checked so none
    /// can split another.
    /// </summary>
    public IReadOnlyDictionary<string, string> ExtraArguments { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// VAE tiling: decode (and encode) the latent in tiles, which bounds the memory of large images and long videos
/// (upstream <c>sd_tiling_params_t</c>). Setting these options on a request turns tiling on.
/// </summary>
public sealed record VaeTilingOptions
{
    /// <summary>Tile in space (upstream's <c>enabled</c>; default true). Off with <see cref="Temporal"/> on tiles only along time.</summary>
    public bool Spatial { get; init; } = true;

    /// <summary>Tile along time too (video VAEs).</summary>
    public bool Temporal { get; init; }

    /// <summary>Tile width in latent pixels, 0 (upstream's choice) to 4096.</summary>
    [Bounds(0, 4096)]
    public int TileWidth { get; init; }

    /// <summary>Tile height in latent pixels, 0 (upstream's choice) to 4096.</summary>
    [Bounds(0, 4096)]
    public int TileHeight { get; init; }

    /// <summary>Overlap of neighbouring tiles as a fraction of a tile, 0 to 0.9 (upstream default 0.5).</summary>
    [Bounds(0, 0.9)]
    public float TargetOverlap { get; init; } = 0.5f;

    /// <summary>Tile width relative to the latent (0 to 1; 0 uses <see cref="TileWidth"/>).</summary>
    [Bounds(0, 1)]
    public float RelativeWidth { get; init; }

    /// <summary>Tile height relative to the latent (0 to 1; 0 uses <see cref="TileHeight"/>).</summary>
    [Bounds(0, 1)]
    public float RelativeHeight { get; init; }

    /// <summary>Frames per temporal tile of LTX's VAE, 1 to 4096 (<c>temporal_tile_frames</c>); null for upstream's.</summary>
    [Bounds(1, 4096)]
    public int? TemporalTileFrames { get; init; }

    /// <summary>Overlapping frames of temporal tiles, 0 to 4096 (<c>temporal_tile_overlap</c>); null for upstream's.</summary>
    [Bounds(0, 4096)]
    public int? TemporalTileOverlap { get; init; }

    /// <summary>Further tiling arguments for keys this library does not type (upstream's <c>extra_tiling_args</c>); typed keys are refused here.</summary>
    public IReadOnlyDictionary<string, string> ExtraArguments { get; init; } = new Dictionary<string, string>();
}

/// <summary>Upstream's step caches (<c>sd_cache_mode_t</c>): reuse a step's result when the model's output barely changes.</summary>
public enum CacheMode
{
    /// <summary>No cache.</summary>
    Disabled,

    /// <summary>EasyCache (DiT models): skips steps whose input changed less than the reuse threshold (<c>StepCacheOptions.ReuseThreshold</c>).</summary>
    EasyCache,

    /// <summary>UCache (UNet models: SD1, SD2, SDXL).</summary>
    UCache,

    /// <summary>DBCache (DiT): computes the first and last blocks, reuses the middle's residual.</summary>
    DbCache,

    /// <summary>TaylorSeer (DiT): extrapolates features with a Taylor series.</summary>
    TaylorSeer,

    /// <summary>Cache-DiT: DBCache and TaylorSeer together.</summary>
    CacheDit,

    /// <summary>Spectrum (UNet and DiT): spectral forecasting of skipped steps.</summary>
    Spectrum,
}

/// <summary>
/// A step cache and its settings (upstream <c>sd_cache_params_t</c>). Each setting is read by the modes its
/// documentation names; null keeps upstream's default, given with each.
/// </summary>
/// <param name="Mode">Which cache.</param>
public sealed record StepCacheOptions(CacheMode Mode)
{
    /// <summary>EasyCache/UCache: reuse threshold, ≥ 0 (upstream: 0.2 for EasyCache, 1 for UCache).</summary>
    [Bounds(0, 1e4)]
    public float? ReuseThreshold { get; init; }

    /// <summary>EasyCache/UCache: where in the schedule caching may start, 0 to 1 (default 0.15).</summary>
    [Bounds(0, 1)]
    public float? StartPercent { get; init; }

    /// <summary>EasyCache/UCache: where it stops, above <see cref="StartPercent"/>, to 1 (default 0.95).</summary>
    [Bounds(0, 1)]
    public float? EndPercent { get; init; }

    /// <summary>UCache: decay of the accumulated error, 0 to 1 (default 1).</summary>
    [Bounds(0, 1)]
    public float? ErrorDecayRate { get; init; }

    /// <summary>UCache: compare the change relative to the output's size (default true).</summary>
    public bool? UseRelativeThreshold { get; init; }

    /// <summary>UCache: reset the accumulated error whenever a step is computed (default true).</summary>
    public bool? ResetErrorOnCompute { get; init; }

    /// <summary>DBCache/Cache-DiT: leading blocks always computed, 0 to 1024 (default 8).</summary>
    [Bounds(0, 1024)]
    public int? FirstComputeBlocks { get; init; }

    /// <summary>DBCache/Cache-DiT: trailing blocks always computed, 0 to 1024 (default 0).</summary>
    [Bounds(0, 1024)]
    public int? LastComputeBlocks { get; init; }

    /// <summary>DBCache/Cache-DiT: residual difference below which a step is reused, ≥ 0 (default 0.08).</summary>
    [Bounds(0, 1e4)]
    public float? ResidualDiffThreshold { get; init; }

    /// <summary>DBCache/Cache-DiT: steps always computed at the start, 0 to 10000 (default 8).</summary>
    [Bounds(0, 10_000)]
    public int? MaxWarmupSteps { get; init; }

    /// <summary>DBCache/Cache-DiT: at most this many cached steps, -1 (no limit, default) to 10000.</summary>
    [Bounds(-1, 10_000)]
    public int? MaxCachedSteps { get; init; }

    /// <summary>DBCache/Cache-DiT: at most this many cached steps in a row, -1 (no limit, default) to 10000.</summary>
    [Bounds(-1, 10_000)]
    public int? MaxContinuousCachedSteps { get; init; }

    /// <summary>TaylorSeer/Cache-DiT: derivatives of the series, 0 to 8 (default 1).</summary>
    [Bounds(0, 8)]
    public int? TaylorSeerDerivatives { get; init; }

    /// <summary>TaylorSeer/Cache-DiT: steps between full computations, 1 to 100 (default 1).</summary>
    [Bounds(1, 100)]
    public int? TaylorSeerSkipInterval { get; init; }

    /// <summary>DBCache/TaylorSeer/Cache-DiT: per step, whether it is computed (true) or may be cached (false); empty for none (upstream <c>scm_mask</c>).</summary>
    public IReadOnlyList<bool> StepComputationMask { get; init; } = [];

    /// <summary>DBCache/TaylorSeer/Cache-DiT: adapt the mask to the measured change (default true).</summary>
    public bool? DynamicMaskPolicy { get; init; }

    /// <summary>Spectrum: blend weight, 0 to 1 (default 0.4).</summary>
    [Bounds(0, 1)]
    public float? SpectrumWeight { get; init; }

    /// <summary>Spectrum: basis size, 1 to 64 (default 3).</summary>
    [Bounds(1, 64)]
    public int? SpectrumBasis { get; init; }

    /// <summary>Spectrum: ridge regularisation λ, ≥ 0 (default 1).</summary>
    [Bounds(0, 1e4)]
    public float? SpectrumLambda { get; init; }

    /// <summary>Spectrum: window of steps, 1 to 1000 (default 2).</summary>
    [Bounds(1, 1000)]
    public int? SpectrumWindowSize { get; init; }

    /// <summary>Spectrum: flexible part of the window, 0 to 1 (default 0.5).</summary>
    [Bounds(0, 1)]
    public float? SpectrumFlexWindow { get; init; }

    /// <summary>Spectrum: steps always computed at the start, 0 to 10000 (default 4).</summary>
    [Bounds(0, 10_000)]
    public int? SpectrumWarmupSteps { get; init; }

    /// <summary>Spectrum: where in the schedule it stops forecasting, 0 to 1 (default 0.9).</summary>
    [Bounds(0, 1)]
    public float? SpectrumStopPercent { get; init; }
}

/// <summary>PhotoMaker: personalise the subject from ID images (needs <see cref="GeneratorOptions.PhotoMakerPath"/>; upstream <c>sd_pm_params_t</c>).</summary>
public sealed record PhotoMakerOptions
{
    /// <summary>Photos of the person (<see cref="PixelFormat.Rgb24"/>); PhotoMaker v2 may use <see cref="IdEmbeddingPath"/> instead.</summary>
    public IReadOnlyList<ImageBuffer> IdImages { get; init; } = [];

    /// <summary>A precomputed ID embedding (PhotoMaker v2, from InsightFace), or null.</summary>
    public string? IdEmbeddingPath { get; init; }

    /// <summary>Style strength in percent, 0 to 100 (upstream default 20).</summary>
    [Bounds(0, 100)]
    public float StyleStrength { get; init; } = 20f;
}

/// <summary>PuLID identity conditioning (Flux; needs <see cref="GeneratorOptions.PulidWeightsPath"/>; upstream <c>sd_pulid_params_t</c>).</summary>
/// <param name="IdEmbeddingPath">The face's ID embedding file.</param>
/// <param name="IdWeight">How strongly the identity is applied, finite (upstream default 1).</param>
public sealed record PulidOptions(string IdEmbeddingPath, [property: Bounds(-1e4, 1e4)] float IdWeight = 1f);

/// <summary>How previews are made (upstream <c>preview_t</c>, without "none").</summary>
public enum PreviewMode
{
    /// <summary>A cheap linear projection of the latent (a fraction of the output size).</summary>
    Projection = 1,

    /// <summary>Decoded by the TAESD (<c>GeneratorOptions.TaesdPath</c>), at full size.</summary>
    Tae,

    /// <summary>Decoded by the full VAE (slow, exact).</summary>
    Vae,
}

/// <summary>What previews a generation reports.</summary>
public sealed record PreviewOptions
{
    /// <summary>How each preview is made (default <see cref="PreviewMode.Projection"/>).</summary>
    public PreviewMode Mode { get; init; } = PreviewMode.Projection;

    /// <summary>Report every n-th step, 1 to 10000 (default 1).</summary>
    [Bounds(1, 10_000)]
    public int Interval { get; init; } = 1;

    /// <summary>Report the denoised estimate (default true).</summary>
    public bool Denoised { get; init; } = true;

    /// <summary>Report the noisy latent too (<see cref="PreviewFrame.IsNoisy"/>; default false).</summary>
    public bool Noisy { get; init; }
}

/// <summary>Upstream's presets of how reference images are fed to an editing model (<c>ref_image_args</c> "preset").</summary>
public enum ReferenceImagePreset
{
    /// <summary>The model's own default ("default").</summary>
    Default,
    /// <summary>FLUX.1 Kontext ("flux_kontext").</summary>
    FluxKontext,
    /// <summary>LongCat ("longcat").</summary>
    LongCat,
    /// <summary>FLUX.2 ("flux2").</summary>
    Flux2,
    /// <summary>Qwen-Image-Edit ("qwen").</summary>
    Qwen,
    /// <summary>Qwen-Image-Layered ("qwen_layered").</summary>
    QwenLayered,
    /// <summary>Mage Flow ("mage_flow").</summary>
    MageFlow,
    /// <summary>Z-Image Omni ("z_image_omni").</summary>
    ZImageOmni,
    /// <summary>Krea 2, Ostris edit ("krea2_ostris_edit").</summary>
    Krea2OstrisEdit,
    /// <summary>Krea 2 edit ("krea2_edit").</summary>
    Krea2Edit,
    /// <summary>Cosmos reference ("cosmos_reference").</summary>
    CosmosReference,
}

/// <summary>How reference-image indices advance in the positional encoding (<c>ref_index_mode</c>).</summary>
public enum ReferenceIndexMode
{
    /// <summary>Every reference at the same index ("fixed").</summary>
    Fixed,
    /// <summary>Increasing per reference ("increase").</summary>
    Increase,
    /// <summary>Decreasing per reference ("decrease").</summary>
    Decrease,
}

/// <summary>How reference images are resized for the vision-language encoder (<c>vlm_resize_mode</c>).</summary>
public enum VlmResizeMode
{
    /// <summary>Longest side to the size limits ("longest_side").</summary>
    LongestSide,
    /// <summary>Area to the size limits ("area").</summary>
    Area,
    /// <summary>Not resized ("none").</summary>
    None,
}

/// <summary>
/// How an editing model (Kontext, Qwen-Image-Edit, FLUX.2) uses <see cref="ImageRequest.ReferenceImages"/> (upstream's
/// <c>ref_image_args</c>). Null values keep the preset's.
/// </summary>
public sealed record ReferenceImageOptions
{
    /// <summary>Starting point of the other settings (default: the model's).</summary>
    public ReferenceImagePreset Preset { get; init; }

    /// <summary>Resize each reference to the output size before VAE encoding (sd-cli's auto-resize; default on).</summary>
    public bool? ResizeBeforeVae { get; init; }

    /// <summary>Give the references to the vision-language text encoder.</summary>
    public bool? PassToVlm { get; init; }

    /// <summary>Give the references to the diffusion model.</summary>
    public bool? PassToDit { get; init; }

    /// <summary>How references' positional indices advance.</summary>
    public ReferenceIndexMode? IndexMode { get; init; }

    /// <summary>Encode references at timestep zero (Krea 2).</summary>
    public bool? ForceTimestepZero { get; init; }

    /// <summary>Largest pixel count fed to the VAE, 1 to 2^28; null for no limit.</summary>
    [Bounds(1, 1 << 28)]
    public int? VaeInputMaxPixels { get; init; }

    /// <summary>How references are resized for the vision-language encoder.</summary>
    public VlmResizeMode? VlmResizeMode { get; init; }

    /// <summary>Smallest side for the vision-language encoder, 1 to 8192.</summary>
    [Bounds(1, 8192)]
    public int? VlmMinSize { get; init; }

    /// <summary>Largest side for the vision-language encoder, 1 to 8192.</summary>
    [Bounds(1, 8192)]
    public int? VlmMaxSize { get; init; }
}
