using Microsoft.Extensions.Logging;
using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native;

/// <summary>What to load and how. Unset values keep upstream's defaults (from <c>sd_ctx_params_init</c>).</summary>
public sealed record GeneratorOptions
{
    /// <summary>A full checkpoint (UNet/DiT + text encoders + VAE), .safetensors or .gguf.</summary>
    public string? ModelPath { get; init; }
    /// <summary>A standalone diffusion model (Flux, SD3, ...); combine with the text encoder and VAE paths.</summary>
    public string? DiffusionModelPath { get; init; }
    /// <summary>CLIP-L text encoder, for models that ship it separately (SD3, Flux).</summary>
    public string? ClipLPath { get; init; }
    /// <summary>CLIP-G text encoder, for models that ship it separately (SD3, SDXL components).</summary>
    public string? ClipGPath { get; init; }
    /// <summary>T5-XXL text encoder (SD3, Flux).</summary>
    public string? T5xxlPath { get; init; }
    /// <summary>A VAE that replaces the checkpoint's own.</summary>
    public string? VaePath { get; init; }
    /// <summary>A tiny autoencoder (TAESD) used instead of the VAE: much faster decoding, lower quality.</summary>
    public string? TaesdPath { get; init; }
    /// <summary>A ControlNet loaded with the model (see also <c>Generator.LoadControlNet</c>).</summary>
    public string? ControlNetPath { get; init; }
    /// <summary>Textual-inversion embeddings, usable in prompts by name.</summary>
    public IReadOnlyList<Embedding> Embeddings { get; init; } = [];

    /// <summary>Convert weights to this type while loading (slow: prefer a converted file). Null keeps the file's types.</summary>
    public QuantizationType? WeightType { get; init; }
    /// <summary>Per-tensor type overrides in upstream's syntax (<c>regex=type,...</c>); see <c>TensorTypeRules</c>.</summary>
    public string? TensorTypeRules { get; init; }
    /// <summary>
    /// With <see cref="WeightType"/> set on a single checkpoint (<see cref="ModelPath"/>), convert it once into
    /// <see cref="QuantizationCacheDirectory"/> and load the cached GGUF from then on (default), or convert on every
    /// load (<see cref="QuantizationCacheMode.Off"/>). See <c>Quantization.QuantizedModelCache</c>.
    /// </summary>
    public QuantizationCacheMode QuantizationCache { get; init; } = QuantizationCacheMode.ReadWrite;
    /// <summary>Folder of the quantize-once cache; null uses <c>QuantizedModelCache.DefaultDirectory</c> (<c>SDNET_MODEL_CACHE</c> overrides it).</summary>
    public string? QuantizationCacheDirectory { get; init; }
    /// <summary>Accept pickle-based model files (.ckpt/.pt): they are then parsed by upstream, not validated here. Off by default.</summary>
    public bool AllowLegacyPickle { get; init; }

    /// <summary>CPU threads, 1 to 1024; null uses upstream's choice (physical cores).</summary>
    [Bounds(1, 1024)]
    public int? Threads { get; init; }
    /// <summary>
    /// Device for computation: a device name ("CPU", "CUDA0", "Vulkan0", ...; see <c>NativeRuntimeInfo.Devices</c>),
    /// a backend ("cuda", "rocm", "vulkan", "metal": its first device; "cpu"), or an upstream assignment spec. Null uses
    /// <c>SDNET_BACKEND</c> (<c>NativeRuntime.BackendVariable</c>) if set, else the first usable of CUDA → ROCm → Vulkan → Metal → CPU
    /// (see <c>NativeRuntimeInfo.DefaultDevice</c>). The choice and why are logged to <see cref="Logger"/>.
    /// </summary>
    public string? Backend { get; init; }
    /// <summary>
    /// Fail instead of running on the CPU: when no GPU backend can be used, <c>Generator.Load</c> throws a
    /// <c>GpuUnavailableException</c> listing each GPU backend and why it was rejected.
    /// </summary>
    public bool RequireGpu { get; init; }
    /// <summary>Device that holds the weights, when it differs from <see cref="Backend"/>.</summary>
    public string? ParamsBackend { get; init; }
    /// <summary>Flash attention in the diffusion model and text encoders (less memory; upstream default off). Null keeps upstream's default.</summary>
    public bool? FlashAttention { get; init; }
    /// <summary>Direct convolution (no im2col) in the diffusion model: less memory, speed depends on the backend. Null keeps upstream's default.</summary>
    public bool? DiffusionConvDirect { get; init; }
    /// <summary>Direct convolution (no im2col) in the VAE. Null keeps upstream's default.</summary>
    public bool? VaeConvDirect { get; init; }
    /// <summary>Memory-map model files (keeps RSS low; the files must stay on disk while the generator lives).</summary>
    public bool? EnableMmap { get; init; }
    /// <summary>Load every weight at <c>Generator.Load</c> instead of lazily on the first generation, so bad data fails early.</summary>
    public bool? EagerLoad { get; init; }
    /// <summary>How LoRAs are applied; null keeps upstream's default (<see cref="StableDiffusion.Native.LoraApplyMode.Auto"/>).</summary>
    public LoraApplyMode? LoraApplyMode { get; init; }
    /// <summary>Remote ggml RPC servers (<c>host:port,...</c>).</summary>
    public string? RpcServers { get; init; }
    /// <summary>GPU memory budget for weight offloading, in upstream's syntax (GiB number, or -1 for auto).</summary>
    public string? MaxVram { get; init; }

    /// <summary>CLIP vision encoder (image prompts: IP-Adapter, Wan image-to-video, unCLIP).</summary>
    public string? ClipVisionPath { get; init; }
    /// <summary>LLM text encoder of DiT models that use one (Z-Image, Qwen-Image, FLUX.2, HunyuanVideo, ...).</summary>
    public string? LlmPath { get; init; }
    /// <summary>Vision tower of the LLM text encoder (Qwen-Image-Edit's Qwen2.5-VL).</summary>
    public string? LlmVisionPath { get; init; }
    /// <summary>High-noise diffusion model of two-stage (MoE) video models (Wan 2.2 A14B).</summary>
    public string? HighNoiseDiffusionModelPath { get; init; }
    /// <summary>Unconditional diffusion model of models that guide with a separate one.</summary>
    public string? UncondDiffusionModelPath { get; init; }
    /// <summary>Embeddings connectors of models that ship them separately (LTX-2).</summary>
    public string? EmbeddingsConnectorsPath { get; init; }
    /// <summary>Audio VAE of audio-video models (LTX-2).</summary>
    public string? AudioVaePath { get; init; }
    /// <summary>IP-Adapter weights (image prompts; see <see cref="ImageRequest.IpAdapterImage"/>).</summary>
    public string? IpAdapterPath { get; init; }
    /// <summary>AnimateDiff motion module.</summary>
    public string? MotionModulePath { get; init; }
    /// <summary>PhotoMaker weights (see <see cref="ImageRequest.PhotoMaker"/>).</summary>
    public string? PhotoMakerPath { get; init; }
    /// <summary>PuLID weights (see <see cref="ImageRequest.Pulid"/>).</summary>
    public string? PulidWeightsPath { get; init; }

    /// <summary>Generator of the initial noise; null keeps upstream's default (<see cref="RngType.Cuda"/>, as A1111 draws it).</summary>
    public RngType? Rng { get; init; }
    /// <summary>Generator of the sampler's noise (ancestral and SDE samplers); null uses <see cref="Rng"/>.</summary>
    public RngType? SamplerRng { get; init; }
    /// <summary>What the diffusion model predicts; null reads it from the model (set it for v-prediction or flow fine-tunes that do not say).</summary>
    public Prediction? Prediction { get; init; }
    /// <summary>Flash attention in the diffusion model only (for models whose text encoder breaks with it); null follows <see cref="FlashAttention"/>.</summary>
    public bool? DiffusionFlashAttention { get; init; }
    /// <summary>Use the TAESD only for previews, decoding the final image with the full VAE (upstream default off).</summary>
    public bool? TaePreviewOnly { get; init; }
    /// <summary>Force the SDXL VAE's convolution scaling (fixes NaNs of some SDXL VAEs at F16; upstream default off).</summary>
    public bool? ForceSdxlVaeConvScale { get; init; }
    /// <summary>The VAE's latent format when upstream cannot tell it from the tensors; null is <see cref="StableDiffusion.Native.VaeFormat.Auto"/>.</summary>
    public VaeFormat? VaeFormat { get; init; }
    /// <summary>With <see cref="MaxVram"/>: stream layers to the GPU with prefetching instead of keeping a resident part (upstream default off).</summary>
    public bool? StreamLayers { get; init; }
    /// <summary>How multi-device modules are split by default; null keeps upstream's (<see cref="StableDiffusion.Native.SplitMode.Layer"/>).</summary>
    public SplitMode? SplitMode { get; init; }
    /// <summary>Per-module split modes, overriding <see cref="SplitMode"/>.</summary>
    public IReadOnlyDictionary<ModelModule, SplitMode> ModuleSplitModes { get; init; } = new Dictionary<ModelModule, SplitMode>();
    /// <summary>Let upstream choose weight placement to fit the devices' memory (upstream default off).</summary>
    public bool? AutoFit { get; init; }
    /// <summary>Chroma: mask the T5 padding in the text encoder (<c>chroma_use_t5_mask</c>); null for upstream's default.</summary>
    public bool? ChromaUseT5Mask { get; init; }
    /// <summary>Chroma: padding tokens kept unmasked, 0 to 512 (<c>chroma_t5_mask_pad</c>).</summary>
    [Bounds(0, 512)]
    public int? ChromaT5MaskPad { get; init; }
    /// <summary>Chroma: mask the padding in the diffusion model (<c>chroma_use_dit_mask</c>).</summary>
    public bool? ChromaUseDitMask { get; init; }
    /// <summary>Qwen-Image: zero conditioning timestep (<c>qwen_image_zero_cond_t</c>, for Qwen-Image-Edit 2511 style models).</summary>
    public bool? QwenImageZeroCondT { get; init; }
    /// <summary>Further model arguments for keys this library does not type (upstream's <c>model_args</c>); typed keys are refused, and none can split another.</summary>
    public IReadOnlyDictionary<string, string> ModelArguments { get; init; } = new Dictionary<string, string>();

    /// <summary>Receives this generator's native log lines (never printed to stdout).</summary>
    public ILogger? Logger { get; init; }

    /// <summary>
    /// Options for a model given by path, or by name in <paramref name="folder"/> (default: <see cref="ModelsFolder"/>'s
    /// default folder): a checkpoint, or a <see cref="ModelManifest"/> (<c>NAME.model.json</c>) naming its component files.
    /// </summary>
    /// <exception cref="ArgumentException">No such file, and no unique model of that name in the folder.</exception>
    /// <exception cref="InvalidModelFileException">The name is a manifest that is not valid (the file and field named).</exception>
    public static GeneratorOptions FromModel(string nameOrPath, ModelsFolder? folder = null)
    {
        string path = (folder ?? new ModelsFolder()).Resolve(nameOrPath);
        return ModelManifest.IsManifestPath(path) ? FromManifest(ModelManifest.Load(path)) : new() { ModelPath = path };
    }

    /// <summary>
    /// Options that load the component files <paramref name="manifest"/> names, with <paramref name="settings"/>' other
    /// options and its component files where the manifest names none (a shared VAE, say); the manifest's sampling defaults
    /// go to requests (<see cref="SamplingOptions.WithDefaults"/>).
    /// </summary>
    /// <param name="manifest">The model's manifest.</param>
    /// <param name="settings">Everything else (threads, weight type, …), and component files the manifest leaves to them; null for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="manifest"/> is null.</exception>
    public static GeneratorOptions FromManifest(ModelManifest manifest, GeneratorOptions? settings = null)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var named = new GeneratorOptions
        {
            ModelPath = manifest.Model,
            DiffusionModelPath = manifest.DiffusionModel,
            HighNoiseDiffusionModelPath = manifest.HighNoiseDiffusionModel,
            VaePath = manifest.Vae,
            TaesdPath = manifest.Taesd,
            ClipLPath = manifest.ClipL,
            ClipGPath = manifest.ClipG,
            ClipVisionPath = manifest.ClipVision,
            T5xxlPath = manifest.T5xxl,
            LlmPath = manifest.Llm,
            LlmVisionPath = manifest.LlmVision,
        };
        return s_components.Aggregate(settings ?? new GeneratorOptions(), (o, c) => c.Get(named) is { } path ? c.Set(o, path) : o);
    }

    /// <summary>
    /// These options with each component file they leave unset (checkpoint, diffusion model, VAE, TAESD, text and vision
    /// encoders: what a <see cref="ModelManifest"/> can name) taken from <paramref name="other"/>: a model by name with the
    /// files a caller gives itself winning.
    /// </summary>
    /// <param name="other">Where the missing component files come from (its other options are not read).</param>
    /// <exception cref="ArgumentNullException"><paramref name="other"/> is null.</exception>
    public GeneratorOptions WithComponentsFrom(GeneratorOptions other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return s_components.Aggregate(this, (o, c) => c.Get(o) is null && c.Get(other) is { } path ? c.Set(o, path) : o);
    }

    /// <summary>The component files a manifest can name, each once: what <see cref="FromManifest"/> and <see cref="WithComponentsFrom"/> move.</summary>
    private static readonly (Func<GeneratorOptions, string?> Get, Func<GeneratorOptions, string, GeneratorOptions> Set)[] s_components =
    [
        (o => o.ModelPath, (o, v) => o with { ModelPath = v }),
        (o => o.DiffusionModelPath, (o, v) => o with { DiffusionModelPath = v }),
        (o => o.HighNoiseDiffusionModelPath, (o, v) => o with { HighNoiseDiffusionModelPath = v }),
        (o => o.VaePath, (o, v) => o with { VaePath = v }),
        (o => o.TaesdPath, (o, v) => o with { TaesdPath = v }),
        (o => o.ClipLPath, (o, v) => o with { ClipLPath = v }),
        (o => o.ClipGPath, (o, v) => o with { ClipGPath = v }),
        (o => o.ClipVisionPath, (o, v) => o with { ClipVisionPath = v }),
        (o => o.T5xxlPath, (o, v) => o with { T5xxlPath = v }),
        (o => o.LlmPath, (o, v) => o with { LlmPath = v }),
        (o => o.LlmVisionPath, (o, v) => o with { LlmVisionPath = v }),
    ];
}

/// <summary>A textual-inversion embedding: the prompt token <paramref name="Name"/> maps to the file at <paramref name="Path"/>.</summary>
public sealed record Embedding(string Name, string Path);

/// <summary>A LoRA applied to one request.</summary>
public sealed record LoraReference(string Path, float Multiplier = 1f)
{
    /// <summary>Apply it to the high-noise diffusion model of a two-stage video model (Wan 2.2) instead of the main one.</summary>
    public bool HighNoise { get; init; }
}
