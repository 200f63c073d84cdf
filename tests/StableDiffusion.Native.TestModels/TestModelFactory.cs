using System.Buffers;
using System.Runtime.InteropServices;

namespace StableDiffusion.Native.TestModels;

/// <summary>
/// Synthesizes random-weight models in the real tensor layout. Weights are scaled like a trained network's
/// (1/sqrt(fan-in), unit norms) so activations stay finite and generation runs end to end; images are noise.
/// Files are cached under a temp folder keyed by everything that shapes their content.
/// </summary>
public static partial class TestModelFactory
{
    private const int LayoutVersion = 1;

    public static string CacheDirectory
    {
        get
        {
            string dir = Environment.GetEnvironmentVariable("SDNET_TEST_MODELS")
                         ?? Path.Combine(Path.GetTempPath(), "sdnet-test-models");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    /// <summary>
    /// An SD1.x checkpoint (CLIP + UNet + VAE). 32 channels ≈ 340 MB at F16; 320 is the full-size UNet. The VAE decoder is
    /// full size with a full-size UNet (what the benchmarks time) and otherwise the narrowest: at 128 channels it costs
    /// more than the rest of a small test generation together, and what the tests assert does not depend on its width.
    /// </summary>
    /// <param name="vaeDecoderChannels">The decoder's width; null for the rule above.</param>
    public static string Sd1(int unetChannels = 32, string dtype = "F16", int inChannels = 4, ulong seed = 1, int? vaeDecoderChannels = null)
    {
        int decoder = vaeDecoderChannels ?? (unetChannels == Sd1Layout.FullUnetChannels ? VaeLayout.EncoderChannels : VaeLayout.SmallestDecoderChannels);
        string d = decoder == VaeLayout.EncoderChannels ? "" : $"-d{decoder}";
        return GetOrCreate($"sd1-c{unetChannels}{d}-in{inChannels}-{dtype}-s{seed}", () => Sd1Layout.Checkpoint(unetChannels, inChannels, decoder), dtype, seed);
    }

    /// <summary>A LoRA for the tiny SD1 UNet (kohya naming), rank 4, touching every attention projection.</summary>
    public static string Sd1Lora(int unetChannels = 32, int rank = 4, ulong seed = 7)
        => GetOrCreate($"lora-sd1-c{unetChannels}-r{rank}-s{seed}", () => LoraLayout(unetChannels, rank), "F16", seed, loraScale: true);

    /// <param name="metadata">Entries for the file's <c>__metadata__</c>, besides the generator's note (part of the content: keep them in <paramref name="key"/>).</param>
    public static string GetOrCreate(string key, Func<IEnumerable<TensorSpec>> layout, string dtype, ulong seed, bool loraScale = false,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        string path = Path.Combine(CacheDirectory, $"{key}-v{LayoutVersion}.safetensors");
        if (File.Exists(path)) return path;
        using var gate = new Mutex(false, "sdnet-test-models-" + key);
        gate.WaitOne();
        try
        {
            if (File.Exists(path)) return path;
            var writer = new SafetensorsWriter();
            writer.Metadata["generator"] = "StableDiffusion.Native.TestModels (random weights)";
            foreach (var (k, v) in metadata ?? new Dictionary<string, string>()) writer.Metadata[k] = v;
            ulong s = seed;
            foreach (var t in layout())
            {
                ulong tensorSeed = ++s * 0x9E3779B97F4A7C15UL;
                float std = StdFor(t, loraScale);
                // Norm scales start at 1 like a trained network's; LoRA alphas at 1 so the LoRA really applies.
                float mean = t.Mean ?? (IsNormWeight(t) || t.Name.EndsWith(".alpha", StringComparison.Ordinal) ? 1f : 0f);
                string type = t.DType ?? dtype;
                writer.Add(t.Name, type, t.Shape, stream => WriteRandom(stream, t.Elements, type, mean, std, tensorSeed));
            }
            writer.WriteFile(path);
            return path;
        }
        finally
        {
            gate.ReleaseMutex();
        }
    }

    private static IEnumerable<TensorSpec> LoraLayout(int unetChannels, int rank)
    {
        foreach (var t in Sd1Layout.Unet("model.diffusion_model.", unetChannels))
        {
            if (!t.Name.EndsWith(".weight", StringComparison.Ordinal) || t.Shape.Length != 2 || !t.Name.Contains(".attn")) continue;
            string baseName = "lora_unet_" + t.Name["model.diffusion_model.".Length..^".weight".Length].Replace('.', '_');
            long outF = t.Shape[0], inF = t.Shape[1];
            yield return new(baseName + ".lora_down.weight", [rank, inF]);
            yield return new(baseName + ".lora_up.weight", [outF, rank]);
            yield return new(baseName + ".alpha", []);
        }
    }

    // Wan's RMS_norm keeps its scale as a (C, 1, 1[, 1]) ".gamma".
    private static bool IsNormWeight(TensorSpec t)
        => (t.Shape.Length == 1 && t.Name.EndsWith(".weight", StringComparison.Ordinal)) || t.Name.EndsWith(".gamma", StringComparison.Ordinal);

    private static float StdFor(TensorSpec t, bool loraScale)
    {
        if (t.Name.EndsWith(".alpha", StringComparison.Ordinal)) return 0f;
        if (t.Shape.Length <= 1 || IsNormWeight(t)) return IsNormWeight(t) ? 0.02f : 0.01f;
        if (t.Name.Contains("embedding")) return 0.02f;
        long fanIn = t.Elements / t.Shape[0];
        float std = 1f / MathF.Sqrt(fanIn);
        return loraScale ? std * 0.5f : std;
    }

    private static void WriteRandom(Stream stream, long count, string dtype, float mean, float std, ulong seed)
    {
        // Uniform in [mean - a, mean + a] with a = std·√3 has the requested standard deviation.
        float a = std * 1.7320508f;
        ulong x = seed | 1;
        int size = SafetensorsWriter.BytesPerElement(dtype);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int perChunk = buffer.Length / size;
            while (count > 0)
            {
                int n = (int)Math.Min(perChunk, count);
                if (dtype == "F16")
                {
                    var span = MemoryMarshal.Cast<byte, Half>(buffer.AsSpan(0, n * 2));
                    for (int i = 0; i < n; i++) span[i] = (Half)(mean + a * Next(ref x));
                }
                else if (dtype == "F32")
                {
                    var span = MemoryMarshal.Cast<byte, float>(buffer.AsSpan(0, n * 4));
                    for (int i = 0; i < n; i++) span[i] = mean + a * Next(ref x);
                }
                else
                {
                    throw new NotSupportedException($"Random {dtype} tensors are not supported.");
                }
                stream.Write(buffer, 0, n * size);
                count -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>xorshift64*: uniform in [-1, 1).</summary>
    private static float Next(ref ulong x)
    {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        ulong r = x * 2685821657736338717UL;
        return (r >> 40) * (1f / (1 << 23)) - 1f;
    }
}
