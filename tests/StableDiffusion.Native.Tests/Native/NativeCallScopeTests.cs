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
    public void Scopes_nest_per_thread_and_a_failure_prefers_error_lines()
    {
        using var outer = NativeCallScope.Enter();
        var failure = outer.Failure("it failed.");
        Assert.Empty(failure.NativeLog);
        Assert.Equal("it failed.", failure.Message);
    }
}
