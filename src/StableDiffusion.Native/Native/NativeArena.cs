using System.Runtime.InteropServices;
using System.Text;
using StableDiffusion.Native.Interop;

namespace StableDiffusion.Native.Native;

/// <summary>
/// Upstream's process-global state that is not thread-safe: <c>new_sd_ctx</c> and <c>convert</c> race on
/// unlocked function-local statics in tensor-name conversion, so every such call takes this lock.
/// </summary>
internal static class NativeLocks
{
    public static readonly object ModelLoading = new();
}

/// <summary>Native memory for one call's strings, arrays and images, freed together.</summary>
internal sealed unsafe class NativeArena : IDisposable
{
    private readonly List<nint> _blocks = [];

    public sbyte* Utf8(string? value)
    {
        if (value is null) return null;
        int n = Encoding.UTF8.GetByteCount(value);
        byte* p = (byte*)Alloc(n + 1);
        Encoding.UTF8.GetBytes(value, new Span<byte>(p, n));
        p[n] = 0;
        return (sbyte*)p;
    }

    /// <summary>A file path as upstream's C file functions can open it on this OS (<see cref="NativePaths.ForNativeOpen"/>), in UTF-8.</summary>
    public sbyte* FilePath(string? path) => this.Utf8(NativePaths.ForNativeOpen(path));

    public void* Alloc(nint bytes)
    {
        void* p = NativeMemory.AllocZeroed((nuint)Math.Max(bytes, 1));
        _blocks.Add((nint)p);
        return p;
    }

    public T* Array<T>(int count) where T : unmanaged => (T*)Alloc(checked(count * sizeof(T)));

    /// <summary>
    /// A copy of <paramref name="image"/> as upstream reads it: exactly width × height × channels bytes, tightly
    /// packed (upstream does not check the size). An empty image stays an all-zero <c>sd_image_t</c>.
    /// </summary>
    public sd_image_t Image(NativeImage image)
    {
        if (image.IsEmpty) return default;
        int n = checked(image.Width * image.Height * image.Channels);
        if (image.Pixels.Length != n)
            throw new ArgumentException($"A {image.Width}x{image.Height}x{image.Channels} image needs {n} bytes, not {image.Pixels.Length}.", nameof(image));
        byte* data = (byte*)Alloc(n);
        image.Pixels.Span.CopyTo(new Span<byte>(data, n));
        return new sd_image_t { width = (uint)image.Width, height = (uint)image.Height, channel = (uint)image.Channels, data = data };
    }

    public void Dispose()
    {
        foreach (nint p in _blocks) NativeMemory.Free((void*)p);
        _blocks.Clear();
    }
}
