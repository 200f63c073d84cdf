using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.Tests.Integration;

/// <summary>
/// Z-Image, Qwen-Image and Wan end to end through the split-file options (diffusion model, LLM or UMT5, VAE)
/// with the smallest random-weight models upstream loads (<see cref="FamilyTestModels"/>). The pictures are
/// noise; what is checked is what the API promises: sizes, frame counts, seeds that reproduce, progress.
/// Skipped without a runtime, and when the runtime's tokenizer vocabulary is a placeholder (prompts would not
/// reach the model, so nothing here would mean what it says).
/// </summary>
[Collection(NativeCollection.Name)]
public sealed class DitFamilyTests(DitFamilyFixture fixture) : IClassFixture<DitFamilyFixture>
{
    private static ImageRequest Picture(long seed, string prompt = "a lighthouse at dusk") => new()
    {
        Prompt = prompt,
        Width = 64,
        Height = 64,
        Seed = seed,
        Sampling = new SamplingOptions { Steps = 2 },
    };

    [SkippableFact]
    public void Z_image_makes_the_requested_size_reproducibly_and_reports_each_step()
    {
        var z = fixture.ZImage;
        var reports = new List<GenerationProgress>();
        var a = z.Generator.TextToImage(Picture(42), new SyncProgress(reports.Add))[0];
        var b = z.Generator.TextToImage(Picture(42))[0];
        var c = z.Generator.TextToImage(Picture(43))[0];

        Assert.Contains(z.Lines, l => l.Contains("Version: Z-Image ", StringComparison.Ordinal));
        Assert.Equal((64, 64), (a.Width, a.Height));
        Assert.Equal(Path.GetFileName(fixture.ZImageFiles.DiffusionModel), a.Parameters.Model);
        Assert.True(PixelAssert.Bytes(a.Image).Distinct().Count() > 8);
        PixelAssert.Identical(a.Image, b.Image);
        PixelAssert.Different(a.Image, c.Image);
        AssertSamplingSteps(reports, 2);
    }

    [SkippableFact]
    public void Z_image_prompts_reach_the_model()
    {
        var z = fixture.ZImage;
        var cat = z.Generator.TextToImage(Picture(42, "a cat"))[0];
        var dog = z.Generator.TextToImage(Picture(42, "a dog"))[0];
        PixelAssert.Different(cat.Image, dog.Image);
        // The chat template's special tokens and the prompt's words are whole tokens of the vocabulary.
        Assert.Contains(z.Lines, l => l.Contains("split prompt \"a cat\" to 2 tokens [\"a\", \"Ġcat\", ]", StringComparison.Ordinal));
        Assert.Contains(z.Lines, l => l.Contains("\"<|im_start|>\", \"user\"", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void Qwen_image_makes_the_requested_size_reproducibly_and_reports_each_step()
    {
        var q = fixture.QwenImage;
        var request = Picture(42).WithSampling(s => s with { CfgScale = 1f });
        var reports = new List<GenerationProgress>();
        var a = q.Generator.TextToImage(request, new SyncProgress(reports.Add))[0];
        var b = q.Generator.TextToImage(request)[0];

        Assert.Contains(q.Lines, l => l.Contains("Version: Qwen Image ", StringComparison.Ordinal));
        Assert.Equal((64, 64), (a.Width, a.Height));
        Assert.True(PixelAssert.Bytes(a.Image).Distinct().Count() > 8);
        PixelAssert.Identical(a.Image, b.Image);
        AssertSamplingSteps(reports, 2);
    }

    [SkippableFact]
    public void Wan_makes_the_requested_frames_reproducibly_and_reports_each_step()
    {
        var wan = fixture.Wan;
        Assert.True(wan.Generator.CanGenerateVideos);
        var reports = new List<GenerationProgress>();
        var a = wan.Generator.GenerateVideo(DitFamilyFixture.Clip(42), new SyncProgress(reports.Add));
        fixture.RequireUmt5Vocabulary("a lighthouse at dusk");
        var b = fixture.WanBaseline;

        Assert.Contains(wan.Lines, l => l.Contains("Version: Wan 2.x ", StringComparison.Ordinal));
        Assert.Contains(wan.Lines, l => l.EndsWith("Wan2.1-T2V-1.3B", StringComparison.Ordinal));
        Assert.Equal(5, a.Frames.Count);
        Assert.Equal(16, a.Fps);
        Assert.All(a.Frames, f => Assert.Equal((32, 32, PixelFormat.Rgb24), (f.Width, f.Height, f.Format)));
        Assert.Equal(42, a.Parameters.Seed);
        for (int i = 0; i < a.Frames.Count; i++) PixelAssert.Identical(a.Frames[i], b.Frames[i]);
        // A video, not one picture five times.
        Assert.Contains(a.Frames.Skip(1), f => !PixelAssert.Bytes(f).AsSpan().SequenceEqual(PixelAssert.Bytes(a.Frames[0])));
        AssertSamplingSteps(reports, 2);
    }

    [SkippableFact]
    public async Task Serving_a_video_model_runs_sd_servers_vid_gen_jobs_into_webm_avi_and_animated_webp()
    {
        var baseline = fixture.WanBaseline;
        await using var server = await StableDiffusion.Native.Cli.Serve.ImageServer.StartAsync(fixture.Wan.Generator, new StableDiffusion.Native.Cli.Serve.ServeOptions { Host = "127.0.0.1", Port = 0 });
        using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(5) };
        static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

        var caps = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync("sdcpp/v1/capabilities")).RootElement;
        Assert.Equal("vid_gen", caps.GetProperty("current_mode").GetString());
        Assert.Equal(["vid_gen"], caps.GetProperty("supported_modes").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal(["webm", "webp", "avi"], caps.GetProperty("output_formats_by_mode").GetProperty("vid_gen").EnumerateArray().Select(m => m.GetString()));
        Assert.True(caps.GetProperty("features_by_mode").GetProperty("vid_gen").GetProperty("end_image").GetBoolean());
        Assert.Equal(new VideoRequest().Frames, caps.GetProperty("defaults").GetProperty("video_frames").GetInt32());
        Assert.Equal(-1, caps.GetProperty("defaults").GetProperty("high_noise_sample_params").GetProperty("sample_steps").GetInt32());

        // sd-server's refusals: the other mode, and a container it does not write.
        var image = await client.PostAsync("sdcpp/v1/img_gen", Json("""{"prompt":"x"}"""));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, image.StatusCode);
        Assert.Contains("loaded model does not support img_gen", await image.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var mkv = await client.PostAsync("sdcpp/v1/vid_gen", Json("""{"prompt":"x","output_format":"mkv"}"""));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, mkv.StatusCode);
        Assert.Contains("invalid output_format, must be one of [webm, webp, avi]", await mkv.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // A clip too large to hold in memory is refused at submission, as sd-server refuses invalid parameters (the
        // process was OOM-killed at 24 GiB when such a job ran).
        var huge = await client.PostAsync("sdcpp/v1/vid_gen", Json("""{"prompt":"x","width":8192,"height":8192,"video_frames":1024,"output_format":"avi"}"""));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, huge.StatusCode);
        string hugeError = System.Text.Json.JsonDocument.Parse(await huge.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()!;
        Assert.Contains("VideoRequest.MaxPixels", hugeError, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", hugeError, StringComparison.Ordinal);
        Assert.Equal(0, server.State.Queue.Arrivals);

        // The clip of Clip(42), through api.md's body.
        const string clip = "\"prompt\":\"a lighthouse at dusk\",\"width\":32,\"height\":32,\"video_frames\":5,\"seed\":42,\"sample_params\":{\"sample_steps\":2,\"guidance\":{\"txt_cfg\":1}}";
        // No output_format is sd-server's default, webm.
        foreach (string? asked in new[] { "avi", "webp", null })
        {
            string format = asked ?? "webm";
            string body = asked is null ? $"{{{clip},\"output_compression\":95}}" : $"{{{clip},\"output_format\":\"{asked}\",\"output_compression\":95}}";
            var accepted = await client.PostAsync("sdcpp/v1/vid_gen", Json(body));
            Assert.Equal(System.Net.HttpStatusCode.Accepted, accepted.StatusCode);
            var submitted = System.Text.Json.JsonDocument.Parse(await accepted.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("vid_gen", submitted.GetProperty("kind").GetString());
            System.Text.Json.JsonElement job;
            var deadline = DateTime.UtcNow.AddMinutes(3);
            do
            {
                await Task.Delay(200);
                job = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync(submitted.GetProperty("poll_url").GetString()!.TrimStart('/'))).RootElement;
            }
            while (job.GetProperty("status").GetString() is "queued" or "generating" && DateTime.UtcNow < deadline);
            Assert.True(job.GetProperty("status").GetString() == "completed", job.GetRawText());
            var result = job.GetProperty("result");
            Assert.Equal(format, result.GetProperty("output_format").GetString());
            Assert.Equal(format switch { "avi" => "video/x-msvideo", "webm" => "video/webm", _ => "image/webp" }, result.GetProperty("mime_type").GetString());
            Assert.Equal(16, result.GetProperty("fps").GetInt32());
            Assert.Equal(baseline.Frames.Count, result.GetProperty("frame_count").GetInt32());
            byte[] file = result.GetProperty("b64_json").GetBytesFromBase64();
            if (format == "webm")
            {
                var frames = Cli.VideoContainersTests.WebmFrames(file, out var track);
                Assert.Equal((32, 32, "V_VP8"), track);
                Assert.Equal(baseline.Frames.Count, frames.Count);
                continue;
            }
            var chunks = Cli.VideoContainersTests.Chunks(file, 12, file.Length);
            if (format == "avi")
            {
                var movi = chunks.Single(c => c.Id == "LIST" && System.Text.Encoding.ASCII.GetString(file, c.At + 8, 4) == "movi");
                var frames = Cli.VideoContainersTests.Chunks(file, movi.At + 12, movi.At + 8 + movi.Size);
                Assert.Equal(baseline.Frames.Count, frames.Count);
                // Each frame is the library's frame, JPEG-compressed.
                using var first = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(file.AsSpan(frames[0].At + 8, frames[0].Size));
                var expected = baseline.Frames[0];
                double error = 0;
                for (int y = 0; y < expected.Height; y++)
                    for (int x = 0; x < expected.Width; x++)
                    {
                        var p = first[x, y];
                        int at = (y * expected.Width + x) * 3;
                        var span = expected.Pixels.Span;
                        error += Math.Abs(p.R - span[at]) + Math.Abs(p.G - span[at + 1]) + Math.Abs(p.B - span[at + 2]);
                    }
                Assert.InRange(error / (expected.Width * expected.Height * 3), 0, 12);
            }
            else
            {
                Assert.Equal(baseline.Frames.Count, chunks.Count(c => c.Id == "ANMF"));
            }
        }
    }

    [SkippableFact]
    public async Task Serving_a_video_model_answers_an_image_request_with_400_naming_the_reason()
    {
        await using var server = await StableDiffusion.Native.Cli.Serve.ImageServer.StartAsync(fixture.Wan.Generator, new StableDiffusion.Native.Cli.Serve.ServeOptions { Host = "127.0.0.1", Port = 0 });
        using var client = new HttpClient { BaseAddress = server.Address };
        var response = await client.PostAsync("sdapi/v1/txt2img", new StringContent("""{"prompt":"x","width":32,"height":32,"steps":1}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains("unsupported_by_model", body, StringComparison.Ordinal);
        Assert.Contains("generates videos", body, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Wan_two_expert_pair_samples_with_the_high_noise_model_first()
    {
        var baseline = fixture.WanBaseline;
        fixture.RequireUmt5Vocabulary("a lighthouse at dusk");
        var files = fixture.WanFiles;
        using var pair = Generator.Load(DitFamilyFixture.Options(files) with { HighNoiseDiffusionModelPath = FamilyTestModels.WanHighNoiseTransformer() });
        var reports = new List<GenerationProgress>();
        var video = pair.GenerateVideo(DitFamilyFixture.Clip(42) with { HighNoiseSampling = new SamplingOptions { Steps = 1, CfgScale = 1f } }, new SyncProgress(reports.Add));

        Assert.Equal(5, video.Frames.Count);
        Assert.All(video.Frames, f => Assert.Equal((32, 32), (f.Width, f.Height)));
        // Same seed, same low-noise model: only the high-noise expert can make the difference.
        PixelAssert.Different(baseline.Frames[0], video.Frames[0]);
        // The high-noise stage's step, then the low-noise stage's two.
        var sampling = reports.Where(r => r.Phase == GenerationPhase.Sampling).Select(r => (r.Step, r.Steps));
        Assert.Equal([(0, 1), (1, 1), (0, 2), (1, 2), (2, 2)], sampling);
    }

    private static void AssertSamplingSteps(List<GenerationProgress> reports, int steps)
    {
        var sampling = reports.Where(r => r.Phase == GenerationPhase.Sampling).ToList();
        Assert.True(Enumerable.Range(0, steps + 1).SequenceEqual(sampling.Select(r => r.Step)),
            "reports: " + string.Join(", ", reports.Select(r => $"{r.Phase} {r.Step}/{r.Steps}")));
        Assert.All(sampling, r => Assert.Equal(steps, r.Steps));
        Assert.True(reports.Select(r => r.Elapsed).SequenceEqual(reports.Select(r => r.Elapsed).Order()));
    }
}

/// <summary>The placeholder probes on upstream's own log lines (from runtimes built with the placeholders and with real-format vocabularies).</summary>
public sealed class DitVocabularyProbeTests
{
    [Fact]
    public void Qwen2_merges_are_a_placeholder_only_when_upstream_read_none()
    {
        Assert.True(DitFamilyFixture.QwenMergesArePlaceholder(["qwen2_tokenizer.cpp:14   - merges size 0", "qwen2_tokenizer.cpp:39   - vocab size: 287"]));
        Assert.False(DitFamilyFixture.QwenMergesArePlaceholder(["qwen2_tokenizer.cpp:14   - merges size 151387"]));
        Assert.False(DitFamilyFixture.QwenMergesArePlaceholder(["unrelated"]));
    }

    [Fact]
    public void Umt5_vocabulary_is_a_placeholder_when_the_prompt_split_into_nothing()
    {
        Assert.True(DitFamilyFixture.Umt5VocabularyIsPlaceholder(["t5_unigram_tokenizer.cpp:336  - split prompt \"a cat\" to tokens []"], "a cat"));
        Assert.False(DitFamilyFixture.Umt5VocabularyIsPlaceholder(["t5_unigram_tokenizer.cpp:336  - split prompt \"a cat\" to tokens [\"▁a\", \"▁cat\", ]"], "a cat"));
        // The empty negative prompt splits into nothing with any vocabulary.
        Assert.False(DitFamilyFixture.Umt5VocabularyIsPlaceholder(["t5_unigram_tokenizer.cpp:336  - split prompt \"\" to tokens []"], "a cat"));
    }
}

/// <summary>One generator per family, loaded on first use and kept for the class; each keeps its native log.</summary>
public sealed partial class DitFamilyFixture : IDisposable
{
    private readonly Lazy<SplitModel> _zFiles = new(() => FamilyTestModels.ZImage());
    private readonly Lazy<SplitModel> _qwenFiles = new(() => FamilyTestModels.QwenImage());
    private readonly Lazy<SplitModel> _wanFiles = new(() => FamilyTestModels.Wan21T2V());
    private readonly Lazy<LoggedGenerator> _z;
    private readonly Lazy<LoggedGenerator> _qwen;
    private readonly Lazy<LoggedGenerator> _wan;
    private readonly Lazy<GeneratedVideo> _wanBaseline;

    public DitFamilyFixture()
    {
        _z = new(() => LoggedGenerator.Load(Options(_zFiles.Value)));
        _qwen = new(() => LoggedGenerator.Load(Options(_qwenFiles.Value)));
        _wan = new(() => LoggedGenerator.Load(Options(_wanFiles.Value)));
        _wanBaseline = new(() => _wan.Value.Generator.GenerateVideo(Clip(42)));
    }

    public SplitModel ZImageFiles => _zFiles.Value;

    public SplitModel WanFiles => _wanFiles.Value;

    public LoggedGenerator ZImage => Qwen2Ready(_z);

    public LoggedGenerator QwenImage => Qwen2Ready(_qwen);

    public LoggedGenerator Wan
    {
        get
        {
            NativeTestEnvironment.Require();
            return _wan.Value;
        }
    }

    /// <summary>Wan's video for <c>Clip(42)</c>, made once for the tests that compare against it.</summary>
    public GeneratedVideo WanBaseline
    {
        get
        {
            _ = Wan;
            return _wanBaseline.Value;
        }
    }

    /// <summary>
    /// A short clip: 5 frames (Wan makes 4k + 1; two latent frames), 32×32, 2 steps. cfg 1 samples without the
    /// unconditioned pass: Wan's cross attention over its 512 text states is most of the cost of a step.
    /// </summary>
    public static VideoRequest Clip(long seed, string prompt = "a lighthouse at dusk") => new()
    {
        Prompt = prompt,
        Width = 32,
        Height = 32,
        Frames = 5,
        Seed = seed,
        Sampling = new SamplingOptions { Steps = 2, CfgScale = 1f },
    };

    public static GeneratorOptions Options(SplitModel files) => new()
    {
        DiffusionModelPath = files.DiffusionModel,
        T5xxlPath = files.T5xxl,
        LlmPath = files.Llm,
        VaePath = files.Vae,
        Threads = NativeTestEnvironment.Threads,
    };

    /// <summary>
    /// Upstream's Qwen2 tokenizer logs how many merges it read when the model loads; with the placeholder merge list
    /// (none) prompts fall apart into bytes and the chat template's special tokens get ids 256.. instead of 151643..
    /// </summary>
    private static LoggedGenerator Qwen2Ready(Lazy<LoggedGenerator> lazy)
    {
        NativeTestEnvironment.Require();
        var g = lazy.Value;
        Skip.If(QwenMergesArePlaceholder(g.Lines),
            "the runtime's Qwen2 merge list is upstream's placeholder (it logged 'merges size 0'): prompts would not tokenize as Qwen's do; "
            + "build it with a merge list in src/tokenizers/vocab/qwen_merges.hpp to test Z-Image and Qwen-Image");
        return g;
    }

    internal static bool QwenMergesArePlaceholder(IEnumerable<string> lines)
        => lines.Select(l => MergesLine().Match(l)).FirstOrDefault(m => m.Success) is { } m && m.Groups[1].Value == "0";

    internal static bool Umt5VocabularyIsPlaceholder(IEnumerable<string> lines, string prompt)
        => lines.Any(l => l.Contains($"split prompt \"{prompt}\" to tokens []", StringComparison.Ordinal));

    /// <summary>
    /// Upstream's UMT5 tokenizer logs nothing at load; with the placeholder vocabulary ("{}") a prompt tokenizes to
    /// nothing at all, which the generation's log shows.
    /// </summary>
    public void RequireUmt5Vocabulary(string prompt)
    {
        var g = Wan;
        _ = WanBaseline;
        Skip.If(Umt5VocabularyIsPlaceholder(g.Lines, prompt),
            $"the runtime's UMT5 vocabulary is upstream's placeholder (it split \"{prompt}\" into no tokens): prompts would not reach Wan; "
            + "build it with a UMT5 tokenizer.json in src/tokenizers/vocab/umt5.hpp to test Wan");
    }

    public void Dispose()
    {
        foreach (var g in new[] { _z, _qwen, _wan })
            if (g.IsValueCreated) g.Value.Generator.Dispose();
    }

    [GeneratedRegex(@"merges size (\d+)")]
    private static partial Regex MergesLine();
}

/// <summary>A generator and every native log line it has produced (DEBUG included: that is where tokenization shows).</summary>
public sealed class LoggedGenerator : ILogger
{
    private readonly List<string> _lines = [];

    private LoggedGenerator()
    {
    }

    public Generator Generator { get; private set; } = null!;

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines) return _lines.ToList();
        }
    }

    public static LoggedGenerator Load(GeneratorOptions options)
    {
        var g = new LoggedGenerator();
        g.Generator = Generator.Load(options with { Logger = g });
        return g;
    }

    IDisposable? ILogger.BeginScope<TState>(TState state) => null;

    bool ILogger.IsEnabled(LogLevel logLevel) => true;

    void ILogger.Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lines) _lines.Add(formatter(state, exception));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Lines.Count} log lines");
}
