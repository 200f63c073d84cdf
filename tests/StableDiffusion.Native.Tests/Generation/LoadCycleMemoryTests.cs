using System.Diagnostics;
using System.Runtime.InteropServices;
using StableDiffusion.Native.Tests.Integration;
using Xunit.Abstractions;

namespace StableDiffusion.Native.Tests.Generation;

/// <summary>
/// Loading, generating and disposing over and over does not grow the process: native contexts are really freed.
/// A leaked context would cost the whole model (hundreds of MiB) per cycle. The working set is measured after a
/// full GC and, on glibc, after malloc_trim: glibc keeps freed memory of its per-thread arenas mapped, so the raw
/// figure steps up once when upstream's worker threads first get their own arenas, whatever is leaked or not.
/// </summary>
[Collection(NativeAloneCollection.Name)]
public sealed class LoadCycleMemoryTests(ITestOutputHelper output)
{
    private const int Cycles = 10;
    private const int WarmUp = 4;

    [SkippableFact]
    public void Ten_load_generate_dispose_cycles_do_not_grow_the_working_set()
    {
        NativeTestEnvironment.Require();
        var options = NativeTestEnvironment.TinyOptions;
        // CFG 1 skips the unconditional pass: the cycle is about loading and freeing, not sampling.
        var request = NativeTestEnvironment.Small(seed: 3, steps: 1).WithSampling(s => s with { CfgScale = 1 });
        var rss = new long[Cycles + 1];
        var raw = new long[Cycles + 1];
        var clock = Stopwatch.StartNew();
        for (int cycle = 1; cycle <= Cycles; cycle++)
        {
            using (var generator = Generator.Load(options))
            {
                var images = generator.TextToImage(request);
                Assert.Equal(64, images[0].Width);
            }
            raw[cycle] = WorkingSet(trim: false);
            rss[cycle] = WorkingSet(trim: true);
            output.WriteLine($"cycle {cycle,2}: working set {rss[cycle] / (1 << 20),6} MiB after trim, {raw[cycle] / (1 << 20),6} MiB before ({clock.Elapsed.TotalSeconds:F1} s)");
        }

        double growth = (double)(rss[Cycles] - rss[WarmUp]) / rss[WarmUp];
        output.WriteLine($"growth from cycle {WarmUp} to {Cycles}: {growth:P2} after trim, {(double)(raw[Cycles] - raw[WarmUp]) / raw[WarmUp]:P2} before");
        Assert.True(growth <= 0.05,
            $"working set grew {growth:P2} from cycle {WarmUp} ({rss[WarmUp] / (1 << 20)} MiB) to cycle {Cycles} ({rss[Cycles] / (1 << 20)} MiB)");
    }

    private static long WorkingSet(bool trim)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        if (trim) MallocTrim();
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return self.WorkingSet64;
    }

    /// <summary>glibc's malloc_trim(0); nothing elsewhere (musl has neither it nor per-thread arenas).</summary>
    private static unsafe void MallocTrim()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libc.so.6", out nint libc)) return;
        try
        {
            if (NativeLibrary.TryGetExport(libc, "malloc_trim", out nint trim))
                ((delegate* unmanaged<nuint, int>)trim)(0);
        }
        finally
        {
            NativeLibrary.Free(libc);
        }
    }
}
