using static StableDiffusion.Native.TestModels.DitParts;

namespace StableDiffusion.Native.TestModels;

/// <summary>
/// The tensors of Z-Image (the Lumina-2-style single-stream DiT; original naming: x_embedder, cap_embedder.0/1,
/// noise_refiner.N / context_refiner.N / layers.N with attention.qkv, attention.q_norm, feed_forward.w1..w3,
/// adaLN_modulation.0, final_layer) and of the Flux 16-channel autoencoder it decodes with. Upstream infers the
/// width, caption width (the LLM's), head width (q_norm), KV heads (qkv rows), layer and refiner counts and the
/// channels from the tensors. What it fixes: RoPE axes (32, 48, 48) that need 128-wide heads, and a 256-wide
/// timestep embedding feeding adaLN layers that take min(width, 256) inputs, so the width must be at least 256:
/// two heads. The Flux autoencoder's decoder width is inferred (decoder.conv_in), its encoder's is fixed at 128.
/// </summary>
public static class ZImageLayout
{
    /// <summary>The head width the RoPE axes require.</summary>
    public const int HeadDim = 128;

    /// <summary>The smallest width upstream runs: the timestep embedding is 256 wide and adaLN takes min(width, 256).</summary>
    public const int MinHidden = 256;

    /// <summary>The encoder width of the Flux autoencoder, which upstream does not infer.</summary>
    public const int VaeEncoderChannels = 128;

    /// <summary>The latent channels of the Flux autoencoder.</summary>
    public const int LatentChannels = 16;

    private const int PatchSize = 2;
    private const int AdaLnEmbedDim = 256;

    /// <summary>The DiT. <paramref name="capFeatDim"/> is the LLM's width (2560 for Qwen3-4B).</summary>
    public static IReadOnlyList<TensorSpec> Dit(int hidden = MinHidden, int layers = 1, int refinerLayers = 1, int kvHeads = 1, int capFeatDim = 32)
    {
        if (hidden % HeadDim != 0) throw new ArgumentOutOfRangeException(nameof(hidden), hidden, "The width is a whole number of 128-wide heads.");
        int heads = hidden / HeadDim;
        int adaIn = Math.Min(hidden, AdaLnEmbedDim);
        int tHidden = Math.Min(hidden, 1024);
        var t = new List<TensorSpec>
        {
            new("cap_pad_token", [hidden]),
            new("x_pad_token", [hidden]),
        };
        t.AddRange(Linear("x_embedder", PatchSize * PatchSize * LatentChannels, hidden));
        t.AddRange(Linear("t_embedder.mlp.0", 256, tHidden));
        t.AddRange(Linear("t_embedder.mlp.2", tHidden, AdaLnEmbedDim));
        t.Add(Scale("cap_embedder.0", capFeatDim));
        t.AddRange(Linear("cap_embedder.1", capFeatDim, hidden));
        for (int i = 0; i < refinerLayers; i++) t.AddRange(Block($"noise_refiner.{i}", hidden, heads, kvHeads, adaIn));
        for (int i = 0; i < refinerLayers; i++) t.AddRange(Block($"context_refiner.{i}", hidden, heads, kvHeads, adaIn: 0));
        for (int i = 0; i < layers; i++) t.AddRange(Block($"layers.{i}", hidden, heads, kvHeads, adaIn));
        // final_layer.norm_final has no affine parameters.
        t.AddRange(Linear("final_layer.linear", hidden, PatchSize * PatchSize * LatentChannels));
        t.AddRange(Linear("final_layer.adaLN_modulation.1", adaIn, hidden));
        return t;
    }

    /// <summary>Lumina's FFN width: 8/3 of the model width, rounded up to a multiple of 256.</summary>
    public static int FfnDim(int hidden) => 256 * (((int)(8f / 3f * hidden) + 255) / 256);

    /// <summary>
    /// The Flux autoencoder (KL-f8, 16 latent channels, no quant convs). <paramref name="decoderChannels"/> is the
    /// decoder's base width (128 in the real model); GroupNorm's 32 groups make 32 the smallest.
    /// </summary>
    public static IReadOnlyList<TensorSpec> FluxVae(int decoderChannels = 32)
    {
        int[] mult = [1, 2, 4, 4];
        const int z = LatentChannels;
        var t = new List<TensorSpec>();

        int c = VaeEncoderChannels;
        t.AddRange(Conv2d("encoder.conv_in", 3, c, 3));
        int ch = c;
        for (int i = 0; i < mult.Length; i++)
        {
            for (int b = 0; b < 2; b++)
            {
                t.AddRange(ResBlock($"encoder.down.{i}.block.{b}", ch, c * mult[i]));
                ch = c * mult[i];
            }
            if (i != mult.Length - 1) t.AddRange(Conv2d($"encoder.down.{i}.downsample.conv", ch, ch, 3));
        }
        t.AddRange(Mid("encoder.mid", ch));
        t.AddRange(Norm("encoder.norm_out", ch));
        t.AddRange(Conv2d("encoder.conv_out", ch, 2 * z, 3));

        c = decoderChannels;
        ch = c * mult[^1];
        t.AddRange(Conv2d("decoder.conv_in", z, ch, 3));
        t.AddRange(Mid("decoder.mid", ch));
        for (int i = mult.Length - 1; i >= 0; i--)
        {
            for (int b = 0; b < 3; b++)
            {
                t.AddRange(ResBlock($"decoder.up.{i}.block.{b}", ch, c * mult[i]));
                ch = c * mult[i];
            }
            if (i != 0) t.AddRange(Conv2d($"decoder.up.{i}.upsample.conv", ch, ch, 3));
        }
        t.AddRange(Norm("decoder.norm_out", ch));
        t.AddRange(Conv2d("decoder.conv_out", ch, 3, 3));
        return t;
    }

    private static IEnumerable<TensorSpec> Block(string p, int hidden, int heads, int kvHeads, int adaIn)
    {
        int ffn = FfnDim(hidden);
        foreach (var s in Linear(p + ".attention.qkv", hidden, (heads + 2 * kvHeads) * HeadDim, bias: false)) yield return s;
        foreach (var s in Linear(p + ".attention.out", heads * HeadDim, hidden, bias: false)) yield return s;
        yield return Scale(p + ".attention.q_norm", HeadDim);
        yield return Scale(p + ".attention.k_norm", HeadDim);
        foreach (var s in Linear(p + ".feed_forward.w1", hidden, ffn, bias: false)) yield return s;
        foreach (var s in Linear(p + ".feed_forward.w2", ffn, hidden, bias: false)) yield return s;
        foreach (var s in Linear(p + ".feed_forward.w3", hidden, ffn, bias: false)) yield return s;
        foreach (string n in new[] { "attention_norm1", "ffn_norm1", "attention_norm2", "ffn_norm2" }) yield return Scale($"{p}.{n}", hidden);
        // The context refiner runs without timestep modulation.
        if (adaIn > 0)
            foreach (var s in Linear(p + ".adaLN_modulation.0", adaIn, 4 * hidden)) yield return s;
    }

    private static IEnumerable<TensorSpec> ResBlock(string p, int inCh, int outCh)
    {
        foreach (var s in Norm(p + ".norm1", inCh)) yield return s;
        foreach (var s in Conv2d(p + ".conv1", inCh, outCh, 3)) yield return s;
        foreach (var s in Norm(p + ".norm2", outCh)) yield return s;
        foreach (var s in Conv2d(p + ".conv2", outCh, outCh, 3)) yield return s;
        if (inCh != outCh)
            foreach (var s in Conv2d(p + ".nin_shortcut", inCh, outCh, 1)) yield return s;
    }

    private static IEnumerable<TensorSpec> Mid(string p, int ch)
    {
        foreach (var s in ResBlock(p + ".block_1", ch, ch)) yield return s;
        foreach (var s in Norm(p + ".attn_1.norm", ch)) yield return s;
        foreach (string n in new[] { "q", "k", "v", "proj_out" })
            foreach (var s in Conv2d($"{p}.attn_1.{n}", ch, ch, 1)) yield return s;
        foreach (var s in ResBlock(p + ".block_2", ch, ch)) yield return s;
    }
}
