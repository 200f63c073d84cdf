namespace StableDiffusion.Native.Imaging;

/// <summary>A generated image and the parameters that reproduce it.</summary>
public sealed class GeneratedImage
{
    /// <summary>Pairs an image with the parameters that made it.</summary>
    /// <param name="image">The pixels.</param>
    /// <param name="parameters">What was used to make them.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public GeneratedImage(ImageBuffer image, GenerationParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(parameters);
        Image = image;
        Parameters = parameters;
    }

    /// <summary>The pixels (RGB).</summary>
    public ImageBuffer Image { get; }

    /// <summary>What was actually used: the seed chosen for this image, the size after rounding, sampler and scheduler.</summary>
    public GenerationParameters Parameters { get; }

    /// <summary>The seed that reproduces this image.</summary>
    public long Seed => Parameters.Seed;

    /// <summary>Width in pixels.</summary>
    public int Width => Image.Width;

    /// <summary>Height in pixels.</summary>
    public int Height => Image.Height;

    /// <summary>Writes a PNG with the A1111 <c>parameters</c> text chunk (readable by <see cref="GenerationParameters.Read(string)"/>).</summary>
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

    /// <summary>Writes a PNG with the A1111 <c>parameters</c> text chunk to a stream.</summary>
    /// <param name="stream">A writable stream; left open.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="IOException">The stream could not be written.</exception>
    public void SaveAsPng(Stream stream) => SaveAsPng(stream, null);

    /// <summary>Writes a PNG with the A1111 <c>parameters</c> text chunk and more text chunks of the caller's.</summary>
    /// <param name="stream">A writable stream; left open.</param>
    /// <param name="text">Further text chunks (keyword → text), written before <c>parameters</c>; a <c>parameters</c> entry here is replaced by ours.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="ArgumentException">A keyword is not 1 to 79 printable Latin-1 characters.</exception>
    /// <exception cref="IOException">The stream could not be written.</exception>
    public void SaveAsPng(Stream stream, IEnumerable<KeyValuePair<string, string>>? text)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var chunks = PngWriter.CheckText(text, nameof(text));
        chunks.RemoveAll(t => t.Key == GenerationParameters.PngKeyword);
        chunks.Add(KeyValuePair.Create(GenerationParameters.PngKeyword, Parameters.ToString()));
        PngWriter.Write(stream, Image, chunks);
    }

    /// <summary>The PNG that <see cref="SaveAsPng(Stream)"/> writes, as bytes.</summary>
    /// <returns>A complete PNG file.</returns>
    public byte[] EncodePng()
    {
        using var stream = new MemoryStream();
        SaveAsPng(stream);
        return stream.ToArray();
    }
}
