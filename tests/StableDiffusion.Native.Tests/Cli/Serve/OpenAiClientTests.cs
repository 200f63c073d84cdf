using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Images;
using StableDiffusion.Native.Tests.Integration;
using static StableDiffusion.Native.Tests.Cli.Serve.ServerTestSupport;

// IImageGenerator and the SDK's image edits are marked experimental by their packages; these tests use them on purpose.
#pragma warning disable MEAI001, OPENAI001

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>OpenAI's own .NET SDK and Microsoft.Extensions.AI's OpenAI adapter, pointed at `sdnet serve`, unchanged.</summary>
[Collection(NativeToolCollection.Name)]
public sealed class OpenAiClientTests(TinyGeneratorFixture fixture)
{
    private static ImageClient Sdk(StableDiffusion.Native.Cli.Serve.ImageServer server, string model = "sd-local", string key = "unused")
        => new(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(server.Address, "v1") });

    [SkippableFact]
    public async Task The_OpenAI_SDK_generates_two_pngs_of_the_asked_size_with_their_parameters()
    {
        await using var server = await StartAsync(fixture.Generator);
        var result = await Sdk(server).GenerateImagesAsync("a lighthouse", 2, new OpenAI.Images.ImageGenerationOptions
        {
            Size = new GeneratedImageSize(64, 64),
            ResponseFormat = GeneratedImageFormat.Bytes,
        });
        Assert.Equal(2, result.Value.Count);
        foreach (var image in result.Value)
        {
            byte[] png = image.ImageBytes.ToArray();
            Assert.Equal((64, 64), PngSize(png));
            Assert.Contains("a lighthouse", PngParameters(png), StringComparison.Ordinal);
        }
        Assert.NotEqual(result.Value[0].ImageBytes.ToArray(), result.Value[1].ImageBytes.ToArray());
    }

    [SkippableFact]
    public async Task The_OpenAI_SDK_gets_a_url_it_can_fetch_when_it_asks_for_one()
    {
        await using var server = await StartAsync(fixture.Generator);
        var image = (await Sdk(server, "dall-e-2").GenerateImageAsync("a lighthouse", new OpenAI.Images.ImageGenerationOptions { Size = new GeneratedImageSize(64, 64) })).Value;
        // dall-e-2's default response format is a URL, as it is at OpenAI.
        Assert.Null(image.ImageBytes);
        Assert.NotNull(image.ImageUri);
        using var http = new HttpClient();
        byte[] png = await http.GetByteArrayAsync(image.ImageUri);
        Assert.Equal((64, 64), PngSize(png));
    }

    [SkippableFact]
    public async Task The_OpenAI_SDK_edits_an_image_inside_its_transparent_mask()
    {
        await using var server = await StartAsync(fixture.Generator);
        var source = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 5))[0];
        byte[] imagePng = source.EncodePng();
        // OpenAI's convention: transparent where the image may change. Left half transparent, right half opaque.
        using var mask = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgba32>(64, 64);
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++)
                mask[x, y] = new SixLabors.ImageSharp.PixelFormats.Rgba32(0, 0, 0, x < 32 ? (byte)0 : (byte)255);
        using var maskStream = new MemoryStream();
        SixLabors.ImageSharp.ImageExtensions.SaveAsPng(mask, maskStream);
        maskStream.Position = 0;

        var edited = (await Sdk(server).GenerateImageEditAsync(new MemoryStream(imagePng), "image.png", "a red door", maskStream, "mask.png",
            new ImageEditOptions { ResponseFormat = GeneratedImageFormat.Bytes })).Value;
        byte[] png = edited.ImageBytes.ToArray();
        Assert.Equal((64, 64), PngSize(png));
        Assert.Contains("a red door", PngParameters(png), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task The_OpenAI_SDK_sees_the_loaded_model_and_a_bad_request_as_a_400_it_can_read()
    {
        await using var server = await StartAsync(fixture.Generator);
        var models = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.Address, "v1") }).GetOpenAIModelClient();
        var listed = (await models.GetModelsAsync()).Value;
        Assert.Equal(Path.GetFileNameWithoutExtension(NativeTestEnvironment.TinySd1), Assert.Single(listed).Id);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Sdk(server).GenerateImageAsync("x", new OpenAI.Images.ImageGenerationOptions { Size = new GeneratedImageSize(0, 64) }));
        Assert.Equal(400, error.Status);
        Assert.Contains("'size'", error.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Microsoft_Extensions_AI_generates_through_the_OpenAI_adapter()
    {
        await using var server = await StartAsync(fixture.Generator);
        using IImageGenerator generator = Sdk(server).AsIImageGenerator();
        var response = await generator.GenerateImagesAsync("a lighthouse", new Microsoft.Extensions.AI.ImageGenerationOptions
        {
            Count = 1,
            ImageSize = new System.Drawing.Size(64, 64),
            ResponseFormat = ImageGenerationResponseFormat.Data,
        });
        var content = Assert.IsType<DataContent>(Assert.Single(response.Contents));
        Assert.Equal("image/png", content.MediaType);
        Assert.Equal((64, 64), PngSize(content.Data.Span));
    }
}
