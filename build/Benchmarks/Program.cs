using StableDiffusion.Native.Quantization;
using System.Diagnostics;
using BenchmarkDotNet.Running;
using StableDiffusion.Native;
using StableDiffusion.Native.Benchmarks;
using StableDiffusion.Native.TestModels;

// Measurement harness (never a test): run by build/bench/compare.sh, or `png` for the encode micro-benchmark.
switch (args.FirstOrDefault())
{
    case "make-model":
        // Full-size SD1 shapes by default, random weights.
        Console.WriteLine(TestModelFactory.Sd1(args.Length > 1 ? int.Parse(args[1]) : Sd1Layout.FullUnetChannels));
        return 0;
    case "library":
        return RunLibrary(args[1..]);
    case "serve-throughput":
        return await ServeThroughput.RunAsync(new ServeThroughput.Settings(args[1], args[2], int.Parse(args[3]), int.Parse(args[4]),
            int.Parse(args[5]), int.Parse(args[6]), int.Parse(args[7]), int.Parse(args[8]), Environment.GetEnvironmentVariable("SIDE_BY_SIDE") == "1"));
    case "library-worker":
        return ServeThroughput.LibraryWorker(args[1], int.Parse(args[2]), int.Parse(args[3]), int.Parse(args[4]));
    case "same-pixels":
        using (var a = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(args[1]))
        using (var b = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(args[2]))
        {
            var pa = new byte[a.Width * a.Height * 3];
            var pb = new byte[b.Width * b.Height * 3];
            a.CopyPixelDataTo(pa);
            b.CopyPixelDataTo(pb);
            bool same = a.Width == b.Width && a.Height == b.Height && pa.AsSpan().SequenceEqual(pb);
            Console.WriteLine(same ? "identical pixels" : "pixels differ");
            return same ? 0 : 1;
        }
    case "png-quick":
        PngBenchmark.Quick();
        return 0;
    case "png":
        BenchmarkRunner.Run<PngBenchmark>(args: args[1..]);
        return 0;
    default:
        Console.Error.WriteLine("usage: Benchmarks make-model [channels] | library <model> <size> <steps> <threads> | serve-throughput <sdnet.dll> <model> <size> <steps> <threads> <jobs> <rounds> <port> | png");
        return 2;
}

static int RunLibrary(string[] a)
{
    // The same job sd-cli runs: load, one generation, write the PNG, exit.
    var clock = Stopwatch.StartNew();
    // Optional 6th argument: a weight type ("q8_0"), with "nocache" as 7th to convert on load as upstream does.
    StableDiffusion.Native.ModelFiles.QuantizationType? type = a.Length > 5 && StableDiffusion.Native.ModelFiles.QuantizationTypes.TryParse(a[5], out var t) ? t : null;
    var cache = a.Length > 6 && a[6] == "nocache" ? QuantizationCacheMode.Off : QuantizationCacheMode.ReadWrite;
    using var generator = Generator.Load(new GeneratorOptions { ModelPath = a[0], Threads = int.Parse(a[3]), WeightType = type, QuantizationCache = cache });
    int size = int.Parse(a[1]);
    var images = generator.TextToImage(new ImageRequest
    {
        Prompt = "a lighthouse", Width = size, Height = size, Seed = 42,
        Sampling = new SamplingOptions { Steps = int.Parse(a[2]), Sampler = Sampler.EulerAncestral, CfgScale = 7 },
    });
    images[0].SaveAsPng(a.Length > 4 ? a[4] : "bench-library.png");
    Console.Error.WriteLine($"library wall {clock.Elapsed.TotalSeconds:F3} s");
    return 0;
}
