using Microsoft.Extensions.Logging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Native.Interop;
using StableDiffusion.Native.Native;

namespace StableDiffusion.Native;

/// <summary>An ESRGAN upscaler (e.g. RealESRGAN_x4plus). Thread-safe; calls run one at a time.</summary>
public sealed unsafe class Upscaler : IDisposable
{
    private readonly object _gate = new();
    private readonly UpscalerHandle _handle;
    private readonly ILogger? _logger;
    private bool _disposed;

    private Upscaler(UpscalerHandle handle, ILogger? logger, int factor)
    {
        _handle = handle;
        _logger = logger;
        Factor = factor;
    }

    /// <summary>The model's native scale factor (4 for RealESRGAN_x4plus).</summary>
    public int Factor { get; }

    /// <param name="modelPath">ESRGAN weights (.safetensors, .pth converted, or .gguf).</param>
    /// <param name="threads">CPU threads; null for upstream's choice.</param>
    /// <param name="tileSize">Tile edge in pixels (smaller tiles use less memory).</param>
    /// <param name="backend">Device name, as in <see cref="NativeRuntimeInfo.Devices"/>; null for the default.</param>
    /// <param name="logger">Receives the upscaler's native log lines.</param>
    public static Upscaler Load(string modelPath, int? threads = null, int tileSize = 128, string? backend = null, ILogger? logger = null)
    {
        Validation.ExistingFile(modelPath, nameof(modelPath));
        Validation.ModelFileOrNull(modelPath);
        if (threads is int t && (t < 1 || t > 1024)) throw new ArgumentOutOfRangeException(nameof(threads), t, "Threads must be between 1 and 1024.");
        if (tileSize < 32 || tileSize > 4096) throw new ArgumentOutOfRangeException(nameof(tileSize), tileSize, "Tile size must be between 32 and 4096.");
        NativeRuntime.EnsureLoaded();
        using var arena = new NativeArena();
        using var scope = NativeCallScope.Enter(logger);
        upscaler_ctx_t* ctx;
        lock (NativeLocks.ModelLoading)
        {
            ctx = Sd.new_upscaler_ctx(arena.Utf8(modelPath), 0, threads ?? Sd.sd_get_num_physical_cores(), tileSize, arena.Utf8(backend), null);
        }
        if (ctx == null) throw scope.Failure($"Could not load the upscaler '{modelPath}'.");
        var handle = new UpscalerHandle(ctx);
        return new Upscaler(handle, logger, Sd.get_upscale_factor(ctx));
    }

    /// <summary>Upscales an image by <paramref name="factor"/> (default: the model's own factor).</summary>
    public Image<Rgb24> Upscale(Image<Rgb24> image, int? factor = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        int f = factor ?? Factor;
        if (f < 1 || f > 16) throw new ArgumentOutOfRangeException(nameof(factor), f, "Factor must be between 1 and 16.");
        if ((long)image.Width * f > ImageRequest.MaxDimension * 4L || (long)image.Height * f > ImageRequest.MaxDimension * 4L)
            throw new ArgumentOutOfRangeException(nameof(image), $"{image.Width}x{image.Height} x{f} is too large.");
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var arena = new NativeArena();
            var input = arena.Image(image);
            sd_image_t* outputs = null;
            int count = 0;
            using var scope = NativeCallScope.Enter(_logger);
            bool ok = Sd.upscale(_handle.Pointer, input, (uint)f, &outputs, &count) != 0;
            try
            {
                if (!ok || outputs == null || count < 1 || outputs[0].data == null)
                    throw scope.Failure("The upscaler failed.");
                var o = outputs[0];
                return GeneratedImage.FromRgb(new ReadOnlySpan<byte>(o.data, checked((int)(o.width * o.height * o.channel))), (int)o.width, (int)o.height);
            }
            finally
            {
                if (outputs != null) Sd.free_sd_images(outputs, count);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _handle.Dispose();
        }
    }
}
