using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Pbm;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tga;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Native.Adapters;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.ImageSharp;

/// <summary>
/// Loads user-supplied image files (init images, masks, control images) with ImageSharp into
/// <see cref="ImageBuffer"/>s. The size is read from the header first and an image larger than
/// <see cref="MaxDimension"/> × <see cref="MaxDimension"/> is refused before any pixel is decoded, so a crafted
/// "decompression bomb" cannot exhaust memory.
/// </summary>
/// <remarks>
/// Only the first frame of an animated or multi-page file is decoded. Metadata (EXIF, ICC profiles, text chunks)
/// is not read: no colour profile or EXIF orientation is applied. Alpha is dropped, not composited.
/// A stream that cannot seek is first copied into memory, as the header is read before the pixels. ImageSharp
/// fills in the missing rows of some truncated files (JPEG, GIF, BMP) instead of failing; the SkiaSharp adapter's
/// loader refuses them.
/// </remarks>
public static class ImageSharpLoader
{
    /// <summary>Largest accepted width or height, in pixels.</summary>
    public const int MaxDimension = LoaderGuard.MaxDimension;

    /// <summary>Largest accepted pixel count (<see cref="MaxDimension"/> × <see cref="MaxDimension"/>).</summary>
    public const long MaxPixels = LoaderGuard.MaxPixels;

    /// <summary>ImageSharp's formats with first-frame decoding and without metadata: less to decode, less to attack.</summary>
    private static readonly Configuration DecodeConfiguration = CreateConfiguration();

    /// <summary>Loads an image file as <see cref="PixelFormat.Rgb24"/> (gray files are expanded to RGB).</summary>
    /// <param name="path">The file: PNG, JPEG, GIF, BMP, TIFF, WebP, TGA or PBM.</param>
    /// <returns>The decoded image.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="path"/> is empty; no file is there (the inner exception is a <see cref="FileNotFoundException"/>);
    /// the file is not an image ImageSharp reads or is corrupt; or its header gives a width or height under 1 or over
    /// <see cref="MaxDimension"/> (the message names the path and the size).
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
    /// The stream cannot be read (or has been disposed); its content is not an image ImageSharp reads or is corrupt; or its header gives a
    /// width or height under 1 or over <see cref="MaxDimension"/> (the message names the size).
    /// </exception>
    /// <exception cref="IOException">Reading the stream failed.</exception>
    public static ImageBuffer LoadRgb(Stream stream) => LoadStream(stream, PixelFormat.Rgb24);

    /// <summary>
    /// Loads a mask file as <see cref="PixelFormat.Gray8"/> (white repaints, black keeps); a colour file becomes
    /// ITU-R BT.601 luma, the values of <see cref="ImageBuffer.ToGray8"/>.
    /// </summary>
    /// <param name="path">The file: PNG, JPEG, GIF, BMP, TIFF, WebP, TGA or PBM.</param>
    /// <returns>The decoded mask.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="path"/> is empty; no file is there (the inner exception is a <see cref="FileNotFoundException"/>);
    /// the file is not an image ImageSharp reads or is corrupt; or its header gives a width or height under 1 or over
    /// <see cref="MaxDimension"/> (the message names the path and the size).
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
    /// The stream cannot be read (or has been disposed); its content is not an image ImageSharp reads or is corrupt; or its header gives a
    /// width or height under 1 or over <see cref="MaxDimension"/> (the message names the size).
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
        if (stream.CanSeek) return Decode(stream, LoaderGuard.StreamName, nameof(stream), format);

        // The header is identified before the pixels are decoded, which needs a stream that can go back.
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        copy.Position = 0;
        return Decode(copy, LoaderGuard.StreamName, nameof(stream), format);
    }

    private static ImageBuffer Decode(Stream stream, string name, string paramName, PixelFormat format)
    {
        long start = stream.Position;
        IImageInfo? info;
        try
        {
            info = Image.Identify(DecodeConfiguration, stream);
        }
        catch (Exception e) when (IsUnreadable(e))
        {
            throw new ArgumentException($"{name} is not a readable image: {e.Message}", paramName, e);
        }
        if (info is null) throw new ArgumentException($"{name} is not in an image format ImageSharp reads.", paramName);
        LoaderGuard.CheckSize(name, info.Width, info.Height, paramName);

        stream.Position = start;
        Image<Rgb24> image;
        try
        {
            image = Image.Load<Rgb24>(DecodeConfiguration, stream);
        }
        catch (Exception e) when (IsUnreadable(e))
        {
            throw new ArgumentException($"{name} could not be decoded: {e.Message}", paramName, e);
        }
        using (image)
            return format == PixelFormat.Rgb24 ? image.ToImageBuffer() : image.ToImageBufferMask();
    }

    /// <summary>
    /// What ImageSharp throws for data it cannot read: wrong format, corrupt content, unsupported variant, more
    /// memory than it allows, or an argument check deep in a decoder tripped by bad data (a truncated WebP throws
    /// "Destination is too short"); the arguments this class passes to ImageSharp are always valid.
    /// </summary>
    private static bool IsUnreadable(Exception e)
        => e is UnknownImageFormatException or InvalidImageContentException or ImageFormatException
            or NotSupportedException or InvalidMemoryOperationException or ArgumentException;

    private static Configuration CreateConfiguration()
    {
        // A configuration of its own, not Configuration.Default.Clone(): a clone shares the default's format manager,
        // so setting decoders on it would change how the whole application decodes images (metadata dropped).
        var configuration = new Configuration(
            new PngConfigurationModule(), new JpegConfigurationModule(), new GifConfigurationModule(), new BmpConfigurationModule(),
            new PbmConfigurationModule(), new TgaConfigurationModule(), new TiffConfigurationModule(), new WebpConfigurationModule());
        ImageFormatManager formats = configuration.ImageFormatsManager;
        formats.SetDecoder(PngFormat.Instance, new PngDecoder { IgnoreMetadata = true });
        formats.SetDecoder(JpegFormat.Instance, new JpegDecoder { IgnoreMetadata = true });
        formats.SetDecoder(GifFormat.Instance, new GifDecoder { IgnoreMetadata = true, DecodingMode = FrameDecodingMode.First });
        formats.SetDecoder(TiffFormat.Instance, new TiffDecoder { IgnoreMetadata = true, DecodingMode = FrameDecodingMode.First });
        formats.SetDecoder(WebpFormat.Instance, new WebpDecoder { IgnoreMetadata = true });
        return configuration;
    }
}
