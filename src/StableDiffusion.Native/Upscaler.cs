using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Native;

namespace StableDiffusion.Native;

/// <summary>An ESRGAN upscaler (e.g. RealESRGAN_x4plus). Thread-safe; calls run one at a time.</summary>
public sealed class Upscaler : IDisposable
{
    private readonly object _gate = new();
    private readonly UpscalerContext _context;
    private readonly ILogger? _logger;
    private bool _disposed;

    private Upscaler(UpscalerContext context, ILogger? logger)
    {
        _context = context;
        _logger = logger;
    }

    /// <summary>The model's native scale factor (4 for RealESRGAN_x4plus).</summary>
    public int Factor => _context.Factor;

    /// <summary>Loads an ESRGAN model.</summary>
    /// <param name="modelPath">ESRGAN weights (.safetensors, .pth converted, or .gguf).</param>
    /// <param name="threads">CPU threads, 1 to 1024; null for upstream's choice.</param>
    /// <param name="tileSize">Tile edge in pixels, 32 to 4096 (smaller tiles use less memory).</param>
    /// <param name="backend">Device name, as in <see cref="NativeRuntimeInfo.Devices"/>; null for the local device a generator would choose (never an RPC server's).</param>
    /// <param name="logger">Receives the upscaler's native log lines.</param>
    /// <returns>The loaded upscaler; dispose it to free the model.</returns>
    /// <exception cref="ArgumentException">No such file, or a value out of range.</exception>
    /// <exception cref="InvalidModelFileException">The file is malformed, hostile, or a refused format.</exception>
    /// <exception cref="NativeRuntimeException">No usable native runtime was found.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp could not load the model.</exception>
    public static Upscaler Load(string modelPath, int? threads = null, int tileSize = 128, string? backend = null, ILogger? logger = null)
    {
        Validation.ExistingFile(modelPath, nameof(modelPath));
        Validation.ModelFileOrNull(modelPath);
        if (threads is int t && (t < 1 || t > 1024)) throw new ArgumentOutOfRangeException(nameof(threads), t, "Threads must be between 1 and 1024.");
        Validation.DeviceSpec(backend, nameof(backend));
        if (tileSize < 32 || tileSize > 4096) throw new ArgumentOutOfRangeException(nameof(tileSize), tileSize, "Tile size must be between 32 and 4096.");
        // Null is pinned to a local device here: upstream's own default would take any RPC server's device a generator
        // registered in this process, also one that is gone.
        backend ??= BackendSelector.LocalDefault(NativeRuntimeLoader.EnsureLoaded());
        return new Upscaler(UpscalerContext.Create(modelPath, threads, tileSize, backend, logger), logger);
    }

    /// <summary>Upscales an image by the model's own factor (<see cref="Factor"/>).</summary>
    /// <param name="image">The image to enlarge (<see cref="PixelFormat.Gray8"/> is expanded to RGB first).</param>
    /// <param name="factor">
    /// Null, or <see cref="Factor"/> itself: an ESRGAN model has one scale, and upstream ignores any other, so another
    /// value is refused instead of silently giving a differently sized result.
    /// </param>
    /// <param name="repeats">Passes, 1 to 8 (sd-cli's <c>--upscale-repeats</c>): the result is <see cref="Factor"/>^repeats times the input's size.</param>
    /// <returns>The enlarged RGB image.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The factor is not the model's, or the result would be too large.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp failed.</exception>
    /// <exception cref="ObjectDisposedException">The upscaler was disposed.</exception>
    public ImageBuffer Upscale(ImageBuffer image, int? factor = null, int repeats = 1)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (repeats < 1 || repeats > 8) throw new ArgumentOutOfRangeException(nameof(repeats), repeats, "Repeats must be between 1 and 8.");
        int f = factor ?? Factor;
        if (f != Factor)
            throw new ArgumentOutOfRangeException(nameof(factor), f, $"This model upscales by exactly {Factor}; upstream has no other factor (leave it null).");
        // The result must fit an ImageBuffer; checked before upstream spends minutes on it.
        long total = (long)Math.Pow(f, repeats);
        if (image.Width * total > ImageBuffer.MaxDimension || image.Height * total > ImageBuffer.MaxDimension)
            throw new ArgumentOutOfRangeException(nameof(image), $"{image.Width}x{image.Height} x{total} would exceed {ImageBuffer.MaxDimension} pixels per side.");
        var result = image.ToRgb24();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // sd-cli's --upscale-repeats: each pass enlarges the previous result.
            for (int i = 0; i < repeats; i++) result = _context.Upscale(NativeImage.From(result), f, _logger).ToImageBuffer();
            return result;
        }
    }

    /// <summary>Frees the model.</summary>
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
