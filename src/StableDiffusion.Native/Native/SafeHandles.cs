using System.Runtime.InteropServices;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Native.Interop;

namespace StableDiffusion.Native.Native;

/// <summary>Owns an upstream <c>sd_ctx_t</c>; upstream's free crashes on NULL, so only valid handles are released.</summary>
internal sealed unsafe class SdContextHandle : SafeHandle
{
    public SdContextHandle() : base(0, ownsHandle: true) { }

    public SdContextHandle(sd_ctx_t* ctx) : this() => SetHandle((nint)ctx);

    public override bool IsInvalid => handle == 0;

    public sd_ctx_t* Pointer => (sd_ctx_t*)handle;

    protected override bool ReleaseHandle()
    {
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

/// <summary>Owns an upstream <c>adetailer_ctx_t</c>.</summary>
internal sealed unsafe class AdetailerHandle : SafeHandle
{
    public AdetailerHandle() : base(0, ownsHandle: true) { }

    public AdetailerHandle(adetailer_ctx_t* ctx) : this() => SetHandle((nint)ctx);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        Sd.free_adetailer_ctx((adetailer_ctx_t*)handle);
        return true;
    }
}

/// <summary>
/// Upstream's process-global state that is not thread-safe: <c>new_sd_ctx</c> and <c>convert</c> race on
/// unlocked function-local statics in tensor-name conversion, so every such call takes this lock.
/// </summary>
internal static class NativeLocks
{
    public static readonly object ModelLoading = new();
}

/// <summary>Native memory for one call's strings and images, freed together.</summary>
internal sealed unsafe class NativeArena : IDisposable
{
    private readonly List<nint> _blocks = new();

    public sbyte* Utf8(string? value)
    {
        if (value is null) return null;
        int n = System.Text.Encoding.UTF8.GetByteCount(value);
        byte* p = (byte*)Alloc(n + 1);
        System.Text.Encoding.UTF8.GetBytes(value, new Span<byte>(p, n));
        p[n] = 0;
        return (sbyte*)p;
    }

    public void* Alloc(nint bytes)
    {
        void* p = NativeMemory.AllocZeroed((nuint)Math.Max(bytes, 1));
        _blocks.Add((nint)p);
        return p;
    }

    public T* Array<T>(int count) where T : unmanaged => (T*)Alloc(checked(count * sizeof(T)));

    /// <summary>
    /// A copy of <paramref name="image"/> as upstream reads it: exactly width × height × channels bytes, tightly
    /// packed (upstream does not check the size), one channel per byte of the pixel type (Rgb24: 3, L8: 1).
    /// </summary>
    public sd_image_t Image<TPixel>(Image<TPixel> image) where TPixel : unmanaged, IPixel<TPixel>
    {
        int n = checked(image.Width * image.Height * sizeof(TPixel));
        byte* data = (byte*)Alloc(n);
        image.CopyPixelDataTo(new Span<byte>(data, n));
        return new sd_image_t { width = (uint)image.Width, height = (uint)image.Height, channel = (uint)sizeof(TPixel), data = data };
    }

    public void Dispose()
    {
        foreach (nint p in _blocks) NativeMemory.Free((void*)p);
        _blocks.Clear();
    }
}
