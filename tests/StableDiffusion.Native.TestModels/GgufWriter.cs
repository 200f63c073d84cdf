using System.Buffers.Binary;
using System.Text;

namespace StableDiffusion.Native.TestModels;

/// <summary>
/// Writes little-endian GGUF (version 3 by default) files for tests: typed metadata, tensor infos with offsets
/// computed from the ggml block geometry, and tensor data padded to the alignment. Raw-value escape hatches
/// (<see cref="AddRaw"/>, explicit offsets) let tests craft malformed files too.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<(string Key, Action<BinaryWriter> Write)> _kvs = new();
    private readonly List<TensorEntry> _tensors = new();

    public uint Version { get; set; } = 3;

    /// <summary>The alignment used to lay out tensor data; written as <c>general.alignment</c> only if <see cref="WriteAlignmentKey"/>.</summary>
    public uint Alignment { get; set; } = 32;

    public bool WriteAlignmentKey { get; set; }

    public GgufWriter AddString(string key, string value) => AddRaw(key, 8, w => WriteString(w, value));

    public GgufWriter AddUInt32(string key, uint value) => AddRaw(key, 4, w => w.Write(value));

    public GgufWriter AddInt32(string key, int value) => AddRaw(key, 5, w => w.Write(value));

    public GgufWriter AddFloat32(string key, float value) => AddRaw(key, 6, w => w.Write(value));

    public GgufWriter AddBool(string key, bool value) => AddRaw(key, 7, w => w.Write((byte)(value ? 1 : 0)));

    public GgufWriter AddUInt64(string key, ulong value) => AddRaw(key, 10, w => w.Write(value));

    public GgufWriter AddStringArray(string key, IReadOnlyList<string> values) => AddRaw(key, 9, w =>
    {
        w.Write(8u);
        w.Write((ulong)values.Count);
        foreach (string v in values) WriteString(w, v);
    });

    public GgufWriter AddInt32Array(string key, IReadOnlyList<int> values) => AddRaw(key, 9, w =>
    {
        w.Write(5u);
        w.Write((ulong)values.Count);
        foreach (int v in values) w.Write(v);
    });

    /// <summary>Adds a key with an arbitrary type id and raw value bytes.</summary>
    public GgufWriter AddRaw(string key, uint type, Action<BinaryWriter> writeValue)
    {
        _kvs.Add((key, w => { WriteString(w, key); w.Write(type); writeValue(w); }));
        return this;
    }

    /// <summary>Adds a tensor. <paramref name="ne"/> is in ggml order; <paramref name="typeSize"/>/<paramref name="blockSize"/> give the type geometry.</summary>
    public GgufWriter AddTensor(string name, long[] ne, uint type, int blockSize, int typeSize, byte[]? data = null, ulong? offsetOverride = null)
    {
        long elements = ne.Aggregate(1L, (a, d) => a * d);
        long bytes = elements / blockSize * typeSize;
        _tensors.Add(new TensorEntry(name, ne, type, bytes, data, offsetOverride, null));
        return this;
    }

    /// <summary>Adds a tensor whose bytes a callback streams at write time, so large test models never sit in memory.</summary>
    public GgufWriter AddTensor(string name, long[] ne, uint type, int blockSize, int typeSize, Action<Stream> writeData)
    {
        ArgumentNullException.ThrowIfNull(writeData);
        long elements = ne.Aggregate(1L, (a, d) => a * d);
        _tensors.Add(new TensorEntry(name, ne, type, elements / blockSize * typeSize, null, null, writeData));
        return this;
    }

    /// <summary>Adds an F32 tensor (type 0) filled with <paramref name="fill"/>.</summary>
    public GgufWriter AddF32(string name, long[] ne, float fill = 0f)
    {
        long n = ne.Aggregate(1L, (a, d) => a * d);
        byte[] data = new byte[n * 4];
        for (long i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan((int)(i * 4)), fill);
        return AddTensor(name, ne, 0, 1, 4, data);
    }

    public byte[] ToArray()
    {
        using var ms = new MemoryStream();
        Write(ms);
        return ms.ToArray();
    }

    public void Write(Stream output)
    {
        using var w = new BinaryWriter(output, Encoding.UTF8, leaveOpen: true);
        w.Write("GGUF"u8);
        w.Write(Version);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)(_kvs.Count + (WriteAlignmentKey ? 1 : 0)));
        if (WriteAlignmentKey)
        {
            WriteString(w, "general.alignment");
            w.Write(4u);
            w.Write(Alignment);
        }
        foreach (var kv in _kvs) kv.Write(w);

        ulong offset = 0;
        var offsets = new List<ulong>();
        foreach (var t in _tensors)
        {
            WriteString(w, t.Name);
            w.Write((uint)t.Ne.Length);
            foreach (long d in t.Ne) w.Write(d);
            w.Write(t.Type);
            ulong o = t.OffsetOverride ?? offset;
            w.Write(o);
            offsets.Add(o);
            offset = Pad(o + (ulong)t.Bytes);
        }
        w.Flush();

        if (_tensors.Count == 0) return;
        long dataStart = (long)Pad((ulong)output.Position);
        WriteZeros(w, dataStart - output.Position);
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            long target = dataStart + (long)offsets[i];
            if (output.Position < target) WriteZeros(w, target - output.Position);
            if (output.Position != target) continue; // overlapping/crafted offsets: data already covered
            if (t.Data is not null)
            {
                w.Write(t.Data);
            }
            else if (t.WriteData is not null)
            {
                w.Flush();
                long before = output.Position;
                t.WriteData(output);
                if (output.Position - before != t.Bytes) throw new InvalidOperationException($"{t.Name}: wrote {output.Position - before} bytes, expected {t.Bytes}.");
            }
            else
            {
                WriteZeros(w, t.Bytes);
            }
            WriteZeros(w, (long)Pad((ulong)output.Position - (ulong)dataStart) - (output.Position - dataStart));
        }
        w.Flush();
    }

    private ulong Pad(ulong v) => (v + Alignment - 1) / Alignment * Alignment;

    private static void WriteZeros(BinaryWriter w, long count)
    {
        Span<byte> zero = stackalloc byte[4096];
        zero.Clear();
        while (count > 0)
        {
            int n = (int)Math.Min(count, zero.Length);
            w.Write(zero[..n]);
            count -= n;
        }
    }

    public static void WriteString(BinaryWriter w, string s)
    {
        byte[] b = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)b.Length);
        w.Write(b);
    }

    private sealed record TensorEntry(string Name, long[] Ne, uint Type, long Bytes, byte[]? Data, ulong? OffsetOverride, Action<Stream>? WriteData);
}
