using System.Buffers.Binary;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Native.Imaging;
using static StableDiffusion.Native.Tests.Generation.PngTestDecoder;

namespace StableDiffusion.Native.Tests.Generation;

public sealed class AnimatedPngWriterTests
{
    internal static ImageBuffer Noise(PixelFormat format, int w, int h, int seed)
    {
        var pixels = new byte[w * h * (int)format];
        new Random(seed).NextBytes(pixels);
        return ImageBuffer.FromPixels(format, w, h, pixels);
    }

    private static byte[] Encode(IReadOnlyList<ImageBuffer> frames, double fps, int plays = 0, IEnumerable<KeyValuePair<string, string>>? text = null)
    {
        using var stream = new MemoryStream();
        AnimatedPngWriter.Write(frames, stream, fps, plays, text);
        return stream.ToArray();
    }

    [Theory]
    [InlineData(PixelFormat.Rgb24, 7, 5, 3)]
    [InlineData(PixelFormat.Rgb24, 64, 48, 5)]
    [InlineData(PixelFormat.Gray8, 13, 9, 4)]
    [InlineData(PixelFormat.Rgb24, 1, 1, 2)]
    public void Every_chunk_field_sequence_number_crc_and_pixel_reads_back(PixelFormat format, int w, int h, int count)
    {
        var frames = Enumerable.Range(0, count).Select(i => Noise(format, w, h, i * 101 + w)).ToArray();
        byte[] file = Encode(frames, 24, text: [KeyValuePair.Create("Software", "tests")]);
        var chunks = ReadChunks(file);

        foreach (var chunk in chunks) Assert.True(chunk.StoredCrc == chunk.ComputedCrc, $"CRC of {chunk.Type}");
        // IHDR, acTL, text, then fcTL+IDAT for frame 0 and fcTL+fdAT for each further frame, IEND.
        var expectedOrder = new List<string> { "IHDR", "acTL", "tEXt", "fcTL", "IDAT" };
        for (int i = 1; i < count; i++) expectedOrder.AddRange(["fcTL", "fdAT"]);
        expectedOrder.Add("IEND");
        Assert.Equal(expectedOrder, chunks.Select(c => c.Type));

        var header = ReadHeader(chunks[0]);
        Assert.Equal(new Header(w, h, 8, format == PixelFormat.Rgb24 ? 2 : 0, 0, 0, 0), header);
        Assert.Equal(8, chunks[1].Data.Length);
        Assert.Equal(count, BinaryPrimitives.ReadInt32BigEndian(chunks[1].Data));       // num_frames
        Assert.Equal(0, BinaryPrimitives.ReadInt32BigEndian(chunks[1].Data.AsSpan(4))); // num_plays: forever
        Assert.Equal("Software\0tests", Encoding.Latin1.GetString(chunks[2].Data));
        Assert.Empty(chunks[^1].Data);

        // fcTL and fdAT share one sequence: 0, 1, 2, … with no gap or repeat, in file order.
        var sequenced = chunks.Where(c => c.Type is "fcTL" or "fdAT").ToList();
        Assert.Equal(Enumerable.Range(0, 2 * count - 1), sequenced.Select(c => BinaryPrimitives.ReadInt32BigEndian(c.Data)));

        int frame = 0;
        for (int i = 0; i < chunks.Count; i++)
        {
            if (chunks[i].Type != "fcTL") continue;
            var control = ReadFrameControl(chunks[i]);
            Assert.Equal(new FrameControl(control.Sequence, w, h, 0, 0, 1, 24, 0, 0), control);
            var data = chunks[i + 1];
            byte[] zlib = data.Type == "IDAT" ? data.Data : data.Data[4..];
            Assert.Equal(frame == 0 ? "IDAT" : "fdAT", data.Type);
            Assert.Equal(frames[frame].Pixels.ToArray(), DecodePixels(zlib, w, h, header.Channels));
            frame++;
        }
        Assert.Equal(count, frame);
    }

    [Fact]
    public void The_play_count_and_a_fractional_rate_are_written()
    {
        var frames = new[] { Noise(PixelFormat.Gray8, 4, 4, 1), Noise(PixelFormat.Gray8, 4, 4, 2) };
        var chunks = ReadChunks(Encode(frames, 29.97, plays: 3));
        Assert.Equal(3, BinaryPrimitives.ReadInt32BigEndian(chunks.Single(c => c.Type == "acTL").Data.AsSpan(4)));
        Assert.All(chunks.Where(c => c.Type == "fcTL").Select(ReadFrameControl), c => Assert.Equal((100, 2997), (c.DelayNumerator, c.DelayDenominator)));
    }

    [Fact]
    public void A_single_frame_is_an_animation_of_one_frame_without_fdAT()
    {
        var chunks = ReadChunks(Encode([Noise(PixelFormat.Rgb24, 3, 2, 7)], 8));
        Assert.Equal(["IHDR", "acTL", "fcTL", "IDAT", "IEND"], chunks.Select(c => c.Type));
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(chunks[1].Data));
    }

    [Fact]
    public void A_decoder_without_apng_support_shows_the_first_frame()
    {
        var frames = new[] { Noise(PixelFormat.Rgb24, 33, 17, 1), Noise(PixelFormat.Rgb24, 33, 17, 2) };
        using var decoded = Image.Load<Rgb24>(Encode(frames, 12));
        var pixels = new byte[33 * 17 * 3];
        decoded.CopyPixelDataTo(pixels);
        Assert.Equal(frames[0].Pixels.ToArray(), pixels);
    }

    [Fact]
    public void Embedded_generation_parameters_read_back()
    {
        var parameters = new GenerationParameters { Prompt = "a lighthouse, waves — 灯台", Steps = 4, Seed = 42, Width = 8, Height = 8, CfgScale = 6 };
        byte[] file = Encode([Noise(PixelFormat.Rgb24, 8, 8, 1), Noise(PixelFormat.Rgb24, 8, 8, 2)], 16,
            text: [KeyValuePair.Create(GenerationParameters.PngKeyword, parameters.ToString())]);
        var read = GenerationParameters.Read(new MemoryStream(file));
        Assert.NotNull(read);
        Assert.Equal(parameters, read with { Extra = parameters.Extra });
        Assert.Contains(ReadChunks(file), c => c.Type == "iTXt"); // not Latin-1, so UTF-8
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(24, 1, 24)]
    [InlineData(30, 1, 30)]
    [InlineData(65535, 1, 65535)]
    [InlineData(0.5, 2, 1)]
    [InlineData(0.001, 1000, 1)]
    [InlineData(1000, 1, 1000)]
    [InlineData(29.97, 100, 2997)]
    [InlineData(30000.0 / 1001, 1001, 30000)]
    [InlineData(24000.0 / 1001, 1001, 24000)]
    [InlineData(2.5, 2, 5)]
    public void The_delay_is_the_exact_fraction_when_one_fits(double fps, int numerator, int denominator)
        => Assert.Equal(((ushort)numerator, (ushort)denominator), AnimatedPngWriter.Delay(fps));

    [Fact]
    public void The_delay_is_the_best_16_bit_fraction_for_any_rate()
    {
        var random = new Random(5);
        double[] rates = [Math.PI, Math.E * 10, 1 / Math.PI, 999.999, 0.0011, 59.94, 7.123456789, .. Enumerable.Range(0, 20).Select(_ => Math.Exp(random.NextDouble() * 13.8 - 6.9))];
        foreach (double fps in rates)
        {
            double x = 1 / fps;
            var (num, den) = AnimatedPngWriter.Delay(fps);
            Assert.InRange(num, 1, 65535);
            Assert.InRange(den, 1, 65535);
            // Brute force over every denominator: no 16-bit fraction is closer.
            double best = double.MaxValue;
            for (int q = 1; q <= 65535; q++)
            {
                double p = Math.Clamp(Math.Round(x * q), 1, 65535);
                best = Math.Min(best, Math.Abs(x - p / q));
            }
            Assert.True(Math.Abs(x - (double)num / den) <= best * (1 + 1e-9), $"fps {fps}: {num}/{den} is off by {Math.Abs(x - (double)num / den)}, the best by {best}");
        }
    }

    [Fact]
    public void Bad_arguments_are_refused_before_a_byte_is_written()
    {
        var a = Noise(PixelFormat.Rgb24, 4, 4, 1);
        var stream = new MemoryStream();
        Assert.Throws<ArgumentNullException>(() => AnimatedPngWriter.Write(null!, stream, 10));
        Assert.Throws<ArgumentNullException>(() => AnimatedPngWriter.Write([a], null!, 10));
        Assert.Throws<ArgumentException>(() => AnimatedPngWriter.Write([], stream, 10));
        Assert.Throws<ArgumentException>(() => AnimatedPngWriter.Write([a, null!], stream, 10));
        Assert.Throws<ArgumentException>(() => AnimatedPngWriter.Write([a, Noise(PixelFormat.Rgb24, 4, 5, 1)], stream, 10));
        Assert.Throws<ArgumentException>(() => AnimatedPngWriter.Write([a, Noise(PixelFormat.Gray8, 4, 4, 1)], stream, 10));
        foreach (double fps in new[] { 0, -1, double.NaN, double.PositiveInfinity, 0.0009, 1000.5 })
            Assert.Throws<ArgumentOutOfRangeException>(() => AnimatedPngWriter.Write([a], stream, fps));
        Assert.Throws<ArgumentOutOfRangeException>(() => AnimatedPngWriter.Write([a], stream, 10, plays: -1));
        Assert.Throws<ArgumentException>(() => AnimatedPngWriter.Write([a], stream, 10, text: [KeyValuePair.Create("bad\nkey", "x")]));
        Assert.Equal(0, stream.Length);

        string dir = Directory.CreateTempSubdirectory("sdnet-apng-").FullName;
        try
        {
            string path = Path.Combine(dir, "clip.png");
            Assert.Throws<ArgumentException>(() => AnimatedPngWriter.WriteFile([a, Noise(PixelFormat.Rgb24, 5, 4, 1)], path, 10));
            Assert.False(File.Exists(path));
            AnimatedPngWriter.WriteFile([a, a], path, 10);
            Assert.Equal(Encode([a, a], 10), File.ReadAllBytes(path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
