using System.Runtime.InteropServices;
using StableDiffusion.Native.Interop;

namespace StableDiffusion.Native.Native;

/// <summary>
/// Owns an upstream <c>sd_ctx_t</c>; upstream's free crashes on NULL, so only valid handles are released. A context whose
/// weights live on RPC servers frees them there, and ggml's RPC client aborts the process when a server does not answer:
/// such a context is given a guard, and when the guard says its servers are gone the context is leaked instead of freed.
/// </summary>
internal sealed unsafe class SdContextHandle : SafeHandle
{
    private readonly Func<bool>? _canFree;

    public SdContextHandle() : base(0, ownsHandle: true) { }

    /// <param name="ctx">The context.</param>
    /// <param name="canFree">Asked before freeing; false leaks the context (its memory stays until the process ends).</param>
    public SdContextHandle(sd_ctx_t* ctx, Func<bool>? canFree = null) : this()
    {
        SetHandle((nint)ctx);
        _canFree = canFree;
    }

    public override bool IsInvalid => handle == 0;

    public sd_ctx_t* Pointer => (sd_ctx_t*)handle;

    /// <summary>Whether the last release leaked the context because its guard refused the free.</summary>
    public bool Leaked { get; private set; }

    protected override bool ReleaseHandle()
    {
        bool free;
        try
        {
            free = _canFree?.Invoke() ?? true;
        }
        catch
        {
            free = false;
        }
        if (!free)
        {
            Leaked = true;
            return true;
        }
        Sd.free_sd_ctx((sd_ctx_t*)handle);
        return true;
    }
}

/// <summary>Owns an upstream <c>upscaler_ctx_t</c>.</summary>
internal sealed unsafe class UpscalerHandle : SafeHandle
{
    public UpscalerHandle() : base(0, ownsHandle: true) { }

    public UpscalerHandle(upscaler_ctx_t* ctx) : this() => SetHandle((nint)ctx);

    public override bool IsInvalid => handle == 0;

    public upscaler_ctx_t* Pointer => (upscaler_ctx_t*)handle;

    protected override bool ReleaseHandle()
    {
        Sd.free_upscaler_ctx((upscaler_ctx_t*)handle);
        return true;
    }
}

/// <summary>Owns an <c>adetailer_ctx_t</c>; released with <c>free_adetailer_ctx</c>.</summary>
internal sealed unsafe class DetailerHandle : SafeHandle
{
    public DetailerHandle() : base(0, ownsHandle: true) { }

    public DetailerHandle(adetailer_ctx_t* ctx) : this() => SetHandle((nint)ctx);

    public override bool IsInvalid => handle == 0;

    public adetailer_ctx_t* Pointer => (adetailer_ctx_t*)handle;

    protected override bool ReleaseHandle()
    {
        Sd.free_adetailer_ctx((adetailer_ctx_t*)handle);
        return true;
    }
}
