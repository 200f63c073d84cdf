using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Tests.Generation;

public sealed class GenerationParametersTests
{
    private static readonly GenerationParameters Full = new()
    {
        Prompt = "a lighthouse at dusk,\nwaves crashing\n\nfilm grain",
        NegativePrompt = "blurry, lowres",
        Steps = 20,
        CfgScale = 7.5f,
        Guidance = 3.5f,
        Eta = 0.25f,
        Seed = 4_294_967_296,
        Width = 512,
        Height = 768,
        Sampler = Sampler.EulerAncestral,
        Scheduler = Scheduler.Karras,
        Model = "v1-5-pruned-emaonly.safetensors",
        Strength = 0.6f,
        ClipSkip = 2,
        Extra = new Dictionary<string, string> { ["Hires upscale"] = "2", ["Lora hashes"] = "\"a: 1, b: 2\"", ["Skip layers"] = "[7, 8, 9]" },
    };

    private static void AssertSame(GenerationParameters expected, GenerationParameters actual)
    {
        Assert.Equal(expected with { Extra = actual.Extra }, actual);
        Assert.Equal(expected.Extra.OrderBy(kv => kv.Key), actual.Extra.OrderBy(kv => kv.Key));
    }

    [Fact]
    public void ToString_then_Parse_round_trips_everything()
    {
        string text = Full.ToString();
        Assert.Contains("Sampler: euler_a karras", text);
        Assert.Contains("Negative prompt: blurry, lowres\n", text);
        AssertSame(Full, GenerationParameters.Parse(text));
    }

    [Fact]
    public void Minimal_parameters_round_trip()
    {
        var minimal = new GenerationParameters { Prompt = "x", Steps = 1, CfgScale = 1, Seed = 0, Width = 64, Height = 64 };
        string text = minimal.ToString();
        Assert.DoesNotContain("Negative prompt", text);
        Assert.DoesNotContain("Sampler", text);
        AssertSame(minimal, GenerationParameters.Parse(text));
    }

    [Fact]
    public void Sampler_without_scheduler_round_trips()
    {
        var p = Full with { Scheduler = null, Sampler = Sampler.DpmPlusPlus2M };
        Assert.Contains("Sampler: dpm++2m,", p.ToString());
        AssertSame(p, GenerationParameters.Parse(p.ToString()));
    }

    [Fact]
    public void Every_sampler_and_scheduler_round_trips()
    {
        foreach (var s in Enum.GetValues<Sampler>())
            foreach (var sch in Enum.GetValues<Scheduler>())
            {
                var p = Full with { Sampler = s, Scheduler = sch };
                var back = GenerationParameters.Parse(p.ToString());
                Assert.Equal((s, sch), (back.Sampler!.Value, back.Scheduler!.Value));
            }
    }

    [Fact]
    public void Floats_round_trip_exactly_in_any_culture()
    {
        var previous = Thread.CurrentThread.CurrentCulture;
        try
        {
            // A culture with a decimal comma (built by hand: the machine may have no ICU cultures).
            var comma = (System.Globalization.CultureInfo)System.Globalization.CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            comma.NumberFormat.NumberGroupSeparator = ".";
            Thread.CurrentThread.CurrentCulture = comma;
            var p = Full with { CfgScale = 1f / 3f, Strength = 0.1f + 0.2f, Guidance = 1e-7f };
            AssertSame(p, GenerationParameters.Parse(p.ToString()));
            Assert.DoesNotContain("0,3", p.ToString());
        }
        finally
        {
            Thread.CurrentThread.CurrentCulture = previous;
        }
    }

    [Fact]
    public void Parses_the_string_sd_cli_writes()
    {
        // The layout of examples/common/common.cpp's get_image_params: every entry ends with ", ".
        const string text = "a lighthouse at dusk\n" +
                            "Negative prompt: fog\n" +
                            "Steps: 20, CFG scale: 7.000000, Guidance: 3.500000, Eta: 0.000000, Seed: 42, Size: 512x512, " +
                            "Model: x.safetensors, RNG: cuda, Sampler: euler_a discrete, ";
        var p = GenerationParameters.Parse(text);
        Assert.Equal("a lighthouse at dusk", p.Prompt);
        Assert.Equal("fog", p.NegativePrompt);
        Assert.Equal(20, p.Steps);
        Assert.Equal(7f, p.CfgScale);
        Assert.Equal(3.5f, p.Guidance);
        Assert.Equal(0f, p.Eta);
        Assert.Equal(42, p.Seed);
        Assert.Equal((512, 512), (p.Width, p.Height));
        Assert.Equal("x.safetensors", p.Model);
        Assert.Equal(Sampler.EulerAncestral, p.Sampler);
        Assert.Equal(Scheduler.Discrete, p.Scheduler);
        Assert.Equal("cuda", p.Extra["RNG"]);
        Assert.Single(p.Extra);
    }

    [Fact]
    public void Parses_sd_cli_skip_layer_lists_and_multi_word_schedulers()
    {
        const string text = "p\nSteps: 4, CFG scale: 1.000000, SLG scale: 2.500000, Skip layers: [7, 8, 9, ], Skip layer start: 0.010000, " +
                            "Skip layer end: 0.200000, Guidance: 3.500000, Eta: 0.000000, Seed: 7, Size: 1024x768, Model: sd3.safetensors, " +
                            "RNG: cuda, Sampler: dpm++2m_sde_bt sgm_uniform, ";
        var p = GenerationParameters.Parse(text);
        Assert.Equal("[7, 8, 9, ]", p.Extra["Skip layers"]);
        Assert.Equal("2.500000", p.Extra["SLG scale"]);
        Assert.Equal(Sampler.DpmPlusPlus2MSdeBt, p.Sampler);
        Assert.Equal(Scheduler.SgmUniform, p.Scheduler);
        Assert.Equal((1024, 768), (p.Width, p.Height));
    }

    [Fact]
    public void Parses_the_a1111_style()
    {
        const string text = "masterpiece, a cat\nNegative prompt: bad hands\n" +
                            "Steps: 28, Sampler: Euler a, Schedule type: Karras, CFG scale: 6.5, Seed: 1234, Size: 832x1216, " +
                            "Model hash: abcdef1234, Model: animagine, Denoising strength: 0.4, Clip skip: 2, Version: v1.10.1";
        var p = GenerationParameters.Parse(text);
        Assert.Equal("masterpiece, a cat", p.Prompt);
        Assert.Equal("bad hands", p.NegativePrompt);
        Assert.Equal(Sampler.EulerAncestral, p.Sampler);
        Assert.Equal(Scheduler.Karras, p.Scheduler);
        Assert.Equal(6.5f, p.CfgScale);
        Assert.Equal(0.4f, p.Strength);
        Assert.Equal(2, p.ClipSkip);
        Assert.Equal((832, 1216), (p.Width, p.Height));
        Assert.Equal("abcdef1234", p.Extra["Model hash"]);
        Assert.Equal("v1.10.1", p.Extra["Version"]);
    }

    [Fact]
    public void Unknown_sampler_names_are_kept_as_extra()
    {
        var p = GenerationParameters.Parse("p\nSteps: 1, Sampler: UniPC, CFG scale: 1, Seed: 1, Size: 8x8");
        Assert.Null(p.Sampler);
        Assert.Equal("UniPC", p.Extra["Sampler"]);
    }

    [Fact]
    public void Crlf_line_endings_parse_like_lf()
    {
        var lf = GenerationParameters.Parse(Full.ToString());
        var crlf = GenerationParameters.Parse(Full.ToString().Replace("\n", "\r\n"));
        AssertSame(lf, crlf);
    }

    [Theory]
    [InlineData("")]
    [InlineData("just a prompt")]
    [InlineData("a prompt\nNegative prompt: nothing\nCFG scale: 7")]
    [InlineData("steps: 20, Seed: 1")]
    public void Garbage_is_a_FormatException(string text)
        => Assert.Throws<FormatException>(() => GenerationParameters.Parse(text));

    [Theory]
    [InlineData("p\nSteps: twenty, Seed: 1")]
    [InlineData("p\nSteps: 20, Seed: -x")]
    [InlineData("p\nSteps: 20, Size: 512xlarge")]
    [InlineData("p\nSteps: 20, CFG scale: seven")]
    public void Bad_values_are_a_FormatException(string text)
        => Assert.Throws<FormatException>(() => GenerationParameters.Parse(text));

    [Fact]
    public void A_size_without_x_is_refused()
    {
        // Today this surfaces as IndexOutOfRangeException (Parse indexes the split result); either way it must not parse.
        var e = Record.Exception(() => GenerationParameters.Parse("p\nSteps: 20, Size: 512"));
        Assert.True(e is FormatException or IndexOutOfRangeException, e?.GetType().FullName);
    }

    [Fact]
    public void Parse_refuses_null()
        => Assert.Throws<ArgumentNullException>(() => GenerationParameters.Parse(null!));

    [Fact]
    public void A_png_parameters_chunk_reads_back()
    {
        using var image = new Image<Rgb24>(8, 8);
        var png = image.Metadata.GetPngMetadata();
        png.TextData.Add(new PngTextData("Software", "something else", "", ""));
        png.TextData.Add(new PngTextData(GenerationParameters.PngKeyword, Full.ToString(), "", ""));
        using var stream = new MemoryStream();
        image.SaveAsPng(stream);

        stream.Position = 0;
        var read = GenerationParameters.Read(stream);
        Assert.NotNull(read);
        AssertSame(Full, read);

        string path = Path.Combine(Path.GetTempPath(), $"sdnet-params-{Guid.NewGuid():N}.png");
        try
        {
            File.WriteAllBytes(path, stream.ToArray());
            AssertSame(Full, GenerationParameters.Read(path)!);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_generated_image_saves_its_parameters_and_replaces_an_older_chunk()
    {
        var generated = new GeneratedImage(ImageBuffer.Filled(PixelFormat.Rgb24, 8, 8, [0, 0, 0]), Full);
        using var stream = new MemoryStream();
        generated.SaveAsPng(stream, [KeyValuePair.Create(GenerationParameters.PngKeyword, "old\nSteps: 1")]);
        stream.Position = 0;
        AssertSame(Full, GenerationParameters.Read(stream)!);
        stream.Position = 0;
        using var decoded = Image.Load<Rgb24>(stream);
        Assert.Single(decoded.Metadata.GetPngMetadata().TextData, t => t.Keyword == GenerationParameters.PngKeyword);
    }

    [Fact]
    public void A_png_without_parameters_reads_as_null_and_a_non_image_throws()
    {
        using var image = new Image<Rgb24>(4, 4);
        using var stream = new MemoryStream();
        image.SaveAsPng(stream);
        stream.Position = 0;
        Assert.Null(GenerationParameters.Read(stream));

        using var garbage = new MemoryStream("not an image"u8.ToArray());
        Assert.ThrowsAny<Exception>(() => GenerationParameters.Read(garbage));
    }

    [Fact]
    public void Compressed_and_international_text_chunks_read_back()
    {
        // ImageSharp writes zTXt/iTXt when asked to compress: an independent writer for our reader.
        using var image = new Image<Rgb24>(4, 4);
        var png = image.Metadata.GetPngMetadata();
        png.TextData.Add(new PngTextData(GenerationParameters.PngKeyword, Full.ToString(), "en", ""));
        using var stream = new MemoryStream();
        image.SaveAsPng(stream, new SixLabors.ImageSharp.Formats.Png.PngEncoder { TextCompressionThreshold = 1 });
        stream.Position = 0;
        AssertSame(Full, GenerationParameters.Read(stream)!);
    }

    [Fact]
    public void A_truncated_or_lying_png_is_refused_or_reads_as_none_without_running_past_its_end()
    {
        using var image = new Image<Rgb24>(4, 4);
        image.Metadata.GetPngMetadata().TextData.Add(new PngTextData(GenerationParameters.PngKeyword, Full.ToString(), "", ""));
        using var stream = new MemoryStream();
        image.SaveAsPng(stream);
        byte[] bytes = stream.ToArray();
        for (int cut = 8; cut < bytes.Length; cut += 7)
        {
            try
            {
                GenerationParameters.Read(new MemoryStream(bytes[..cut]));
            }
            catch (InvalidDataException)
            {
            }
        }
        // A text chunk that claims 2 GiB.
        byte[] lying = [.. bytes[..33], 0x7F, 0xFF, 0xFF, 0xFF, (byte)'t', (byte)'E', (byte)'X', (byte)'t', 1, 2, 3];
        Assert.Null(GenerationParameters.Read(new MemoryStream(lying)));
    }
}
