using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace StableDiffusion.Native;

/// <summary>One image generation. Unset values are chosen by the model (sampler, scheduler) or randomly (seed).</summary>
public sealed record ImageRequest
{
    public const int MaxDimension = 8192;
    public const int DefaultDimension = 512;
    public const int MaxBatchCount = 64;

    public string Prompt { get; init; } = "";
    public string NegativePrompt { get; init; } = "";
    /// <summary>Output width; null takes the init image's width, else 512. Upstream rounds it up to the model's multiple (64 for SD1/SDXL).</summary>
    public int? Width { get; init; }
    public int? Height { get; init; }
    public int Steps { get; init; } = 20;
    public float CfgScale { get; init; } = 7f;
    /// <summary>Distilled guidance (Flux); null keeps upstream's default.</summary>
    public float? Guidance { get; init; }
    public float? Eta { get; init; }
    public Sampler? Sampler { get; init; }
    public Scheduler? Scheduler { get; init; }
    /// <summary>Seed of the first image; image i of a batch uses Seed + i. Null picks one (reported in the results).</summary>
    public long? Seed { get; init; }
    public int BatchCount { get; init; } = 1;
    /// <summary>Skip the last CLIP layers; null keeps the model's default.</summary>
    public int? ClipSkip { get; init; }
    public IReadOnlyList<LoraReference> Loras { get; init; } = [];

    /// <summary>Image-to-image and inpainting: the starting image.</summary>
    public Image<Rgb24>? InitImage { get; init; }
    /// <summary>Inpainting: white where the image is repainted, black where it is kept. Same size as <see cref="InitImage"/>.</summary>
    public Image<L8>? Mask { get; init; }
    /// <summary>How far from the init image to go (0 keeps it, 1 ignores it).</summary>
    public float Strength { get; init; } = 0.75f;

    /// <summary>ControlNet conditioning image (needs a ControlNet loaded); same size as the output.</summary>
    public Image<Rgb24>? ControlImage { get; init; }
    public float ControlStrength { get; init; } = 0.9f;

    /// <summary>The width asked of upstream: <see cref="Width"/>, else the init image's, else <see cref="DefaultDimension"/>.</summary>
    internal int RequestedWidth => Width ?? InitImage?.Width ?? DefaultDimension;

    /// <summary>The height asked of upstream: <see cref="Height"/>, else the init image's, else <see cref="DefaultDimension"/>.</summary>
    internal int RequestedHeight => Height ?? InitImage?.Height ?? DefaultDimension;

    /// <summary>Decode the latent in tiles (less memory for large images).</summary>
    public bool VaeTiling { get; init; }

    /// <summary>
    /// Receives a low-resolution preview of the denoised image after each sampling step (a cheap projection of the
    /// latent, 1/8 of the output size for SD1/SDXL). The receiver owns and must dispose each frame's image.
    /// </summary>
    public IProgress<PreviewFrame>? Preview { get; init; }

    /// <summary>Second pass at a higher resolution ("hires fix"); null for none.</summary>
    public HiresFix? Hires { get; init; }
}

/// <summary>How the first pass is enlarged before the hires pass (upstream <c>sd_hires_upscaler_t</c>, without "none").</summary>
public enum HiresUpscaler
{
    Latent = 1, LatentNearest, LatentNearestExact, LatentAntialiased, LatentBicubic, LatentBicubicAntialiased, Lanczos, Nearest,
    /// <summary>An ESRGAN model (<see cref="HiresFix.UpscalerModelPath"/>).</summary>
    Model,
}

/// <summary>Hires fix: generate, enlarge by <paramref name="Scale"/>, then refine with <paramref name="DenoisingStrength"/>.</summary>
/// <param name="Scale">Enlargement factor (upstream default 2).</param>
/// <param name="Steps">Steps of the second pass; 0 uses the request's steps.</param>
/// <param name="DenoisingStrength">How much the second pass may change (upstream default 0.7).</param>
/// <param name="Upscaler">How to enlarge.</param>
/// <param name="UpscalerModelPath">ESRGAN weights, with <see cref="HiresUpscaler.Model"/>.</param>
public sealed record HiresFix(float Scale = 2f, int Steps = 0, float DenoisingStrength = 0.7f,
    HiresUpscaler Upscaler = HiresUpscaler.Latent, string? UpscalerModelPath = null);

/// <summary>A preview of a generation in progress. Dispose <paramref name="Image"/> when done with it.</summary>
/// <param name="Step">Sampling step the preview shows.</param>
/// <param name="Image">The preview (a copy; yours to keep).</param>
public sealed record PreviewFrame(int Step, Image<Rgb24> Image) : IDisposable
{
    public void Dispose() => Image.Dispose();
}

/// <summary>Where a generation is.</summary>
public enum GenerationPhase
{
    /// <summary>Loading weights (lazily, on the first generation) and encoding the prompt.</summary>
    Loading,
    Sampling,
    Decoding,
}

/// <summary>A progress report of one generation call.</summary>
/// <param name="Phase">Where the call is.</param>
/// <param name="Step">Step within the phase: 0 when the phase starts, then 1 to <paramref name="Steps"/>.</param>
/// <param name="Steps">Steps in the phase.</param>
/// <param name="Image">Which image of the batch (0-based).</param>
/// <param name="Elapsed">Time since the call started.</param>
public readonly record struct GenerationProgress(GenerationPhase Phase, int Step, int Steps, int Image, TimeSpan Elapsed);
