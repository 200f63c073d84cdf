using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Interop;

namespace StableDiffusion.Native.Native;

/// <summary>A loaded upstream <c>upscaler_ctx_t</c> (ESRGAN). Calls must not overlap; the owner serializes them.</summary>
internal sealed unsafe class UpscalerContext : IDisposable
{
    private readonly UpscalerHandle _handle;

    private UpscalerContext(UpscalerHandle handle, int factor)
    {
        _handle = handle;
        Factor = factor;
    }

    /// <summary>The model's own scale factor.</summary>
    public int Factor { get; }

    /// <exception cref="GenerationException">Upstream could not load the model.</exception>
    public static UpscalerContext Create(string modelPath, int? threads, int tileSize, string? backend, ILogger? logger)
    {
        NativeRuntimeLoader.EnsureLoaded();
        using var arena = new NativeArena();
        using var scope = NativeCallScope.Enter(logger);
        upscaler_ctx_t* ctx;
        lock (NativeLocks.ModelLoading)
        {
            ctx = Sd.new_upscaler_ctx(arena.FilePath(modelPath), 0, threads ?? Sd.sd_get_num_physical_cores(), tileSize, arena.Utf8(backend), null);
        }
        if (ctx == null) throw scope.Failure($"Could not load the upscaler '{modelPath}'.");
        var handle = new UpscalerHandle(ctx);
        return new UpscalerContext(handle, Sd.get_upscale_factor(ctx));
    }

    /// <exception cref="GenerationException">Upstream failed.</exception>
    public NativeImage Upscale(NativeImage image, int factor, ILogger? logger)
    {
        using var arena = new NativeArena();
        var input = arena.Image(image);
        sd_image_t* outputs = null;
        int count = 0;
        using var scope = NativeCallScope.Enter(logger);
        bool added = false;
        _handle.DangerousAddRef(ref added);
        try
        {
            bool ok = Sd.upscale(_handle.Pointer, input, (uint)factor, &outputs, &count) != 0;
            if (!ok || outputs == null || count < 1 || SdContext.Copy(outputs[0]) is not { } result)
                throw scope.Failure("The upscaler failed.");
            return result;
        }
        finally
        {
            if (outputs != null) Sd.free_sd_images(outputs, count);
            if (added) _handle.DangerousRelease();
        }
    }

    public void Dispose() => _handle.Dispose();
}

/// <summary>Upstream's model conversion (<c>convert_with_components</c>), serialized with model loading.</summary>
internal static unsafe class NativeConverter
{
    /// <summary>Converts one checkpoint (and optional VAE) into <paramref name="output"/>; false when upstream failed.</summary>
    /// <param name="input">The checkpoint.</param>
    /// <param name="vae">A VAE to bake in, or null.</param>
    /// <param name="output">The file to write (.safetensors or .gguf by name).</param>
    /// <param name="sdType">The <c>sd_type_t</c> to write.</param>
    /// <param name="rules">Tensor-type rules; upstream builds a std::string from them, so null becomes "" (null aborts the process).</param>
    /// <param name="convertNames">Rename tensors to upstream's names.</param>
    /// <param name="threads">Worker threads, 0 for upstream's choice.</param>
    public static bool Convert(string input, string? vae, string output, int sdType, string? rules, bool convertNames, int threads)
        // Conversion compiles the tensor type rules with std::regex.
        => NativeStack.Run(() =>
        {
            NativeRuntimeLoader.EnsureLoaded();
            using var arena = new NativeArena();
            lock (NativeLocks.ModelLoading)
            {
                return Sd.convert_with_components(
                    arena.FilePath(input), null, null, null, null, arena.FilePath(vae), arena.FilePath(output),
                    (sd_type_t)sdType, arena.Utf8(rules ?? string.Empty), convertNames ? (byte)1 : (byte)0, threads) != 0;
            }
        });
}
