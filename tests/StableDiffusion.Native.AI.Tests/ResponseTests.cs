using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.AI.Tests;

/// <summary>What a response holds and how its images are encoded, around the stand-in generator.</summary>
public sealed class ResponseTests
{
    private readonly FakeGenerator _fake = new();

    private Task<ImageGenerationResponse> Generate(ImageGenerationOptions? options = null)
        => _fake.Wrapper.GenerateAsync(new ImageGenerationRequest("a lighthouse"), options);

    private static ImageGenerationOptions Options(int count, long seed, string? mediaType = null)
        => new() { Count = count, MediaType = mediaType, AdditionalProperties = new() { ["seed"] = seed } };

    [Fact]
    public async Task One_png_DataContent_per_image_with_the_GeneratedImages_as_raw_representation()
    {
        var response = await Generate(Options(3, 40));
        var images = Assert.IsAssignableFrom<IReadOnlyList<GeneratedImage>>(response.RawRepresentation);
        Assert.Equal(3, images.Count);
        Assert.Equal(3, response.Contents.Count);
        for (int i = 0; i < 3; i++)
        {
            var content = Assert.IsType<DataContent>(response.Contents[i]);
            Assert.Equal("image/png", content.MediaType);
            Assert.Same(images[i], content.RawRepresentation);
            Assert.Equal(40L + i, content.AdditionalProperties?["seed"]);
            Assert.Equal($"{40 + i}.png", content.Name);
            Assert.Equal(images[i].EncodePng(), content.Data.ToArray());
        }
    }

    [Fact]
    public async Task Pngs_carry_the_A1111_parameters_chunk()
    {
        var response = await Generate(Options(1, 1234));
        var content = Assert.IsType<DataContent>(Assert.Single(response.Contents));
        var parameters = GenerationParameters.Read(new MemoryStream(content.Data.ToArray()));
        Assert.NotNull(parameters);
        Assert.Equal(1234L, parameters.Seed);
        Assert.Equal("a lighthouse", parameters.Prompt);
    }

    [Fact]
    public async Task Jpeg_gives_jpeg_bytes_with_the_parameters_in_the_EXIF_user_comment()
    {
        var response = await Generate(Options(2, 77, "image/jpeg"));
        var images = (IReadOnlyList<GeneratedImage>)response.RawRepresentation!;
        for (int i = 0; i < 2; i++)
        {
            var content = Assert.IsType<DataContent>(response.Contents[i]);
            Assert.Equal("image/jpeg", content.MediaType);
            Assert.Equal($"{77 + i}.jpg", content.Name);
            byte[] bytes = content.Data.ToArray();
            Assert.Equal(new byte[] { 0xFF, 0xD8, 0xFF }, bytes[..3]);
            // A configuration of its own: ImageSharpLoader (used by other tests here) turns metadata off in Configuration.Default.
            using var decoded = Image.Load<Rgb24>(new Configuration(new JpegConfigurationModule()), bytes);
            Assert.Equal((64, 64), (decoded.Width, decoded.Height));
            var comment = decoded.Metadata.ExifProfile?.GetValue(ExifTag.UserComment);
            Assert.NotNull(comment);
            Assert.Equal(images[i].Parameters.ToString(), comment.Value.Text);
            Assert.Contains($"Seed: {77 + i}", comment.Value.Text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("image/png")]
    [InlineData("image/jpeg")]
    public async Task The_same_request_gives_the_same_bytes(string mediaType)
    {
        var first = await Generate(Options(1, 5, mediaType));
        var second = await Generate(Options(1, 5, mediaType));
        Assert.Equal(((DataContent)first.Contents[0]).Data.ToArray(), ((DataContent)second.Contents[0]).Data.ToArray());
    }

    [Fact]
    public async Task No_images_give_an_empty_response()
    {
        using var wrapper = new StableDiffusionImageGenerator("m.safetensors", (_, _) => Task.FromResult<IReadOnlyList<GeneratedImage>>([]));
        var response = await wrapper.GenerateAsync(new ImageGenerationRequest("x"));
        Assert.Empty(response.Contents);
        Assert.Empty(Assert.IsAssignableFrom<IReadOnlyList<GeneratedImage>>(response.RawRepresentation));
    }

    [Fact]
    public async Task The_cancellation_token_reaches_the_generator()
    {
        using var cts = new CancellationTokenSource();
        CancellationToken seen = default;
        using var wrapper = new StableDiffusionImageGenerator("m.safetensors", (request, token) =>
        {
            seen = token;
            return Task.FromResult(FakeGenerator.Images(request));
        });
        await wrapper.GenerateAsync(new ImageGenerationRequest("x"), null, cts.Token);
        Assert.Equal(cts.Token, seen);
    }

    [Fact]
    public async Task A_logging_pipeline_around_it_passes_the_images_through()
    {
        using var loggerFactory = new LoggerFactory();
        using var pipeline = _fake.Wrapper.AsBuilder().UseLogging(loggerFactory).Build();
        var response = await pipeline.GenerateImagesAsync("a lighthouse", Options(2, 3));
        Assert.Equal(2, response.Contents.Count);
        Assert.Equal(2, _fake.Single.BatchCount);
    }

    [Fact]
    public async Task OpenTelemetry_around_it_reports_the_provider_and_the_model()
    {
        const string source = "StableDiffusion.Native.AI.Tests.OpenTelemetry";
        var activities = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Add,
        };
        ActivitySource.AddActivityListener(listener);

        using var pipeline = _fake.Wrapper.AsBuilder().UseOpenTelemetry(sourceName: source).Build();
        Assert.NotNull(pipeline.GetService<OpenTelemetryImageGenerator>());
        var response = await pipeline.GenerateImagesAsync("a lighthouse", Options(1, 3));

        Assert.Single(response.Contents);
        var tags = Assert.Single(activities).TagObjects.Select(t => t.Value as string).ToList();
        Assert.Contains(StableDiffusionImageGenerator.ProviderName, tags);
        Assert.Contains(FakeGenerator.ModelFile, tags);
    }
}
