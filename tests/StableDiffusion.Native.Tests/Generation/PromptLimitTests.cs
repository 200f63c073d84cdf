using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Native;

namespace StableDiffusion.Native.Tests.Generation;

/// <summary>
/// The text checks that keep upstream's recursive regular expressions and its unguarded std::stof from ending the
/// process: a length limit the native stack is sized for, no text that native code would cut or mangle, and no
/// attention weight stof throws on. All before any native call.
/// </summary>
public sealed class PromptLimitTests
{
    private static ImageRequest Request(string prompt, string negative = "") => new() { Prompt = prompt, NegativePrompt = negative, Width = 64, Height = 64 };

    [Fact]
    public void A_prompt_at_the_limit_passes_and_one_character_more_is_refused_naming_the_limit()
    {
        Validation.Request(Request(new string('a', ImageRequest.MaxPromptLength), new string('(', ImageRequest.MaxPromptLength)));
        var e = Assert.Throws<ArgumentException>(() => Validation.Request(Request(new string('a', ImageRequest.MaxPromptLength + 1))));
        Assert.Equal("Prompt", e.ParamName);
        Assert.Contains("8192", e.Message, StringComparison.Ordinal);
        Assert.Contains("ImageRequest.MaxPromptLength", e.Message, StringComparison.Ordinal);
        var negative = Assert.Throws<ArgumentException>(() => Validation.Request(Request("x", new string('a', ImageRequest.MaxPromptLength + 1))));
        Assert.Equal("NegativePrompt", negative.ParamName);
        var video = Assert.Throws<ArgumentException>(() => Validation.Video(new VideoRequest { Prompt = new string('a', VideoRequest.MaxPromptLength + 1) }));
        Assert.Equal("Prompt", video.ParamName);
    }

    [Fact]
    public void The_native_stack_holds_the_longest_prompt_with_its_measured_margin()
    {
        // Three UTF-8 bytes per UTF-16 unit at worst, the measured stack per prompt byte, and a margin of four.
        Assert.True(NativeStack.StackBytes >= 4L * 3 * ImageRequest.MaxPromptLength * NativeStack.BytesPerPromptByte);
    }

    [Fact]
    public void Text_that_native_code_would_cut_or_mangle_is_refused()
    {
        // Built in code: attribute strings cannot carry unpaired surrogates.
        string[] prompts = ["a\0b", "a " + (char)0xD800 + " b", "a " + (char)0xDC00 + " b", "end " + (char)0xD83C, (char)0xDC00 + "" + (char)0xD800];
        foreach (string prompt in prompts)
            Assert.Equal("Prompt", Assert.Throws<ArgumentException>(() => Validation.Request(Request(prompt))).ParamName);
        Validation.Request(Request("pair " + (char)0xD83C + (char)0xDF0A));
    }

    [Theory]
    [InlineData("a lighthouse 🌊 at dusk, \u001b[31m red \u007f")]
    [InlineData("((cat:1.3)) [dog:0.5] (x:+2) (y:-.5) (z:0) (w:1.5.7) \\(literal:.\\)")]
    [InlineData("ratio 16:9) and 4:3")]
    [InlineData(":::: (:) (a:)")]
    public void Ordinary_and_odd_prompts_pass(string prompt) => Validation.Request(Request(prompt));

    [Fact]
    public void With_an_llm_text_encoder_prompts_are_also_held_to_a_byte_budget()
    {
        var llm = new GeneratorOptions { DiffusionModelPath = "dit.safetensors", LlmPath = "llm.safetensors" };
        var clip = new GeneratorOptions { ModelPath = "sd1.safetensors" };
        string atBudget = new('é', ImageRequest.MaxLlmPromptBytes / 2);
        Validation.LlmPrompts(llm, atBudget, atBudget);
        var e = Assert.Throws<ArgumentException>(() => Validation.LlmPrompts(llm, atBudget + "x", ""));
        Assert.Equal("Prompt", e.ParamName);
        Assert.Equal("NegativePrompt", Assert.Throws<ArgumentException>(() => Validation.LlmPrompts(llm, "", atBudget + "x")).ParamName);
        Assert.Contains("ImageRequest.MaxLlmPromptBytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("4097 bytes", e.Message, StringComparison.Ordinal);
        // The same text is fine for a CLIP model, which encodes 77 tokens at a time.
        Validation.LlmPrompts(clip, new string('灯', ImageRequest.MaxPromptLength), "");
    }

    [Fact]
    public void Whitespace_runs_past_the_limit_are_refused()
    {
        Validation.Request(Request("a" + new string(' ', ImageRequest.MaxWhitespaceRun) + "b" + new string('\n', ImageRequest.MaxWhitespaceRun)));
        var e = Assert.Throws<ArgumentException>(() => Validation.Request(Request("a" + new string(' ', ImageRequest.MaxWhitespaceRun) + "\t")));
        Assert.Contains("1024 whitespace characters in a row", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Validation.Request(Request("x", new string(' ', ImageRequest.MaxWhitespaceRun + 1))));
    }

    [Theory]
    [InlineData("a (cat:.) b")]
    [InlineData("(cat:-.)")]
    [InlineData("(cat:+...)")]
    [InlineData("(cat:1e5)x (dog:99999999999999999999999999999999999999999)")]
    [InlineData("(cat:0.0000000000000000000000000000000000000000000001)")]
    public void Attention_weights_that_std_stof_throws_on_are_refused(string prompt)
    {
        var e = Assert.Throws<ArgumentException>(() => Validation.Request(Request(prompt)));
        Assert.Contains("attention weight", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("1.5.7", true)]
    [InlineData(".5", true)]
    [InlineData("-0", true)]
    [InlineData("0.000", true)]
    [InlineData(".", false)]
    [InlineData("+.", false)]
    [InlineData("...", false)]
    [InlineData("1000000000000000000000000000000000000000", false)]
    [InlineData("0.0000000000000000000000000000000000001", false)]
    public void Stof_safety_follows_what_strtof_reads(string weight, bool safe)
        => Assert.Equal(safe, Validation.IsStofSafe(weight));

    [Fact]
    public void Embedding_names_lora_lists_and_argument_strings_are_bounded()
    {
        string model = Path.GetTempFileName();
        try
        {
            var longName = new GeneratorOptions { ModelPath = model, Embeddings = [new Embedding(new string('e', 257), model)] };
            Assert.Contains("embedding name", Assert.Throws<ArgumentException>(() => Validation.Options(longName)).Message, StringComparison.Ordinal);
            var spaced = new GeneratorOptions { ModelPath = model, Embeddings = [new Embedding("two words", model)] };
            Assert.Throws<ArgumentException>(() => Validation.Options(spaced));
            var many = new GeneratorOptions { ModelPath = model, Embeddings = Enumerable.Range(0, Validation.MaxListItems + 1).Select(i => new Embedding("e" + i, model)).ToList() };
            Assert.Contains("At most", Assert.Throws<ArgumentException>(() => Validation.Options(many)).Message, StringComparison.Ordinal);
            var rpc = new GeneratorOptions { ModelPath = model, RpcServers = "host:1,;rm -rf" };
            Assert.Equal("RpcServers", Assert.Throws<ArgumentException>(() => Validation.Options(rpc)).ParamName);
            var backend = new GeneratorOptions { ModelPath = model, Backend = "CUDA0\n" + new string('x', 300) };
            Assert.Equal("Backend", Assert.Throws<ArgumentException>(() => Validation.Options(backend)).ParamName);
            Assert.Equal("ParamsBackend", Assert.Throws<ArgumentException>(() => Validation.Options(new GeneratorOptions { ModelPath = model, ParamsBackend = "a;b" })).ParamName);
            Validation.DeviceSpec("diffusion=CUDA0, clip=CPU", "Backend");
            Validation.DeviceSpec("RPC[10.0.0.2:50052]", "Backend");
        }
        finally
        {
            File.Delete(model);
        }
        var loras = Request("x") with { Loras = Enumerable.Range(0, Validation.MaxListItems + 1).Select(_ => new LoraReference("x.safetensors")).ToList() };
        Assert.Contains("at most", Assert.Throws<ArgumentException>(() => Validation.Request(loras)).Message, StringComparison.Ordinal);
        var pairs = Request("x").WithSampling(s => s with { ExtraArguments = Enumerable.Range(0, Validation.MaxKeyValues + 1).ToDictionary(i => "k" + i, _ => "1") });
        Assert.Contains("at most", Assert.Throws<ArgumentException>(() => Validation.Request(pairs)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Native_stack_calls_run_on_their_own_thread_rethrow_their_exceptions_and_nest_inline()
    {
        int caller = Environment.CurrentManagedThreadId;
        int worker = NativeStack.Run(() =>
        {
            Assert.True(NativeStack.IsCurrent);
            int outer = Environment.CurrentManagedThreadId;
            Assert.Equal(outer, NativeStack.Run(() => Environment.CurrentManagedThreadId));
            return outer;
        });
        Assert.NotEqual(caller, worker);
        Assert.False(NativeStack.IsCurrent);
        var e = Assert.Throws<GenerationException>(() => NativeStack.Run<int>(() => throw new GenerationException("native failed")));
        Assert.Equal("native failed", e.Message);
        Assert.Contains(nameof(Native_stack_calls_run_on_their_own_thread_rethrow_their_exceptions_and_nest_inline), e.StackTrace, StringComparison.Ordinal);
    }
}
