using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Tests.Generation;

public sealed class PngWriterTests
{
    private static byte[] Noise(int w, int h, int seed)
    {
        var rgb = new byte[w * h * 3];
        new Random(seed).NextBytes(rgb);
        return rgb;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(64, 64)]
    [InlineData(67, 33)]
    [InlineData(512, 512)]
    public void Pixels_and_parameters_read_back_exactly(int w, int h)
    {
        byte[] rgb = Noise(w, h, w * 31 + h);
        var parameters = new GenerationParameters { Prompt = "a lighthouse", Steps = 3, CfgScale = 7, Seed = 9, Width = w, Height = h, Sampler = Sampler.Euler };
        var image = new GeneratedImage(ImageBuffer.FromPixels(PixelFormat.Rgb24, w, h, rgb), parameters);
        using var png = new MemoryStream();
        image.SaveAsPng(png);

        png.Position = 0;
        using var decoded = Image.Load<Rgb24>(png);
        var back = new byte[w * h * 3];
        decoded.CopyPixelDataTo(back);
        Assert.Equal(rgb, back);

        png.Position = 0;
        Assert.Equal(parameters, GenerationParameters.Read(png)! with { Extra = parameters.Extra });
    }

    [Fact]
    public void A_prompt_outside_latin1_is_written_as_utf8_and_other_text_chunks_are_kept()
    {
        var parameters = new GenerationParameters { Prompt = "灯台, 夕暮れ — «phare»", NegativePrompt = "ぼやけ", Steps = 1, Seed = 1, Width = 8, Height = 8 };
        var image = new GeneratedImage(ImageBuffer.FromPixels(PixelFormat.Rgb24, 8, 8, Noise(8, 8, 1)), parameters);
        using var png = new MemoryStream();
        image.SaveAsPng(png, [KeyValuePair.Create("Software", "my app"), KeyValuePair.Create(GenerationParameters.PngKeyword, "stale")]);

        png.Position = 0;
        var read = GenerationParameters.Read(png)!;
        Assert.Equal(parameters.Prompt, read.Prompt);
        Assert.Equal(parameters.NegativePrompt, read.NegativePrompt);
        png.Position = 0;
        var text = Image.Identify(png).Metadata.GetPngMetadata().TextData;
        Assert.Contains(text, t => t.Keyword == "Software" && t.Value == "my app");
        Assert.Single(text, t => t.Keyword == GenerationParameters.PngKeyword);
    }

    [Fact]
    public void A_gray_image_is_written_as_a_greyscale_png()
    {
        byte[] gray = Noise(13, 7, 3)[..(13 * 7)];
        var image = ImageBuffer.FromPixels(PixelFormat.Gray8, 13, 7, gray);
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        png.Position = 0;
        using var decoded = Image.Load<L8>(png);
        var back = new byte[13 * 7];
        decoded.CopyPixelDataTo(back);
        Assert.Equal(gray, back);
    }

    [Fact]
    public void A_keyword_that_is_not_a_png_keyword_is_refused()
    {
        var image = new GeneratedImage(ImageBuffer.Filled(PixelFormat.Rgb24, 2, 2, [1, 2, 3]), new GenerationParameters { Steps = 1 });
        Assert.Throws<ArgumentException>(() => image.SaveAsPng(Stream.Null, [KeyValuePair.Create("bad\nkey", "x")]));
        Assert.Throws<ArgumentException>(() => image.SaveAsPng(Stream.Null, [KeyValuePair.Create(new string('k', 80), "x")]));
    }
}
