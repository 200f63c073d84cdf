using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Tests.ModelFiles;

/// <summary>
/// Tensor type rules reach libstdc++'s std::regex, which terminates the process on a pattern it cannot compile and
/// backtracks without end on nested repetition: only a subset both engines read alike, and that stays polynomial, is
/// accepted.
/// </summary>
public sealed class TensorTypeRuleSubsetTests
{
    [Theory]
    [InlineData("attn")]
    [InlineData(@"^model\.diffusion_model\..*\.attn[12]\.to_[qkv]\.weight$")]
    [InlineData(@"(?:ff|attn)\.net")]
    [InlineData(@"(proj_in|proj_out)")]
    [InlineData(@"blocks\.\d+\.")]
    [InlineData(@"\bfoo[\w.-]{2}$")]
    [InlineData(@"[a-z0-9_]+\.bias")]
    [InlineData(@"x{3}y?z*?")]
    [InlineData(@"[\]\\]")]
    public void Patterns_in_the_subset_are_accepted(string pattern)
        => Assert.Single(new TensorTypeRules().Add(pattern, QuantizationType.Q8_0));

    [Theory]
    [InlineData("(a+)+b", "repeated again")]
    [InlineData("(a|aa)*b", "repeated again")]
    [InlineData("((ab)*c)*", "repeated again")]
    [InlineData(".*.*.*x", "more than 2 unbounded")]
    [InlineData(@"(a)\1", "escape")]
    [InlineData("(?!a)b", "look-arounds")]
    [InlineData("(?<n>a)", "look-arounds")]
    [InlineData(@"\p{L}", "escape")]
    [InlineData(@"\x41", "escape")]
    [InlineData("[[:alpha:]]", "POSIX")]
    [InlineData("[]a]", "empty bracket")]
    [InlineData(@"[\d-z]", "range")]
    [InlineData("a{101}", "above 100")]
    [InlineData("a{", "not closed")]
    [InlineData("*a", "repeats nothing")]
    [InlineData("^*", "repeats nothing")]
    [InlineData("a)", "unmatched")]
    [InlineData("(a", "unclosed")]
    [InlineData("é", "ASCII")]
    [InlineData("a\tb", "ASCII")]
    [InlineData("", "empty")]
    public void Patterns_outside_the_subset_are_refused_saying_why(string pattern, string why)
    {
        var e = Assert.Throws<ArgumentException>(() => new TensorTypeRules().Add(pattern, QuantizationType.Q8_0));
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
        Assert.Equal("pattern", e.ParamName);
    }

    [Fact]
    public void Length_and_count_are_bounded()
    {
        Assert.Single(new TensorTypeRules().Add(new string('a', TensorTypeRules.MaxPatternLength), QuantizationType.F16));
        Assert.Throws<ArgumentException>(() => new TensorTypeRules().Add(new string('a', TensorTypeRules.MaxPatternLength + 1), QuantizationType.F16));
        var rules = new TensorTypeRules();
        for (int i = 0; i < TensorTypeRules.MaxRules; i++) rules.Add("r" + i, QuantizationType.F16);
        Assert.Throws<ArgumentException>(() => rules.Add("one-more", QuantizationType.F16));
        Assert.Throws<FormatException>(() => TensorTypeRules.Parse(string.Join(',', Enumerable.Range(0, TensorTypeRules.MaxRules + 1).Select(i => $"r{i}=f16"))));
    }
}
