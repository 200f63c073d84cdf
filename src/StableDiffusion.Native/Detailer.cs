using System.Globalization;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.Native;

namespace StableDiffusion.Native;

/// <summary>How ADetailer sorts detections before inpainting them (and before per-detection prompts apply).</summary>
public enum DetectionOrder
{
    /// <summary>Upstream's order (by confidence).</summary>
    None,
    /// <summary>Left to right.</summary>
    LeftToRight,
    /// <summary>From the centre outwards.</summary>
    CenterToEdge,
    /// <summary>Largest first.</summary>
    Area,
}

/// <summary>How ADetailer combines the detections' masks.</summary>
public enum DetectionMaskMode
{
    /// <summary>One inpainting pass per detection.</summary>
    None,
    /// <summary>All masks merged into one pass.</summary>
    Merge,
    /// <summary>All masks merged and inverted: everything but the detections is repainted.</summary>
    MergeInvert,
}

/// <summary>
/// One ADetailer pass: detect objects (faces, hands, ...), inpaint each at a higher resolution, and paste it back
/// (upstream <c>sd_adetailer_params_t</c> and its <c>extra_ad_args</c>). Null values keep upstream's defaults.
/// </summary>
public sealed record DetailerRequest
{
    /// <summary>
    /// The inpainting template: prompt, sampling, seed (detection i uses Seed + i) and size of the crops. Its
    /// init image, mask, references, ControlNet image, PhotoMaker, PuLID and hires pass are not used.
    /// </summary>
    public ImageRequest Inpaint { get; init; } = new() { Strength = 0.4f };

    /// <summary>Prompt of the detections ("[SEP]" separates per-detection prompts, "[SKIP]" skips one); null uses <see cref="Inpaint"/>'s. At most <see cref="ImageRequest.MaxPromptLength"/> characters.</summary>
    public string? Prompt { get; init; }

    /// <summary>Negative prompt of the detections; null uses <see cref="Inpaint"/>'s. At most <see cref="ImageRequest.MaxPromptLength"/> characters.</summary>
    public string? NegativePrompt { get; init; }

    /// <summary>Detector input size, a multiple of 32 from 32 to 4096 (upstream default 640).</summary>
    public int? InputSize { get; init; }

    /// <summary>Minimum detection confidence, 0 to 1 (default 0.3).</summary>
    public float? Confidence { get; init; }

    /// <summary>Non-maximum suppression IoU threshold, 0 to 1.</summary>
    public float? NmsThreshold { get; init; }

    /// <summary>Most detections kept, 1 to 1000.</summary>
    public int? MaxDetections { get; init; }

    /// <summary>Keep only the k largest masks, 0 (all) to 1000.</summary>
    public int? MaskKLargest { get; init; }

    /// <summary>Smallest mask area relative to the image, 0 to 1.</summary>
    public float? MaskMinRatio { get; init; }

    /// <summary>Largest mask area relative to the image, <see cref="MaskMinRatio"/> to 1.</summary>
    public float? MaskMaxRatio { get; init; }

    /// <summary>Grow (positive) or shrink (negative) the masks by this many pixels, -512 to 512.</summary>
    public int? DilateErode { get; init; }

    /// <summary>Shift the masks right by this many pixels, -4096 to 4096.</summary>
    public int? XOffset { get; init; }

    /// <summary>Shift the masks down by this many pixels, -4096 to 4096.</summary>
    public int? YOffset { get; init; }

    /// <summary>How the masks are combined.</summary>
    public DetectionMaskMode? MaskMode { get; init; }

    /// <summary>Feathering of the pasted crop, 0 to 256 pixels.</summary>
    public int? MaskBlur { get; init; }

    /// <summary>Context around each crop, 0 to 4096 pixels.</summary>
    public int? InpaintPadding { get; init; }

    /// <summary>Steps of the inpainting passes (1 to 10000); null uses <see cref="Inpaint"/>'s.</summary>
    public int? Steps { get; init; }

    /// <summary>Order of the detections.</summary>
    public DetectionOrder? SortBy { get; init; }
}

/// <summary>
/// ADetailer: a YOLOv8 detector (e.g. face_yolov8n) whose detections are inpainted by a <see cref="Generator"/>.
/// Thread-safe; calls run one at a time and hold the generator for their duration.
/// </summary>
public sealed class Detailer : IDisposable
{
    private readonly object _gate = new();
    private readonly DetailerContext _context;
    private readonly ILogger? _logger;
    private bool _disposed;

    private Detailer(DetailerContext context, ILogger? logger)
    {
        _context = context;
        _logger = logger;
    }

    /// <summary>Loads a YOLOv8 detector.</summary>
    /// <param name="detectorPath">Detector weights (.safetensors or .gguf).</param>
    /// <param name="threads">CPU threads, 1 to 1024; null for upstream's choice.</param>
    /// <param name="backend">Device name (see <see cref="NativeRuntimeInfo.Devices"/>); null for the local device a generator would choose (never an RPC server's).</param>
    /// <param name="logger">Receives the detector's native log lines.</param>
    /// <returns>The detector; dispose it to free it.</returns>
    /// <exception cref="ArgumentException">No such file, or a value out of range.</exception>
    /// <exception cref="ModelFiles.InvalidModelFileException">The file is malformed, hostile, or a refused format.</exception>
    /// <exception cref="NativeRuntimeException">No usable native runtime was found.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp could not load it.</exception>
    public static Detailer Load(string detectorPath, int? threads = null, string? backend = null, ILogger? logger = null)
    {
        Validation.ExistingFile(detectorPath, nameof(detectorPath));
        Validation.ModelFileOrNull(detectorPath);
        Validation.DeviceSpec(backend, nameof(backend));
        if (threads is int t && (t < 1 || t > 1024)) throw new ArgumentOutOfRangeException(nameof(threads), t, "Threads must be between 1 and 1024.");
        // Pinned to a local device, as the upscaler's: never a (maybe gone) RPC server's.
        backend ??= BackendSelector.LocalDefault(NativeRuntimeLoader.EnsureLoaded());
        return new Detailer(DetailerContext.Create(detectorPath, threads, backend, logger), logger);
    }

    /// <summary>Detects objects in <paramref name="image"/> and inpaints each with <paramref name="generator"/>.</summary>
    /// <param name="generator">The model that inpaints (an image model).</param>
    /// <param name="image">The image to refine.</param>
    /// <param name="request">Detection and inpainting settings; null for upstream's defaults.</param>
    /// <param name="progress">Receives the inpainting passes' step reports.</param>
    /// <param name="cancellationToken">Stops within a step.</param>
    /// <returns>The refined image (the same size); the input unchanged in content when nothing was detected.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="generator"/> or <paramref name="image"/> is null.</exception>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The detailer or the generator was disposed.</exception>
    public ImageBuffer Apply(Generator generator, ImageBuffer image, DetailerRequest? request = null,
        IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(image);
        var r = request ?? new DetailerRequest();
        if (r.Prompt is { } prompt) Validation.Prompt(prompt, nameof(r.Prompt));
        if (r.NegativePrompt is { } negative) Validation.Prompt(negative, nameof(r.NegativePrompt));
        string? extra = ExtraArgs(r);
        var inpaint = r.Inpaint with { InitImage = null, Mask = null, ControlImage = null, ReferenceImages = [], PhotoMaker = null, Pulid = null, Hires = null };
        Validation.Request(inpaint);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return generator.RunDetailer(_context, NativeImage.From(image.ToRgb24()), r.Prompt, r.NegativePrompt, extra, inpaint, progress, _logger, cancellationToken);
        }
    }

    /// <summary>Upstream's <c>extra_ad_args</c> from the typed settings, each range-checked first (upstream rejects the whole pass otherwise).</summary>
    internal static string? ExtraArgs(DetailerRequest r)
    {
        var parts = new List<string>();
        void Int(string key, int? value, int min, int max)
        {
            if (value is not int v) return;
            if (v < min || v > max) throw new ArgumentOutOfRangeException(key, v, $"{key} must be between {min} and {max}.");
            parts.Add(key + "=" + v.ToString(CultureInfo.InvariantCulture));
        }
        void Float(string key, float? value, float min, float max)
        {
            if (value is not float v) return;
            if (!float.IsFinite(v) || v < min || v > max) throw new ArgumentOutOfRangeException(key, v, $"{key} must be between {min} and {max}.");
            parts.Add(key + "=" + v.ToString("R", CultureInfo.InvariantCulture));
        }
        if (r.InputSize is int size && size % 32 != 0) throw new ArgumentOutOfRangeException(nameof(r.InputSize), size, "InputSize must be a multiple of 32.");
        Int("input_size", r.InputSize, 32, 4096);
        Float("confidence", r.Confidence, 0, 1);
        Float("nms_threshold", r.NmsThreshold, 0, 1);
        Int("max_detections", r.MaxDetections, 1, 1000);
        Int("mask_k_largest", r.MaskKLargest, 0, 1000);
        Float("mask_min_ratio", r.MaskMinRatio, 0, 1);
        Float("mask_max_ratio", r.MaskMaxRatio, r.MaskMinRatio ?? 0, 1);
        Int("dilate_erode", r.DilateErode, -512, 512);
        Int("x_offset", r.XOffset, -4096, 4096);
        Int("y_offset", r.YOffset, -4096, 4096);
        if (r.MaskMode is { } mode)
            parts.Add("mask_mode=" + mode switch { DetectionMaskMode.Merge => "merge", DetectionMaskMode.MergeInvert => "merge_invert", DetectionMaskMode.None => "none", _ => throw new ArgumentOutOfRangeException(nameof(r.MaskMode), mode, "Unknown mask mode.") });
        Int("mask_blur", r.MaskBlur, 0, 256);
        Int("inpaint_padding", r.InpaintPadding, 0, 4096);
        Int("steps", r.Steps, 1, 10_000);
        if (r.SortBy is { } sort)
            parts.Add("sort_by=" + sort switch { DetectionOrder.None => "none", DetectionOrder.LeftToRight => "left_to_right", DetectionOrder.CenterToEdge => "center_to_edge", DetectionOrder.Area => "area", _ => throw new ArgumentOutOfRangeException(nameof(r.SortBy), sort, "Unknown order.") });
        ArgumentNullException.ThrowIfNull(r.Inpaint, nameof(r.Inpaint));
        return parts.Count == 0 ? null : string.Join(",", parts);
    }

    /// <summary>Frees the detector.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _context.Dispose();
        }
    }
}
