using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.Native;

namespace StableDiffusion.Native;

/// <summary>Settings of upstream's Canny edge detector (sd-cli's <c>--canny</c> uses the defaults).</summary>
public sealed record CannyOptions
{
    /// <summary>Gradient above which a pixel is a strong edge, 0 to 10 (upstream default 0.08).</summary>
    public float HighThreshold { get; init; } = 0.08f;

    /// <summary>Gradient above which a pixel may be a weak edge, 0 to <see cref="HighThreshold"/> (default 0.08).</summary>
    public float LowThreshold { get; init; } = 0.08f;

    /// <summary>Value of weak edges, 0 to 1 (default 0.8).</summary>
    public float Weak { get; init; } = 0.8f;

    /// <summary>Value of strong edges, 0 to 1 (default 1).</summary>
    public float Strong { get; init; } = 1f;

    /// <summary>Black edges on white instead of white on black.</summary>
    public bool Inverse { get; init; }
}

/// <summary>Upstream's image preprocessors, for ControlNet conditioning images.</summary>
public static class ImageFilters
{
    /// <summary>The Canny edges of an image, as a Canny ControlNet expects them (upstream's <c>preprocess_canny</c>).</summary>
    /// <param name="image">The image (<see cref="PixelFormat.Gray8"/> is expanded to RGB first).</param>
    /// <param name="options">Thresholds and edge values; null for upstream's defaults.</param>
    /// <param name="logger">Receives the native log lines of the call.</param>
    /// <returns>A new RGB image of the same size with the edges.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A threshold or value is out of range.</exception>
    /// <exception cref="NativeRuntimeException">No usable native runtime was found.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp failed.</exception>
    public static ImageBuffer Canny(ImageBuffer image, CannyOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        var o = options ?? new CannyOptions();
        Check(o.HighThreshold, 0, 10, nameof(o.HighThreshold));
        Check(o.LowThreshold, 0, o.HighThreshold, nameof(o.LowThreshold));
        Check(o.Weak, 0, 1, nameof(o.Weak));
        Check(o.Strong, 0, 1, nameof(o.Strong));
        var result = NativeImageFilters.Canny(NativeImage.From(image.ToRgb24()), o.HighThreshold, o.LowThreshold, o.Weak, o.Strong, o.Inverse, logger);
        return result.ToImageBuffer();
    }

    private static void Check(float value, float min, float max, string name)
    {
        if (!float.IsFinite(value) || value < min || value > max)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be between {min} and {max}.");
    }
}
