using BenchmarkDotNet.Attributes;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Benchmarks;

/// <summary>Native RGB buffer → ImageBuffer → PNG with parameters, at 512×512 (target ≤ 10 ms).</summary>
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
        var image = new GeneratedImage(ImageBuffer.FromPixels(PixelFormat.Rgb24, 512, 512, _rgb),
            new GenerationParameters { Prompt = "a lighthouse", Steps = 20, CfgScale = 7, Seed = 42, Width = 512, Height = 512, Sampler = Sampler.Euler });
        _output.Position = 0;
        image.SaveAsPng(_output);
        return _output.Position;
    }

    /// <summary>Median of 50 timed runs of each half, without BenchmarkDotNet's harness (a quick look, not a result).</summary>
    public static void Quick()
    {
        var b = new PngBenchmark();
        b.Setup();
        var convert = new List<double>();
        var save = new List<double>();
        for (int i = 0; i < 510; i++)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            var image = new GeneratedImage(ImageBuffer.FromPixels(PixelFormat.Rgb24, 512, 512, b._rgb), new GenerationParameters { Prompt = "a lighthouse", Seed = 42, Width = 512, Height = 512 });
            long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
            b._output.Position = 0;
            image.SaveAsPng(b._output);
            long t2 = System.Diagnostics.Stopwatch.GetTimestamp();
            if (i >= 10)
            {
                convert.Add(System.Diagnostics.Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
                save.Add(System.Diagnostics.Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds);
            }
        }
        convert.Sort();
        save.Sort();
        Console.WriteLine($"native buffer -> ImageBuffer: median {convert[250]:F2} ms; -> PNG: median {save[250]:F2} ms, p90 {save[450]:F2} ms; PNG bytes {b._output.Position}");
    }
}
