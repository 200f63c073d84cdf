using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace StableDiffusion.Native.TestModels;

/// <summary>
/// Streams a safetensors file: header first (offsets computed up front), then each tensor's bytes from a
/// callback, so multi-hundred-megabyte test models never sit in memory.
/// </summary>
public sealed class SafetensorsWriter
{
    private readonly List<Entry> _entries = new();

    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    public IReadOnlyList<Entry> Entries => _entries;

    public SafetensorsWriter Add(string name, string dtype, long[] shape, Action<Stream> writeData)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        long elements = 1;
        foreach (long d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d);
            elements = checked(elements * d);
        }
        long length = checked(elements * BytesPerElement(dtype));
        _entries.Add(new Entry(name, dtype, shape, length, writeData));
        return this;
    }

    public SafetensorsWriter Add(string name, string dtype, long[] shape, byte[] data)
    {
        Add(name, dtype, shape, s => s.Write(data));
        long expected = _entries[^1].Length;
        if (expected != data.Length)
        {
            _entries.RemoveAt(_entries.Count - 1);
            throw new ArgumentException($"{name}: {data.Length} bytes given, shape needs {expected}.", nameof(data));
        }
        return this;
    }

    /// <summary>Serializes the JSON header exactly as it will be written (space-padded to 8 bytes).</summary>
    public byte[] BuildHeader()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (Metadata.Count > 0)
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in Metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    w.WriteString(k, v);
                }
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var e in _entries)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", e.DType);
                w.WriteStartArray("shape");
                foreach (long d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + e.Length);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += e.Length;
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - ms.Length % 8) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    public void Write(Stream output)
    {
        byte[] header = BuildHeader();
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        output.Write(len);
        output.Write(header);
        foreach (var e in _entries)
        {
            long before = output.CanSeek ? output.Position : -1;
            e.WriteData(output);
            if (before >= 0 && output.Position - before != e.Length)
            {
                throw new InvalidOperationException($"{e.Name}: wrote {output.Position - before} bytes, expected {e.Length}.");
            }
        }
    }

    /// <summary>Writes to a temporary file beside <paramref name="path"/>, then renames, so readers never see half a file.</summary>
    public void WriteFile(string path)
    {
        string tmp = path + "." + Environment.ProcessId + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Write(fs);
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public static int BytesPerElement(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" or "F8_E4M3FNUZ" or "F8_E5M2FNUZ" => 1,
        _ => throw new ArgumentException($"Unsupported dtype '{dtype}' for the writer.", nameof(dtype)),
    };

    public sealed record Entry(string Name, string DType, long[] Shape, long Length, Action<Stream> WriteData);
}
