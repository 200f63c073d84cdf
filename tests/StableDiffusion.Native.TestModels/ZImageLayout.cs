using static StableDiffusion.Native.TestModels.LayoutParts;

namespace StableDiffusion.Native.TestModels;

/// <summary>
/// The tensors of Z-Image (the Lumina-2-style single-stream DiT; original naming: x_embedder, cap_embedder.0/1,
/// noise_refiner.N / context_refiner.N / layers.N with attention.qkv, attention.q_norm, feed_forward.w1..w3,
/// adaLN_modulation.0, final_layer). Upstream infers the width, caption width (the LLM's), head width (q_norm),
/// KV heads (qkv rows), layer and refiner counts and the channels from the tensors. What it fixes: RoPE axes
/// (32, 48, 48) that need 128-wide heads, and a 256-wide timestep embedding feeding adaLN layers that take
/// min(width, 256) inputs, so the width must be at least 256: two heads. Z-Image decodes with Flux's 16-channel
/// autoencoder (<see cref="VaeLayout.Sixteen"/>).
/// </summary>
public static class ZImageLayout
{
    /// <summary>The head width the RoPE axes require.</summary>
    public const int HeadDim = 128;

    /// <summary>The smallest width upstream runs: the timestep embedding is 256 wide and adaLN takes min(width, 256).</summary>
    public const int MinHidden = 256;

    /// <summary>The latent channels (Flux's autoencoder).</summary>
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
}
