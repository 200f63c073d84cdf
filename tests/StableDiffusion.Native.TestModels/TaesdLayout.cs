namespace StableDiffusion.Native.TestModels;

/// <summary>
/// The tensors of TAESD, the tiny autoencoder for SD1/SDXL latents (names as in taesd.safetensors:
/// encoder.layers.N / decoder.layers.N, a Sequential whose activations and upsamplers hold no weights).
/// 64 channels throughout, 4 latent channels; about 2.4M parameters, so this is the real size.
/// </summary>
public static class TaesdLayout
{
    private const int Channels = 64;

    public static IReadOnlyList<TensorSpec> Sd1(int latentChannels = 4)
    {
        const int c = Channels;
        var list = new List<TensorSpec>();

        // Encoder: conv, block, then three times (stride-2 conv without bias, three blocks), conv to the latent.
        string e = "encoder.layers.";
        int i = 0;
        list.AddRange(Conv($"{e}{i++}", 3, c, bias: true));
        list.AddRange(Block($"{e}{i++}"));
        for (int stage = 0; stage < 3; stage++)
        {
            list.AddRange(Conv($"{e}{i++}", c, c, bias: false));
            for (int b = 0; b < 3; b++) list.AddRange(Block($"{e}{i++}"));
        }
        list.AddRange(Conv($"{e}{i}", c, latentChannels, bias: true));

        // Decoder: conv, ReLU (no weights), three blocks, then three times (upsample (no weights), conv without
        // bias, blocks: three, three, then one), conv to RGB.
        string d = "decoder.layers.";
        i = 0;
        list.AddRange(Conv($"{d}{i++}", latentChannels, c, bias: true));
        i++; // ReLU
        for (int b = 0; b < 3; b++) list.AddRange(Block($"{d}{i++}"));
        for (int stage = 0; stage < 3; stage++)
        {
            i++; // Upsample
            list.AddRange(Conv($"{d}{i++}", c, c, bias: false));
            int blocks = stage < 2 ? 3 : 1;
            for (int b = 0; b < blocks; b++) list.AddRange(Block($"{d}{i++}"));
        }
        list.AddRange(Conv($"{d}{i}", c, 3, bias: true));
        return list;
    }

    /// <summary>Three 3×3 convs with ReLUs between (conv.0, conv.2, conv.4); in = out, so no skip conv.</summary>
    private static IEnumerable<TensorSpec> Block(string p)
    {
        foreach (int k in new[] { 0, 2, 4 })
            foreach (var s in Conv($"{p}.conv.{k}", Channels, Channels, bias: true)) yield return s;
    }

    private static IEnumerable<TensorSpec> Conv(string p, int inCh, int outCh, bool bias)
    {
        yield return new(p + ".weight", [outCh, inCh, 3, 3]);
        if (bias) yield return new(p + ".bias", [outCh]);
    }
}
