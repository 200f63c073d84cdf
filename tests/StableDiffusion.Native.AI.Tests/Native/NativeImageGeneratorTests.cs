using System.Drawing;
using Microsoft.Extensions.AI;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Native.Imaging;
using ImageSharpImage = SixLabors.ImageSharp.Image;

namespace StableDiffusion.Native.AI.Tests.Native;

/// <summary>The wrapper over a real (tiny, random-weight) model: 64×64, 2 Euler steps.</summary>
[Collection(TinyModelCollection.Name)]
public sealed class NativeImageGeneratorTests(TinyModelFixture fixture)
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    internal static ImageGenerationOptions Small(long seed, int count = 1, string? mediaType = null) => new()
    {
        Count = count,
        ImageSize = new Size(64, 64),
        MediaType = mediaType,
        AdditionalProperties = new() { ["seed"] = seed, ["steps"] = 2, ["sampler"] = "euler" },
    };

    private StableDiffusionImageGenerator Wrapper() => new(fixture.Generator);

    private static byte[] Bytes(ImageGenerationResponse response, int index = 0)
        => Assert.IsType<DataContent>(response.Contents[index]).Data.ToArray();

    [SkippableFact]
    public async Task Count_two_gives_two_64x64_pngs_with_ascending_seeds()
    {
        using var generator = Wrapper();
        var response = await generator.GenerateImagesAsync("a lighthouse at dusk", Small(10, count: 2));

        Assert.Equal(2, response.Contents.Count);
        for (int i = 0; i < 2; i++)
        {
            var content = Assert.IsType<DataContent>(response.Contents[i]);
            Assert.Equal("image/png", content.MediaType);
            byte[] bytes = content.Data.ToArray();
            Assert.Equal(PngSignature, bytes[..8]);
            var info = ImageSharpImage.Identify(bytes);
            Assert.Equal((64, 64), (info.Width, info.Height));
            Assert.Equal(10L + i, content.AdditionalProperties?["seed"]);
        }
        var images = Assert.IsAssignableFrom<IReadOnlyList<GeneratedImage>>(response.RawRepresentation);
        Assert.Equal(new long[] { 10, 11 }, images.Select(i => i.Seed));
    }

    [SkippableFact]
    public async Task The_same_seed_gives_identical_bytes()
    {
        using var generator = Wrapper();
        var first = await generator.GenerateImagesAsync("a lighthouse at dusk", Small(42));
        var second = await generator.GenerateImagesAsync("a lighthouse at dusk", Small(42));
        Assert.Equal(Bytes(first), Bytes(second));
    }

    [SkippableFact]
    public async Task Different_seeds_give_different_images()
    {
        using var generator = Wrapper();
        var first = await generator.GenerateImagesAsync("a lighthouse at dusk", Small(42));
        var second = await generator.GenerateImagesAsync("a lighthouse at dusk", Small(43));
        var a = ((IReadOnlyList<GeneratedImage>)first.RawRepresentation!)[0].Image;
        var b = ((IReadOnlyList<GeneratedImage>)second.RawRepresentation!)[0].Image;
        Assert.NotEqual(a, b);
        Assert.NotEqual(Bytes(first), Bytes(second));
    }

    [SkippableFact]
    public async Task The_png_carries_the_parameters_chunk_with_the_seed()
    {
        using var generator = Wrapper();
        var response = await generator.GenerateImagesAsync("a lighthouse at dusk", Small(4321));
        var parameters = GenerationParameters.Read(new MemoryStream(Bytes(response)));
        Assert.NotNull(parameters);
        Assert.Equal(4321L, parameters.Seed);
        Assert.Equal(2, parameters.Steps);
        Assert.Equal(Sampler.Euler, parameters.Sampler);
        Assert.Equal("a lighthouse at dusk", parameters.Prompt);
        Assert.Equal((64, 64), (parameters.Width, parameters.Height));
    }

    [SkippableFact]
    public async Task The_jpeg_media_type_gives_jpeg_bytes()
    {
        using var generator = Wrapper();
        var response = await generator.GenerateImagesAsync("a lighthouse at dusk", Small(8, mediaType: "image/jpeg"));
        var content = Assert.IsType<DataContent>(Assert.Single(response.Contents));
        Assert.Equal("image/jpeg", content.MediaType);
        byte[] bytes = content.Data.ToArray();
        Assert.Equal(new byte[] { 0xFF, 0xD8, 0xFF }, bytes[..3]);
        using var decoded = ImageSharpImage.Load<Rgb24>(bytes);
        Assert.Equal((64, 64), (decoded.Width, decoded.Height));
    }

    [SkippableFact]
    public async Task An_original_image_runs_image_to_image()
    {
        using var generator = Wrapper();
        var original = new DataContent(TestImages.Png(TestImages.Gradient(64, 64)), "image/png");
        var options = Small(21);
        options.AdditionalProperties!["strength"] = 0.6;

        var edited = await generator.EditImageAsync(original, "a lighthouse at dusk", options);
        var fromText = await generator.GenerateImagesAsync("a lighthouse at dusk", Small(21));

        var image = Assert.Single((IReadOnlyList<GeneratedImage>)edited.RawRepresentation!);
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.Equal(0.6f, image.Parameters.Strength);
        Assert.Null(((IReadOnlyList<GeneratedImage>)fromText.RawRepresentation!)[0].Parameters.Strength);
        Assert.NotEqual(((IReadOnlyList<GeneratedImage>)fromText.RawRepresentation!)[0].Image, image.Image);
    }

    [SkippableFact]
    public void GetService_gives_the_wrapped_generator_and_the_models_name()
    {
        using var generator = Wrapper();
        Assert.Same(fixture.Generator, generator.GetService<Generator>());
        Assert.Equal(Path.GetFileName(NativeTestEnvironment.TinySd1), generator.GetService<ImageGeneratorMetadata>()?.DefaultModelId);
    }

    [SkippableFact]
    public async Task Disposing_the_wrapper_of_a_generator_leaves_the_generator_usable()
    {
        var wrapper = Wrapper();
        wrapper.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => wrapper.GenerateImagesAsync("a lighthouse", Small(1)));
        var images = await fixture.Generator.TextToImageAsync(new ImageRequest { Prompt = "a lighthouse", Width = 64, Height = 64, Seed = 1, Sampling = new SamplingOptions { Steps = 1, Sampler = Sampler.Euler } });
        Assert.Single(images);
        using var again = Wrapper();
        Assert.Single((await again.GenerateImagesAsync("a lighthouse", Small(1))).Contents);
    }

    [SkippableFact]
    public async Task A_prompt_past_the_limit_is_an_argument_error_and_one_at_the_limit_generates()
    {
        // The 44 KB prompt that overflowed the native stack; at the limit, it runs on the stack sized for it.
        using var generator = Wrapper();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => generator.GenerateImagesAsync(string.Concat(Enumerable.Repeat("lighthouse ", 4000)), Small(1)));
        Assert.Contains("ImageRequest.MaxPromptLength", e.Message, StringComparison.Ordinal);
        string atLimit = string.Concat(Enumerable.Repeat("lighthouse ", 745))[..ImageRequest.MaxPromptLength];
        Assert.Single((await generator.GenerateImagesAsync(atLimit, Small(1))).Contents);
    }
}
