using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native;

/// <summary>One image generation. Unset values are chosen by the model (sampler, scheduler) or randomly (seed).</summary>
public sealed record ImageRequest
{
    /// <summary>The largest accepted width or height of a request, in pixels.</summary>
    public const int MaxDimension = 8192;

    /// <summary>The width and height used when neither the request nor an init image gives one.</summary>
    public const int DefaultDimension = 512;

    /// <summary>The largest accepted <see cref="BatchCount"/>.</summary>
    public const int MaxBatchCount = 64;

    /// <summary>
    /// The longest accepted <see cref="Prompt"/> or <see cref="NegativePrompt"/>, in UTF-16 code units (<see cref="string.Length"/>):
    /// 8,192, several times the longest prompts people write (about 2,000 CLIP tokens of English). Upstream parses prompts
    /// with recursive regular expressions, and the native calls run on a stack sized for this length with a measured
    /// margin; it encodes a long prompt in 77-token chunks, each of which still changes the image and costs a pass of
    /// the text encoder (a prompt of 8,192 CJK characters is about 110 chunks).
    /// </summary>
    public const int MaxPromptLength = 8_192;

    /// <summary>
    /// The longest run of ASCII whitespace (space, tab, CR, LF, VT, FF) a prompt may hold: 1,024. Upstream's prompt parser
    /// takes time quadratic in such a run (a minute of CPU for 32,768 spaces); nobody types a thousand in a row.
    /// </summary>
    public const int MaxWhitespaceRun = 1024;

    /// <summary>
    /// With an LLM text encoder (<see cref="GeneratorOptions.LlmPath"/>: Z-Image, Qwen-Image, Flux.2, …) the longest accepted
    /// prompt or negative prompt in UTF-8 bytes: 4,096, about 900 tokens of English. Such an encoder attends over the whole
    /// prompt at once, in memory that grows with the square of its tokens (a byte-level tokenizer gives up to one token
    /// per byte; 16,400 tokens asked Qwen3 for 34 GB), and upstream ends the process when it cannot have that memory.
    /// </summary>
    public const int MaxLlmPromptBytes = 4096;

    /// <summary>
    /// What to draw, at most <see cref="MaxPromptLength"/> characters (and <see cref="MaxLlmPromptBytes"/> bytes of UTF-8 for a
    /// model with an LLM text encoder), without NUL, unpaired surrogates or more than <see cref="MaxWhitespaceRun"/>
    /// whitespace characters in a row; every <c>(text:weight)</c> weight must be a number. May use
    /// embedding names; LoRAs go in <see cref="Loras"/> (the library at the pin does not read <c>&lt;lora:…&gt;</c> tags;
    /// sd-cli and <c>sdnet</c> do).
    /// </summary>
    public string Prompt { get; init; } = "";

    /// <summary>What to steer away from, with the same limits as <see cref="Prompt"/>.</summary>
    public string NegativePrompt { get; init; } = "";

    /// <summary>Output width; null takes the init image's width, else 512. Upstream rounds it up to the model's multiple (64 for SD1/SDXL).</summary>
    [Bounds(1, MaxDimension)]
    public int? Width { get; init; }

    /// <summary>Output height; null takes the init image's height, else 512.</summary>
    [Bounds(1, MaxDimension)]
    public int? Height { get; init; }

    /// <summary>
    /// How to sample: steps, CFG, sampler, scheduler, guidance and the rest of upstream's <c>sd_sample_params_t</c>, the
    /// shape video requests share. The default samples <see cref="SamplingOptions.DefaultSteps"/> steps at
    /// <see cref="SamplingOptions.DefaultCfgScale"/> with the model's sampler and scheduler.
    /// </summary>
    public SamplingOptions Sampling { get; init; } = new();

    /// <summary>Seed of the first image; image i of a batch uses Seed + i. Null picks one (reported in the results).</summary>
    public long? Seed { get; init; }

    /// <summary>Images to generate, 1 to <see cref="MaxBatchCount"/> (default 1).</summary>
    [Bounds(1, MaxBatchCount)]
    public int BatchCount { get; init; } = 1;

    /// <summary>Skip the last CLIP layers, -1 to 12; null keeps the model's default.</summary>
    [Bounds(-1, 12)]
    public int? ClipSkip { get; init; }

    /// <summary>LoRAs applied to this request only.</summary>
    public IReadOnlyList<LoraReference> Loras { get; init; } = [];

    /// <summary>Image-to-image and inpainting: the starting image (<see cref="PixelFormat.Rgb24"/>).</summary>
    public ImageBuffer? InitImage { get; init; }

    /// <summary>Inpainting: white where the image is repainted, black where it is kept (<see cref="PixelFormat.Gray8"/>). Same size as <see cref="InitImage"/>.</summary>
    public ImageBuffer? Mask { get; init; }

    /// <summary>How far from the init image to go, 0 (keep it) to 1 (ignore it); default 0.75.</summary>
    [Bounds(0, 1)]
    public float Strength { get; init; } = 0.75f;

    /// <summary>ControlNet conditioning image (<see cref="PixelFormat.Rgb24"/>; needs a ControlNet loaded); same size as the output.</summary>
    public ImageBuffer? ControlImage { get; init; }

    /// <summary>How strongly the ControlNet steers, 0 to 10000 (default 0.9).</summary>
    [Bounds(0, 1e4)]
    public float ControlStrength { get; init; } = 0.9f;

    /// <summary>The width asked of upstream: <see cref="Width"/>, else the init image's, else <see cref="DefaultDimension"/>.</summary>
    internal int RequestedWidth => Width ?? InitImage?.Width ?? DefaultDimension;

    /// <summary>The height asked of upstream: <see cref="Height"/>, else the init image's, else <see cref="DefaultDimension"/>.</summary>
    internal int RequestedHeight => Height ?? InitImage?.Height ?? DefaultDimension;

    /// <summary>Decode the latent in tiles (less memory for large images).</summary>
    public bool VaeTiling { get; init; }

    /// <summary>
    /// Receives a low-resolution preview of the denoised image after each sampling step (a cheap projection of the
    /// latent, 1/8 of the output size for SD1/SDXL).
    /// </summary>
    public IProgress<PreviewFrame>? Preview { get; init; }

    /// <summary>Second pass at a higher resolution ("hires fix"); null for none.</summary>
    public HiresFix? Hires { get; init; }

    /// <summary>How previews are made and how often; null reports a projection every step when <see cref="Preview"/> is set.</summary>
    public PreviewOptions? PreviewOptions { get; init; }

    /// <summary>Image-to-image: treat <see cref="Strength"/> as the noise level rather than the share of the schedule (<c>strength_as_noise_level</c>).</summary>
    public bool? StrengthAsNoiseLevel { get; init; }

    /// <summary>Image-to-image: start from the schedule's first sigma whatever the strength (<c>force_first_sigma</c>).</summary>
    public bool? ForceFirstSigma { get; init; }

    /// <summary>Reference images of editing models (Flux Kontext, Qwen-Image-Edit, FLUX.2; <see cref="PixelFormat.Rgb24"/>), at most 16.</summary>
    public IReadOnlyList<ImageBuffer> ReferenceImages { get; init; } = [];

    /// <summary>How the model uses <see cref="ReferenceImages"/>; null keeps the model's defaults.</summary>
    public ReferenceImageOptions? ReferenceImageOptions { get; init; }

    /// <summary>IP-Adapter image (needs <see cref="GeneratorOptions.IpAdapterPath"/>; <see cref="PixelFormat.Rgb24"/>).</summary>
    public ImageBuffer? IpAdapterImage { get; init; }

    /// <summary>IP-Adapter strength, 0 to 10000 (upstream default 1).</summary>
    [Bounds(0, 1e4)]
    public float IpAdapterStrength { get; init; } = 1f;

    /// <summary>PhotoMaker personalisation; null for none.</summary>
    public PhotoMakerOptions? PhotoMaker { get; init; }

    /// <summary>PuLID identity conditioning; null for none.</summary>
    public PulidOptions? Pulid { get; init; }

    /// <summary>VAE tiling settings; setting them turns tiling on (as <see cref="VaeTiling"/> does, with upstream's defaults).</summary>
    public VaeTilingOptions? VaeTilingOptions { get; init; }

    /// <summary>A step cache (EasyCache, UCache, DBCache, TaylorSeer, Cache-DiT, Spectrum); null for none.</summary>
    public StepCacheOptions? Cache { get; init; }

    /// <summary>Layers Qwen-Image-Layered decomposes the image into, 1 to 64 (upstream default 3).</summary>
    [Bounds(1, 64)]
    public int? QwenImageLayers { get; init; }

    /// <summary>Make the image wrap around horizontally (seamless tiling along X).</summary>
    public bool CircularX { get; init; }

    /// <summary>Make the image wrap around vertically (seamless tiling along Y).</summary>
    public bool CircularY { get; init; }
}

/// <summary>How the first pass is enlarged before the hires pass (upstream <c>sd_hires_upscaler_t</c>, without "none").</summary>
public enum HiresUpscaler
{
    /// <summary>Bilinear resize of the latent.</summary>
    Latent = 1,

    /// <summary>Nearest-neighbour resize of the latent.</summary>
    LatentNearest,

    /// <summary>Exact nearest-neighbour resize of the latent.</summary>
    LatentNearestExact,

    /// <summary>Antialiased bilinear resize of the latent.</summary>
    LatentAntialiased,

    /// <summary>Bicubic resize of the latent.</summary>
    LatentBicubic,

    /// <summary>Antialiased bicubic resize of the latent.</summary>
    LatentBicubicAntialiased,

    /// <summary>Lanczos resize of the decoded image.</summary>
    Lanczos,

    /// <summary>Nearest-neighbour resize of the decoded image.</summary>
    Nearest,

    /// <summary>An ESRGAN model (<c>HiresFix.UpscalerModelPath</c>).</summary>
    Model,
}

/// <summary>Hires fix: generate, enlarge by <paramref name="Scale"/>, then refine with <paramref name="DenoisingStrength"/>.</summary>
/// <param name="Scale">Enlargement factor, 1 to 8 (upstream default 2).</param>
/// <param name="Steps">Steps of the second pass; 0 uses the request's steps.</param>
/// <param name="DenoisingStrength">How much the second pass may change, 0 to 1 (upstream default 0.7).</param>
/// <param name="Upscaler">How to enlarge.</param>
/// <param name="UpscalerModelPath">ESRGAN weights, with <see cref="HiresUpscaler.Model"/>.</param>
public sealed record HiresFix([property: Bounds(1, 8)] float Scale = 2f, [property: Bounds(0, 10_000)] int Steps = 0,
    [property: Bounds(0, 1)] float DenoisingStrength = 0.7f,
    HiresUpscaler Upscaler = HiresUpscaler.Latent, string? UpscalerModelPath = null)
{
    /// <summary>Exact output width of the hires pass, 1 to 8192, instead of <see cref="Scale"/> (set both or neither with <see cref="TargetHeight"/>).</summary>
    [Bounds(1, ImageRequest.MaxDimension)]
    public int? TargetWidth { get; init; }

    /// <summary>Exact output height of the hires pass, 1 to 8192, instead of <see cref="Scale"/>.</summary>
    [Bounds(1, ImageRequest.MaxDimension)]
    public int? TargetHeight { get; init; }

    /// <summary>Tile size of the ESRGAN upscaler, 16 to 4096 pixels (upstream default 128).</summary>
    [Bounds(16, 4096)]
    public int? UpscaleTileSize { get; init; }

    /// <summary>Explicit sigmas for the second pass (descending, finite, ≥ 0); empty for the scheduler's.</summary>
    public IReadOnlyList<float> CustomSigmas { get; init; } = [];

    /// <summary>The hires pass's size for a first pass of <paramref name="width"/>×<paramref name="height"/>: the target, else the scaled size.</summary>
    internal (int Width, int Height) OutputSize(int width, int height)
        => TargetWidth is int w && TargetHeight is int h ? (w, h) : ((int)Math.Ceiling(width * Scale), (int)Math.Ceiling(height * Scale));
}

/// <summary>A preview of a generation in progress.</summary>
/// <param name="Step">Sampling step the preview shows.</param>
/// <param name="Image">The preview (a copy; yours to keep).</param>
public sealed record PreviewFrame(int Step, ImageBuffer Image)
{
    /// <summary>Whether this shows the noisy latent rather than the denoised estimate (see <see cref="PreviewOptions.Noisy"/>).</summary>
    public bool IsNoisy { get; init; }

    /// <summary>The frames of a video preview (the first is <see cref="Image"/>); one for an image.</summary>
    public IReadOnlyList<ImageBuffer> Frames { get; init; } = [];
}

/// <summary>Where a generation is.</summary>
public enum GenerationPhase
{
    /// <summary>Loading weights (lazily, on the first generation) and encoding the prompt.</summary>
    Loading,

    /// <summary>Denoising the latent, one report per step.</summary>
    Sampling,

    /// <summary>Decoding the latent into pixels.</summary>
    Decoding,
}

/// <summary>A progress report of one generation call.</summary>
/// <param name="Phase">Where the call is.</param>
/// <param name="Step">Step within the phase: 0 when the phase starts, then 1 to <paramref name="Steps"/>.</param>
/// <param name="Steps">Steps in the phase.</param>
/// <param name="Image">Which image of the batch (0-based).</param>
/// <param name="Elapsed">Time since the call started.</param>
public readonly record struct GenerationProgress(GenerationPhase Phase, int Step, int Steps, int Image, TimeSpan Elapsed);
