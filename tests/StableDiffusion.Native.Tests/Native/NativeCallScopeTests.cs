using StableDiffusion.Native.Interop;
using StableDiffusion.Native.Native;

namespace StableDiffusion.Native.Tests.Native;

public sealed class NativeCallScopeTests
{
    [Theory]
    [InlineData("stable-diffusion.cpp:123 - loading model", "loading model")]
    [InlineData("model_loader.cpp:7 - generating image: 1/3 - seed 42", "generating image: 1/3 - seed 42")]
    [InlineData("src/model/upscaler/esrgan.hpp:60 - esrgan: scale = 4", "esrgan: scale = 4")]
    [InlineData(@"C:\build\src\stable-diffusion.cpp:4021 - sampling completed", "sampling completed")]
    [InlineData("ggml_extend.hpp:1 - ", "")]
    // Upstream pads the line number to four columns ("%s:%-4d - ").
    [InlineData("util.cpp:12   - padded line number", "padded line number")]
    [InlineData("util.cpp:7    - x - y", "x - y")]
    public void Message_strips_the_file_and_line_prefix(string line, string expected)
        => Assert.Equal(expected, NativeCallScope.Message(line));

    [Theory]
    [InlineData("loading model")]
    [InlineData("")]
    [InlineData("a - b")]
    [InlineData(" - starts with a dash")]
    [InlineData("note: x - y")]
    [InlineData("file.cpp:12a - not a line number")]
    [InlineData("weights: 1.5 - 2.5")]
    [InlineData("file.cpp:123 no dash")]
    public void Message_leaves_other_text_alone(string line)
        => Assert.Equal(line, NativeCallScope.Message(line));

    [Fact]
    public void A_failure_without_native_lines_is_the_message_alone()
    {
        using var scope = NativeCallScope.Enter();
        var failure = scope.Failure("it failed.");
        Assert.Empty(failure.NativeLog);
        Assert.Equal("it failed.", failure.Message);
    }

    [Fact]
    public void Scopes_nest_per_thread_and_a_failure_prefers_error_lines()
    {
        var infos = new List<string>();
        using var outer = NativeCallScope.Enter(onInfo: infos.Add);
        NativeCallScope.Route(sd_log_level_t.SD_LOG_WARN, "outer warning\n", null);
        using (var inner = NativeCallScope.Enter())
        {
            NativeCallScope.Route(sd_log_level_t.SD_LOG_WARN, "inner warning", null);
            NativeCallScope.Route(sd_log_level_t.SD_LOG_ERROR, "inner error", null);
            NativeCallScope.Route(sd_log_level_t.SD_LOG_INFO, "x.cpp:1 - inner info", null);
            // Errors win over warnings in the exception.
            Assert.Equal(["error: inner error"], inner.Failure("inner failed.").NativeLog);
            Assert.Equal(["warning: inner warning", "error: inner error"], inner.Problems);
        }
        // Back in the outer scope: the inner lines never reached it, later lines do.
        NativeCallScope.Route(sd_log_level_t.SD_LOG_WARN, "outer again", null);
        NativeCallScope.Route(sd_log_level_t.SD_LOG_INFO, "x.cpp:2 - outer info", null);
        Assert.Equal(["warning: outer warning", "warning: outer again"], outer.Problems);
        // Without an error line, the warnings are what the exception carries.
        Assert.Equal(["warning: outer warning", "warning: outer again"], outer.Failure("outer failed.").NativeLog);
        Assert.Equal(["outer info"], infos);

        // Another thread has no scope: its lines reach neither.
        var other = new Thread(() => NativeCallScope.Route(sd_log_level_t.SD_LOG_ERROR, "elsewhere", null));
        other.Start();
        other.Join();
        Assert.DoesNotContain(outer.Problems, l => l.Contains("elsewhere", StringComparison.Ordinal));
    }
}
