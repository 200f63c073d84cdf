using StableDiffusion.Native.ModelFiles;
using Xunit;

namespace StableDiffusion.Native.Tests.ModelFiles;

public class QuantizationTests
{
    [Theory]
    [InlineData(QuantizationType.F32, 0, "f32")]
    [InlineData(QuantizationType.F16, 1, "f16")]
    [InlineData(QuantizationType.Q4_0, 2, "q4_0")]
    [InlineData(QuantizationType.Q8_0, 8, "q8_0")]
    [InlineData(QuantizationType.Q4_K, 12, "q4_K")]
    [InlineData(QuantizationType.IQ4_XS, 23, "iq4_xs")]
    [InlineData(QuantizationType.I64, 27, "i64")]
    [InlineData(QuantizationType.BF16, 30, "bf16")]
    [InlineData(QuantizationType.TQ2_0, 35, "tq2_0")]
    [InlineData(QuantizationType.MXFP4, 39, "mxfp4")]
    [InlineData(QuantizationType.NVFP4, 40, "nvfp4")]
    [InlineData(QuantizationType.Q1_0, 41, "q1_0")]
    public void NamesAndValuesMirrorUpstream(QuantizationType type, int value, string name)
    {
        Assert.Equal(value, (int)type);
        Assert.Equal(name, QuantizationTypes.Name(type));
        Assert.True(QuantizationTypes.TryParse(name, out var parsed));
        Assert.Equal(type, parsed);
    }

    [Fact]
    public void EveryTypeRoundTripsAndHasGeometry()
    {
        foreach (QuantizationType t in QuantizationTypes.All)
        {
            Assert.Equal(t, QuantizationTypes.Parse(QuantizationTypes.Name(t)));
            Assert.True(QuantizationTypes.BitsPerWeight(t) > 0);
        }

        Assert.Equal(8.5, QuantizationTypes.BitsPerWeight(QuantizationType.Q8_0));
        Assert.Equal(4.5, QuantizationTypes.BitsPerWeight(QuantizationType.Q4_K));
        Assert.False(QuantizationTypes.TryParse("Q8_0", out _));
        Assert.False(QuantizationTypes.TryParse("q2_0", out _)); // ggml-only, no sd_type_t value
        Assert.Throws<ArgumentOutOfRangeException>(() => QuantizationTypes.Name((QuantizationType)4));
    }

    [Fact]
    public void RulesFormatAndParseRoundTrip()
    {
        var rules = new TensorTypeRules()
            .Add(@"^vae\.", QuantizationType.F16)
            .Add("attn[12]", QuantizationType.Q8_0)
            .Add(".*", QuantizationType.Q4_K);
        string text = rules.ToString();
        Assert.Equal(@"^vae\.=f16,attn[12]=q8_0,.*=q4_K", text);
        TensorTypeRules parsed = TensorTypeRules.Parse(text);
        Assert.Equal(rules.ToList(), parsed.ToList());
        Assert.Equal(text, parsed.ToString());
        Assert.True(parsed.TryMatch("vae.decoder.conv.weight", out var t) && t == QuantizationType.F16);
        Assert.True(parsed.TryMatch("x.attn1.to_q.weight", out t) && t == QuantizationType.Q8_0);
        Assert.Equal(2, TensorTypeRules.Parse("a=f32,,b=q8_0,").Count);
        Assert.Equal(string.Empty, new TensorTypeRules().ToString());
    }

    [Theory]
    [InlineData("a(b")]
    [InlineData("[z-a]")]
    [InlineData("a{1,2}")]
    [InlineData("a=b")]
    public void InvalidPatternsAreRejectedNamingThePattern(string pattern)
    {
        var ex = Assert.Throws<ArgumentException>(() => new TensorTypeRules().Add(pattern, QuantizationType.Q8_0));
        Assert.Contains(pattern, ex.Message);
        Assert.Equal("pattern", ex.ParamName);
    }

    [Theory]
    [InlineData("noequals")]
    [InlineData("a=q9_9")]
    [InlineData("a=Q8_0")]
    [InlineData("a=i32")]
    [InlineData("a(=q8_0")]
    public void MalformedRuleStringsAreRejected(string text)
        => Assert.Throws<FormatException>(() => TensorTypeRules.Parse(text));

    [Fact]
    public void TypesUpstreamCannotConvertToAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TensorTypeRules().Add("x", QuantizationType.Q8_K));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TensorTypeRules().Add("x", (QuantizationType)99));
        Assert.Throws<ArgumentNullException>(() => new TensorTypeRules().Add(null!, QuantizationType.F16));
    }
}
