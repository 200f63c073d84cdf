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
    case "library-queue":
        return RunLibraryQueue(args[1..]);
    case "serve-queue":
        return await RunServeQueue(args[1..]);
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
        Console.Error.WriteLine("usage: Benchmarks make-model [channels] | library <model> <size> <steps> <threads> | library-queue <model> <size> <steps> <threads> <jobs> | serve-queue <url> <size> <steps> <jobs> | png");
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

// The job both queue contenders run: what a client of `sdnet serve` asks for and gets back (a PNG).
static ImageRequest QueueJob(int size, int steps) => new()
{
    Prompt = "a lighthouse", Width = size, Height = size, Seed = 42,
    Sampling = new SamplingOptions { Steps = steps, Sampler = Sampler.EulerAncestral, CfgScale = 7 },
};

static int RunLibraryQueue(string[] a)
{
    // One process, one generator: a warm-up job, then <jobs> jobs back to back, each encoded to PNG as the server does.
    // LIBRARY_LOGGER=1 hands the generator a logger at Warning, as sdnet does.
    Microsoft.Extensions.Logging.ILogger? logger = Environment.GetEnvironmentVariable("LIBRARY_LOGGER") == "1" ? new WarningLogger() : null;
    using var generator = Generator.Load(new GeneratorOptions { ModelPath = a[0], Threads = int.Parse(a[3]), Logger = logger });
    int size = int.Parse(a[1]), steps = int.Parse(a[2]), jobs = int.Parse(a[4]);
    _ = generator.TextToImage(QueueJob(size, steps))[0].EncodePng();
    var clock = Stopwatch.StartNew();
    long bytes = 0;
    // LIBRARY_PREVIEW=1 asks for a preview every step, as the server does for its progress route.
    var preview = Environment.GetEnvironmentVariable("LIBRARY_PREVIEW") == "1" ? new SyncPreview() : null;
    for (int i = 0; i < jobs; i++) bytes += generator.TextToImage(QueueJob(size, steps) with { Preview = preview })[0].EncodePng().Length;
    Console.WriteLine($"{jobs} jobs in {clock.Elapsed.TotalSeconds:F3} s ({bytes} bytes of PNG)");
    return 0;
}

static async Task<int> RunServeQueue(string[] a)
{
    // A queue of <jobs> identical requests sent at once to a running `sdnet serve` (--queue >= jobs - 1), after a
    // warm-up request; timed from the first send to the last reply.
    using var client = new System.Net.Http.HttpClient { BaseAddress = new Uri(a[0]), Timeout = TimeSpan.FromHours(1) };
    int size = int.Parse(a[1]), steps = int.Parse(a[2]), jobs = int.Parse(a[3]);
    string body = $$"""{"prompt":"a lighthouse","width":{{size}},"height":{{size}},"steps":{{steps}},"seed":42,"sampler_name":"Euler a","cfg_scale":7}""";
    async Task<long> Send()
    {
        using var content = new System.Net.Http.StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var response = await client.PostAsync("sdapi/v1/txt2img", content);
        string reply = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{(int)response.StatusCode}: {reply}");
        using var json = System.Text.Json.JsonDocument.Parse(reply);
        return Convert.FromBase64String(json.RootElement.GetProperty("images")[0].GetString()!).Length;
    }
    await Send();
    var clock = Stopwatch.StartNew();
    long[] sizes = await Task.WhenAll(Enumerable.Range(0, jobs).Select(_ => Send()));
    Console.WriteLine($"{jobs} jobs in {clock.Elapsed.TotalSeconds:F3} s ({sizes.Sum()} bytes of PNG)");
    return 0;
}

sealed class SyncPreview : IProgress<PreviewFrame>
{
    public int Count;

    public void Report(PreviewFrame value) => Count++;
}

sealed class WarningLogger : Microsoft.Extensions.Logging.ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Warning;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel)) Console.Error.WriteLine(formatter(state, exception));
    }
}
