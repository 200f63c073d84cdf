using SkiaSharp;
using StableDiffusion.Native.Adapters;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.SkiaSharp;

/// <summary>
/// Loads user-supplied image files (init images, masks, control images) with SkiaSharp's <see cref="SKCodec"/> into
/// <see cref="ImageBuffer"/>s. The size is read from the header first and an image larger than
/// <see cref="MaxDimension"/> × <see cref="MaxDimension"/> is refused before any pixel is decoded, so a crafted
/// "decompression bomb" cannot exhaust memory.
/// </summary>
/// <remarks>
/// Only the first frame of an animated file is decoded. No colour profile or EXIF orientation is applied, and
/// alpha is dropped, not composited (the unpremultiplied colour is kept), as the ImageSharp adapter's loader does.
/// A truncated or corrupt file is refused, never returned with missing rows filled in. Formats for which Skia
/// decodes rows top-down one batch at a time (JPEG) are converted a strip of rows at a time; others (PNG, WebP, GIF,
/// BMP) are decoded whole to RGBA first, which briefly needs 4 more bytes a pixel. A stream that cannot seek, or does
/// not start at position 0, is first copied into memory.
/// </remarks>
public static class SkiaSharpLoader
{
    /// <summary>Largest accepted width or height, in pixels.</summary>
    public const int MaxDimension = LoaderGuard.MaxDimension;

    /// <summary>Largest accepted pixel count (<see cref="MaxDimension"/> × <see cref="MaxDimension"/>).</summary>
    public const long MaxPixels = LoaderGuard.MaxPixels;

    /// <summary>Loads an image file as <see cref="PixelFormat.Rgb24"/> (gray files are expanded to RGB).</summary>
    /// <param name="path">The file: PNG, JPEG, GIF, BMP, WebP, ICO, WBMP or another format Skia decodes.</param>
    /// <returns>The decoded image.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="path"/> is empty; no file is there (the inner exception is a <see cref="FileNotFoundException"/>);
    /// the file is not an image Skia reads or is corrupt or truncated; or its header gives a width or height under 1 or
    /// over <see cref="MaxDimension"/> (the message names the path and the size).
    /// </exception>
    /// <exception cref="IOException">The file could not be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static ImageBuffer LoadRgb(string path) => LoadFile(path, PixelFormat.Rgb24);

    /// <summary>Loads an image from a stream as <see cref="PixelFormat.Rgb24"/> (gray images are expanded to RGB).</summary>
    /// <param name="stream">
    /// The encoded image, read from its current position; it is left open, and its position after the call is
    /// unspecified.
    /// </param>
    /// <returns>The decoded image.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// The stream cannot be read (or has been disposed); its content is not an image Skia reads or is corrupt or truncated; or its header
    /// gives a width or height under 1 or over <see cref="MaxDimension"/> (the message names the size).
    /// </exception>
    /// <exception cref="IOException">Reading the stream failed.</exception>
    public static ImageBuffer LoadRgb(Stream stream) => LoadStream(stream, PixelFormat.Rgb24);

    /// <summary>
    /// Loads a mask file as <see cref="PixelFormat.Gray8"/> (white repaints, black keeps); a colour file becomes
    /// ITU-R BT.601 luma, the values of <see cref="ImageBuffer.ToGray8"/>.
    /// </summary>
    /// <param name="path">The file: PNG, JPEG, GIF, BMP, WebP, ICO, WBMP or another format Skia decodes.</param>
    /// <returns>The decoded mask.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="path"/> is empty; no file is there (the inner exception is a <see cref="FileNotFoundException"/>);
    /// the file is not an image Skia reads or is corrupt or truncated; or its header gives a width or height under 1 or
    /// over <see cref="MaxDimension"/> (the message names the path and the size).
    /// </exception>
    /// <exception cref="IOException">The file could not be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static ImageBuffer LoadMask(string path) => LoadFile(path, PixelFormat.Gray8);

    /// <summary>
    /// Loads a mask from a stream as <see cref="PixelFormat.Gray8"/> (white repaints, black keeps); a colour image
    /// becomes ITU-R BT.601 luma, the values of <see cref="ImageBuffer.ToGray8"/>.
    /// </summary>
    /// <param name="stream">
    /// The encoded image, read from its current position; it is left open, and its position after the call is
    /// unspecified.
    /// </param>
    /// <returns>The decoded mask.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// The stream cannot be read (or has been disposed); its content is not an image Skia reads or is corrupt or truncated; or its header
    /// gives a width or height under 1 or over <see cref="MaxDimension"/> (the message names the size).
    /// </exception>
    /// <exception cref="IOException">Reading the stream failed.</exception>
    public static ImageBuffer LoadMask(Stream stream) => LoadStream(stream, PixelFormat.Gray8);

    private static ImageBuffer LoadFile(string path, PixelFormat format)
    {
        using FileStream file = LoaderGuard.OpenRead(path);
        return Decode(file, LoaderGuard.FileName(path), nameof(path), format);
    }

    private static ImageBuffer LoadStream(Stream stream, PixelFormat format)
    {
        LoaderGuard.CheckStream(stream);
        // SkiaSharp's managed stream rewinds and seeks to absolute positions, so the image must start at 0.
        if (stream.CanSeek && stream.Position == 0) return Decode(stream, LoaderGuard.StreamName, nameof(stream), format);

        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        copy.Position = 0;
        return Decode(copy, LoaderGuard.StreamName, nameof(stream), format);
    }

    private static ImageBuffer Decode(Stream stream, string name, string paramName, PixelFormat format)
    {
        // Not SKCodec.Create(Stream): that wrapper disposes the caller's stream with the codec.
        var source = new SKManagedStream(stream, disposeManagedStream: false);
        using SKCodec? codec = SKCodec.Create(source, out SKCodecResult result);
        if (codec is null)
        {
            source.Dispose();
            throw new ArgumentException($"{name} is not a readable image ({Describe(result)}).", paramName);
        }

        SKImageInfo header = codec.Info;
        LoaderGuard.CheckSize(name, header.Width, header.Height, paramName);

        // No colour space: the decoded bytes are the file's own, without colour conversion (as ImageSharp).
        var rgba = new SKImageInfo(header.Width, header.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var state = new DecodeState(codec, rgba, name, paramName, format);
        if (codec.ScanlineOrder == SKCodecScanlineOrder.TopDown && codec.StartScanlineDecode(rgba) == SKCodecResult.Success)
            return ImageBuffer.Create(format, header.Width, header.Height, state, DecodeStrips);
        return DecodeWhole(state);
    }

    private readonly record struct DecodeState(SKCodec Codec, SKImageInfo Info, string Name, string ParamName, PixelFormat Format);

    /// <summary>Decodes a few rows at a time into a small buffer and converts them, so RGBA never exists whole.</summary>
    private static void DecodeStrips(Span<byte> destination, DecodeState state)
        => SkiaSharpExtensions.ConvertRgbaStrips(destination, state.Info.Width, state.Info.Height, state.Format, state, static (strip, y, rows, s) =>
        {
            int decoded = s.Codec.GetScanlines(strip, rows, s.Info.Width * 4);
            if (decoded != rows)
                throw new ArgumentException($"{s.Name} could not be decoded: the image data ends after row {y + decoded} of {s.Info.Height}.", s.ParamName);
        });

    /// <summary>Decodes the first frame whole to RGBA, for formats without top-down scanline decoding.</summary>
    private static unsafe ImageBuffer DecodeWhole(DecodeState state)
    {
        byte[] rgba = GC.AllocateUninitializedArray<byte>(checked(state.Info.Width * state.Info.Height * 4));
        SKCodecResult result;
        fixed (byte* pixels = rgba)
            result = state.Codec.GetPixels(state.Info, (IntPtr)pixels);
        if (result != SKCodecResult.Success)
            throw new ArgumentException($"{state.Name} could not be decoded ({Describe(result)}).", state.ParamName);

        return ImageBuffer.Create(state.Format, state.Info.Width, state.Info.Height, (Rgba: rgba, state.Info.Width, state.Format), static (destination, s) =>
        {
            int rgbaStride = s.Width * 4, stride = s.Width * (int)s.Format;
            for (int y = 0, rows = destination.Length / stride; y < rows; y++)
                SkiaSharpExtensions.FromRgba(s.Rgba.AsSpan(y * rgbaStride, rgbaStride), destination.Slice(y * stride, stride), s.Format);
        });
    }

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the data ends early",
        SKCodecResult.ErrorInInput => "the data is corrupt",
        SKCodecResult.InvalidInput or SKCodecResult.Unimplemented => "not an image format Skia reads",
        SKCodecResult.InvalidConversion => "Skia cannot convert its pixels to RGBA",
        _ => $"SkiaSharp reports {result}",
    };
}
