using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Native;

/// <summary>
/// Pixels as upstream reads and writes them (<c>sd_image_t</c>): tightly packed rows, one byte per channel.
/// The native layer's own image shape, so that it depends on no layer above it.
/// </summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Channels">Bytes per pixel: 3 (RGB) or 1 (gray mask).</param>
/// <param name="Pixels">Exactly <c>Width × Height × Channels</c> bytes.</param>
internal readonly record struct NativeImage(int Width, int Height, int Channels, ReadOnlyMemory<byte> Pixels)
{
    /// <summary>Whether this is the "no image" value that leaves an <c>sd_image_t</c> empty.</summary>
    public bool IsEmpty => Pixels.IsEmpty;

    /// <summary>The pixels of an image as they are (no copy); null gives the empty value.</summary>
    public static NativeImage From(ImageBuffer? image)
        => image is null ? default : new NativeImage(image.Width, image.Height, image.BytesPerPixel, image.Pixels);

    /// <summary>Adopts the pixels as a managed image without a second copy where it can.</summary>
    public ImageBuffer ToImageBuffer()
    {
        var format = Channels == 1 ? PixelFormat.Gray8 : PixelFormat.Rgb24;
        return System.Runtime.InteropServices.MemoryMarshal.TryGetArray(Pixels, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? ImageBuffer.Adopt(format, Width, Height, segment.Array)
            : ImageBuffer.FromPixels(format, Width, Height, Pixels.Span);
    }
}
