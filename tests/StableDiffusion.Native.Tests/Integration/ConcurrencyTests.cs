using System.Collections.Concurrent;

using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Tests.Integration;

[Collection(NativeAloneCollection.Name)]
public sealed class ConcurrencyTests(TinyGeneratorFixture fixture)
{
    [SkippableFact]
    public void Two_generators_at_once_each_get_only_their_own_progress()
    {
        NativeTestEnvironment.Require();
        using var second = Generator.Load(NativeTestEnvironment.TinyOptions);
        var first = fixture.Generator;
        var a = new ConcurrentQueue<GenerationProgress>();
        var b = new ConcurrentQueue<GenerationProgress>();
        using var start = new Barrier(2);
        var ta = Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            return first.TextToImage(NativeTestEnvironment.Small(seed: 1, steps: 3), new SyncProgress(a.Enqueue));
        }, TaskCreationOptions.LongRunning);
        var tb = Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            return second.TextToImage(NativeTestEnvironment.Small(seed: 2, steps: 5), new SyncProgress(b.Enqueue));
        }, TaskCreationOptions.LongRunning);
        Task.WaitAll(ta, tb);
        Assert.Equal(new[] { 0, 1, 2, 3 }, a.Where(p => p.Phase == GenerationPhase.Sampling).Select(p => p.Step));
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 5 }, b.Where(p => p.Phase == GenerationPhase.Sampling).Select(p => p.Step));
    }

    [SkippableFact]
    public void Four_threads_sharing_one_generator_stay_deterministic_per_seed()
    {
        var generator = fixture.Generator;
        var reference1 = generator.TextToImage(NativeTestEnvironment.Small(seed: 11))[0];
        var reference2 = generator.TextToImage(NativeTestEnvironment.Small(seed: 12))[0];
        var results = new ConcurrentBag<GeneratedImage>();
        var threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
        {
            foreach (var image in generator.TextToImage(NativeTestEnvironment.Small(seed: 11 + i % 2))) results.Add(image);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(4, results.Count);
        foreach (var image in results)
        {
            PixelAssert.Identical(image.Seed == 11 ? reference1.Image : reference2.Image, image.Image);
        }
    }

    [SkippableFact]
    public async Task Cancel_during_sampling_returns_promptly_and_the_generator_stays_usable()
    {
        var generator = fixture.Generator;
        using var cts = new CancellationTokenSource();
        int steps = 0;
        var progress = new SyncProgress(p =>
        {
            if (p.Phase == GenerationPhase.Sampling && Interlocked.Increment(ref steps) == 3) cts.Cancel();
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            generator.TextToImageAsync(NativeTestEnvironment.Small(steps: 40), progress, cts.Token));
        // Promptly, counted in steps rather than seconds: upstream checks the flag once per step, so at most one more of
        // the 40 steps runs after the cancel.
        Assert.InRange(steps, 3, 4);

        var next = (await generator.TextToImageAsync(NativeTestEnvironment.Small(seed: 3)))[0];
        Assert.Equal(64, next.Width);
    }

    [SkippableFact]
    public async Task A_token_cancelled_before_the_call_never_reaches_native_code()
    {
        var generator = fixture.Generator;
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        int reports = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            generator.TextToImageAsync(NativeTestEnvironment.Small(), new SyncProgress(_ => reports++), cts.Token));
        Assert.Throws<OperationCanceledException>(() => generator.TextToImage(NativeTestEnvironment.Small(), new SyncProgress(_ => reports++), cts.Token));
        Assert.Equal(0, reports);
    }
}
