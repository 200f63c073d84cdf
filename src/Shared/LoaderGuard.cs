// Compiled into both adapter assemblies (linked source, internal), so that the ImageSharp and SkiaSharp
// loaders accept the same files and refuse the others with the same exceptions and messages.

namespace StableDiffusion.Native.Adapters;

/// <summary>Size limits, file opening and error messages shared by the image loaders.</summary>
internal static class LoaderGuard
{
    /// <summary>Largest accepted width or height of a loaded image.</summary>
    public const int MaxDimension = 8192;

    /// <summary>Largest accepted pixel count of a loaded image (8192 × 8192).</summary>
    public const long MaxPixels = (long)MaxDimension * MaxDimension;

    /// <summary>How messages name an image read from a caller's stream.</summary>
    public const string StreamName = "The image stream";

    /// <summary>How messages name an image read from a file.</summary>
    public static string FileName(string path) => $"'{path}'";

    /// <summary>
    /// Opens <paramref name="path"/> for reading. A missing file or folder becomes an <see cref="ArgumentException"/>
    /// whose inner exception is a <see cref="FileNotFoundException"/>; a folder is refused the same way.
    /// </summary>
    public static FileStream OpenRead(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path))
            throw new ArgumentException($"'{path}' is a folder, not an image file.", nameof(path), new FileNotFoundException(null, path));
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException e)
        {
            throw new ArgumentException($"No image at '{path}'.", nameof(path), e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new ArgumentException($"No image at '{path}'.", nameof(path), new FileNotFoundException(e.Message, path, e));
        }
    }

    /// <summary>Refuses a null or unreadable stream.</summary>
    public static void CheckStream(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead) throw new ArgumentException("The image stream cannot be read.", nameof(stream));
    }

    /// <summary>
    /// Refuses, from the size in an image's header and before any pixel is decoded, an image that is empty or
    /// larger than <see cref="MaxDimension"/> × <see cref="MaxDimension"/>, so a crafted header (a
    /// "decompression bomb") cannot make the decoder allocate gigabytes.
    /// </summary>
    public static void CheckSize(string name, long width, long height, string paramName)
    {
        if (width < 1 || height < 1 || width > MaxDimension || height > MaxDimension || width * height > MaxPixels)
            throw new ArgumentException(
                $"{name} is {width}x{height} pixels; images from 1x1 to {MaxDimension}x{MaxDimension} ({MaxPixels} pixels) are accepted.",
                paramName);
    }

    /// <summary>
    /// ITU-R BT.601 luma of an sRGB pixel, rounded: the formula of <c>ImageBuffer.ToGray8</c>, so masks made by
    /// either adapter or by the core have the same bytes.
    /// </summary>
    public static byte Luma(byte r, byte g, byte b) => (byte)((r * 299 + g * 587 + b * 114 + 500) / 1000);

    /// <summary>Luma of each pixel of a tightly packed RGB row.</summary>
    public static void RgbToGray(ReadOnlySpan<byte> rgb, Span<byte> gray)
    {
        for (int i = 0, j = 0; i < gray.Length; i++, j += 3) gray[i] = Luma(rgb[j], rgb[j + 1], rgb[j + 2]);
    }
}
