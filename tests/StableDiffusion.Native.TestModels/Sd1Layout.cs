namespace StableDiffusion.Native.TestModels;

/// <summary>A tensor as a checkpoint stores it: PyTorch shape order (outermost first).</summary>
public sealed record TensorSpec(string Name, long[] Shape)
{
    public long Elements => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>
    /// The mean of the random values, when the default (1 for norm scales and LoRA alphas, else 0) would not do:
    /// e.g. a bias that steers what upstream infers by running the model.
    /// </summary>
    public float? Mean { get; init; }

    /// <summary>The stored type, when it is not the model's (e.g. a converter that keeps biases at F32).</summary>
    public string? DType { get; init; }

    /// <summary>ggml's order (ne[0] innermost), as upstream logs and reference tables print it.</summary>
    public long[] Ne => Enumerable.Reverse(Shape).ToArray();
}

/// <summary>
/// The tensor names and shapes of an SD1.x checkpoint (LDM layout: UNet, CLIP ViT-L/14 text encoder, KL-f8
/// VAE), derived from the architecture rather than copied from a model. Upstream infers the UNet width
/// from the tensors, so <c>unetChannels: 32</c> gives a tiny but complete model; 320 is full size.
/// </summary>
public static class Sd1Layout
{
    public const int FullUnetChannels = 320;
    private const int ContextDim = 768;

    /// <param name="unetChannels">The UNet's base width (upstream infers it); <see cref="FullUnetChannels"/> is full size.</param>
    /// <param name="inChannels">4, or 9 for an inpainting UNet.</param>
    /// <param name="vaeDecoderChannels">The VAE decoder's base width (upstream infers it too); the default is full size.</param>
    public static IReadOnlyList<TensorSpec> Checkpoint(int unetChannels = FullUnetChannels, int inChannels = 4, int vaeDecoderChannels = VaeLayout.EncoderChannels)
    {
        var t = new List<TensorSpec>();
        t.AddRange(TextEncoder("cond_stage_model.transformer.text_model."));
        t.AddRange(Unet("model.diffusion_model.", unetChannels, inChannels));
        t.AddRange(VaeLayout.Sd("first_stage_model.", vaeDecoderChannels));
        return t;
    }

    public static IEnumerable<TensorSpec> TextEncoder(string p)
    {
        const int d = 768, ff = 3072;
        yield return new(p + "embeddings.token_embedding.weight", [49408, d]);
        yield return new(p + "embeddings.position_embedding.weight", [77, d]);
        for (int i = 0; i < 12; i++)
        {
            string l = $"{p}encoder.layers.{i}.";
            foreach (var s in Norm(l + "layer_norm1", d)) yield return s;
            foreach (var proj in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
                foreach (var s in Linear(l + "self_attn." + proj, d, d)) yield return s;
            foreach (var s in Norm(l + "layer_norm2", d)) yield return s;
            foreach (var s in Linear(l + "mlp.fc1", d, ff)) yield return s;
            foreach (var s in Linear(l + "mlp.fc2", ff, d)) yield return s;
        }
        foreach (var s in Norm(p + "final_layer_norm", d)) yield return s;
    }

    public static IEnumerable<TensorSpec> Unet(string p, int c, int inChannels = 4)
    {
        int[] mult = [1, 2, 4, 4];
        int temb = 4 * c;
        var list = new List<TensorSpec>();
        list.AddRange(Linear(p + "time_embed.0", c, temb));
        list.AddRange(Linear(p + "time_embed.2", temb, temb));
        list.AddRange(Conv(p + "input_blocks.0.0", inChannels, c, 3));

        var skips = new Stack<int>();
        skips.Push(c);
        int ch = c, idx = 1;
        for (int level = 0; level < mult.Length; level++)
        {
            for (int r = 0; r < 2; r++)
            {
                int outCh = c * mult[level];
                list.AddRange(ResBlock($"{p}input_blocks.{idx}.0", ch, outCh, temb));
                ch = outCh;
                if (level < 3) list.AddRange(Transformer($"{p}input_blocks.{idx}.1", ch));
                skips.Push(ch);
                idx++;
            }
            if (level != mult.Length - 1)
            {
                list.AddRange(Conv($"{p}input_blocks.{idx}.0.op", ch, ch, 3));
                skips.Push(ch);
                idx++;
            }
        }

        list.AddRange(ResBlock(p + "middle_block.0", ch, ch, temb));
        list.AddRange(Transformer(p + "middle_block.1", ch));
        list.AddRange(ResBlock(p + "middle_block.2", ch, ch, temb));

        idx = 0;
        for (int level = mult.Length - 1; level >= 0; level--)
        {
            for (int r = 0; r < 3; r++)
            {
                int outCh = c * mult[level];
                list.AddRange(ResBlock($"{p}output_blocks.{idx}.0", ch + skips.Pop(), outCh, temb));
                ch = outCh;
                int sub = 1;
                if (level < 3) list.AddRange(Transformer($"{p}output_blocks.{idx}.{sub++}", ch));
                if (level > 0 && r == 2) list.AddRange(Conv($"{p}output_blocks.{idx}.{sub}.conv", ch, ch, 3));
                idx++;
            }
        }

        list.AddRange(Norm(p + "out.0", c));
        list.AddRange(Conv(p + "out.2", c, 4, 3));
        return list;
    }

    private static IEnumerable<TensorSpec> ResBlock(string p, int inCh, int outCh, int temb)
    {
        foreach (var s in Norm(p + ".in_layers.0", inCh)) yield return s;
        foreach (var s in Conv(p + ".in_layers.2", inCh, outCh, 3)) yield return s;
        foreach (var s in Linear(p + ".emb_layers.1", temb, outCh)) yield return s;
        foreach (var s in Norm(p + ".out_layers.0", outCh)) yield return s;
        foreach (var s in Conv(p + ".out_layers.3", outCh, outCh, 3)) yield return s;
        if (inCh != outCh)
            foreach (var s in Conv(p + ".skip_connection", inCh, outCh, 1)) yield return s;
    }

    private static IEnumerable<TensorSpec> Transformer(string p, int ch)
    {
        foreach (var s in Norm(p + ".norm", ch)) yield return s;
        foreach (var s in Conv(p + ".proj_in", ch, ch, 1)) yield return s;
        string b = p + ".transformer_blocks.0.";
        foreach (var n in new[] { "to_q", "to_k", "to_v" }) yield return new(b + "attn1." + n + ".weight", [ch, ch]);
        foreach (var s in Linear(b + "attn1.to_out.0", ch, ch)) yield return s;
        foreach (var s in Linear(b + "ff.net.0.proj", ch, ch * 8)) yield return s;
        foreach (var s in Linear(b + "ff.net.2", ch * 4, ch)) yield return s;
        yield return new(b + "attn2.to_q.weight", [ch, ch]);
        yield return new(b + "attn2.to_k.weight", [ch, ContextDim]);
        yield return new(b + "attn2.to_v.weight", [ch, ContextDim]);
        foreach (var s in Linear(b + "attn2.to_out.0", ch, ch)) yield return s;
        foreach (var n in new[] { "norm1", "norm2", "norm3" })
            foreach (var s in Norm(b + n, ch)) yield return s;
        foreach (var s in Conv(p + ".proj_out", ch, ch, 1)) yield return s;
    }

    private static IEnumerable<TensorSpec> Linear(string p, int inF, int outF)
    {
        yield return new(p + ".weight", [outF, inF]);
        yield return new(p + ".bias", [outF]);
    }

    private static IEnumerable<TensorSpec> Conv(string p, int inCh, int outCh, int k)
    {
        yield return new(p + ".weight", [outCh, inCh, k, k]);
        yield return new(p + ".bias", [outCh]);
    }

    private static IEnumerable<TensorSpec> Norm(string p, int ch)
    {
        yield return new(p + ".weight", [ch]);
        yield return new(p + ".bias", [ch]);
    }
}
