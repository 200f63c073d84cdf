using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Quantization;

namespace StableDiffusion.Native.Tests.Integration;

/// <summary>The parameters and calls beyond plain generation, end to end on the tiny SD1.</summary>
[Collection(NativeCollection.Name)]
public sealed class UpstreamFeatureTests(TinyGeneratorFixture fixture)
{
    [SkippableFact]
    public void An_image_model_says_what_it_can_do_and_refuses_video()
    {
        var generator = fixture.Generator;
        Assert.True(generator.CanGenerateImages);
        Assert.False(generator.CanGenerateVideos);
        var e = Assert.Throws<NotSupportedException>(() => generator.GenerateVideo(new VideoRequest { Prompt = "waves", Width = 64, Height = 64, Sampling = new SamplingOptions { Steps = 1 } }));
        Assert.Contains("TextToImage", e.Message);
    }

    [SkippableFact]
    public void StopAfterCurrentImage_returns_the_finished_images_of_a_batch()
    {
        var generator = fixture.Generator;
        bool asked = false;
        var progress = new SyncProgress(p =>
        {
            if (!asked && p.Phase == GenerationPhase.Sampling && p.Step >= 1)
            {
                asked = true;
                generator.StopAfterCurrentImage();
            }
        });
        var images = generator.TextToImage(NativeTestEnvironment.Small(seed: 5, steps: 2) with { BatchCount = 3 }, progress);
        Assert.True(asked);
        Assert.InRange(images.Count, 1, 2);
        Assert.Equal(5, images[0].Seed);
        // The flag does not outlive the call.
        Assert.Equal(2, generator.TextToImage(NativeTestEnvironment.Small(seed: 5, steps: 1) with { BatchCount = 2 }).Count);
    }

    [SkippableFact]
    public void Preview_options_choose_the_interval_and_the_noisy_latent()
    {
        var frames = new List<PreviewFrame>();
        fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 3, steps: 4) with
        {
            Preview = new SyncPreview(frames.Add),
            PreviewOptions = new PreviewOptions { Interval = 2, Noisy = true, Denoised = true },
        });
        Assert.NotEmpty(frames);
        Assert.All(frames, f => Assert.Equal(0, f.Step % 2));
        Assert.Contains(frames, f => f.IsNoisy);
        Assert.Contains(frames, f => !f.IsNoisy);
        Assert.All(frames, f => Assert.Same(f.Image, f.Frames[0]));
    }

    [SkippableFact]
    public void A_step_cache_and_sampling_extras_reach_upstream_and_stay_deterministic()
    {
        var lines = new List<string>();
        var logger = new ListLogger(lines);
        using var generator = Generator.Load(NativeTestEnvironment.TinyOptions with { Logger = logger });
        var request = NativeTestEnvironment.Small(seed: 11, steps: 4) with
        {
            Cache = new StepCacheOptions(CacheMode.UCache) { ReuseThreshold = 5f, StartPercent = 0.1f, EndPercent = 0.9f },
            CircularX = true,
        };
        var a = generator.TextToImage(request)[0];
        var b = generator.TextToImage(request)[0];
        PixelAssert.Identical(a.Image, b.Image);
        Assert.Contains(lines, l => l.Contains("UCache enabled", StringComparison.Ordinal));

        var sigmas = generator.TextToImage(NativeTestEnvironment.Small(seed: 11, steps: 2).WithSampling(s => s with { CustomSigmas = [14.6f, 2f, 0f] }))[0];
        var plain = generator.TextToImage(NativeTestEnvironment.Small(seed: 11, steps: 2))[0];
        PixelAssert.Different(sigmas.Image, plain.Image);
    }

    [SkippableFact]
    public void Canny_gives_an_edge_image_of_the_same_size()
    {
        NativeTestEnvironment.Require();
        var image = ImageBuffer.Create(PixelFormat.Rgb24, 32, 24, 0, static (span, _) =>
        {
            for (int i = 0; i < span.Length; i += 3) span[i] = span[i + 1] = span[i + 2] = (byte)((i / 3 % 32) < 16 ? 0 : 255);
        });
        var edges = ImageFilters.Canny(image);
        Assert.Equal((32, 24, PixelFormat.Rgb24), (edges.Width, edges.Height, edges.Format));
        Assert.NotEqual(image, edges);
        Assert.Equal(edges, ImageFilters.Canny(image));
        var inverse = ImageFilters.Canny(image, new CannyOptions { Inverse = true });
        Assert.NotEqual(edges, inverse);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageFilters.Canny(image, new CannyOptions { Weak = 2 }));
    }

    [SkippableFact]
    public void An_importance_matrix_is_collected_saved_and_used_for_a_conversion()
    {
        var generator = fixture.Generator;
        using var temp = new TempDirectory();
        string matrix = Path.Combine(temp.Path, "sd1.imatrix");
        using (var collector = ImportanceMatrixCollector.Start())
        {
            Assert.Throws<InvalidOperationException>(() => ImportanceMatrixCollector.Start());
            generator.TextToImage(NativeTestEnvironment.Small(seed: 1, steps: 1));
            collector.Save(matrix);
        }
        Assert.True(new FileInfo(matrix).Length > 16);
        string output = Path.Combine(temp.Path, "q4.gguf");
        var result = ModelConverter.Convert(NativeTestEnvironment.TinySd1, output, QuantizationType.Q4_0, new ConvertOptions { ImportanceMatrixPath = matrix });
        Assert.True(result.TensorCount > 100);

        File.WriteAllBytes(Path.Combine(temp.Path, "bad.imatrix"), [1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F]);
        Assert.ThrowsAny<InvalidModelFileException>(() => ModelConverter.Convert(NativeTestEnvironment.TinySd1, Path.Combine(temp.Path, "x.gguf"),
            QuantizationType.Q4_0, new ConvertOptions { ImportanceMatrixPath = Path.Combine(temp.Path, "bad.imatrix") }));
    }
}

internal sealed class ListLogger(List<string> lines) : Microsoft.Extensions.Logging.ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (lines) lines.Add(formatter(state, exception));
    }
}
