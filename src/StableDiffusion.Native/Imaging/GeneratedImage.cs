using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace StableDiffusion.Native;

/// <summary>A generated image and the parameters that reproduce it. Dispose it to return its pixel buffer.</summary>
public sealed class GeneratedImage : IDisposable
{
    internal GeneratedImage(Image<Rgb24> image, GenerationParameters parameters)
    {
        Image = image;
        Parameters = parameters;
    }

    public Image<Rgb24> Image { get; }

    /// <summary>What was actually used: the seed chosen for this image, the size after rounding, sampler and scheduler.</summary>
    public GenerationParameters Parameters { get; }

    public long Seed => Parameters.Seed;

    public int Width => Image.Width;

    public int Height => Image.Height;

    /// <summary>Writes a PNG with the A1111 <c>parameters</c> text chunk (readable by <see cref="GenerationParameters.Read(string)"/>).</summary>
    public void SaveAsPng(string path)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        SaveAsPng(stream);
    }

    /// <inheritdoc cref="SaveAsPng(string)"/>
    public void SaveAsPng(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        // Text chunks already on the image (from a caller) are kept; ours replaces any older "parameters".
        var text = Image.Metadata.GetPngMetadata().TextData
            .Where(t => t.Keyword != GenerationParameters.PngKeyword)
            .Select(t => KeyValuePair.Create(t.Keyword, t.Value))
            .Append(KeyValuePair.Create(GenerationParameters.PngKeyword, Parameters.ToString()));
        Imaging.PngWriter.Write(stream, Image, text);
    }

    public void Dispose() => Image.Dispose();

    /// <summary>Copies tightly packed RGB bytes (native output) into a new image: exactly one copy, straight into ImageSharp's buffer.</summary>
    internal static Image<Rgb24> FromRgb(ReadOnlySpan<byte> rgb, int width, int height)
    {
        if (rgb.Length != checked(width * height * 3))
            throw new ArgumentException($"Expected {width}x{height} RGB pixels, got {rgb.Length} bytes.", nameof(rgb));
        return SixLabors.ImageSharp.Image.LoadPixelData<Rgb24>(rgb, width, height);
    }
}
