using System.Buffers;
using System.Buffers.Binary;

namespace StableDiffusion.Native.TestModels;

public static partial class TestModelFactory
{
    /// <summary>
    /// Like <see cref="GetOrCreate"/>, but writes a GGUF whose weight matrices are block-quantized
    /// (<paramref name="quant"/>: "Q4_0" or "Q8_0"): every 2-D tensor whose rows split into whole 32-value blocks.
    /// Everything else (norms, biases, convolutions, which upstream keeps in F16/F32 anyway) is F16. Quantized
    /// random weights cost a fraction of the bytes and of the time to make, which matters for the text encoders
    /// and transformers upstream insists on at full width.
    /// </summary>
    public static string GetOrCreateGguf(string key, Func<IEnumerable<TensorSpec>> layout, string quant, ulong seed)
    {
        var (type, blockBytes) = quant switch
        {
            "Q4_0" => (GgmlQ4_0, 18),
            "Q8_0" => (GgmlQ8_0, 34),
            _ => throw new ArgumentException($"Unsupported quantization '{quant}' (Q4_0 or Q8_0).", nameof(quant)),
        };
        string path = Path.Combine(CacheDirectory, $"{key}-v{LayoutVersion}.gguf");
        if (File.Exists(path)) return path;
        using var gate = new Mutex(false, "sdnet-test-models-" + key);
        gate.WaitOne();
        try
        {
            if (File.Exists(path)) return path;
            var writer = new GgufWriter { WriteAlignmentKey = true };
            writer.AddString("general.description", "StableDiffusion.Native.TestModels (random weights)");
            ulong s = seed;
            foreach (var t in layout())
            {
                ulong tensorSeed = ++s * 0x9E3779B97F4A7C15UL;
                float std = StdFor(t, loraScale: false);
                long[] ne = GgufNe(t);
                if (t.Shape.Length == 2 && !IsNormWeight(t) && t.Shape[1] % QuantBlock == 0)
                {
                    long blocks = t.Elements / QuantBlock;
                    writer.AddTensor(t.Name, ne, type, QuantBlock, blockBytes, stream => WriteRandomBlocks(stream, blocks, type, std, tensorSeed));
                }
                else
                {
                    float mean = t.Mean ?? (IsNormWeight(t) ? 1f : 0f);
                    writer.AddTensor(t.Name, ne, GgmlF16, 1, 2, stream => WriteRandom(stream, t.Elements, "F16", mean, std, tensorSeed));
                }
            }
            string tmp = path + "." + Environment.ProcessId + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
            try
            {
                using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
                {
                    writer.Write(fs);
                }
                File.Move(tmp, path, overwrite: true);
            }
            finally
            {
                if (File.Exists(tmp)) File.Delete(tmp);
            }
            return path;
        }
        finally
        {
            gate.ReleaseMutex();
        }
    }

    private const uint GgmlF16 = 1, GgmlQ4_0 = 2, GgmlQ8_0 = 8;
    private const int QuantBlock = 32;

    /// <summary>GGUF holds at most four dimensions in ggml order; a 3D conv's (out, in, t, h, w) becomes (w, h, t, in·out) as ggml sees it.</summary>
    private static long[] GgufNe(TensorSpec t)
    {
        long[] ne = t.Ne;
        if (ne.Length <= 4) return ne;
        long outer = 1;
        for (int i = 3; i < ne.Length; i++) outer *= ne[i];
        return [ne[0], ne[1], ne[2], outer];
    }

    /// <summary>
    /// Random quant blocks: uniform codes with a per-block scale of random sign, so that values have the requested
    /// standard deviation and the codes' off-centre mean (-½ step for Q4_0) cancels across blocks.
    /// </summary>
    private static void WriteRandomBlocks(Stream stream, long blocks, uint type, float std, ulong seed)
    {
        int blockBytes = type == GgmlQ4_0 ? 18 : 34;
        // Code spread: uniform on -8..7 has σ ≈ 4.61, on -128..127 σ ≈ 73.9.
        float step = std / (type == GgmlQ4_0 ? 4.61f : 73.9f);
        ushort plus = BitConverter.HalfToUInt16Bits((Half)step), minus = (ushort)(plus | 0x8000);
        ulong x = seed | 1;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(blockBytes * 4096);
        try
        {
            while (blocks > 0)
            {
                int n = (int)Math.Min(4096, blocks);
                for (int b = 0; b < n; b++)
                {
                    Span<byte> block = buffer.AsSpan(b * blockBytes, blockBytes);
                    ulong r = NextBits(ref x);
                    BinaryPrimitives.WriteUInt16LittleEndian(block, (r & 1) == 0 ? plus : minus);
                    Span<byte> codes = block[2..];
                    for (int i = 0; i < codes.Length; i += 8)
                    {
                        r = NextBits(ref x);
                        int len = Math.Min(8, codes.Length - i);
                        for (int k = 0; k < len; k++) codes[i + k] = (byte)(r >> (8 * k));
                    }
                }
                stream.Write(buffer, 0, n * blockBytes);
                blocks -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>xorshift64*: 64 random bits.</summary>
    private static ulong NextBits(ref ulong x)
    {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        return x * 2685821657736338717UL;
    }
}
