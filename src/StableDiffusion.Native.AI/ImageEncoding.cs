using System.Globalization;
using Microsoft.Extensions.AI;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using StableDiffusion.Native.ImageSharp;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.AI;

/// <summary>Encodes generated images as the <see cref="DataContent"/>s of a response.</summary>
internal static class ImageEncoding
{
    public const string PngMediaType = "image/png";
    public const string JpegMediaType = "image/jpeg";

    /// <summary>JPEG quality: high enough that the artefacts do not show on generated images.</summary>
    public const int JpegQuality = 90;

    public static DataContent Encode(GeneratedImage image, OutputFormat format)
    {
        (byte[] bytes, string mediaType, string extension) = format == OutputFormat.Jpeg
            ? (EncodeJpeg(image), JpegMediaType, "jpg")
            : (image.EncodePng(), PngMediaType, "png");
        return new DataContent(bytes, mediaType)
        {
            Name = string.Create(CultureInfo.InvariantCulture, $"{image.Seed}.{extension}"),
            RawRepresentation = image,
            AdditionalProperties = new() { [AdditionalProperties.SeedKey] = image.Seed },
        };
    }

    /// <summary>
    /// A JPEG with the A1111 parameters text in the EXIF UserComment (as A1111 writes JPEGs: they have no text
    /// chunks). Encoding is deterministic: the same image gives the same bytes.
    /// </summary>
    public static byte[] EncodeJpeg(GeneratedImage image)
    {
        using var picture = image.Image.ToImageSharp();
        var exif = new ExifProfile();
        exif.SetValue(ExifTag.UserComment, new EncodedString(EncodedString.CharacterCode.Unicode, image.Parameters.ToString()));
        picture.Metadata.ExifProfile = exif;
        using var stream = new MemoryStream();
        picture.SaveAsJpeg(stream, new JpegEncoder { Quality = JpegQuality });
        return stream.ToArray();
    }
}
