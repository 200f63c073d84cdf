using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.HostileInputs;

/// <summary>
/// Inputs a user or a client could send, at and past every limit, that reach (or are meant to be stopped before) native
/// code. Each case names what it expects: <see cref="Expect.Runs"/> (it generates) or <see cref="Expect.Refused"/>
/// (a typed exception before native code). Neither may end the process; a case that does is a death.
/// </summary>
public static class HostileCases
{
    /// <summary>What a case must end in: an image, or a refusal before native code.</summary>
    public enum Expect
    {
        Runs,
        Refused,
    }

    /// <summary>
    /// The model a case runs on: SD1 (CLIP's tokenizer, whose regular expressions add to the prompt parser's), or Z-Image,
    /// whose one-layer 32-wide Qwen3 encodes a whole prompt in one cheap pass. SD1's full-size CLIP costs a pass per
    /// 77 tokens, and a prompt at the limit of multi-byte characters is some 24,000 tokens: hours of harness, so those
    /// run through the LLM tokenizer, where the parser's regex sees the same bytes. SD1 cases skip 11 of CLIP's 12
    /// layers (clip skip 12): the parser, the tokenizer, the chunking and the embeddings still see every token, and the
    /// layers, whose shapes no text changes, were four fifths of the harness's time.
    /// </summary>
    public enum Family
    {
        Sd1,
        ZImage,
    }

    /// <summary>One case: a name, what it expects, the request it sends, and the model it runs on.</summary>
    public sealed record HostileCase(string Name, Expect Expect, Func<ImageRequest> Request, Family Family = Family.Sd1);

    private const int Limit = ImageRequest.MaxPromptLength;

    private const int LlmLimit = ImageRequest.MaxLlmPromptBytes;

    private static ImageRequest Small(string prompt = "a lighthouse", string negative = "") => new()
    {
        Prompt = prompt,
        NegativePrompt = negative,
        Width = 64,
        Height = 64,
        Seed = 7,
        ClipSkip = 12, // see Family
        Sampling = new SamplingOptions { Steps = 1, Sampler = Sampler.Euler },
    };

    /// <summary><paramref name="unit"/> repeated up to exactly <paramref name="length"/> UTF-16 code units (never splitting a pair).</summary>
    public static string Fill(string unit, int length)
    {
        var sb = new System.Text.StringBuilder(length);
        while (sb.Length + unit.Length <= length) sb.Append(unit);
        return sb.ToString();
    }

    /// <summary><paramref name="unit"/> repeated up to at most <paramref name="bytes"/> bytes of UTF-8.</summary>
    public static string FillBytes(string unit, int bytes)
        => Fill(unit, unit.Length * (bytes / System.Text.Encoding.UTF8.GetByteCount(unit)));

    private static HostileCase Runs(string name, string prompt) => new(name, Expect.Runs, () => Small(prompt));

    private static HostileCase RunsOnLlm(string name, string prompt) => new(name, Expect.Runs, () => Small(prompt), Family.ZImage);

    private static HostileCase Refused(string name, Func<ImageRequest> request) => new(name, Expect.Refused, request);

    /// <summary>Every case, in a fixed order.</summary>
    public static IReadOnlyList<HostileCase> All { get; } =
    [
        // What crashed sdnet serve and sd-cli: the prompt-attention regex matches a prompt without brackets as one run.
        Runs("prompt-lighthouse-x700", Fill("lighthouse ", 7_700)),
        Runs("prompt-lighthouse-at-limit", Fill("lighthouse ", Limit)),
        Runs("prompt-one-word-at-limit", new string('a', Limit)),
        Runs("prompt-whitespace-runs-at-limit", Fill(new string(' ', ImageRequest.MaxWhitespaceRun) + "x", Limit)),
        Runs("prompt-punctuation-at-limit", new string(',', Limit)),
        Runs("prompt-nested-parentheses", new string('(', Limit / 2) + "x" + new string(')', Limit / 2 - 1)),
        Runs("prompt-open-parentheses", new string('(', Limit)),
        Runs("prompt-close-parentheses", new string(')', Limit)),
        Runs("prompt-brackets", Fill("[[]]", Limit)),
        Runs("prompt-colons", new string(':', Limit)),
        Runs("prompt-backslashes", new string('\\', Limit)),
        RunsOnLlm("prompt-escaped-parentheses", FillBytes("\\(\\)", LlmLimit)),
        Runs("prompt-capital-b", new string('B', Limit)),
        Runs("prompt-break", Fill("BREAK ", Limit)),
        Runs("prompt-weights", Fill("((lighthouse:1.3)) [sea:0.5] ", Limit)),
        Runs("prompt-weight-long-digits", "(cat:" + new string('1', 30) + ")"),
        Runs("prompt-weight-run-unclosed", ":" + new string('1', Limit - 1)),
        RunsOnLlm("prompt-lora-tags", FillBytes("<lora:x:1>", LlmLimit)),
        RunsOnLlm("prompt-sep-skip", FillBytes("[SEP][SKIP]", LlmLimit)),
        new("negative-prompt-at-limit", Expect.Runs, () => Small(negative: Fill("blurry ", Limit))),
        // Both prompts at the byte limit at once. The negative one interleaves CJK, an emoji (a surrogate pair), Latin-1,
        // digits, C0 and C1 controls and a line separator: between them every branch of the BPE splitter (letters, numbers,
        // symbols, whitespace), and none is a bracket, a colon or a B, so to the prompt parser's regex the whole prompt is
        // one run as deep as the limit. Each 4096-token pass through the LLM takes six to ten seconds here: one covers what
        // one case per script did in five.
        new("both-prompts-at-llm-limit", Expect.Runs, () => Small(Fill("lighthouse ", LlmLimit), FillBytes("灯🌊é7\u0001\u001b\u007f\u0085\u2028", LlmLimit)), Family.ZImage),
        RunsOnLlm("prompt-nested-parentheses-llm", new string('(', LlmLimit / 2) + "x" + new string(')', LlmLimit / 2 - 1)),
        new("prompt-cjk-at-limit-llm", Expect.Refused, () => Small(new string('灯', Limit)), Family.ZImage),
        new("prompt-lighthouse-at-limit-llm", Expect.Refused, () => Small(Fill("lighthouse ", Limit)), Family.ZImage),
        new("negative-prompt-past-llm-limit", Expect.Refused, () => Small(negative: new string('é', LlmLimit / 2 + 1)), Family.ZImage),

        // Past the limits, or text that upstream would turn into a termination: refused before native code.
        Refused("prompt-lighthouse-x4000", () => Small(Fill("lighthouse ", 44_000))),
        Refused("prompt-one-past-limit", () => Small(new string('a', Limit + 1))),
        Refused("prompt-2mb", () => Small(Fill("lighthouse ", 2_200_000))),
        Refused("negative-prompt-past-limit", () => Small(negative: new string('(', Limit + 1))),
        Refused("prompt-spaces-at-limit", () => Small(new string(' ', Limit))),
        Refused("prompt-tabs-newlines-at-limit", () => Small(Fill("\t\n\r ", Limit))),
        Refused("prompt-nul", () => Small("a lighthouse\0 on a cliff")),
        Refused("prompt-lone-surrogate", () => Small("a lighthouse \ud800 on a cliff")),
        Refused("prompt-weight-dot", () => Small("a (cat:.) on a mat")),
        Refused("prompt-weight-sign-dot", () => Small("a (cat:-.) on a mat")),
        Refused("prompt-weight-overflow", () => Small("a (cat:" + new string('9', 40) + ") on a mat")),
        Refused("prompt-weight-underflow", () => Small("a (cat:0." + new string('0', 50) + "1) on a mat")),

        // At the size limit the UNet's attention scores alone are 35 TB: refused before upstream tries to allocate them.
        // Sizes whose scores the kernel would let upstream allocate but not hold are the cgroup test's (MemoryAdmissionTests).
        Refused("size-at-limit", () => Small() with { Width = ImageRequest.MaxDimension, Height = ImageRequest.MaxDimension }),

        // Every number field of a request at and past its limits.
        Refused("width-zero", () => Small() with { Width = 0 }),
        Refused("width-negative", () => Small() with { Width = -64 }),
        Refused("width-past-max", () => Small() with { Width = ImageRequest.MaxDimension + 1 }),
        Refused("height-int-max", () => Small() with { Height = int.MaxValue }),
        Refused("steps-zero", () => Small() with { Sampling = new SamplingOptions { Steps = 0 } }),
        Refused("steps-negative", () => Small() with { Sampling = new SamplingOptions { Steps = -1 } }),
        Refused("steps-int-max", () => Small() with { Sampling = new SamplingOptions { Steps = int.MaxValue } }),
        Refused("batch-zero", () => Small() with { BatchCount = 0 }),
        Refused("batch-past-max", () => Small() with { BatchCount = ImageRequest.MaxBatchCount + 1 }),
        Refused("cfg-nan", () => Small() with { Sampling = new SamplingOptions { CfgScale = float.NaN } }),
        Refused("cfg-infinity", () => Small() with { Sampling = new SamplingOptions { CfgScale = float.PositiveInfinity } }),
        Refused("cfg-negative", () => Small() with { Sampling = new SamplingOptions { CfgScale = -1 } }),
        Refused("strength-past-one", () => Small() with { Strength = 1.5f }),
        Refused("seed-negative", () => Small() with { Seed = -2 }),
        Refused("clip-skip-past-max", () => Small() with { ClipSkip = 13 }),
        Refused("eta-nan", () => Small() with { Sampling = new SamplingOptions { Eta = float.NaN } }),
        Refused("sampler-undefined", () => Small() with { Sampling = new SamplingOptions { Sampler = (Sampler)999 } }),
        Refused("scheduler-undefined", () => Small() with { Sampling = new SamplingOptions { Scheduler = (Scheduler)(-5) } }),
        Refused("init-image-wrong-size", () => Small() with { InitImage = ImageBuffer.Filled(PixelFormat.Rgb24, 8, 8, [0, 0, 0]) }),
        Refused("mask-without-init-image", () => Small() with { Mask = ImageBuffer.Filled(PixelFormat.Gray8, 64, 64, [255]) }),
        Refused("extra-arguments-separator", () => Small() with { Sampling = new SamplingOptions { ExtraArguments = new Dictionary<string, string> { ["x"] = "1,steps=0" } } }),
        Refused("extra-arguments-too-many", () => Small() with { Sampling = new SamplingOptions { ExtraArguments = Enumerable.Range(0, 65).ToDictionary(i => "k" + i, i => "1") } }),
        Refused("lora-missing-file", () => Small() with { Loras = [new LoraReference("/nonexistent/lora.safetensors")] }),
        Refused("lora-nan-multiplier", () => Small() with { Loras = [new LoraReference(typeof(HostileCases).Assembly.Location, float.NaN)] }),
        Refused("custom-sigmas-nan", () => Small() with { Sampling = new SamplingOptions { CustomSigmas = [float.NaN] } }),
    ];
}
