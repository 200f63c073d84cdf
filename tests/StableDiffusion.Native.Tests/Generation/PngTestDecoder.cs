using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace StableDiffusion.Native.Tests.Generation;

/// <summary>
/// A small PNG/APNG reader written from the specifications, independent of the library's writer: it splits a file into
/// chunks with their stored and recomputed CRCs, and decodes image data (inflate, then undo all five row filters).
/// ImageSharp 2.x knows no APNG, so frames after the first are checked with this.
/// </summary>
internal static class PngTestDecoder
{
    public static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public sealed record Chunk(string Type, byte[] Data, uint StoredCrc, uint ComputedCrc);

    /// <summary>Image header fields.</summary>
    public sealed record Header(int Width, int Height, int BitDepth, int ColourType, int Compression, int Filter, int Interlace)
    {
        public int Channels => ColourType switch { 0 => 1, 2 => 3, _ => throw new NotSupportedException($"colour type {ColourType}") };
    }

    /// <summary>An APNG frame control chunk.</summary>
    public sealed record FrameControl(int Sequence, int Width, int Height, int X, int Y, ushort DelayNumerator, ushort DelayDenominator, byte Dispose, byte Blend);

    public static List<Chunk> ReadChunks(byte[] file)
    {
        Assert.True(file.AsSpan(0, 8).SequenceEqual(Signature), "PNG signature");
        var chunks = new List<Chunk>();
        int at = 8;
        while (at < file.Length)
        {
            Assert.True(at + 12 <= file.Length, $"chunk header at {at} is cut short");
            int length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(at));
            Assert.InRange(length, 0, file.Length - at - 12);
            string type = Encoding.ASCII.GetString(file, at + 4, 4);
            byte[] data = file.AsSpan(at + 8, length).ToArray();
            uint stored = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at + 8 + length));
            chunks.Add(new Chunk(type, data, stored, Crc(file.AsSpan(at + 4, 4 + length))));
            at += 12 + length;
        }
        Assert.Equal(file.Length, at);
        return chunks;
    }

    public static Header ReadHeader(Chunk ihdr)
    {
        Assert.Equal("IHDR", ihdr.Type);
        Assert.Equal(13, ihdr.Data.Length);
        var d = ihdr.Data;
        return new Header(BinaryPrimitives.ReadInt32BigEndian(d), BinaryPrimitives.ReadInt32BigEndian(d.AsSpan(4)), d[8], d[9], d[10], d[11], d[12]);
    }

    public static FrameControl ReadFrameControl(Chunk fctl)
    {
        Assert.Equal("fcTL", fctl.Type);
        Assert.Equal(26, fctl.Data.Length);
        var d = fctl.Data.AsSpan();
        return new FrameControl(BinaryPrimitives.ReadInt32BigEndian(d), BinaryPrimitives.ReadInt32BigEndian(d[4..]), BinaryPrimitives.ReadInt32BigEndian(d[8..]),
            BinaryPrimitives.ReadInt32BigEndian(d[12..]), BinaryPrimitives.ReadInt32BigEndian(d[16..]),
            BinaryPrimitives.ReadUInt16BigEndian(d[20..]), BinaryPrimitives.ReadUInt16BigEndian(d[22..]), d[24], d[25]);
    }

    /// <summary>Inflates a zlib stream and undoes the row filters of an 8-bit, non-interlaced image.</summary>
    public static byte[] DecodePixels(byte[] zlib, int width, int height, int channels)
    {
        byte[] raw;
        using (var input = new MemoryStream(zlib))
        using (var z = new ZLibStream(input, CompressionMode.Decompress))
        using (var output = new MemoryStream())
        {
            z.CopyTo(output);
            raw = output.ToArray();
        }
        int stride = width * channels;
        Assert.Equal(height * (stride + 1), raw.Length);
        var pixels = new byte[height * stride];
        for (int y = 0; y < height; y++)
        {
            int filter = raw[y * (stride + 1)];
            var src = raw.AsSpan(y * (stride + 1) + 1, stride);
            var row = pixels.AsSpan(y * stride, stride);
            var above = y > 0 ? pixels.AsSpan((y - 1) * stride, stride) : new byte[stride];
            for (int i = 0; i < stride; i++)
            {
                int a = i >= channels ? row[i - channels] : 0, b = above[i], c = i >= channels ? above[i - channels] : 0;
                int predictor = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"row {y} has filter type {filter}"),
                };
                row[i] = (byte)(src[i] + predictor);
            }
        }
        return pixels;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>CRC-32 of ISO 3309 computed bit by bit (no table), so that it shares nothing with the writer's.</summary>
    public static uint Crc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }
}
