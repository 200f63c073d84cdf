using System.Collections.Concurrent;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StableDiffusion.Native.AI.Tests.Native;

/// <summary>The registration end to end: a container that loads the tiny model, logs, and frees it when disposed.</summary>
[Collection(TinyModelCollection.Name)]
public sealed class NativeServiceCollectionTests
{
    [SkippableFact]
    public async Task A_resolved_generator_with_UseLogging_and_UseOpenTelemetry_generates_and_the_containers_logger_gets_the_native_log()
    {
        NativeTestEnvironment.Require();
        var log = new RecordingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(log).SetMinimumLevel(LogLevel.Trace));
        services.AddStableDiffusionImageGenerator(NativeTestEnvironment.TinyOptions).UseLogging().UseOpenTelemetry();

        Generator generator;
        using (var provider = services.BuildServiceProvider())
        {
            var imageGenerator = provider.GetRequiredService<IImageGenerator>();
            Assert.IsType<LoggingImageGenerator>(imageGenerator);
            Assert.NotNull(imageGenerator.GetService<OpenTelemetryImageGenerator>());
            Assert.Same(imageGenerator, provider.GetRequiredService<IImageGenerator>());

            var response = await imageGenerator.GenerateImagesAsync("a lighthouse at dusk", NativeImageGeneratorTests.Small(5));
            Assert.Equal("image/png", Assert.IsType<DataContent>(Assert.Single(response.Contents)).MediaType);

            Assert.Contains(log.Entries, e => e.Category == StableDiffusionServiceCollectionExtensions.LoggerCategory);
            Assert.Contains(log.Entries, e => e.Category == typeof(LoggingImageGenerator).FullName);
            generator = imageGenerator.GetService<Generator>()!;
            Assert.NotNull(generator);
        }

        // The container owned it: disposing the container freed the model.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => generator.TextToImageAsync(new ImageRequest { Prompt = "x", Width = 64, Height = 64, Sampling = new SamplingOptions { Steps = 1 } }));
    }

    [SkippableFact]
    public async Task A_model_by_name_loads_its_manifest_whose_defaults_apply_to_requests_that_leave_them_unset()
    {
        NativeTestEnvironment.Require();
        var dir = Directory.CreateTempSubdirectory("sdnet-ai-manifest-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "tiny-fast.model.json"),
                $$$"""{"model": {{{System.Text.Json.JsonSerializer.Serialize(NativeTestEnvironment.TinySd1)}}}, "defaults": {"steps": 1, "sampler": "euler"}}""");
            using var generator = StableDiffusionImageGenerator.FromModel("tiny-fast", new StableDiffusion.Native.ModelFiles.ModelsFolder(dir.FullName), o => o with { Threads = 2 });
            Assert.Equal("tiny-fast", generator.GetService<ImageGeneratorMetadata>()!.DefaultModelId);
            var options = new ImageGenerationOptions { ImageSize = new System.Drawing.Size(64, 64), ModelId = "tiny-fast" };
            var response = await generator.GenerateImagesAsync("a lighthouse", options);
            var image = Assert.Single(Assert.IsAssignableFrom<IReadOnlyList<StableDiffusion.Native.Imaging.GeneratedImage>>(response.RawRepresentation));
            Assert.Contains("Steps: 1,", image.Parameters.ToString(), StringComparison.Ordinal);
            Assert.Contains("Sampler: euler", image.Parameters.ToString(), StringComparison.Ordinal);

            // A request's own steps win over the manifest's.
            options.AdditionalProperties = new() { ["steps"] = 2 };
            response = await generator.GenerateImagesAsync("a lighthouse", options);
            var second = Assert.Single(Assert.IsAssignableFrom<IReadOnlyList<StableDiffusion.Native.Imaging.GeneratedImage>>(response.RawRepresentation));
            Assert.Contains("Steps: 2,", second.Parameters.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private sealed class RecordingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(RecordingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
                => owner.Entries.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }
}
