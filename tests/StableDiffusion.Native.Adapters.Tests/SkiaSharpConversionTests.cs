using SkiaSharp;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.SkiaSharp;

namespace StableDiffusion.Native.Adapters.Tests;

public class SkiaSharpConversionTests
{
    [Fact]
    public void Rgb24_round_trip_is_byte_identical()
    {
        ImageBuffer original = TestImages.Pattern(PixelFormat.Rgb24, 37, 23);
        using SKBitmap bitmap = original.ToSKBitmap();
        Assert.Equal((37, 23), (bitmap.Width, bitmap.Height));
        Assert.Equal(SKColorType.Rgba8888, bitmap.ColorType);
        Assert.Equal(SKAlphaType.Opaque, bitmap.AlphaType);
        Assert.Equal(original, bitmap.ToImageBuffer());
    }

    [Fact]
    public void Gray8_round_trip_is_byte_identical()
    {
        ImageBuffer original = TestImages.Pattern(PixelFormat.Gray8, 41, 19);
        using SKBitmap bitmap = original.ToSKBitmap();
        SKColor pixel = bitmap.GetPixel(4, 3);
        byte gray = original.GetRow(3)[4];
        Assert.Equal(new SKColor(gray, gray, gray, 255), pixel);

        ImageBuffer back = bitmap.ToImageBufferMask();
        Assert.Equal(PixelFormat.Gray8, back.Format);
        Assert.Equal(original, back);
        Assert.Equal(original.ToRgb24(), bitmap.ToImageBuffer());
    }

    [Fact]
    public void A_Gray8_bitmap_is_copied_as_it_is()
    {
        ImageBuffer original = TestImages.Pattern(PixelFormat.Gray8, 17, 6);
        using var bitmap = new SKBitmap(new SKImageInfo(17, 6, SKColorType.Gray8, SKAlphaType.Opaque));
        for (int y = 0; y < 6; y++)
            original.GetRow(y).CopyTo(bitmap.GetPixelSpan().Slice(y * bitmap.RowBytes, 17));

        Assert.Equal(original, bitmap.ToImageBufferMask());
        Assert.Equal(original.ToRgb24(), bitmap.ToImageBuffer());
    }

    [Fact]
    public void Unpremultiplied_RGBA_drops_alpha_and_keeps_the_colour()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(2, 1, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        SetBytes(bitmap, [10, 20, 30, 0, 200, 100, 50, 128]);

        ImageBuffer rgb = bitmap.ToImageBuffer();
        Assert.Equal(new byte[] { 10, 20, 30, 200, 100, 50 }, rgb.Pixels.ToArray());
        Assert.Equal(rgb.ToGray8(), bitmap.ToImageBufferMask());
    }

    [Fact]
    public void Premultiplied_RGBA_is_unpremultiplied_before_alpha_is_dropped()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(3, 1, SKColorType.Rgba8888, SKAlphaType.Premul));
        // Half-transparent red, opaque blue, half-transparent white, stored premultiplied.
        SetBytes(bitmap, [128, 0, 0, 128, 0, 0, 255, 255, 128, 128, 128, 128]);

        byte[] rgb = bitmap.ToImageBuffer().Pixels.ToArray();
        Assert.InRange(rgb[0], 254, 255);
        Assert.Equal(new byte[] { 0, 0 }, rgb[1..3]);
        Assert.Equal(new byte[] { 0, 0, 255 }, rgb[3..6]);
        Assert.All(rgb[6..9], channel => Assert.InRange(channel, 254, 255));
    }

    [Fact]
    public void BGRA_bitmaps_convert_over_several_strips()
    {
        // 700 × 4 bytes a row: the 1 MiB conversion strip holds 374 rows, so 900 rows take three strips.
        const int width = 700, height = 900;
        ImageBuffer expected = TestImages.Pattern(PixelFormat.Rgb24, width, height);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Bgra8888, SKAlphaType.Premul));
        byte[] bgra = new byte[width * height * 4];
        ReadOnlySpan<byte> rgb = expected.Pixels.Span;
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            bgra[j] = rgb[i + 2];
            bgra[j + 1] = rgb[i + 1];
            bgra[j + 2] = rgb[i];
            bgra[j + 3] = 255;
        }
        SetBytes(bitmap, bgra);

        Assert.Equal(expected, bitmap.ToImageBuffer());
        Assert.Equal(expected.ToGray8(), bitmap.ToImageBufferMask());
    }

    [Fact]
    public void Other_colour_types_convert_through_Skia()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(2, 2, SKColorType.Rgb565, SKAlphaType.Opaque));
        bitmap.Erase(new SKColor(255, 0, 255));
        Assert.All(Chunk(bitmap.ToImageBuffer().Pixels.ToArray()), pixel => Assert.Equal(new byte[] { 255, 0, 255 }, pixel));
    }

    [Fact]
    public void Bitmaps_without_pixels_are_refused()
    {
        using var empty = new SKBitmap();
        Assert.Throws<ArgumentException>(() => empty.ToImageBuffer());
        Assert.Throws<ArgumentException>(() => empty.ToImageBufferMask());
        Assert.Throws<ArgumentNullException>(() => ((SKBitmap)null!).ToImageBuffer());
        Assert.Throws<ArgumentNullException>(() => ((SKBitmap)null!).ToImageBufferMask());
        Assert.Throws<ArgumentNullException>(() => ((ImageBuffer)null!).ToSKBitmap());
    }

    private static void SetBytes(SKBitmap bitmap, byte[] tightlyPacked)
    {
        int rowLength = bitmap.Width * bitmap.BytesPerPixel;
        Span<byte> pixels = bitmap.GetPixelSpan();
        for (int y = 0; y < bitmap.Height; y++)
            tightlyPacked.AsSpan(y * rowLength, rowLength).CopyTo(pixels.Slice(y * bitmap.RowBytes));
        bitmap.NotifyPixelsChanged();
    }

    private static IEnumerable<byte[]> Chunk(byte[] rgb) => rgb.Chunk(3);
}
