using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Microsoft.Extensions.AI;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Processing;
using StableDiffusion.Native.ImageSharp;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.AI;

/// <summary>The encoding of the returned images.</summary>
internal enum OutputFormat
{
    /// <summary>PNG with the A1111 <c>parameters</c> text chunk.</summary>
    Png,

    /// <summary>JPEG with the parameters in the EXIF <c>UserComment</c>.</summary>
    Jpeg,
}

/// <summary>A checked request, ready for the generator.</summary>
internal sealed record MappedRequest(ImageRequest Request, OutputFormat Format);

/// <summary>
/// Turns Microsoft.Extensions.AI's request and options into an <see cref="ImageRequest"/>. Pure managed code: every
/// refusal happens here, before the generator is called.
/// </summary>
// It reads Microsoft.Extensions.AI's experimental image-generation types (MEAI001): marked with the same diagnostic,
// like the public generator that calls it, rather than suppressing it line by line.
[Experimental(AIDiagnostics.Experimental, UrlFormat = AIDiagnostics.UrlFormat)]
internal static class RequestMapping
{
    public static MappedRequest Map(ImageGenerationRequest request, ImageGenerationOptions? options, IImageGenerator generator, string? modelId)
    {
        ArgumentNullException.ThrowIfNull(request);
        var format = Format(options?.MediaType);
        if (options?.ResponseFormat is { } responseFormat && responseFormat != ImageGenerationResponseFormat.Data)
            throw new ArgumentException(
                $"ResponseFormat {responseFormat} is not supported: a local generator returns the image data itself (ResponseFormat Data, the default).",
                nameof(options.ResponseFormat));
        CheckModelId(options?.ModelId, modelId);

        var result = Base(options, generator);
        if (request.Prompt is not null) result = result with { Prompt = request.Prompt };
        if (options?.Count is int count)
        {
            if (count < 1 || count > ImageRequest.MaxBatchCount)
                throw new ArgumentOutOfRangeException(nameof(options.Count), count, $"Count must be between 1 and {ImageRequest.MaxBatchCount}.");
            result = result with { BatchCount = count };
        }
        if (options?.ImageSize is { } size)
        {
            if (size.Width < 1 || size.Width > ImageRequest.MaxDimension || size.Height < 1 || size.Height > ImageRequest.MaxDimension)
                throw new ArgumentOutOfRangeException(nameof(options.ImageSize), $"{size.Width}x{size.Height}",
                    $"ImageSize must be between 1 and {ImageRequest.MaxDimension} pixels per side.");
            result = result with { Width = size.Width, Height = size.Height };
        }
        result = AdditionalProperties.Apply(result, options?.AdditionalProperties);

        // Decoding is the costliest check: last.
        if (request.OriginalImages is { } originals && InitImage(originals, result.Width, result.Height) is { } init)
            result = result with { InitImage = init };
        return new MappedRequest(result, format);
    }

    private static OutputFormat Format(string? mediaType)
    {
        if (mediaType is null || string.Equals(mediaType, ImageEncoding.PngMediaType, StringComparison.OrdinalIgnoreCase)) return OutputFormat.Png;
        if (string.Equals(mediaType, ImageEncoding.JpegMediaType, StringComparison.OrdinalIgnoreCase)) return OutputFormat.Jpeg;
        throw new ArgumentException($"MediaType '{Messages.Shorten(mediaType)}' is not supported; use {ImageEncoding.PngMediaType} (the default) or {ImageEncoding.JpegMediaType}.", "MediaType");
    }

    /// <summary>A request for another model is refused: answering it with this one would be a silent substitution.</summary>
    private static void CheckModelId(string? requested, string? loaded)
    {
        if (requested is null) return;
        if (loaded is not null && (string.Equals(requested, loaded, StringComparison.OrdinalIgnoreCase)
                                   || string.Equals(requested, Path.GetFileNameWithoutExtension(loaded), StringComparison.OrdinalIgnoreCase)))
            return;
        throw new ArgumentException(
            $"ModelId '{Messages.Shorten(requested)}' is not the loaded model ({(loaded is null ? "unnamed" : $"'{loaded}'")}); leave ModelId null or name the loaded model.",
            "ModelId");
    }

    private static ImageRequest Base(ImageGenerationOptions? options, IImageGenerator generator)
        => options?.RawRepresentationFactory?.Invoke(generator) switch
        {
            null => new ImageRequest(),
            ImageRequest request => request,
            var other => throw new ArgumentException(
                $"RawRepresentationFactory returned a {other.GetType().FullName}; it may return a {typeof(ImageRequest).FullName} or null.",
                "RawRepresentationFactory"),
        };

    /// <summary>Checks every original image and decodes the first; it is resized when the request asks for another size.</summary>
    private static ImageBuffer? InitImage(IEnumerable<AIContent> originals, int? width, int? height)
    {
        ImageBuffer? first = null;
        int index = 0;
        foreach (var item in originals)
        {
            if (item is not DataContent data)
                throw new ArgumentException(
                    $"OriginalImages[{index}] is {(item is null ? "null" : "a " + item.GetType().Name)}; only image DataContent is accepted (load a file or download a URI into a DataContent first).",
                    "OriginalImages");
            if (!data.HasTopLevelMediaType("image"))
                throw new ArgumentException($"OriginalImages[{index}] has the media type '{Messages.Shorten(data.MediaType)}'; an image/* DataContent is needed.", "OriginalImages");
            if (index == 0) first = Decode(data);
            index++;
        }
        if (first is null) return null;
        int w = width ?? first.Width, h = height ?? first.Height;
        return w == first.Width && h == first.Height ? first : Resize(first, w, h);
    }

    private static ImageBuffer Decode(DataContent data)
    {
        var bytes = data.Data;
        using var stream = MemoryMarshal.TryGetArray(bytes, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(bytes.ToArray(), writable: false);
        try
        {
            return ImageSharpLoader.LoadRgb(stream);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"OriginalImages[0] ({Messages.Shorten(data.MediaType)}) cannot be used: {e.Message}", "OriginalImages", e);
        }
    }

    private static ImageBuffer Resize(ImageBuffer image, int width, int height)
    {
        using var picture = image.ToImageSharp();
        picture.Mutate(x => x.Resize(width, height));
        return picture.ToImageBuffer();
    }
}
