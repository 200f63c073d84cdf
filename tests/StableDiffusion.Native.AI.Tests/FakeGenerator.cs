using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.AI.Tests;

/// <summary>
/// A <see cref="StableDiffusionImageGenerator"/> around a stand-in for the model: it records each request it is
/// given and returns flat images (one colour per seed) with the request's parameters, so mapping, validation and
/// encoding are tested without a native runtime.
/// </summary>
internal sealed class FakeGenerator
{
    public const string ModelFile = "tiny-sd1.safetensors";

    public FakeGenerator(string? modelId = ModelFile)
    {
        Wrapper = new StableDiffusionImageGenerator(modelId, (request, _) =>
        {
            Requests.Add(request);
            return Task.FromResult<IReadOnlyList<GeneratedImage>>(Images(request));
        });
    }

    public StableDiffusionImageGenerator Wrapper { get; }

    /// <summary>What reached the stand-in: empty when a request was refused before any generation.</summary>
    public List<ImageRequest> Requests { get; } = [];

    public ImageRequest Single => Assert.Single(Requests);

    public static IReadOnlyList<GeneratedImage> Images(ImageRequest request)
    {
        long seed = request.Seed ?? 7;
        int width = request.Width ?? request.InitImage?.Width ?? 64, height = request.Height ?? request.InitImage?.Height ?? 64;
        return Enumerable.Range(0, request.BatchCount).Select(i =>
        {
            byte shade = (byte)((seed + i) * 37 % 256);
            var image = ImageBuffer.Filled(PixelFormat.Rgb24, width, height, [shade, (byte)(255 - shade), 128]);
            return new GeneratedImage(image, new GenerationParameters
            {
                Prompt = request.Prompt,
                NegativePrompt = request.NegativePrompt,
                Steps = request.Sampling.Steps ?? SamplingOptions.DefaultSteps,
                CfgScale = request.Sampling.CfgScale ?? SamplingOptions.DefaultCfgScale,
                Seed = seed + i,
                Width = width,
                Height = height,
                Sampler = request.Sampling.Sampler ?? Sampler.Euler,
                Scheduler = request.Sampling.Scheduler ?? Scheduler.Discrete,
                Model = ModelFile,
            });
        }).ToList();
    }
}
