using static StableDiffusion.Native.TestModels.LayoutParts;

namespace StableDiffusion.Native.TestModels;

/// <summary>A CLIP text transformer's hyper-parameters. Upstream hard-codes all of them per encoder kind (clip.hpp).</summary>
/// <param name="Width">Hidden size; upstream also tells SD1 (768) from SD2 (1024) by the token embedding's width.</param>
/// <param name="Layers">Transformer layers.</param>
/// <param name="FeedForward">MLP width.</param>
/// <param name="Projection">Width of the pooled-output projection, 0 where upstream registers none.</param>
public sealed record ClipTextSize(int Width, int Layers, int FeedForward, int Projection)
{
    /// <summary>OpenAI CLIP ViT-L/14 (SD1, SDXL's first encoder, SD3/Flux clip_l): no projection registered.</summary>
    public static ClipTextSize VitL14 { get; } = new(768, 12, 3072, 0);

    /// <summary>
    /// OpenCLIP ViT-H/14 (SD2). Upstream builds 24 layers but lists layer 23 as optional (SD2 uses the penultimate
    /// layer), so 23 suffice; the projection is not registered.
    /// </summary>
    public static ClipTextSize VitH14 { get; } = new(1024, 23, 4096, 0);

    /// <summary>OpenCLIP ViT-bigG/14 (SDXL's second encoder, SD3 clip_g), with its 1280×1280 text projection.</summary>
    public static ClipTextSize BigG14 { get; } = new(1280, 32, 5120, 1280);
}

/// <summary>
/// CLIP text encoders in the two layouts checkpoints carry them: Hugging Face transformers
/// (<c>text_model.encoder.layers.N.self_attn.q_proj</c>, separate q/k/v) and OpenCLIP
/// (<c>transformer.resblocks.N.attn.in_proj_weight</c>, fused q/k/v), which upstream renames to the former.
/// Vocabulary (49408) and context (77 tokens) are CLIP's real ones, so real tokenizers work.
/// </summary>
public static class ClipLayout
{
    public const int Vocabulary = 49408;
    public const int Positions = 77;

    /// <summary>Hugging Face layout under <paramref name="root"/> (…<c>text_model.*</c>, and <c>text_projection.weight</c> beside it).</summary>
    public static IEnumerable<TensorSpec> HfText(string root, ClipTextSize size)
    {
        ArgumentNullException.ThrowIfNull(size);
        string p = root + "text_model.";
        int d = size.Width;
        yield return new(p + "embeddings.token_embedding.weight", [Vocabulary, d]);
        yield return new(p + "embeddings.position_embedding.weight", [Positions, d]);
        for (int i = 0; i < size.Layers; i++)
        {
            string l = $"{p}encoder.layers.{i}.";
            foreach (var s in Norm(l + "layer_norm1", d)) yield return s;
            foreach (var proj in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
                foreach (var s in Linear(l + "self_attn." + proj, d, d)) yield return s;
            foreach (var s in Norm(l + "layer_norm2", d)) yield return s;
            foreach (var s in Linear(l + "mlp.fc1", d, size.FeedForward)) yield return s;
            foreach (var s in Linear(l + "mlp.fc2", size.FeedForward, d)) yield return s;
        }
        foreach (var s in Norm(p + "final_layer_norm", d)) yield return s;
        if (size.Projection > 0) yield return new(root + "text_projection.weight", [size.Projection, d]);
    }

    /// <summary>OpenCLIP layout under <paramref name="prefix"/> (e.g. <c>cond_stage_model.model.</c>).</summary>
    public static IEnumerable<TensorSpec> OpenClipText(string prefix, ClipTextSize size)
    {
        ArgumentNullException.ThrowIfNull(size);
        string p = prefix;
        int d = size.Width;
        yield return new(p + "token_embedding.weight", [Vocabulary, d]);
        yield return new(p + "positional_embedding", [Positions, d]);
        for (int i = 0; i < size.Layers; i++)
        {
            string l = $"{p}transformer.resblocks.{i}.";
            foreach (var s in Norm(l + "ln_1", d)) yield return s;
            yield return new(l + "attn.in_proj_weight", [3 * d, d]);
            yield return new(l + "attn.in_proj_bias", [3 * d]);
            foreach (var s in Linear(l + "attn.out_proj", d, d)) yield return s;
            foreach (var s in Norm(l + "ln_2", d)) yield return s;
            foreach (var s in Linear(l + "mlp.c_fc", d, size.FeedForward)) yield return s;
            foreach (var s in Linear(l + "mlp.c_proj", size.FeedForward, d)) yield return s;
        }
        foreach (var s in Norm(p + "ln_final", d)) yield return s;
        // OpenCLIP multiplies by this matrix (x @ proj): [width, projection].
        if (size.Projection > 0) yield return new(p + "text_projection", [d, size.Projection]);
    }
}
