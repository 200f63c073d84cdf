using System.Buffers;
using CommunityToolkit.HighPerformance;

namespace StableDiffusion.Native.Imaging;

/// <summary>How the bytes of an <see cref="ImageBuffer"/> encode a pixel.</summary>
public enum PixelFormat
{
    /// <summary>Three bytes per pixel: red, green, blue (sRGB, 8 bits each). Used for images.</summary>
    Rgb24 = 3,

    /// <summary>One byte per pixel, 0 black to 255 white. Used for masks (white repaints, black keeps).</summary>
    Gray8 = 1,
}

/// <summary>
/// An immutable, tightly packed 8-bit image: the one pixel type of this library's public API, so that the core
/// depends on no image library. Rows are contiguous, top to bottom, without padding (<see cref="Stride"/> is
/// <c>Width × bytes per pixel</c>), which is exactly the layout stable-diffusion.cpp reads and writes.
/// Convert from and to ImageSharp, SkiaSharp or your own type with the adapter packages
/// (<c>StableDiffusion.Native.ImageSharp</c>, <c>StableDiffusion.Native.SkiaSharp</c>) or with
/// <see cref="FromPixels(PixelFormat, int, int, ReadOnlySpan{byte})"/> and <see cref="Pixels"/>.
/// </summary>
public sealed class ImageBuffer : IEquatable<ImageBuffer>
{
    /// <summary>The largest accepted width or height, in pixels.</summary>
    public const int MaxDimension = 16384;

    private readonly byte[] _pixels;

    private ImageBuffer(PixelFormat format, int width, int height, byte[] pixels)
    {
        Format = format;
        Width = width;
        Height = height;
        _pixels = pixels;
    }

    /// <summary>How each pixel is encoded.</summary>
    public PixelFormat Format { get; }

    /// <summary>Width in pixels (at least 1).</summary>
    public int Width { get; }

    /// <summary>Height in pixels (at least 1).</summary>
    public int Height { get; }

    /// <summary>Bytes per pixel: 3 for <see cref="PixelFormat.Rgb24"/>, 1 for <see cref="PixelFormat.Gray8"/>.</summary>
    public int BytesPerPixel => (int)Format;

    /// <summary>Bytes per row (<see cref="Width"/> × <see cref="BytesPerPixel"/>; rows have no padding).</summary>
    public int Stride => Width * BytesPerPixel;

    /// <summary>All pixel bytes, row after row.</summary>
    public ReadOnlyMemory<byte> Pixels => _pixels;

    /// <summary>
    /// The pixel bytes as a two-dimensional view: <see cref="Height"/> rows of <see cref="Stride"/> bytes
    /// (CommunityToolkit.HighPerformance), for row-wise processing without copies.
    /// </summary>
    public ReadOnlyMemory2D<byte> AsMemory2D() => new(_pixels, Height, Stride);

    /// <summary>The bytes of row <paramref name="y"/> (0 is the top row).</summary>
    /// <param name="y">Row index, 0 to <see cref="Height"/> − 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="y"/> is outside the image.</exception>
    public ReadOnlySpan<byte> GetRow(int y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(y);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(y, Height);
        return _pixels.AsSpan(y * Stride, Stride);
    }

    /// <summary>Creates an image from a copy of tightly packed pixel bytes.</summary>
    /// <param name="format">How the bytes encode a pixel.</param>
    /// <param name="width">Width in pixels, 1 to <see cref="MaxDimension"/>.</param>
    /// <param name="height">Height in pixels, 1 to <see cref="MaxDimension"/>.</param>
    /// <param name="pixels">Exactly <c>width × height × bytes per pixel</c> bytes, row after row.</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension or the format is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="pixels"/> has another length.</exception>
    public static ImageBuffer FromPixels(PixelFormat format, int width, int height, ReadOnlySpan<byte> pixels)
    {
        int length = CheckedLength(format, width, height);
        if (pixels.Length != length)
            throw new ArgumentException($"A {width}x{height} {format} image has {length} bytes, but {pixels.Length} were given.", nameof(pixels));
        return new ImageBuffer(format, width, height, pixels.ToArray());
    }

    /// <summary>Creates an image by letting <paramref name="fill"/> write its pixels once, without an intermediate copy.</summary>
    /// <typeparam name="TState">State passed to <paramref name="fill"/> (avoids a closure).</typeparam>
    /// <param name="format">How the bytes encode a pixel.</param>
    /// <param name="width">Width in pixels, 1 to <see cref="MaxDimension"/>.</param>
    /// <param name="height">Height in pixels, 1 to <see cref="MaxDimension"/>.</param>
    /// <param name="state">Passed to <paramref name="fill"/>.</param>
    /// <param name="fill">Writes all <c>width × height × bytes per pixel</c> bytes, row after row; called once.</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension or the format is out of range.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="fill"/> is null.</exception>
    public static ImageBuffer Create<TState>(PixelFormat format, int width, int height, TState state, SpanAction<byte, TState> fill)
    {
        ArgumentNullException.ThrowIfNull(fill);
        byte[] pixels = new byte[CheckedLength(format, width, height)];
        fill(pixels, state);
        return new ImageBuffer(format, width, height, pixels);
    }

    /// <summary>An image of one colour: every byte of every pixel set to the given channel values.</summary>
    /// <param name="format">How the bytes encode a pixel.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="pixel">One pixel's bytes (3 for <see cref="PixelFormat.Rgb24"/>, 1 for <see cref="PixelFormat.Gray8"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension or the format is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="pixel"/> does not have one pixel's length.</exception>
    public static ImageBuffer Filled(PixelFormat format, int width, int height, ReadOnlySpan<byte> pixel)
    {
        int length = CheckedLength(format, width, height);
        if (pixel.Length != (int)format)
            throw new ArgumentException($"A {format} pixel has {(int)format} byte(s), but {pixel.Length} were given.", nameof(pixel));
        byte[] pixels = new byte[length];
        for (int i = 0; i < length; i += pixel.Length) pixel.CopyTo(pixels.AsSpan(i));
        return new ImageBuffer(format, width, height, pixels);
    }

    /// <summary>This image as <see cref="PixelFormat.Gray8"/> (ITU-R BT.601 luma), or itself when it already is.</summary>
    /// <returns>A gray image of the same size.</returns>
    public ImageBuffer ToGray8()
    {
        if (Format == PixelFormat.Gray8) return this;
        return Create(PixelFormat.Gray8, Width, Height, _pixels, static (gray, rgb) =>
        {
            for (int i = 0, j = 0; i < gray.Length; i++, j += 3)
                gray[i] = (byte)((rgb[j] * 299 + rgb[j + 1] * 587 + rgb[j + 2] * 114 + 500) / 1000);
        });
    }

    /// <summary>This image as <see cref="PixelFormat.Rgb24"/> (gray copied to all three channels), or itself when it already is.</summary>
    /// <returns>An RGB image of the same size.</returns>
    public ImageBuffer ToRgb24()
    {
        if (Format == PixelFormat.Rgb24) return this;
        return Create(PixelFormat.Rgb24, Width, Height, _pixels, static (rgb, gray) =>
        {
            for (int i = 0, j = 0; i < gray.Length; i++, j += 3) rgb[j] = rgb[j + 1] = rgb[j + 2] = gray[i];
        });
    }

    /// <summary>Writes this image as a PNG (8-bit RGB or gray).</summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="IOException">The file could not be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be written.</exception>
    public void SaveAsPng(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        SaveAsPng(stream);
    }

    /// <summary>Writes this image as a PNG (8-bit RGB or gray) to a stream.</summary>
    /// <param name="stream">A writable stream; left open.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="IOException">The stream could not be written.</exception>
    public void SaveAsPng(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        PngWriter.Write(stream, this, []);
    }

    /// <summary>Whether both images have the same format, size and pixel bytes.</summary>
    /// <param name="other">The image to compare with.</param>
    public bool Equals(ImageBuffer? other)
        => other is not null && (ReferenceEquals(this, other) ||
           (Format == other.Format && Width == other.Width && Height == other.Height && _pixels.AsSpan().SequenceEqual(other._pixels)));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as ImageBuffer);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Format);
        hash.Add(Width);
        hash.Add(Height);
        hash.AddBytes(_pixels);
        return hash.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Width}x{Height} {Format}";

    /// <summary>The pixel array itself, for code of this assembly that only reads it (no copy).</summary>
    internal ReadOnlySpan<byte> Span => _pixels;

    /// <summary>Wraps an array the caller gives up (native output copied once into managed memory).</summary>
    internal static ImageBuffer Adopt(PixelFormat format, int width, int height, byte[] pixels)
    {
        if (pixels.Length != CheckedLength(format, width, height))
            throw new ArgumentException($"A {width}x{height} {format} image has {CheckedLength(format, width, height)} bytes, not {pixels.Length}.", nameof(pixels));
        return new ImageBuffer(format, width, height, pixels);
    }

    private static int CheckedLength(PixelFormat format, int width, int height)
    {
        if (format is not (PixelFormat.Rgb24 or PixelFormat.Gray8))
            throw new ArgumentOutOfRangeException(nameof(format), format, "The pixel format must be Rgb24 or Gray8.");
        if (width < 1 || width > MaxDimension)
            throw new ArgumentOutOfRangeException(nameof(width), width, $"Width must be between 1 and {MaxDimension}.");
        if (height < 1 || height > MaxDimension)
            throw new ArgumentOutOfRangeException(nameof(height), height, $"Height must be between 1 and {MaxDimension}.");
        return checked(width * height * (int)format);
    }
}
