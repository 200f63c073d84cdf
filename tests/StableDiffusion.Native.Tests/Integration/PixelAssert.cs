using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Tests.Integration;

internal static class PixelAssert
{
    public static byte[] Bytes(ImageBuffer image) => image.Pixels.ToArray();

    public static void Identical(ImageBuffer expected, ImageBuffer actual)
    {
        Assert.Equal((expected.Width, expected.Height, expected.Format), (actual.Width, actual.Height, actual.Format));
        Assert.True(Bytes(expected).AsSpan().SequenceEqual(Bytes(actual)), "pixels differ");
    }

    public static void Different(ImageBuffer a, ImageBuffer b)
    {
        if ((a.Width, a.Height) != (b.Width, b.Height)) return;
        Assert.False(Bytes(a).AsSpan().SequenceEqual(Bytes(b)), "images are identical");
    }
}
