using Microsoft.Extensions.Logging;
using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.Tests.Integration;

/// <summary>
/// Each model family end to end through the public API, on the smallest random-weight model upstream accepts for
/// it (<see cref="FamilyTestModels"/>): upstream must detect the family, and a 64×64 two-step generation must
/// report progress, reproduce for its seed and change with it. The images are noise; what is asserted is that
/// the whole pipeline of that family ran. Guidance is off (CFG 1) so no negative prompt is encoded: the text
/// encoders, full size wherever upstream hard-codes them, are most of the time.
/// </summary>
[Collection(NativeCollection.Name)]
public sealed class FamilyTests
{
    private const string Prompt = "a lighthouse at dusk";

    [SkippableFact]
    public void Sd2_768v_checkpoint_is_detected_as_v_prediction_and_generates()
    {
        NativeTestEnvironment.Require();
        Check(new GeneratorOptions { ModelPath = FamilyTestModels.Sd2() }, "SD 2.x", "running in v-prediction mode", usesT5: false);
    }

    [SkippableFact]
    public void Sdxl_checkpoint_with_both_text_encoders_generates()
    {
        NativeTestEnvironment.Require();
        Check(new GeneratorOptions { ModelPath = FamilyTestModels.Sdxl() }, "SDXL", "running in eps-prediction mode", usesT5: false);
    }

    [SkippableFact]
    public void Sd3_from_component_files_generates()
    {
        NativeTestEnvironment.Require();
        var m = FamilyTestModels.Sd3();
        Check(new GeneratorOptions { DiffusionModelPath = m.DiffusionModel, ClipLPath = m.ClipL, ClipGPath = m.ClipG, T5xxlPath = m.T5xxl, VaePath = m.Vae },
            "SD3.x", "running in FLOW mode", usesT5: true);
    }

    [SkippableFact]
    public void Flux_from_component_files_generates()
    {
        NativeTestEnvironment.Require();
        var m = FamilyTestModels.Flux();
        Check(new GeneratorOptions { DiffusionModelPath = m.DiffusionModel, ClipLPath = m.ClipL, T5xxlPath = m.T5xxl, VaePath = m.Vae },
            "Flux", "running in Flux FLOW mode", usesT5: true);
    }

    private static ImageRequest Request(long seed, int batch = 1)
        => NativeTestEnvironment.Small(seed).WithSampling(s => s with { CfgScale = 1f }) with { Prompt = Prompt, BatchCount = batch };

    private static void Check(GeneratorOptions options, string version, string predictionLine, bool usesT5)
    {
        var log = new LineLogger();
        using var generator = Generator.Load(options with { Threads = NativeTestEnvironment.Threads, Logger = log });
        Assert.Contains(log.Lines, l => l.Contains($"Version: {version} ", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.EndsWith(predictionLine, StringComparison.Ordinal));

        var reports = new List<GenerationProgress>();
        // Seeds 7 and 8 in one call: the prompt is encoded once for both.
        var batch = generator.TextToImage(Request(seed: 7, batch: 2), new SyncProgress(reports.Add));
        if (usesT5) SkipIfPlaceholderT5Vocabulary(log.Lines);

        Assert.Equal(2, batch.Count);
        Assert.All(batch, i => Assert.Equal((64, 64), (i.Width, i.Height)));
        Assert.Equal(new long[] { 7, 8 }, batch.Select(i => i.Seed));
        Assert.True(PixelAssert.Bytes(batch[0].Image).Distinct().Count() > 8, "the pipeline produced an image, not a constant");
        PixelAssert.Different(batch[0].Image, batch[1].Image);

        // The first call loaded the weights (lazily), then sampled both images step by step.
        Assert.Contains(reports, r => r.Phase == GenerationPhase.Loading);
        var sampling = reports.Where(r => r.Phase == GenerationPhase.Sampling).ToList();
        Assert.All(sampling, r => Assert.Equal(2, r.Steps));
        Assert.Equal([0, 1], sampling.Where(r => r.Step == 2).Select(r => r.Image));

        var again = generator.TextToImage(Request(seed: 7));
        PixelAssert.Identical(batch[0].Image, Assert.Single(again).Image);
    }

    /// <summary>
    /// Upstream's source snapshot ships a placeholder ("{}") for the T5 vocabulary, which its tokenizer silently
    /// takes as an empty one: every prompt becomes no tokens, and a T5 model ignores its prompt. Its own debug line
    /// shows it; a runtime built that way cannot test a T5 family, so the test skips and says why.
    /// </summary>
    private static void SkipIfPlaceholderT5Vocabulary(IReadOnlyList<string> lines)
    {
        string t5Line = $"split prompt \"{Prompt}\" to tokens ";
        var t5 = lines.Where(l => l.Contains(t5Line, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(t5); // the T5 tokenizer ran on the prompt
        Skip.If(t5.All(l => l.EndsWith(t5Line + "[]", StringComparison.Ordinal)),
            "the native runtime holds upstream's placeholder T5 vocabulary (its T5 tokenizer gave no tokens for the prompt); "
            + "build it with a T5 tokenizer.json in src/tokenizers/vocab/t5.hpp to test the T5 families");
    }

    private sealed class LineLogger : ILogger
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines) return _lines.ToList();
            }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines) _lines.Add(formatter(state, exception));
        }
    }
}
