using static StableDiffusion.Native.TestModels.LayoutParts;

namespace StableDiffusion.Native.TestModels;

/// <summary>
/// A Flux.1 (dev/schnell) DiT as a standalone diffusion model file (bare names: <c>img_in</c>, <c>time_in</c>,
/// <c>vector_in</c>, <c>guidance_in</c>, <c>txt_in</c>, <c>double_blocks.N</c>, <c>single_blocks.N</c>,
/// <c>final_layer</c>); upstream recognizes Flux by <c>double_blocks.</c>. Upstream infers the double and single
/// block counts (from zero), hidden width and context width (<c>txt_in</c>), the head width
/// (<c>key_norm.scale</c>) and guidance (dev: <c>guidance_in</c> exists), but hard-codes the rotary axes
/// 16+56+56 = 128 (so heads are 128 wide), the MLP ratio 4, the 64 packed latent channels (16 × 2×2) and the
/// 768-wide pooled CLIP-L vector.
/// </summary>
public static class FluxLayout
{
    public const int HeadDim = 16 + 56 + 56;
    public const int PackedLatentChannels = 16 * 2 * 2;
    public const int PooledDim = 768;

    /// <param name="contextDim">The T5 encoder's width (T5-XXL: 4096); upstream reads it from <c>txt_in</c>.</param>
    /// <param name="hidden">Hidden width, a multiple of <see cref="HeadDim"/>.</param>
    /// <param name="guidance">Flux dev's distilled guidance embedding (schnell has none).</param>
    public static IReadOnlyList<TensorSpec> DiffusionModel(int contextDim, int hidden = HeadDim, int doubleBlocks = 1, int singleBlocks = 1, bool guidance = true, string p = "")
    {
        if (hidden % HeadDim != 0) throw new ArgumentOutOfRangeException(nameof(hidden), hidden, "Flux heads are 128 wide.");
        ArgumentOutOfRangeException.ThrowIfLessThan(doubleBlocks, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(singleBlocks);
        int h = hidden, mlp = 4 * hidden;
        var list = new List<TensorSpec>();
        list.AddRange(Linear(p + "img_in", PackedLatentChannels, h));
        list.AddRange(Embedder(p + "time_in", 256, h));
        list.AddRange(Embedder(p + "vector_in", PooledDim, h));
        if (guidance) list.AddRange(Embedder(p + "guidance_in", 256, h));
        list.AddRange(Linear(p + "txt_in", contextDim, h));
        for (int i = 0; i < doubleBlocks; i++)
        {
            foreach (string stream in new[] { "img", "txt" })
            {
                string b = $"{p}double_blocks.{i}.{stream}_";
                list.AddRange(Linear(b + "mod.lin", h, 6 * h));
                list.AddRange(Linear(b + "attn.qkv", h, 3 * h));
                list.Add(Scale(b + "attn.norm.query_norm", HeadDim, "scale"));
                list.Add(Scale(b + "attn.norm.key_norm", HeadDim, "scale"));
                list.AddRange(Linear(b + "attn.proj", h, h));
                list.AddRange(Linear(b + "mlp.0", h, mlp));
                list.AddRange(Linear(b + "mlp.2", mlp, h));
            }
        }
        for (int i = 0; i < singleBlocks; i++)
        {
            string b = $"{p}single_blocks.{i}.";
            list.AddRange(Linear(b + "linear1", h, 3 * h + mlp));
            list.AddRange(Linear(b + "linear2", h + mlp, h));
            list.Add(Scale(b + "norm.query_norm", HeadDim, "scale"));
            list.Add(Scale(b + "norm.key_norm", HeadDim, "scale"));
            list.AddRange(Linear(b + "modulation.lin", h, 3 * h));
        }
        list.AddRange(Linear(p + "final_layer.linear", h, PackedLatentChannels));
        list.AddRange(Linear(p + "final_layer.adaLN_modulation.1", h, 2 * h));
        return list;
    }

    private static IEnumerable<TensorSpec> Embedder(string p, int inDim, int h)
        => Linear(p + ".in_layer", inDim, h).Concat(Linear(p + ".out_layer", h, h));
}
