using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace StableDiffusion.Native.Imaging;

/// <summary>
/// Reads the text chunks (tEXt, zTXt, iTXt) of a PNG without decoding a pixel: chunks are walked from the
/// signature up to the first IDAT, every length is bounded, and compressed text is inflated with a cap, so a
/// crafted file can neither exhaust memory nor make the reader run past its end.
/// </summary>
internal static class PngTextReader
{
    /// <summary>Largest text chunk read (A1111 parameters are a few KB; ComfyUI workflows can reach a few MB).</summary>
    internal const int MaxChunkBytes = 16 << 20;

    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The value of the first text chunk with <paramref name="keyword"/>, or null when there is none.</summary>
    /// <exception cref="InvalidDataException">The stream is not a PNG, or a chunk is malformed.</exception>
    public static string? Find(Stream stream, string keyword)
    {
        Span<byte> head = stackalloc byte[8];
        if (!TryFill(stream, head) || !head.SequenceEqual(Signature)) throw new InvalidDataException("Not a PNG file (bad signature).");
        while (true)
        {
            if (!TryFill(stream, head)) return null; // truncated after the last chunk we could read
            uint length = BinaryPrimitives.ReadUInt32BigEndian(head);
            string type = Encoding.ASCII.GetString(head[4..]);
            if (length > int.MaxValue) throw new InvalidDataException($"PNG chunk {Printable(type)} claims {length} bytes.");
            if (type is "IDAT" or "IEND") return null; // text after the pixels is not looked for
            bool isText = type is "tEXt" or "zTXt" or "iTXt";
            if (!isText || length > MaxChunkBytes)
            {
                Skip(stream, (long)length + 4);
                continue;
            }
            byte[] data = new byte[length];
            if (!TryFill(stream, data)) throw new InvalidDataException($"PNG chunk {type} is cut short.");
            Skip(stream, 4); // CRC
            if (Parse(type, data, keyword) is { } value) return value;
        }
    }

    private static string? Parse(string type, byte[] data, string keyword)
    {
        int nul = Array.IndexOf(data, (byte)0);
        if (nul <= 0) return null;
        if (Encoding.Latin1.GetString(data, 0, nul) != keyword) return null;
        var rest = data.AsSpan(nul + 1);
        switch (type)
        {
            case "tEXt":
                return Encoding.Latin1.GetString(rest);
            case "zTXt":
                return rest.Length < 1 || rest[0] != 0 ? null : Encoding.Latin1.GetString(Inflate(rest[1..]));
            default: // iTXt: compression flag, method, language NUL, translated keyword NUL, text
                if (rest.Length < 2) return null;
                bool compressed = rest[0] != 0;
                var tail = rest[2..];
                int lang = tail.IndexOf((byte)0);
                if (lang < 0) return null;
                tail = tail[(lang + 1)..];
                int translated = tail.IndexOf((byte)0);
                if (translated < 0) return null;
                tail = tail[(translated + 1)..];
                return Encoding.UTF8.GetString(compressed ? Inflate(tail) : tail);
        }
    }

    private static byte[] Inflate(ReadOnlySpan<byte> compressed)
    {
        using var input = new MemoryStream(compressed.ToArray());
        using var z = new ZLibStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        byte[] buffer = new byte[8192];
        int n;
        while ((n = z.Read(buffer)) > 0)
        {
            if (output.Length + n > MaxChunkBytes) throw new InvalidDataException($"A compressed PNG text chunk inflates past {MaxChunkBytes} bytes.");
            output.Write(buffer, 0, n);
        }
        return output.ToArray();
    }

    private static bool TryFill(Stream stream, Span<byte> buffer)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = stream.Read(buffer[read..]);
            if (n == 0) return false;
            read += n;
        }
        return true;
    }

    private static void Skip(Stream stream, long count)
    {
        if (stream.CanSeek)
        {
            // A chunk length can point far past the end; stop at the end instead of seeking there.
            stream.Seek(Math.Min(count, Math.Max(0, stream.Length - stream.Position)), SeekOrigin.Current);
            return;
        }
        Span<byte> sink = stackalloc byte[4096];
        while (count > 0)
        {
            int n = stream.Read(sink[..(int)Math.Min(count, sink.Length)]);
            if (n == 0) return;
            count -= n;
        }
    }

    private static string Printable(string type) => new(type.Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());
}
