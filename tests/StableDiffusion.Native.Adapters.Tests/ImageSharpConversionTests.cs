using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Native.ImageSharp;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Adapters.Tests;

public class ImageSharpConversionTests
{
    [Fact]
    public void Rgb24_round_trip_is_byte_identical()
    {
        ImageBuffer original = TestImages.Pattern(PixelFormat.Rgb24, 37, 23);
        using Image<Rgb24> image = original.ToImageSharp();
        Assert.Equal((37, 23), (image.Width, image.Height));
        Assert.Equal(original, image.ToImageBuffer());
    }

    [Fact]
    public void Gray8_round_trip_is_byte_identical()
    {
        ImageBuffer original = TestImages.Pattern(PixelFormat.Gray8, 41, 19);
        using Image<L8> mask = original.ToImageSharpMask();
        ImageBuffer back = mask.ToImageBuffer();
        Assert.Equal(PixelFormat.Gray8, back.Format);
        Assert.Equal(original, back);
    }

    [Fact]
    public void Gray8_becomes_gray_RGB_and_RGB_becomes_the_cores_luma()
    {
        ImageBuffer gray = TestImages.Pattern(PixelFormat.Gray8, 13, 7);
        using (Image<Rgb24> expanded = gray.ToImageSharp())
        {
            Assert.Equal(gray.ToRgb24(), expanded.ToImageBuffer());
            Assert.Equal(new Rgb24(gray.GetRow(2)[5], gray.GetRow(2)[5], gray.GetRow(2)[5]), expanded[5, 2]);
        }

        ImageBuffer rgb = TestImages.Pattern(PixelFormat.Rgb24, 13, 7);
        using Image<L8> luma = rgb.ToImageSharpMask();
        Assert.Equal(rgb.ToGray8(), luma.ToImageBuffer());
    }

    [Fact]
    public void Any_pixel_type_converts_to_RGB_dropping_alpha()
    {
        using var rgba = new Image<Rgba32>(3, 2);
        rgba[0, 0] = new Rgba32(10, 20, 30, 0);
        rgba[2, 1] = new Rgba32(200, 100, 50, 128);
        Image untyped = rgba;

        ImageBuffer buffer = untyped.ToImageBuffer();
        Assert.Equal(PixelFormat.Rgb24, buffer.Format);
        Assert.Equal(new byte[] { 10, 20, 30 }, buffer.GetRow(0)[..3].ToArray());
        Assert.Equal(new byte[] { 200, 100, 50 }, buffer.GetRow(1)[6..9].ToArray());

        ImageBuffer mask = untyped.ToImageBufferMask();
        Assert.Equal(PixelFormat.Gray8, mask.Format);
        Assert.Equal(buffer.ToGray8(), mask);
    }

    [Fact]
    public void An_L8_image_typed_as_Image_gives_RGB_or_with_the_mask_method_gray()
    {
        ImageBuffer gray = TestImages.Pattern(PixelFormat.Gray8, 9, 5);
        using Image<L8> image = gray.ToImageSharpMask();
        Image untyped = image;

        Assert.Equal(gray.ToRgb24(), untyped.ToImageBuffer());
        Assert.Equal(gray, untyped.ToImageBufferMask());
        Assert.Equal(gray, image.ToImageBuffer());
    }

    [Fact]
    public void Rgb24_typed_as_Image_is_copied_as_it_is()
    {
        ImageBuffer original = TestImages.Pattern(PixelFormat.Rgb24, 8, 8);
        using Image image = original.ToImageSharp();
        Assert.Equal(original, image.ToImageBuffer());
        Assert.Equal(original.ToGray8(), image.ToImageBufferMask());
    }

    [Fact]
    public void Nulls_are_refused()
    {
        Assert.Throws<ArgumentNullException>(() => ((Image<Rgb24>)null!).ToImageBuffer());
        Assert.Throws<ArgumentNullException>(() => ((Image<L8>)null!).ToImageBuffer());
        Assert.Throws<ArgumentNullException>(() => ((Image)null!).ToImageBuffer());
        Assert.Throws<ArgumentNullException>(() => ((Image)null!).ToImageBufferMask());
        Assert.Throws<ArgumentNullException>(() => ((ImageBuffer)null!).ToImageSharp());
        Assert.Throws<ArgumentNullException>(() => ((ImageBuffer)null!).ToImageSharpMask());
    }
}
