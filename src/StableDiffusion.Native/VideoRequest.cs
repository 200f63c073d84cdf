using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native;

/// <summary>
/// One video generation (upstream <c>sd_vid_gen_params_t</c>): text-to-video, image-to-video (<see cref="InitImage"/>),
/// first-last-frame (<see cref="EndImage"/>), VACE control (<see cref="ControlFrames"/>) and reference-conditioned video.
/// Unset values keep upstream's defaults.
/// </summary>
public sealed record VideoRequest
{
    /// <summary>The most accepted <see cref="Frames"/>.</summary>
    public const int MaxFrames = 1024;

    /// <summary>
    /// The most pixels a video may have, width × height × <see cref="Frames"/>: 2^28 (1920×1080×129, or 1280×720×291).
    /// Upstream holds the whole clip in memory at once (its latent, then every decoded frame as floats: 12 bytes a pixel),
    /// and allocations it cannot back end the process rather than fail; 8192×8192×1024 asked for 24 GiB here and was killed.
    /// </summary>
    public const long MaxPixels = 1L << 28;

    /// <summary>The longest accepted <see cref="Prompt"/> or <see cref="NegativePrompt"/>: <see cref="ImageRequest.MaxPromptLength"/>.</summary>
    public const int MaxPromptLength = ImageRequest.MaxPromptLength;

    /// <summary>
    /// What to show, with the limits of <see cref="ImageRequest.Prompt"/> (at most <see cref="MaxPromptLength"/> characters,
    /// <see cref="ImageRequest.MaxLlmPromptBytes"/> bytes with an LLM text encoder); LoRAs go in
    /// <see cref="Loras"/> (the library at the pin does not read <c>&lt;lora:…&gt;</c> tags).
    /// </summary>
    public string Prompt { get; init; } = "";

    /// <summary>What to steer away from, with the same limits as <see cref="Prompt"/>.</summary>
    public string NegativePrompt { get; init; } = "";

    /// <summary>Skip the last CLIP layers, -1 to 12; null keeps the model's default.</summary>
    [Bounds(-1, 12)]
    public int? ClipSkip { get; init; }

    /// <summary>LoRAs of this request (<see cref="LoraReference.HighNoise"/> picks the high-noise model's).</summary>
    public IReadOnlyList<LoraReference> Loras { get; init; } = [];

    /// <summary>Frame width, 1 to 8192 (default 512 or the init image's); upstream rounds it to the model's multiple.</summary>
    [Bounds(1, ImageRequest.MaxDimension)]
    public int? Width { get; init; }

    /// <summary>Frame height, 1 to 8192 (default 512 or the init image's).</summary>
    [Bounds(1, ImageRequest.MaxDimension)]
    public int? Height { get; init; }

    /// <summary>Frames to generate, 1 to <see cref="MaxFrames"/> (upstream default 6; Wan makes 4k + 1 and rounds others).</summary>
    [Bounds(1, MaxFrames)]
    public int Frames { get; init; } = 6;

    /// <summary>Frames per second of the result, 1 to 240 (default 16: Wan's rate).</summary>
    [Bounds(1, 240)]
    public int Fps { get; init; } = 16;

    /// <summary>How to sample (upstream <c>sd_sample_params_t</c>), the shape <see cref="ImageRequest.Sampling"/> shares; Wan uses a CFG scale of about 6.</summary>
    public SamplingOptions Sampling { get; init; } = new();

    /// <summary>Sampling of the high-noise model of a two-stage (MoE) model (Wan 2.2 A14B), with the bounds of <see cref="Sampling"/>; null keeps upstream's.</summary>
    public SamplingOptions? HighNoiseSampling { get; init; }

    /// <summary>Where the high-noise model hands over to the low-noise one, 0 to 1 of the schedule (upstream default 0.875).</summary>
    [Bounds(0, 1)]
    public float MoeBoundary { get; init; } = 0.875f;

    /// <summary>How far from <see cref="InitImage"/> or the reference video to go, 0 to 1 (default 0.75).</summary>
    [Bounds(0, 1)]
    public float Strength { get; init; } = 0.75f;

    /// <summary>Seed; null picks one (reported in the result).</summary>
    public long? Seed { get; init; }

    /// <summary>First frame of image-to-video (<see cref="PixelFormat.Rgb24"/>).</summary>
    public ImageBuffer? InitImage { get; init; }

    /// <summary>Last frame of first-last-frame-to-video.</summary>
    public ImageBuffer? EndImage { get; init; }

    /// <summary>Reference images (VACE, subject references), at most 16.</summary>
    public IReadOnlyList<ImageBuffer> ReferenceImages { get; init; } = [];

    /// <summary>Reference videos (video-to-video, audio-video models), at most 16.</summary>
    public IReadOnlyList<ReferenceVideo> ReferenceVideos { get; init; } = [];

    /// <summary>Reference audio clips (audio-video models), at most 16.</summary>
    public IReadOnlyList<AudioBuffer> ReferenceAudios { get; init; } = [];

    /// <summary>VACE control frames (depth, pose, ...), each the output size, at most <see cref="MaxFrames"/>.</summary>
    public IReadOnlyList<ImageBuffer> ControlFrames { get; init; } = [];

    /// <summary>VACE strength, 0 to 10000 (upstream default 1).</summary>
    [Bounds(0, 1e4)]
    public float VaceStrength { get; init; } = 1f;

    /// <summary>Decode in tiles (less memory).</summary>
    public bool VaeTiling { get; init; }

    /// <summary>VAE tiling settings; setting them turns tiling on.</summary>
    public VaeTilingOptions? VaeTilingOptions { get; init; }

    /// <summary>A step cache; null for none.</summary>
    public StepCacheOptions? Cache { get; init; }

    /// <summary>A second pass at a higher resolution; null for none.</summary>
    public HiresFix? Hires { get; init; }

    /// <summary>Wrap around horizontally.</summary>
    public bool CircularX { get; init; }

    /// <summary>Wrap around vertically.</summary>
    public bool CircularY { get; init; }

    /// <summary>Receives previews while sampling (see <see cref="PreviewOptions"/>).</summary>
    public IProgress<PreviewFrame>? Preview { get; init; }

    /// <summary>How previews are made; null reports a projection every step when <see cref="Preview"/> is set.</summary>
    public PreviewOptions? PreviewOptions { get; init; }

    internal int RequestedWidth => Width ?? InitImage?.Width ?? ImageRequest.DefaultDimension;

    internal int RequestedHeight => Height ?? InitImage?.Height ?? ImageRequest.DefaultDimension;
}

/// <summary>A reference video: its frames (equal size, <see cref="PixelFormat.Rgb24"/>), rate and optional audio.</summary>
/// <param name="Frames">The frames, 1 to <see cref="VideoRequest.MaxFrames"/>.</param>
/// <param name="Fps">Frames per second, 1 to 240.</param>
/// <param name="Audio">Its sound track, or null.</param>
public sealed record ReferenceVideo(IReadOnlyList<ImageBuffer> Frames, [property: Bounds(1, 240)] int Fps, AudioBuffer? Audio = null);

/// <summary>A generated video: its frames, rate, optional sound, and how it was made.</summary>
public sealed class GeneratedVideo
{
    internal GeneratedVideo(IReadOnlyList<ImageBuffer> frames, int fps, AudioBuffer? audio, GenerationParameters parameters)
    {
        Frames = frames;
        Fps = fps;
        Audio = audio;
        Parameters = parameters;
    }

    /// <summary>The frames in order (<see cref="PixelFormat.Rgb24"/>, equal size).</summary>
    public IReadOnlyList<ImageBuffer> Frames { get; }

    /// <summary>Frames per second.</summary>
    public int Fps { get; }

    /// <summary>Sound of audio-video models (LTX-2), else null.</summary>
    public AudioBuffer? Audio { get; }

    /// <summary>The parameters that made it (seed included).</summary>
    public GenerationParameters Parameters { get; }

    /// <summary>How long it plays.</summary>
    public TimeSpan Duration => TimeSpan.FromSeconds((double)Frames.Count / Fps);

    private KeyValuePair<string, string>[] Text => [new(GenerationParameters.PngKeyword, Parameters.ToString())];

    /// <summary>Writes an animated PNG (plays in every current browser) with the parameters embedded, looping forever.</summary>
    /// <param name="path">The file to write.</param>
    /// <exception cref="ArgumentException">The path is empty.</exception>
    /// <exception cref="IOException">The file could not be written.</exception>
    public void SaveAsAnimatedPng(string path) => AnimatedPngWriter.WriteFile(Frames, path, Fps, 0, Text);

    /// <summary>Writes each frame as a PNG, numbered like sd-cli's output (<c>frame_%03d.png</c>; without <c>%d</c>, <c>_N</c> before the extension).</summary>
    /// <param name="pattern">The file name pattern.</param>
    /// <returns>The paths written, in frame order.</returns>
    /// <exception cref="ArgumentException">The pattern is invalid.</exception>
    /// <exception cref="IOException">A file could not be written.</exception>
    public IReadOnlyList<string> SaveFrames(string pattern) => PngSequenceWriter.Write(Frames, pattern, 0, Text);

    /// <summary>Writes the sound track as a 16-bit PCM WAV file.</summary>
    /// <param name="path">The file to write.</param>
    /// <exception cref="InvalidOperationException">The video has no audio (<see cref="Audio"/> is null).</exception>
    /// <exception cref="IOException">The file could not be written.</exception>
    public void SaveAudioAsWav(string path)
    {
        if (Audio is null) throw new InvalidOperationException("This video has no audio.");
        WavWriter.WriteFile(Audio, path);
    }
}
