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
        var result = NativeImageFilters.Canny(SpecBuilder.ToNative(image.ToRgb24()), o.HighThreshold, o.LowThreshold, o.Weak, o.Strong, o.Inverse, logger);
        return Generator.ToImageBuffer(result);
    }

    private static void Check(float value, float min, float max, string name)
    {
        if (!float.IsFinite(value) || value < min || value > max)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be between {min} and {max}.");
    }
}

/// <summary>
/// Collects an importance matrix (imatrix) from the generations that run while it is open, for better low-bit
/// quantization (<see cref="Quantization.ConvertOptions.ImportanceMatrixPath"/>). Upstream keeps one collector per
/// process: only one may be open at a time, and it sees every generator's work.
/// </summary>
public sealed class ImportanceMatrixCollector : IDisposable
{
    private readonly ILogger? _logger;
    private bool _disposed;

    private ImportanceMatrixCollector(ILogger? logger) => _logger = logger;

    /// <summary>Starts collecting; generate with the model to quantize, then <see cref="Save"/>.</summary>
    /// <param name="logger">Receives the native log lines of saving.</param>
    /// <returns>The collector; dispose it to stop collecting.</returns>
    /// <exception cref="InvalidOperationException">Another collector is open.</exception>
    /// <exception cref="NativeRuntimeException">No usable native runtime was found.</exception>
    public static ImportanceMatrixCollector Start(ILogger? logger = null)
    {
        if (!Quantization.ImportanceMatrixCollectorState.TryOpen())
            throw new InvalidOperationException("An importance-matrix collector is already open; upstream has one per process.");
        try
        {
            NativeImatrix.Enable(true);
        }
        catch
        {
            Quantization.ImportanceMatrixCollectorState.Close();
            throw;
        }
        return new ImportanceMatrixCollector(logger);
    }

    /// <summary>Writes what was collected so far (upstream's imatrix GGUF format).</summary>
    /// <param name="path">The file to write; its folder must exist.</param>
    /// <exception cref="ArgumentException">The path is empty or its folder does not exist.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp could not write it.</exception>
    /// <exception cref="ObjectDisposedException">The collector was disposed.</exception>
    public void Save(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("The path is empty.", nameof(path));
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is null || !Directory.Exists(folder)) throw new ArgumentException($"No folder for '{path}'.", nameof(path));
        NativeImatrix.Save(path, _logger);
        Quantization.ImportanceMatrixFile.Validate(path, nameof(path));
    }

    /// <summary>Stops collecting.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        NativeImatrix.Enable(false);
        NativeImatrix.Clear();
        Quantization.ImportanceMatrixCollectorState.Close();
    }
}
