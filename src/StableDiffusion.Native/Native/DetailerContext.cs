using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Interop;

namespace StableDiffusion.Native.Native;

/// <summary>A loaded upstream <c>adetailer_ctx_t</c> (a YOLOv8 detector). Calls on it run one at a time.</summary>
internal sealed unsafe class DetailerContext : IDisposable
{
    private readonly DetailerHandle _handle;

    private DetailerContext(DetailerHandle handle) => _handle = handle;

    /// <exception cref="GenerationException">Upstream could not load the detector.</exception>
    public static DetailerContext Create(string detectorPath, int? threads, string? backend, ILogger? logger)
    {
        NativeRuntimeLoader.EnsureLoaded();
        using var arena = new NativeArena();
        using var scope = NativeCallScope.Enter(logger);
        adetailer_ctx_t* ctx;
        lock (NativeLocks.ModelLoading)
        {
            ctx = Sd.new_adetailer_ctx(arena.FilePath(detectorPath), threads ?? Sd.sd_get_num_physical_cores(), arena.Utf8(backend), null);
        }
        if (ctx == null) throw scope.Failure($"Could not load the ADetailer detector '{detectorPath}'.");
        return new DetailerContext(new DetailerHandle(ctx));
    }

    /// <summary>Detects, inpaints each detection with <paramref name="inpaint"/> as the template, and returns the composite.</summary>
    /// <exception cref="GenerationException">Upstream failed.</exception>
    public NativeImage Apply(SdContext sd, NativeImage image, string? prompt, string? negativePrompt, string? extraArgs,
        ImageRequest inpaint, NativeCallbacks callbacks, ILogger? logger, CancellationToken cancellationToken)
    {
        using var arena = new NativeArena();
        var input = arena.Image(image);
        // In the arena rather than on the stack: the call runs inside a delegate, which cannot take locals' addresses.
        var ad = arena.Array<sd_adetailer_params_t>(1);
        DetailerParamsMapper.Map(prompt, negativePrompt, extraArgs, arena, ref *ad);
        var p = arena.Array<sd_img_gen_params_t>(1);
        Sd.sd_img_gen_params_init(p);
        ImageGenParamsMapper.Map(inpaint, arena, ref *p);
        var outputs = (sd_image_t**)arena.Alloc(sizeof(sd_image_t*));
        var count = arena.Array<int>(1);
        var detector = _handle.Pointer;

        bool added = false;
        _handle.DangerousAddRef(ref added);
        try
        {
            bool ok = sd.RunDetailer(ctx => Sd.adetail_image(detector, ctx, input, ad, p, outputs, count) != 0,
                callbacks, logger, cancellationToken, out var failure);
            cancellationToken.ThrowIfCancellationRequested();
            if (!ok || *outputs == null || *count < 1 || SdContext.Copy((*outputs)[0]) is not { } result)
                throw failure ?? new GenerationException("ADetailer failed.", []);
            return result;
        }
        finally
        {
            if (*outputs != null) Sd.free_sd_images(*outputs, *count);
            if (added) _handle.DangerousRelease();
        }
    }

    public void Dispose() => _handle.Dispose();
}
