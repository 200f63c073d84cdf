using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace StableDiffusion.Native;

/// <summary>
/// Decodes user-supplied images (init images, masks, control images) with a size limit checked from the
/// header before any pixel is decoded, so a crafted "decompression bomb" cannot exhaust memory.
/// </summary>
public static class ImageInput
{
    /// <summary>Largest accepted pixel count (8192 × 8192).</summary>
    public const long MaxPixels = (long)ImageRequest.MaxDimension * ImageRequest.MaxDimension;

    public static Image<Rgb24> LoadRgb(string path) => Load<Rgb24>(path);

    /// <summary>Loads a mask as 8-bit gray (white repaints, black keeps).</summary>
    public static Image<L8> LoadMask(string path) => Load<L8>(path);

    public static Image<TPixel> Load<TPixel>(string path) where TPixel : unmanaged, IPixel<TPixel>
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new ArgumentException($"No image at '{path}'.", nameof(path), new FileNotFoundException(null, path));
        using var stream = File.OpenRead(path);
        IImageInfo? info;
        try
        {
            info = Image.Identify(stream);
        }
        catch (Exception e) when (e is ImageFormatException or InvalidImageContentException or NotSupportedException)
        {
            throw new ArgumentException($"'{path}' is not a readable image: {e.Message}", nameof(path), e);
        }
        if (info is null) throw new ArgumentException($"'{path}' is not an image format ImageSharp knows.", nameof(path));
        if (info.Width < 1 || info.Height < 1 || (long)info.Width * info.Height > MaxPixels ||
            info.Width > ImageRequest.MaxDimension || info.Height > ImageRequest.MaxDimension)
            throw new ArgumentException($"'{path}' is {info.Width}x{info.Height}; at most {ImageRequest.MaxDimension}x{ImageRequest.MaxDimension} is accepted.", nameof(path));
        stream.Position = 0;
        try
        {
            return Image.Load<TPixel>(stream);
        }
        catch (Exception e) when (e is ImageFormatException or InvalidImageContentException)
        {
            throw new ArgumentException($"'{path}' could not be decoded: {e.Message}", nameof(path), e);
        }
    }
}
