using BenchmarkDotNet.Attributes;
using SixLabors.ImageSharp.PixelFormats;

namespace StableDiffusion.Native.Benchmarks;

/// <summary>Native RGB buffer → Image&lt;Rgb24&gt; → PNG with parameters, at 512×512 (target ≤ 10 ms).</summary>
[MemoryDiagnoser]
public class PngBenchmark
{
    private byte[] _rgb = [];
    private readonly MemoryStream _output = new(1 << 20);

    [GlobalSetup]
    public void Setup()
    {
        // Noise, like a random-weight generation: the worst case for PNG's filters.
        _rgb = new byte[512 * 512 * 3];
        new Random(1).NextBytes(_rgb);
    }

    [Benchmark]
    public long NativeBufferToPng()
    {
        using var image = new GeneratedImage(GeneratedImage.FromRgb(_rgb, 512, 512),
            new GenerationParameters { Prompt = "a lighthouse", Steps = 20, CfgScale = 7, Seed = 42, Width = 512, Height = 512, Sampler = Sampler.Euler });
        _output.Position = 0;
        image.SaveAsPng(_output);
        return _output.Position;
    }
}
