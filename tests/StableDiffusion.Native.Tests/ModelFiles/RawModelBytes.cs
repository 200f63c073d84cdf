using System.Buffers.Binary;
using System.Text;

namespace StableDiffusion.Native.Tests.ModelFiles;

/// <summary>Builds raw (possibly malformed) model file bytes in memory.</summary>
internal static class RawModelBytes
{
    /// <summary>8-byte length + header bytes + <paramref name="dataLength"/> zero bytes.</summary>
    public static byte[] Safetensors(byte[] header, long dataLength, ulong? declaredLength = null)
    {
        var bytes = new byte[8 + header.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        return bytes;
    }

    public static byte[] Safetensors(string header, long dataLength) => Safetensors(Encoding.UTF8.GetBytes(header), dataLength);

    /// <summary>A header of one F32 tensor "t" of <paramref name="n"/> elements plus its data.</summary>
    public static byte[] OneTensor(string dtype, string shape, string offsets, long dataLength)
        => Safetensors("{\"t\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}}", dataLength);

    /// <summary>A small valid header with metadata and two tensors (used by mutation tests).</summary>
    public static byte[] ValidSafetensors()
        => Safetensors("""{"__metadata__":{"format":"pt"},"a.weight":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},"b.bias":{"dtype":"F32","shape":[3],"data_offsets":[12,24]}}  """, 24);

    /// <summary>GGUF bytes built by hand: magic, version, counts, then <paramref name="body"/>.</summary>
    public static byte[] Gguf(uint version, ulong tensors, ulong kvs, Action<BinaryWriter> body, int trailingBytes = 0)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write("GGUF"u8);
            w.Write(version);
            w.Write(tensors);
            w.Write(kvs);
            body(w);
            w.Write(new byte[trailingBytes]);
        }

        return ms.ToArray();
    }

    public static void Str(BinaryWriter w, string s)
    {
        byte[] b = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)b.Length);
        w.Write(b);
    }

    /// <summary>Writes a tensor info.</summary>
    public static void TensorInfo(BinaryWriter w, string name, long[] ne, uint type, ulong offset)
    {
        Str(w, name);
        w.Write((uint)ne.Length);
        foreach (long d in ne)
        {
            w.Write(d);
        }

        w.Write(type);
        w.Write(offset);
    }

    /// <summary>A GGUF with no metadata and one F32 tensor of <paramref name="ne"/>, data laid out correctly.</summary>
    public static byte[] GgufOneTensor(long[] ne, uint type = 0, ulong offset = 0, long dataBytes = -1, string name = "t")
    {
        byte[] head = Gguf(3, 1, 0, w => TensorInfo(w, name, ne, type, offset));
        long start = (head.Length + 31) / 32 * 32;
        long n = dataBytes >= 0 ? dataBytes : ne.Aggregate(1L, (a, d) => a * d) * 4;
        var bytes = new byte[start + (long)Math.Min(offset, 1UL << 20) + n];
        head.CopyTo(bytes, 0);
        return bytes;
    }
}

/// <summary>A stream with a real prefix and a (possibly huge) zero-filled tail, without allocating the tail.</summary>
internal sealed class SparseStream(byte[] prefix, long length) : Stream
{
    private long position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position { get => this.position; set => this.position = value; }

    public override int Read(byte[] buffer, int offset, int count) => this.Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        long left = length - this.position;
        int n = (int)Math.Min(buffer.Length, Math.Max(0, left));
        for (int i = 0; i < n; i++)
        {
            long p = this.position + i;
            buffer[i] = p < prefix.Length ? prefix[p] : (byte)0;
        }

        this.position += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => this.position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => this.position + offset,
        _ => length + offset,
    };

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
