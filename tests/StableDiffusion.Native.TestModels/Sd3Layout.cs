using static StableDiffusion.Native.TestModels.LayoutParts;

namespace StableDiffusion.Native.TestModels;

/// <summary>
/// An SD3/SD3.5 MMDiT as a standalone diffusion model file (bare names: <c>x_embedder</c>, <c>pos_embed</c>,
/// <c>joint_blocks.N.{context_block,x_block}</c>, <c>final_layer</c>); upstream recognizes SD3 by
/// <c>joint_blocks.</c>. Upstream infers the hidden width, patch size, latent channels, context width,
/// pooled-vector width, position grid and depth (mmdit.hpp <c>MMDiTConfig::detect_from_weights</c>), but the
/// depth only grows from its default of <see cref="SmallestDepth"/>, and the head count equals the depth, so
/// the hidden width must be a multiple of 24. Context (4096: T5-XXL, CLIP padded to it) and pooled vector
/// (768 + 1280: CLIP-L and CLIP-G) are what the SD3 conditioner produces.
/// </summary>
public static class Sd3Layout
{
    /// <summary>Upstream's floor for the joint block count (SD3 medium's 24).</summary>
    public const int SmallestDepth = 24;
    public const int LatentChannels = 16;
    public const int PatchSize = 2;
    public const int ContextDim = T5Layout.XxlModelDim;
    public const int PooledDim = 768 + 1280;

    /// <summary>SD3's 192×192 position grid (images up to 3072 pixels a side).</summary>
    public const int PositionGrid = 192;

    /// <param name="hidden">Hidden width, a multiple of <paramref name="depth"/> (one head per block).</param>
    /// <param name="depth">Joint blocks (and heads), at least <see cref="SmallestDepth"/>.</param>
    /// <param name="qkNorm">RMS-normalized queries and keys (SD3.5) instead of none (SD3 medium).</param>
    public static IReadOnlyList<TensorSpec> DiffusionModel(int hidden = SmallestDepth, int depth = SmallestDepth, bool qkNorm = true, string p = "")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, SmallestDepth);
        if (hidden % depth != 0) throw new ArgumentOutOfRangeException(nameof(hidden), hidden, "Upstream uses as many heads as blocks.");
        int h = hidden, headDim = hidden / depth;
        var list = new List<TensorSpec>();
        list.AddRange(Conv(p + "x_embedder.proj", LatentChannels, h, PatchSize));
        list.Add(new(p + "pos_embed", [1, PositionGrid * PositionGrid, h]));
        list.AddRange(Linear(p + "t_embedder.mlp.0", 256, h));
        list.AddRange(Linear(p + "t_embedder.mlp.2", h, h));
        list.AddRange(Linear(p + "y_embedder.mlp.0", PooledDim, h));
        list.AddRange(Linear(p + "y_embedder.mlp.2", h, h));
        list.AddRange(Linear(p + "context_embedder", ContextDim, h));
        for (int i = 0; i < depth; i++)
        {
            // The last block's context half only feeds the attention: no output projection, MLP or second norm.
            list.AddRange(Block($"{p}joint_blocks.{i}.context_block", h, headDim, preOnly: i == depth - 1, qkNorm));
            list.AddRange(Block($"{p}joint_blocks.{i}.x_block", h, headDim, preOnly: false, qkNorm));
        }
        list.AddRange(Linear(p + "final_layer.linear", h, PatchSize * PatchSize * LatentChannels));
        list.AddRange(Linear(p + "final_layer.adaLN_modulation.1", h, 2 * h));
        return list;
    }

    private static IEnumerable<TensorSpec> Block(string p, int h, int headDim, bool preOnly, bool qkNorm)
    {
        foreach (var s in Linear(p + ".attn.qkv", h, 3 * h)) yield return s;
        if (!preOnly)
            foreach (var s in Linear(p + ".attn.proj", h, h)) yield return s;
        if (qkNorm)
        {
            yield return Scale(p + ".attn.ln_q", headDim);
            yield return Scale(p + ".attn.ln_k", headDim);
        }
        if (!preOnly)
        {
            foreach (var s in Linear(p + ".mlp.fc1", h, 4 * h)) yield return s;
            foreach (var s in Linear(p + ".mlp.fc2", 4 * h, h)) yield return s;
        }
        foreach (var s in Linear(p + ".adaLN_modulation.1", h, (preOnly ? 2 : 6) * h)) yield return s;
    }
}
