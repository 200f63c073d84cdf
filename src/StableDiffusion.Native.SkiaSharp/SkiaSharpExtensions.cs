using System.Buffers;
using SkiaSharp;
using StableDiffusion.Native.Adapters;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.SkiaSharp;

/// <summary>
/// Converts between SkiaSharp bitmaps and <see cref="ImageBuffer"/>, the pixel type of the StableDiffusion.Native
/// API. Pixels are copied row by row; the result never shares memory with the source. Colours are not
/// colour-managed: the bytes are taken in the bitmap's own colour space.
/// </summary>
public static class SkiaSharpExtensions
{
    /// <summary>Rows of other colour types are converted through a buffer of about this many bytes.</summary>
    private const int StripBytes = 1 << 20;

    /// <summary>
    /// Copies a bitmap of any colour type into a new <see cref="PixelFormat.Rgb24"/> buffer. Other colour types than
    /// unpremultiplied or opaque <see cref="SKColorType.Rgba8888"/> are first converted by Skia to unpremultiplied
    /// RGBA; alpha is then dropped, not composited (a transparent pixel keeps the colour it stores; a
    /// premultiplied one is unpremultiplied first).
    /// </summary>
    /// <param name="bitmap">The bitmap.</param>
    /// <returns>An <see cref="PixelFormat.Rgb24"/> buffer of the bitmap's size.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="bitmap"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// The bitmap has no pixels (empty, not allocated, or of <see cref="SKColorType.Unknown"/> colour type), or Skia
    /// cannot convert its colour type to RGBA.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// The bitmap is wider or taller than <see cref="ImageBuffer.MaxDimension"/>.
    /// </exception>
    public static ImageBuffer ToImageBuffer(this SKBitmap bitmap) => Convert(bitmap, PixelFormat.Rgb24);

    /// <summary>
    /// Copies a bitmap of any colour type into a new <see cref="PixelFormat.Gray8"/> buffer, for use as a mask (white
    /// repaints, black keeps). A <see cref="SKColorType.Gray8"/> bitmap is copied as it is; colour becomes ITU-R
    /// BT.601 luma (the values of <see cref="ImageBuffer.ToGray8"/>) of the unpremultiplied RGB; alpha is dropped.
    /// </summary>
    /// <param name="bitmap">The bitmap.</param>
    /// <returns>A <see cref="PixelFormat.Gray8"/> buffer of the bitmap's size.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="bitmap"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// The bitmap has no pixels (empty, not allocated, or of <see cref="SKColorType.Unknown"/> colour type), or Skia
    /// cannot convert its colour type to RGBA.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// The bitmap is wider or taller than <see cref="ImageBuffer.MaxDimension"/>.
    /// </exception>
    public static ImageBuffer ToImageBufferMask(this SKBitmap bitmap) => Convert(bitmap, PixelFormat.Gray8);

    /// <summary>
    /// Copies a buffer into a new opaque <see cref="SKColorType.Rgba8888"/> bitmap in sRGB; a
    /// <see cref="PixelFormat.Gray8"/> buffer becomes gray RGB.
    /// </summary>
    /// <param name="image">The buffer to copy.</param>
    /// <returns>A new bitmap of the buffer's size, which the caller disposes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Skia could not allocate the bitmap's pixels.</exception>
    public static SKBitmap ToSKBitmap(this ImageBuffer image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque, SKColorSpace.CreateSrgb());
        var bitmap = new SKBitmap();
        if (!bitmap.TryAllocPixels(info))
        {
            bitmap.Dispose();
            throw new InvalidOperationException($"SkiaSharp could not allocate a {image.Width}x{image.Height} bitmap.");
        }

        Fill(bitmap, image);
        bitmap.NotifyPixelsChanged();
        return bitmap;
    }

    // The pointer work stays private: the public API is never unsafe.
    private static unsafe void Fill(SKBitmap bitmap, ImageBuffer image)
    {
        byte* pixels = (byte*)bitmap.GetPixels();
        int rowBytes = bitmap.RowBytes;
        for (int y = 0; y < image.Height; y++)
        {
            var row = new Span<byte>(pixels + (long)y * rowBytes, image.Width * 4);
            if (image.Format == PixelFormat.Rgb24) RgbToRgba(image.GetRow(y), row);
            else GrayToRgba(image.GetRow(y), row);
        }
    }

    private static ImageBuffer Convert(SKBitmap bitmap, PixelFormat format)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        if (bitmap.ColorType == SKColorType.Unknown || bitmap.Width < 1 || bitmap.Height < 1)
            throw new ArgumentException($"The bitmap has no pixels ({bitmap.Width}x{bitmap.Height}, {bitmap.ColorType}).", nameof(bitmap));
        using SKPixmap? pixmap = bitmap.PeekPixels();
        if (pixmap is null || pixmap.GetPixels() == IntPtr.Zero)
            throw new ArgumentException("The bitmap's pixels are not allocated.", nameof(bitmap));
        ImageBuffer result = FromPixmap(pixmap, format);
        GC.KeepAlive(bitmap);
        return result;
    }

    /// <summary>Copies a pixmap's pixels into a new buffer (the pixmap must stay valid during the call).</summary>
    internal static ImageBuffer FromPixmap(SKPixmap pixmap, PixelFormat format)
        => ImageBuffer.Create(format, pixmap.Width, pixmap.Height, pixmap, format == PixelFormat.Rgb24 ? CopyRgb : CopyGray);

    private static void CopyRgb(Span<byte> rgb, SKPixmap source) => Copy(source, rgb, PixelFormat.Rgb24);

    private static void CopyGray(Span<byte> gray, SKPixmap source) => Copy(source, gray, PixelFormat.Gray8);

    private static unsafe void Copy(SKPixmap source, Span<byte> destination, PixelFormat format)
    {
        int width = source.Width, height = source.Height, stride = width * (int)format;
        byte* pixels = (byte*)source.GetPixels();
        int rowBytes = source.RowBytes;

        if (format == PixelFormat.Gray8 && source.ColorType == SKColorType.Gray8)
        {
            for (int y = 0; y < height; y++)
                new ReadOnlySpan<byte>(pixels + (long)y * rowBytes, width).CopyTo(destination.Slice(y * stride, stride));
            return;
        }

        if (source.ColorType == SKColorType.Rgba8888 && source.AlphaType is SKAlphaType.Unpremul or SKAlphaType.Opaque)
        {
            for (int y = 0; y < height; y++)
                FromRgba(new ReadOnlySpan<byte>(pixels + (long)y * rowBytes, width * 4), destination.Slice(y * stride, stride), format);
            return;
        }

        // Any other colour type, or premultiplied alpha: Skia converts strips of rows to unpremultiplied RGBA,
        // keeping the source's colour space (no colour conversion).
        ConvertRgbaStrips(destination, width, height, format, source, static (strip, y, rows, pixmap) =>
        {
            var info = new SKImageInfo(pixmap.Width, rows, SKColorType.Rgba8888, SKAlphaType.Unpremul, pixmap.ColorSpace);
            if (!pixmap.ReadPixels(info, strip, pixmap.Width * 4, 0, y))
                throw new ArgumentException($"SkiaSharp cannot convert {pixmap.ColorType} ({pixmap.AlphaType}) pixels to RGBA.", "bitmap");
        });
    }

    /// <summary>Fills <c>rows</c> rows of unpremultiplied RGBA, starting at row <c>y</c>, into <c>strip</c>.</summary>
    internal delegate void RgbaStripSource<in TState>(IntPtr strip, int y, int rows, TState state);

    /// <summary>
    /// Converts an image into <paramref name="destination"/> a strip of rows at a time through a small pooled RGBA
    /// buffer (so RGBA never exists whole), asking <paramref name="fill"/> for each strip: the one loop behind
    /// pixmap conversion and strip-wise decoding.
    /// </summary>
    internal static unsafe void ConvertRgbaStrips<TState>(Span<byte> destination, int width, int height, PixelFormat format, TState state, RgbaStripSource<TState> fill)
    {
        int rgbaStride = width * 4, stride = width * (int)format;
        int stripRows = Math.Clamp(StripBytes / rgbaStride, 1, height);
        byte[] strip = ArrayPool<byte>.Shared.Rent(stripRows * rgbaStride);
        try
        {
            fixed (byte* stripPointer = strip)
            {
                for (int y = 0; y < height; y += stripRows)
                {
                    int rows = Math.Min(stripRows, height - y);
                    fill((IntPtr)stripPointer, y, rows, state);
                    for (int r = 0; r < rows; r++)
                        FromRgba(strip.AsSpan(r * rgbaStride, rgbaStride), destination.Slice((y + r) * stride, stride), format);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(strip);
        }
    }

    /// <summary>One row of unpremultiplied RGBA to RGB (alpha dropped) or to luma.</summary>
    internal static void FromRgba(ReadOnlySpan<byte> rgba, Span<byte> destination, PixelFormat format)
    {
        if (format == PixelFormat.Rgb24)
        {
            for (int i = 0, j = 0; j < rgba.Length; i += 3, j += 4)
            {
                destination[i] = rgba[j];
                destination[i + 1] = rgba[j + 1];
                destination[i + 2] = rgba[j + 2];
            }
        }
        else
        {
            for (int i = 0, j = 0; j < rgba.Length; i++, j += 4)
                destination[i] = LoaderGuard.Luma(rgba[j], rgba[j + 1], rgba[j + 2]);
        }
    }

    private static void RgbToRgba(ReadOnlySpan<byte> rgb, Span<byte> rgba)
    {
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            rgba[j] = rgb[i];
            rgba[j + 1] = rgb[i + 1];
            rgba[j + 2] = rgb[i + 2];
            rgba[j + 3] = 255;
        }
    }

    private static void GrayToRgba(ReadOnlySpan<byte> gray, Span<byte> rgba)
    {
        for (int i = 0, j = 0; i < gray.Length; i++, j += 4)
        {
            rgba[j] = rgba[j + 1] = rgba[j + 2] = gray[i];
            rgba[j + 3] = 255;
        }
    }
}
