using StableDiffusion.Native.ModelFiles;
using Xunit;

namespace StableDiffusion.Native.Tests.ModelFiles;

public class DisplayTextTests
{
    [Theory]
    [InlineData(null, "")]
    [InlineData("", "")]
    [InlineData("model.diffusion_model.input_blocks.0.0.weight", "model.diffusion_model.input_blocks.0.0.weight")]
    [InlineData("ünïcödé 模型 😀", "ünïcödé 模型 😀")]
    [InlineData(@"C:\models\a.safetensors", @"C:\models\a.safetensors")]
    [InlineData("a\tb\rc\nd", @"a\tb\rc\nd")]
    [InlineData("\0\u0001\u001f\u007f", @"\x00\x01\x1f\x7f")]
    [InlineData("\u0085\u009b\u009d", @"\u0085\u009b\u009d")]
    [InlineData("line\u2028para\u2029", @"line\u2028para\u2029")]
    public void Escapes_controls_and_keeps_everything_else(string? text, string expected)
        => Assert.Equal(expected, DisplayText.Escape(text));

    [Fact]
    public void A_newline_cannot_fake_an_output_line()
    {
        string shown = DisplayText.Escape("x\nfamily: SDXL\r\nkind: Lora");
        Assert.Equal(@"x\nfamily: SDXL\r\nkind: Lora", shown);
        Assert.DoesNotContain('\n', shown);
        Assert.DoesNotContain('\r', shown);
    }

    [Theory]
    [InlineData("\u001b[31mred\u001b[0m", @"\x1b[31mred\x1b[0m")] // CSI: colours
    [InlineData("\u001b[2J\u001b[H", @"\x1b[2J\x1b[H")] // CSI: clear screen, cursor home
    [InlineData("\u001b]0;pwned\u0007", @"\x1b]0;pwned\x07")] // OSC: window title, BEL-terminated
    [InlineData("\u001b]8;;http://evil\u001b\\link\u001b]8;;\u001b\\", @"\x1b]8;;http://evil\x1b\link\x1b]8;;\x1b\")] // OSC 8 hyperlink, ST-terminated
    [InlineData("\u009b31m", @"\u009b31m")] // 8-bit CSI
    [InlineData("\u009d0;t\u009c", @"\u009d0;t\u009c")] // 8-bit OSC and ST
    public void Escape_sequences_are_shown_not_sent(string text, string expected)
    {
        string shown = DisplayText.Escape(text);
        Assert.Equal(expected, shown);
        Assert.All(shown, c => Assert.True(c >= ' ' && c != '\u007f' && c is not (>= '\u0080' and <= '\u009f'), $"U+{(int)c:X4}"));
    }

    [Theory]
    [InlineData("\u202a\u202b\u202c\u202d\u202e", @"\u202a\u202b\u202c\u202d\u202e")]
    [InlineData("\u2066\u2067\u2068\u2069", @"\u2066\u2067\u2068\u2069")]
    [InlineData("safe\u202egpj.exe", @"safe\u202egpj.exe")]
    public void Bidi_overrides_and_isolates_are_escaped(string text, string expected)
        => Assert.Equal(expected, DisplayText.Escape(text));

    [Fact]
    public void Lone_surrogates_are_escaped()
    {
        // Not [InlineData]: attribute strings are stored as UTF-8, which cannot hold a lone surrogate.
        Assert.Equal(@"\ud800", DisplayText.Escape("\ud800"));
        Assert.Equal(@"a\udc00b", DisplayText.Escape("a\udc00b"));
        Assert.Equal(@"\udc00\ud800", DisplayText.Escape("\udc00\ud800")); // a reversed pair is two lone surrogates
        Assert.Equal(@"x\ud83d", DisplayText.Escape("x\ud83d")); // a high surrogate at the end
        Assert.Equal(@"\ud83d…", DisplayText.Escape("\ud83d\ud83d\ud83d", 7));
    }

    [Fact]
    public void Shortening_ends_with_an_ellipsis_and_respects_the_limit()
    {
        Assert.Equal("abcdef", DisplayText.Escape("abcdef", 6));
        Assert.Equal("abcd…", DisplayText.Escape("abcdefg", 5));
        Assert.Equal("…", DisplayText.Escape("ab", 1));
        Assert.Equal("a", DisplayText.Escape("a", 1));
        string huge = new('x', 1_000_000);
        string shown = DisplayText.Escape(huge, 100);
        Assert.Equal(100, shown.Length);
        Assert.EndsWith("…", shown);
        Assert.Same(huge, DisplayText.Escape(huge, int.MaxValue));
    }

    [Fact]
    public void Shortening_never_splits_a_surrogate_pair()
    {
        // "ab" then U+1F600 as a pair: a 4-unit limit leaves room for 3 units before the ellipsis, which would
        // split the pair; it is dropped whole instead.
        Assert.Equal("ab…", DisplayText.Escape("ab😀cd", 4));
        Assert.Equal("ab😀…", DisplayText.Escape("ab😀cd", 5));
        for (int max = 1; max <= 12; max++)
        {
            string shown = DisplayText.Escape("😀😀😀😀😀😀", max);
            Assert.True(shown.Length <= max, $"{max}: {shown.Length}");
            for (int i = 0; i < shown.Length; i++)
            {
                Assert.False(char.IsHighSurrogate(shown[i]) && (i + 1 == shown.Length || !char.IsLowSurrogate(shown[i + 1])), $"{max}: split at {i}");
            }
        }
    }

    [Fact]
    public void Shortening_never_splits_an_escape()
    {
        Assert.Equal("abc…", DisplayText.Escape("abc\u001bdef", 6));
        Assert.Equal(@"abc\x1b…", DisplayText.Escape("abc\u001bdef", 8));
        Assert.Equal(@"\n\n\n…", DisplayText.Escape("\n\n\n\n\n", 8));
    }

    [Fact]
    public void Escaping_twice_changes_nothing()
    {
        string once = DisplayText.Escape("k\u001b]0;pwned\u0007\n\u202e\ud800😀", int.MaxValue);
        Assert.Equal(once, DisplayText.Escape(once, int.MaxValue));
    }

    [Fact]
    public void A_limit_below_one_is_refused()
        => Assert.Throws<ArgumentOutOfRangeException>(() => DisplayText.Escape("x", 0));
}
