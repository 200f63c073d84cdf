using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Advanced;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Native.Adapters;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.ImageSharp;

/// <summary>
/// Converts between SixLabors.ImageSharp images and <see cref="ImageBuffer"/>, the pixel type of the
/// StableDiffusion.Native API. Pixels are copied row by row in bulk; the result never shares memory with the source.
/// Only the first (root) frame of a multi-frame image is converted.
/// </summary>
public static class ImageSharpExtensions
{
    /// <summary>Copies the pixels of an RGB image into a new <see cref="PixelFormat.Rgb24"/> buffer.</summary>
    /// <param name="image">The image; its root frame is copied.</param>
    /// <returns>An <see cref="PixelFormat.Rgb24"/> buffer of the image's size.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// The image is wider or taller than <see cref="ImageBuffer.MaxDimension"/>.
    /// </exception>
    /// <exception cref="ObjectDisposedException"><paramref name="image"/> has been disposed.</exception>
    public static ImageBuffer ToImageBuffer(this Image<Rgb24> image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return ImageBuffer.Create(PixelFormat.Rgb24, image.Width, image.Height, image,
            static (pixels, source) => source.CopyPixelDataTo(pixels));
    }

    /// <summary>Copies the pixels of an 8-bit gray image into a new <see cref="PixelFormat.Gray8"/> buffer.</summary>
    /// <remarks>
    /// Overload resolution picks this method only where the static type is <c>Image&lt;L8&gt;</c>; the same image
    /// typed as <see cref="Image"/> goes to <see cref="ToImageBuffer(Image)"/>, which gives RGB. Use
    /// <see cref="ToImageBufferMask(Image)"/> for gray whatever the static type.
    /// </remarks>
    /// <param name="image">The image; its root frame is copied.</param>
    /// <returns>A <see cref="PixelFormat.Gray8"/> buffer of the image's size.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// The image is wider or taller than <see cref="ImageBuffer.MaxDimension"/>.
    /// </exception>
    /// <exception cref="ObjectDisposedException"><paramref name="image"/> has been disposed.</exception>
    public static ImageBuffer ToImageBuffer(this Image<L8> image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return ImageBuffer.Create(PixelFormat.Gray8, image.Width, image.Height, image,
            static (pixels, source) => source.CopyPixelDataTo(pixels));
    }

    /// <summary>
    /// Converts an image of any pixel type into a new <see cref="PixelFormat.Rgb24"/> buffer: always RGB, also
    /// for a gray image (gray is copied to all three channels). Alpha is dropped, not composited: a transparent
    /// pixel keeps the colour it stores.
    /// </summary>
    /// <param name="image">The image; its root frame is converted.</param>
    /// <returns>An <see cref="PixelFormat.Rgb24"/> buffer of the image's size.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// The image is wider or taller than <see cref="ImageBuffer.MaxDimension"/>.
    /// </exception>
    /// <exception cref="ObjectDisposedException"><paramref name="image"/> has been disposed.</exception>
    public static ImageBuffer ToImageBuffer(this Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image is Image<Rgb24> rgb) return rgb.ToImageBuffer();
        var visitor = new ConvertVisitor(PixelFormat.Rgb24);
        image.AcceptVisitor(visitor);
        return visitor.Result!;
    }

    /// <summary>
    /// Converts an image of any pixel type into a new <see cref="PixelFormat.Gray8"/> buffer, for use as a mask
    /// (white repaints, black keeps). An <c>Image&lt;L8&gt;</c> is copied as it is; colour becomes ITU-R BT.601
    /// luma, the same values as <see cref="ImageBuffer.ToGray8"/>. Alpha is dropped.
    /// </summary>
    /// <param name="image">The image; its root frame is converted.</param>
    /// <returns>A <see cref="PixelFormat.Gray8"/> buffer of the image's size.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// The image is wider or taller than <see cref="ImageBuffer.MaxDimension"/>.
    /// </exception>
    /// <exception cref="ObjectDisposedException"><paramref name="image"/> has been disposed.</exception>
    public static ImageBuffer ToImageBufferMask(this Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image is Image<L8> gray) return gray.ToImageBuffer();
        var visitor = new ConvertVisitor(PixelFormat.Gray8);
        image.AcceptVisitor(visitor);
        return visitor.Result!;
    }

    /// <summary>
    /// Copies a buffer into a new ImageSharp RGB image; a <see cref="PixelFormat.Gray8"/> buffer is expanded
    /// (gray copied to all three channels).
    /// </summary>
    /// <param name="image">The buffer to copy.</param>
    /// <returns>A new image of the buffer's size, which the caller disposes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is null.</exception>
    public static Image<Rgb24> ToImageSharp(this ImageBuffer image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Format == PixelFormat.Rgb24)
            return Image.LoadPixelData<Rgb24>(image.Pixels.Span, image.Width, image.Height);

        var result = new Image<Rgb24>(image.Width, image.Height);
        Configuration configuration = result.GetConfiguration();
        for (int y = 0; y < image.Height; y++)
            PixelOperations<Rgb24>.Instance.FromL8Bytes(configuration, image.GetRow(y), result.DangerousGetPixelRowMemory(y).Span, image.Width);
        return result;
    }

    /// <summary>
    /// Copies a buffer into a new ImageSharp 8-bit gray image, for use as a mask; an
    /// <see cref="PixelFormat.Rgb24"/> buffer becomes ITU-R BT.601 luma (the values of
    /// <see cref="ImageBuffer.ToGray8"/>).
    /// </summary>
    /// <param name="image">The buffer to copy.</param>
    /// <returns>A new image of the buffer's size, which the caller disposes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is null.</exception>
    public static Image<L8> ToImageSharpMask(this ImageBuffer image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Format == PixelFormat.Gray8)
            return Image.LoadPixelData<L8>(image.Pixels.Span, image.Width, image.Height);

        var result = new Image<L8>(image.Width, image.Height);
        for (int y = 0; y < image.Height; y++)
            LoaderGuard.RgbToGray(image.GetRow(y), System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.DangerousGetPixelRowMemory(y).Span));
        return result;
    }

    /// <summary>Converts the root frame of an image of any pixel type, row by row with ImageSharp's bulk pixel operations.</summary>
    private sealed class ConvertVisitor(PixelFormat format) : IImageVisitor
    {
        public ImageBuffer? Result { get; private set; }

        public void Visit<TPixel>(Image<TPixel> image) where TPixel : unmanaged, IPixel<TPixel>
            => Result = ImageBuffer.Create(format, image.Width, image.Height, image, format == PixelFormat.Rgb24 ? ToRgb<TPixel> : ToGray<TPixel>);

        private static void ToRgb<TPixel>(Span<byte> pixels, Image<TPixel> image) where TPixel : unmanaged, IPixel<TPixel>
        {
            Configuration configuration = image.GetConfiguration();
            int stride = image.Width * 3;
            for (int y = 0; y < image.Height; y++)
                PixelOperations<TPixel>.Instance.ToRgb24Bytes(configuration, image.DangerousGetPixelRowMemory(y).Span, pixels.Slice(y * stride, stride), image.Width);
        }

        private static void ToGray<TPixel>(Span<byte> pixels, Image<TPixel> image) where TPixel : unmanaged, IPixel<TPixel>
        {
            Configuration configuration = image.GetConfiguration();
            int width = image.Width;
            byte[] row = new byte[width * 3];
            for (int y = 0; y < image.Height; y++)
            {
                PixelOperations<TPixel>.Instance.ToRgb24Bytes(configuration, image.DangerousGetPixelRowMemory(y).Span, row, width);
                LoaderGuard.RgbToGray(row, pixels.Slice(y * width, width));
            }
        }
    }
}
