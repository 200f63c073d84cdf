using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace StableDiffusion.Native.Tests.Integration;

internal static class PixelAssert
{
    public static byte[] Bytes(Image<Rgb24> image)
    {
        var bytes = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(bytes);
        return bytes;
    }

    public static void Identical(Image<Rgb24> expected, Image<Rgb24> actual)
    {
        Assert.Equal(expected.Size(), actual.Size());
        Assert.True(Bytes(expected).AsSpan().SequenceEqual(Bytes(actual)), "pixels differ");
    }

    public static void Different(Image<Rgb24> a, Image<Rgb24> b)
    {
        if (a.Size() != b.Size()) return;
        Assert.False(Bytes(a).AsSpan().SequenceEqual(Bytes(b)), "images are identical");
    }
}
