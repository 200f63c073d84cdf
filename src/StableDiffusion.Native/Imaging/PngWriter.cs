using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace StableDiffusion.Native.Imaging;

/// <summary>
/// Writes 8-bit RGB and gray PNGs with text chunks through the .NET runtime's native zlib. ImageSharp 2.x
/// deflates in managed code, which made a 512×512 generated image take ~19 ms to save; this path takes a few.
/// </summary>
internal static class PngWriter
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static void Write(Stream output, ImageBuffer image, IEnumerable<KeyValuePair<string, string>> text)
    {
        WriteHeader(output, image);
        foreach (var (keyword, value) in text) WriteText(output, keyword, value);
        using (var idat = Compress(image)) WriteChunk(output, "IDAT"u8, idat.WrittenSpan);
        WriteEnd(output);
    }

    /// <summary>The signature and the IHDR chunk of an 8-bit RGB or gray PNG the size of <paramref name="image"/>.</summary>
    internal static void WriteHeader(Stream output, ImageBuffer image)
    {
        output.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, image.Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], image.Height);
        ihdr[8] = 8;  // bit depth
        ihdr[9] = image.BytesPerPixel == 3 ? (byte)2 : (byte)0;  // colour type: truecolour or greyscale
        ihdr[10] = ihdr[11] = ihdr[12] = 0; // deflate, adaptive filtering, no interlace
        WriteChunk(output, "IHDR"u8, ihdr);
    }

    /// <summary>The IEND chunk that closes every PNG.</summary>
    internal static void WriteEnd(Stream output) => WriteChunk(output, "IEND"u8, []);

    /// <summary>
    /// The image data of <paramref name="image"/> as one zlib stream (the payload of IDAT, or of fdAT after its
    /// sequence number); the caller disposes the buffer, which returns it to the pool.
    /// </summary>
    internal static PooledBufferStream Compress(ImageBuffer image)
    {
        // Rows filtered with "Sub" (cheap, and it helps real images compress), then one zlib stream.
        int stride = image.Stride, height = image.Height, bpp = image.BytesPerPixel;
        var idat = new PooledBufferStream(stride * height / 2 + 1024);
        try
        {
            using var z = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true);
            byte[] row = ArrayPool<byte>.Shared.Rent(stride + 1);
            try
            {
                for (int y = 0; y < height; y++)
                {
                    ReadOnlySpan<byte> src = image.GetRow(y);
                    Span<byte> dst = row.AsSpan(0, stride + 1);
                    dst[0] = 1; // Sub
                    src[..bpp].CopyTo(dst[1..]);
                    for (int i = bpp; i < stride; i++) dst[i + 1] = (byte)(src[i] - src[i - bpp]);
                    z.Write(dst);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(row);
            }
        }
        catch
        {
            idat.Dispose();
            throw;
        }
        return idat;
    }

    /// <summary>
    /// The text chunks of <paramref name="text"/>, materialised and checked before a byte is written, so that a bad
    /// keyword cannot leave a half-written file behind.
    /// </summary>
    /// <exception cref="ArgumentException">A keyword is not 1 to 79 printable Latin-1 characters.</exception>
    internal static List<KeyValuePair<string, string>> CheckText(IEnumerable<KeyValuePair<string, string>>? text, string parameterName)
    {
        var chunks = (text ?? []).ToList();
        foreach (var (keyword, value) in chunks)
        {
            // PNG keywords: 1-79 Latin-1 characters, printable, no leading, trailing or double spaces.
            if (string.IsNullOrEmpty(keyword) || keyword.Length > 79 || keyword.Any(c => c is < ' ' or > '~' and < '\u00a1' or > '\u00ff')
                || keyword.StartsWith(' ') || keyword.EndsWith(' ') || keyword.Contains("  ", StringComparison.Ordinal))
                throw new ArgumentException($"'{keyword}' is not a PNG text keyword (1-79 printable Latin-1 characters).", parameterName);
            if (value is null) throw new ArgumentException($"The text of PNG keyword '{keyword}' is null.", parameterName);
        }
        return chunks;
    }

    internal static void WriteText(Stream output, string keyword, string value)
    {
        bool latin1 = value.All(c => c <= 0xFF && c != 0) && keyword.All(c => c is >= (char)32 and <= (char)126);
        if (latin1)
        {
            // tEXt: keyword NUL text (Latin-1).
            byte[] data = new byte[keyword.Length + 1 + value.Length];
            Encoding.Latin1.GetBytes(keyword, data);
            Encoding.Latin1.GetBytes(value, data.AsSpan(keyword.Length + 1));
            WriteChunk(output, "tEXt"u8, data);
        }
        else
        {
            // iTXt: keyword NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, UTF-8 text.
            byte[] k = Encoding.Latin1.GetBytes(keyword);
            byte[] v = Encoding.UTF8.GetBytes(value);
            byte[] data = new byte[k.Length + 5 + v.Length];
            k.CopyTo(data, 0);
            v.CopyTo(data, k.Length + 5);
            WriteChunk(output, "iTXt"u8, data);
        }
    }

    internal static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data) => WriteChunk(output, type, [], data);

    /// <summary>A chunk whose data is <paramref name="prefix"/> then <paramref name="data"/> (APNG's sequence number, then its payload), without joining them first.</summary>
    internal static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, checked(prefix.Length + data.Length));
        type.CopyTo(header[4..]);
        output.Write(header);
        output.Write(prefix);
        output.Write(data);
        uint crc = Crc32.Update(Crc32.Update(Crc32.Update(0xFFFFFFFFu, type), prefix), data) ^ 0xFFFFFFFFu;
        Span<byte> trailer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(trailer, crc);
        output.Write(trailer);
    }

    /// <summary>PNG's CRC-32 (ISO 3309), slice-by-one over a 256-entry table.</summary>
    private static class Crc32
    {
        private static readonly uint[] s_table = CreateTable();

        private static uint[] CreateTable()
        {
            var table = new uint[256];
            for (uint n = 0; n < 256; n++)
            {
                uint c = n;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                table[n] = c;
            }
            return table;
        }

        public static uint Update(uint crc, ReadOnlySpan<byte> data)
        {
            foreach (byte b in data) crc = s_table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            return crc;
        }
    }

    /// <summary>A growable write buffer from the array pool (the IDAT payload before its length is known).</summary>
    internal sealed class PooledBufferStream(int initialCapacity) : Stream
    {
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 256));
        private int _length;

        public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_length + buffer.Length > _buffer.Length)
            {
                byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + buffer.Length));
                _buffer.AsSpan(0, _length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = bigger;
            }
            buffer.CopyTo(_buffer.AsSpan(_length));
            _length += buffer.Length;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && _buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = [];
            }
            base.Dispose(disposing);
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
