using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;
using SkiaSharp;
using StableDiffusion.Native.ImageSharp;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.SkiaSharp;

namespace StableDiffusion.Native.Adapters.Tests;

/// <summary>The two loaders share one contract, so every test runs against both.</summary>
public sealed class LoaderTests : IDisposable
{
    public sealed record Loader(
        string Name,
        Func<string, ImageBuffer> LoadRgb,
        Func<Stream, ImageBuffer> LoadRgbStream,
        Func<string, ImageBuffer> LoadMask,
        Func<Stream, ImageBuffer> LoadMaskStream,
        int MaxDimension,
        long MaxPixels)
    {
        public override string ToString() => Name;
    }

    private static readonly Loader ImageSharp = new("ImageSharp",
        ImageSharpLoader.LoadRgb, ImageSharpLoader.LoadRgb, ImageSharpLoader.LoadMask, ImageSharpLoader.LoadMask,
        ImageSharpLoader.MaxDimension, ImageSharpLoader.MaxPixels);

    private static readonly Loader Skia = new("SkiaSharp",
        SkiaSharpLoader.LoadRgb, SkiaSharpLoader.LoadRgb, SkiaSharpLoader.LoadMask, SkiaSharpLoader.LoadMask,
        SkiaSharpLoader.MaxDimension, SkiaSharpLoader.MaxPixels);

    public static TheoryData<string> Loaders => new() { "ImageSharp", "SkiaSharp" };

    private static Loader Get(string name) => name == "ImageSharp" ? ImageSharp : Skia;

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Loading_through_the_ImageSharp_loader_leaves_the_applications_default_decoders_alone()
    {
        string path = Path.Combine(_temp.Path, "plain.png");
        using (var image = new Image<Rgb24>(4, 4)) image.SaveAsPng(path);
        ImageSharpLoader.LoadRgb(path);
        // The loader drops metadata and later frames for itself only; an app's own ImageSharp calls keep them.
        var formats = Configuration.Default.ImageFormatsManager;
        Assert.False(Assert.IsType<SixLabors.ImageSharp.Formats.Png.PngDecoder>(formats.FindDecoder(SixLabors.ImageSharp.Formats.Png.PngFormat.Instance)).IgnoreMetadata);
        Assert.False(Assert.IsType<SixLabors.ImageSharp.Formats.Jpeg.JpegDecoder>(formats.FindDecoder(SixLabors.ImageSharp.Formats.Jpeg.JpegFormat.Instance)).IgnoreMetadata);
        Assert.Equal(SixLabors.ImageSharp.Metadata.FrameDecodingMode.All,
            Assert.IsType<SixLabors.ImageSharp.Formats.Gif.GifDecoder>(formats.FindDecoder(SixLabors.ImageSharp.Formats.Gif.GifFormat.Instance)).DecodingMode);
    }

    [Fact]
    public void Both_loaders_have_the_documented_limits()
    {
        Assert.Equal(8192, ImageSharpLoader.MaxDimension);
        Assert.Equal(8192L * 8192, ImageSharpLoader.MaxPixels);
        Assert.Equal(ImageSharpLoader.MaxDimension, SkiaSharpLoader.MaxDimension);
        Assert.Equal(ImageSharpLoader.MaxPixels, SkiaSharpLoader.MaxPixels);
    }

    [Theory, MemberData(nameof(Loaders))]
    public void Loads_a_PNG_written_by_ImageSharp(string loader)
    {
        ImageBuffer original = TestImages.Pattern(PixelFormat.Rgb24, 45, 31);
        string path = _temp.File("imagesharp.png");
        using (Image<Rgb24> image = original.ToImageSharp()) image.SaveAsPng(path);

        Assert.Equal(original, Get(loader).LoadRgb(path));
        Assert.Equal(original.ToGray8(), Get(loader).LoadMask(path));
    }

    [Theory, MemberData(nameof(Loaders))]
    public void Loads_a_PNG_written_by_SkiaSharp(string loader)
    {
        ImageBuffer original = TestImages.Pattern(PixelFormat.Rgb24, 45, 31);
        string path = _temp.File("skia.png");
        using (SKBitmap bitmap = original.ToSKBitmap())
        using (SKData png = bitmap.Encode(SKEncodedImageFormat.Png, 100))
            File.WriteAllBytes(path, png.ToArray());

        Assert.Equal(original, Get(loader).LoadRgb(path));
    }

    [Theory, MemberData(nameof(Loaders))]
    public void A_gray_PNG_loads_exactly_as_a_mask_and_expanded_as_RGB(string loader)
    {
        ImageBuffer mask = TestImages.Pattern(PixelFormat.Gray8, 33, 17);
        string path = _temp.File("mask.png");
        using (Image<L8> image = mask.ToImageSharpMask()) image.SaveAsPng(path);

        Assert.Equal(mask, Get(loader).LoadMask(path));
        Assert.Equal(mask.ToRgb24(), Get(loader).LoadRgb(path));
    }

    [Fact]
    public void Both_loaders_give_the_same_bytes_for_a_PNG_with_alpha()
    {
        using var image = new Image<Rgba32>(20, 10);
        for (int y = 0; y < 10; y++)
            for (int x = 0; x < 20; x++)
                image[x, y] = new Rgba32((byte)(x * 12), (byte)(y * 25), (byte)(x * y), (byte)(x * 13));
        string path = _temp.File("alpha.png");
        image.SaveAsPng(path);

        ImageBuffer bySharp = ImageSharpLoader.LoadRgb(path), bySkia = SkiaSharpLoader.LoadRgb(path);
        Assert.Equal(bySharp, bySkia);
        Assert.Equal(new byte[] { 12 * 3, 25 * 2, 6 }, bySharp.GetRow(2)[9..12].ToArray());
        Assert.Equal(ImageSharpLoader.LoadMask(path), SkiaSharpLoader.LoadMask(path));
    }

    [Theory, MemberData(nameof(Loaders))]
    public void Loads_a_large_PNG(string loader)
    {
        ImageBuffer original = TestImages.Pattern(PixelFormat.Rgb24, 700, 900);
        string path = _temp.File("large.png");
        using (Image<Rgb24> image = original.ToImageSharp()) image.SaveAsPng(path);

        Assert.Equal(original, Get(loader).LoadRgb(path));
    }

    [Theory, MemberData(nameof(Loaders))]
    public void Loads_lossless_WebP_and_BMP(string loader)
    {
        // Skia decodes these whole rather than in strips (WebP has no scanline decoder; BMP stores rows bottom-up).
        ImageBuffer original = TestImages.Pattern(PixelFormat.Rgb24, 29, 21);
        string webp = _temp.File("lossless.webp"), bmp = _temp.File("image.bmp");
        using (Image<Rgb24> image = original.ToImageSharp())
        {
            image.Save(webp, new WebpEncoder { FileFormat = WebpFileFormatType.Lossless });
            image.Save(bmp, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel24 });
        }

        Assert.Equal(original, Get(loader).LoadRgb(webp));
        Assert.Equal(original, Get(loader).LoadRgb(bmp));
        Assert.Equal(original.ToGray8(), Get(loader).LoadMask(bmp));
    }

    [Theory, MemberData(nameof(Loaders))]
    public void Loads_a_JPEG(string loader)
    {
        ImageBuffer flat = ImageBuffer.Filled(PixelFormat.Rgb24, 32, 24, [200, 60, 30]);
        string path = _temp.File("photo.jpg");
        using (Image<Rgb24> image = flat.ToImageSharp()) image.SaveAsJpeg(path);

        ImageBuffer loaded = Get(loader).LoadRgb(path);
        Assert.Equal((32, 24, PixelFormat.Rgb24), (loaded.Width, loaded.Height, loaded.Format));
        Assert.All(loaded.Pixels.ToArray().Chunk(3), pixel =>
        {
            Assert.InRange(pixel[0], 190, 210);
            Assert.InRange(pixel[1], 50, 70);
            Assert.InRange(pixel[2], 20, 40);
        });
    }

    [Fact]
    public void SkiaSharp_decodes_a_large_JPEG_strip_by_strip_as_Skia_decodes_it_whole()
    {
        // 700 × 4 bytes a row: the 1 MiB strip holds 374 rows, so 900 rows take three strips.
        ImageBuffer original = TestImages.Pattern(PixelFormat.Rgb24, 700, 900);
        string path = _temp.File("large.jpg");
        using (Image<Rgb24> image = original.ToImageSharp()) image.SaveAsJpeg(path);

        using SKBitmap whole = SKBitmap.Decode(path);
        Assert.Equal(whole.ToImageBuffer(), SkiaSharpLoader.LoadRgb(path));
        Assert.Equal(whole.ToImageBufferMask(), SkiaSharpLoader.LoadMask(path));
    }

    [Theory, MemberData(nameof(Loaders))]
    public void A_truncated_PNG_or_WebP_is_refused(string loader)
    {
        ImageBuffer original = TestImages.Pattern(PixelFormat.Rgb24, 64, 64);
        using Image<Rgb24> image = original.ToImageSharp();
        foreach ((string name, Action<Stream> save) in new (string, Action<Stream>)[]
        {
            ("cut.png", s => image.SaveAsPng(s)),
            ("cut.webp", s => image.Save(s, new WebpEncoder { FileFormat = WebpFileFormatType.Lossless })),
        })
        {
            using var encoded = new MemoryStream();
            save(encoded);
            string path = _temp.File(name);
            File.WriteAllBytes(path, encoded.ToArray()[..(int)(encoded.Length * 3 / 4)]);

            var e = Assert.Throws<ArgumentException>(() => Get(loader).LoadRgb(path));
            Assert.Contains(path, e.Message);
            Assert.Equal("path", e.ParamName);
        }
    }

    [Fact]
    public void SkiaSharp_refuses_a_truncated_JPEG_rather_than_filling_in_rows()
    {
        ImageBuffer original = TestImages.Pattern(PixelFormat.Rgb24, 64, 64);
        using var encoded = new MemoryStream();
        using (Image<Rgb24> image = original.ToImageSharp()) image.SaveAsJpeg(encoded);
        string path = _temp.File("cut.jpg");
        File.WriteAllBytes(path, encoded.ToArray()[..(int)(encoded.Length / 2)]);

        var e = Assert.Throws<ArgumentException>(() => SkiaSharpLoader.LoadRgb(path));
        Assert.Contains(path, e.Message);
    }

    [Theory, MemberData(nameof(Loaders))]
    public void Streams_are_read_from_their_position_even_when_they_cannot_seek(string loader)
    {
        ImageBuffer original = TestImages.Pattern(PixelFormat.Rgb24, 26, 14);
        byte[] png;
        using (var encoded = new MemoryStream())
        {
            using (Image<Rgb24> image = original.ToImageSharp()) image.SaveAsPng(encoded);
            png = encoded.ToArray();
        }

        using (var atStart = new MemoryStream(png))
        {
            Assert.Equal(original, Get(loader).LoadRgbStream(atStart));
            Assert.True(atStart.CanRead, "the caller's stream is left open");
        }

        byte[] prefixed = [.. new byte[100], .. png];
        using (var afterPrefix = new MemoryStream(prefixed) { Position = 100 })
            Assert.Equal(original, Get(loader).LoadRgbStream(afterPrefix));

        using (var forwardOnly = new ForwardOnlyStream(new MemoryStream(png)))
            Assert.Equal(original.ToGray8(), Get(loader).LoadMaskStream(forwardOnly));
    }

    [Theory, MemberData(nameof(Loaders))]
    public void A_header_claiming_100000_by_100000_is_refused_before_decoding(string loader)
    {
        string path = _temp.File("bomb.png");
        File.WriteAllBytes(path, TestImages.PngWithHeader(100_000, 100_000));
        Loader l = Get(loader);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var rgb = Assert.Throws<ArgumentException>(() => l.LoadRgb(path));
        var mask = Assert.Throws<ArgumentException>(() => l.LoadMask(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        foreach (ArgumentException e in new[] { rgb, mask })
        {
            Assert.Contains("100000x100000", e.Message);
            Assert.Contains(path, e.Message);
            Assert.Contains("8192x8192", e.Message); // refused by the header check, not by the decoder running out of memory
            Assert.Equal("path", e.ParamName);
        }
        // 10^10 pixels would be 30 GB of RGB; refusing from the header costs almost nothing.
        Assert.True(allocated < 16 << 20, $"{allocated} bytes were allocated");

        using var stream = new MemoryStream(TestImages.PngWithHeader(100_000, 100_000));
        var fromStream = Assert.Throws<ArgumentException>(() => l.LoadRgbStream(stream));
        Assert.Contains("100000x100000", fromStream.Message);
        Assert.Equal("stream", fromStream.ParamName);
    }

    [Fact]
    public void Both_loaders_refuse_a_bomb_with_the_same_message()
    {
        string path = _temp.File("bomb.png");
        File.WriteAllBytes(path, TestImages.PngWithHeader(100_000, 100_000));
        Assert.Equal(
            Assert.Throws<ArgumentException>(() => ImageSharpLoader.LoadRgb(path)).Message,
            Assert.Throws<ArgumentException>(() => SkiaSharpLoader.LoadRgb(path)).Message);
    }

    [Theory, MemberData(nameof(Loaders))]
    public void One_side_over_the_limit_is_refused_even_when_the_pixel_count_is_small(string loader)
    {
        string path = _temp.File("wide.png");
        File.WriteAllBytes(path, TestImages.PngWithHeader(8193, 1));
        var e = Assert.Throws<ArgumentException>(() => Get(loader).LoadRgb(path));
        Assert.Contains("8193x1", e.Message);
    }

    [Theory, MemberData(nameof(Loaders))]
    public void A_file_that_is_no_image_is_refused(string loader)
    {
        string path = _temp.File("notes.png");
        File.WriteAllText(path, "These are not the pixels you are looking for.");

        var rgb = Assert.Throws<ArgumentException>(() => Get(loader).LoadRgb(path));
        Assert.Contains(path, rgb.Message);
        Assert.Throws<ArgumentException>(() => Get(loader).LoadMask(path));
        Assert.Throws<ArgumentException>(() => Get(loader).LoadRgbStream(new MemoryStream([1, 2, 3])));
        Assert.Throws<ArgumentException>(() => Get(loader).LoadRgbStream(new MemoryStream()));
    }

    [Theory, MemberData(nameof(Loaders))]
    public void A_corrupt_header_is_refused(string loader)
    {
        byte[] png = TestImages.PngWithHeader(16, 16);
        png[20] ^= 0xFF; // inside IHDR: the CRC no longer matches
        string path = _temp.File("corrupt.png");
        File.WriteAllBytes(path, png);

        var e = Assert.Throws<ArgumentException>(() => Get(loader).LoadRgb(path));
        Assert.Contains(path, e.Message);
    }

    [Theory, MemberData(nameof(Loaders))]
    public void A_missing_file_is_an_ArgumentException_with_FileNotFound_inside(string loader)
    {
        foreach (string path in new[] { _temp.File("missing.png"), _temp.File(Path.Combine("no-such-folder", "missing.png")) })
        {
            var rgb = Assert.Throws<ArgumentException>(() => Get(loader).LoadRgb(path));
            Assert.IsType<FileNotFoundException>(rgb.InnerException);
            Assert.Contains(path, rgb.Message);
            var mask = Assert.Throws<ArgumentException>(() => Get(loader).LoadMask(path));
            Assert.IsType<FileNotFoundException>(mask.InnerException);
        }

        var folder = Assert.Throws<ArgumentException>(() => Get(loader).LoadRgb(_temp.Path));
        Assert.IsType<FileNotFoundException>(folder.InnerException);
    }

    [Theory, MemberData(nameof(Loaders))]
    public void Bad_arguments_are_refused(string loader)
    {
        Assert.Throws<ArgumentNullException>(() => Get(loader).LoadRgb(null!));
        Assert.Throws<ArgumentNullException>(() => Get(loader).LoadMaskStream(null!));
        Assert.Throws<ArgumentException>(() => Get(loader).LoadRgb(" "));
        using var writeOnly = new FileStream(_temp.File("write-only"), FileMode.Create, FileAccess.Write);
        Assert.Throws<ArgumentException>(() => Get(loader).LoadRgbStream(writeOnly));
        var disposed = new MemoryStream(TestImages.PngWithHeader(4, 4));
        disposed.Dispose();
        Assert.Throws<ArgumentException>(() => Get(loader).LoadRgbStream(disposed));
    }
}
