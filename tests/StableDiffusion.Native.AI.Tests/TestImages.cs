using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.AI.Tests;

internal static class TestImages
{
    /// <summary>A horizontal-and-vertical gradient, so a resize or a lost row shows.</summary>
    public static ImageBuffer Gradient(int width, int height)
        => ImageBuffer.Create(PixelFormat.Rgb24, width, height, (width, height), static (pixels, size) =>
        {
            for (int y = 0; y < size.height; y++)
            {
                for (int x = 0; x < size.width; x++)
                {
                    int i = (y * size.width + x) * 3;
                    pixels[i] = (byte)(x * 255 / Math.Max(1, size.width - 1));
                    pixels[i + 1] = (byte)(y * 255 / Math.Max(1, size.height - 1));
                    pixels[i + 2] = 90;
                }
            }
        });

    public static byte[] Png(ImageBuffer image)
    {
        using var stream = new MemoryStream();
        image.SaveAsPng(stream);
        return stream.ToArray();
    }
}
