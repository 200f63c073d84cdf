using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Adapters.Tests;

/// <summary>Deterministic test pictures and hand-made PNG files.</summary>
internal static class TestImages
{
    /// <summary>An image whose bytes run through all 256 values in an order that differs per channel and row.</summary>
    public static ImageBuffer Pattern(PixelFormat format, int width, int height)
        => ImageBuffer.Create(format, width, height, width, static (pixels, w) =>
        {
            for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 37 + i / (w * 3 + 1) * 11 + 5);
        });

    /// <summary>
    /// A tiny PNG whose IHDR claims <paramref name="width"/> × <paramref name="height"/> 8-bit RGB pixels, with valid
    /// chunk CRCs and a few bytes of compressed image data: a "decompression bomb" header that costs nothing to store.
    /// </summary>
    public static byte[] PngWithHeader(uint width, uint height)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);

        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(0), width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;  // bit depth
        ihdr[9] = 2;  // colour type: RGB
        // compression, filter and interlace methods: 0
        WriteChunk(png, "IHDR", ihdr);

        using (var zlib = new MemoryStream())
        {
            using (var deflate = new ZLibStream(zlib, CompressionLevel.SmallestSize, leaveOpen: true))
                deflate.Write(new byte[64]);
            WriteChunk(png, "IDAT", zlib.ToArray());
        }
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void WriteChunk(Stream png, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        png.Write(word);
        byte[] typeAndData = [.. Encoding.ASCII.GetBytes(type), .. data];
        png.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeAndData));
        png.Write(word);
    }

    /// <summary>The CRC-32 of PNG chunks (ISO 3309, polynomial 0xEDB88320).</summary>
    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}

/// <summary>A fresh folder under the system temp folder, deleted when the test ends.</summary>
public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("sdnet-adapters-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A read-only stream that cannot seek, as a network or pipe stream.</summary>
internal sealed class ForwardOnlyStream(Stream inner) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 1000));
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
}
