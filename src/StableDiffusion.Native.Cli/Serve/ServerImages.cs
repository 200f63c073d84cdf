using System.Collections.Concurrent;
using System.Security.Cryptography;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using StableDiffusion.Native.ImageSharp;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Cli.Serve;

/// <summary>The encodings the server writes (OpenAI's <c>output_format</c>).</summary>
internal enum OutputFormat
{
    Png,
    Jpeg,
    Webp,
}

/// <summary>Decoding of uploaded images and encoding of results, with the loaders' size limits.</summary>
internal static class ServerImages
{
    public static OutputFormat ParseFormat(string? name, string param) => name?.ToLowerInvariant() switch
    {
        null or "png" => OutputFormat.Png,
        "jpeg" or "jpg" => OutputFormat.Jpeg,
        "webp" => OutputFormat.Webp,
        _ => throw new BadRequestException($"'{param}' must be png, jpeg or webp.", param),
    };

    public static string MediaType(OutputFormat format) => format switch
    {
        OutputFormat.Jpeg => "image/jpeg",
        OutputFormat.Webp => "image/webp",
        _ => "image/png",
    };

    /// <summary>
    /// PNG carries the A1111 <c>parameters</c> chunk (our own writer); JPEG and WebP are encoded by ImageSharp at
    /// <paramref name="quality"/> and carry no parameters (they are in the response's info instead).
    /// </summary>
    public static byte[] Encode(GeneratedImage image, OutputFormat format, int quality = 90)
    {
        if (format == OutputFormat.Png) return image.EncodePng();
        using var sharp = image.Image.ToImageSharp();
        using var stream = new MemoryStream();
        if (format == OutputFormat.Jpeg) sharp.SaveAsJpeg(stream, new JpegEncoder { Quality = quality });
        else sharp.SaveAsWebp(stream, new WebpEncoder { Quality = quality });
        return stream.ToArray();
    }

    public static byte[] EncodePreview(ImageBuffer preview)
    {
        using var stream = new MemoryStream();
        preview.SaveAsPng(stream);
        return stream.ToArray();
    }

    /// <summary>A base64 image as A1111 clients send it, with or without a <c>data:</c> URL prefix.</summary>
    public static byte[] FromBase64(string text, string param)
    {
        int comma = text.StartsWith("data:", StringComparison.OrdinalIgnoreCase) ? text.IndexOf(',', StringComparison.Ordinal) : -1;
        var payload = comma >= 0 ? text.AsSpan(comma + 1) : text.AsSpan();
        var bytes = new byte[payload.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64Chars(payload.Trim(), bytes, out int written))
            throw new BadRequestException($"'{param}' is not base64 image data.", param);
        return bytes.AsSpan(0, written).ToArray();
    }

    public static ImageBuffer DecodeRgb(byte[] data, string param)
    {
        try
        {
            return ImageSharpLoader.LoadRgb(new MemoryStream(data, writable: false));
        }
        catch (ArgumentException e)
        {
            throw new BadRequestException($"'{param}': {e.Message}", param);
        }
    }

    public static ImageBuffer DecodeMask(byte[] data, string param)
    {
        try
        {
            return ImageSharpLoader.LoadMask(new MemoryStream(data, writable: false));
        }
        catch (ArgumentException e)
        {
            throw new BadRequestException($"'{param}': {e.Message}", param);
        }
    }

    /// <summary>
    /// An OpenAI edit mask: its fully transparent pixels are the ones to edit. A mask without transparency is read
    /// as A1111 and this library read masks (white repaints), so both kinds of client get what they meant.
    /// </summary>
    public static ImageBuffer DecodeOpenAiMask(byte[] data, string param)
    {
        var gray = DecodeMask(data, param); // validates the format and the size limits before a second decode
        Image<Rgba32> rgba;
        try
        {
            rgba = Image.Load<Rgba32>(data);
        }
        catch (Exception e) when (e is ImageFormatException or UnknownImageFormatException or InvalidImageContentException)
        {
            throw new BadRequestException($"'{param}': {e.Message}", param);
        }
        using (rgba)
        {
            bool transparent = false;
            var alpha = new byte[rgba.Width * rgba.Height];
            rgba.ProcessPixelRows(rows =>
            {
                for (int y = 0; y < rows.Height; y++)
                {
                    var row = rows.GetRowSpan(y);
                    for (int x = 0; x < row.Length; x++)
                    {
                        byte a = row[x].A;
                        if (a != 255) transparent = true;
                        alpha[y * row.Length + x] = a == 0 ? (byte)255 : (byte)0;
                    }
                }
            });
            return transparent ? ImageBuffer.FromPixels(PixelFormat.Gray8, rgba.Width, rgba.Height, alpha) : gray;
        }
    }

    /// <summary>Resizes an init image to the requested output size, as A1111's img2img does (resize mode "just resize").</summary>
    public static ImageBuffer ResizeTo(ImageBuffer image, int? width, int? height)
    {
        int w = width ?? image.Width, h = height ?? image.Height;
        if (w == image.Width && h == image.Height) return image;
        if (w is < 1 or > ImageRequest.MaxDimension || h is < 1 or > ImageRequest.MaxDimension) return image; // the request's own check reports it
        if (image.Format == PixelFormat.Gray8)
        {
            using var mask = image.ToImageSharpMask();
            mask.Mutate(m => m.Resize(w, h));
            return mask.ToImageBuffer();
        }
        using var rgb = image.ToImageSharp();
        rgb.Mutate(m => m.Resize(w, h));
        return rgb.ToImageBuffer();
    }
}

/// <summary>
/// This session's results, addressed by unguessable ids: OpenAI's <c>response_format: url</c> points here, and
/// the page lists them. Bounded (oldest dropped first) so a long-running server does not grow without limit.
/// </summary>
internal sealed class ImageStore(int capacity = 64)
{
    private readonly ConcurrentDictionary<string, (byte[] Data, string MediaType)> _images = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    public string Add(byte[] data, string mediaType)
    {
        // 128 random bits: a URL that cannot be guessed is what lets it be fetched without the API key, like a signed URL.
        string id = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        _images[id] = (data, mediaType);
        _order.Enqueue(id);
        while (_order.Count > capacity && _order.TryDequeue(out var old)) _images.TryRemove(old, out _);
        return id;
    }

    public bool TryGet(string id, out byte[] data, out string mediaType)
    {
        if (_images.TryGetValue(id, out var entry))
        {
            (data, mediaType) = entry;
            return true;
        }
        data = [];
        mediaType = "";
        return false;
    }
}
