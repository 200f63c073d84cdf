using static StableDiffusion.Native.TestModels.LayoutParts;

namespace StableDiffusion.Native.TestModels;

/// <summary>The shape of an LDM UNet as upstream's <c>UnetModelBlock</c> builds it (unet.hpp).</summary>
/// <param name="ModelChannels">Width of the first level; upstream infers it from <c>input_blocks.0.0.weight</c>.</param>
/// <param name="ChannelMult">Width multiplier per level (SD1/SD2 1,2,4,4; SDXL 1,2,4): hard-coded per version.</param>
/// <param name="TransformerDepth">Transformer blocks per level, 0 where the level has no attention: hard-coded per version.</param>
/// <param name="MiddleDepth">Transformer blocks in the middle block (upstream: the last entry of its depth list).</param>
/// <param name="ContextDim">Cross-attention context width: the text encoder's output (768, 1024, 2048).</param>
/// <param name="LinearProjection">proj_in/proj_out as linear layers (SD2, SDXL) instead of 1×1 convs (SD1).</param>
/// <param name="AdmChannels">Width of the class/size vector for <c>label_emb</c> (SDXL 2816), 0 for none.</param>
public sealed record UnetShape(
    int ModelChannels,
    int[] ChannelMult,
    int[] TransformerDepth,
    int MiddleDepth,
    int ContextDim,
    bool LinearProjection,
    int AdmChannels = 0,
    int InChannels = 4,
    int OutChannels = 4,
    int ResBlocks = 2);

/// <summary>
/// Tensor names and shapes of an LDM UNet for any <see cref="UnetShape"/>: the same walk over levels, skips and
/// up/down samplers as upstream's constructor, so SD1, SD2 and SDXL differ only in their shape.
/// </summary>
public static class UnetLayout
{
    public static IReadOnlyList<TensorSpec> Build(string p, UnetShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.ChannelMult.Length != shape.TransformerDepth.Length)
            throw new ArgumentException("One transformer depth per level.", nameof(shape));
        int c = shape.ModelChannels, temb = 4 * c;
        var list = new List<TensorSpec>();
        list.AddRange(Linear(p + "time_embed.0", c, temb));
        list.AddRange(Linear(p + "time_embed.2", temb, temb));
        if (shape.AdmChannels > 0)
        {
            list.AddRange(Linear(p + "label_emb.0.0", shape.AdmChannels, temb));
            list.AddRange(Linear(p + "label_emb.0.2", temb, temb));
        }
        list.AddRange(Conv(p + "input_blocks.0.0", shape.InChannels, c, 3));

        var skips = new Stack<int>();
        skips.Push(c);
        int ch = c, idx = 1, levels = shape.ChannelMult.Length;
        for (int level = 0; level < levels; level++)
        {
            for (int r = 0; r < shape.ResBlocks; r++)
            {
                int outCh = c * shape.ChannelMult[level];
                list.AddRange(ResBlock($"{p}input_blocks.{idx}.0", ch, outCh, temb));
                ch = outCh;
                if (shape.TransformerDepth[level] > 0) list.AddRange(Transformer($"{p}input_blocks.{idx}.1", ch, shape.TransformerDepth[level], shape));
                skips.Push(ch);
                idx++;
            }
            if (level != levels - 1)
            {
                list.AddRange(Conv($"{p}input_blocks.{idx}.0.op", ch, ch, 3));
                skips.Push(ch);
                idx++;
            }
        }

        list.AddRange(ResBlock(p + "middle_block.0", ch, ch, temb));
        list.AddRange(Transformer(p + "middle_block.1", ch, shape.MiddleDepth, shape));
        list.AddRange(ResBlock(p + "middle_block.2", ch, ch, temb));

        idx = 0;
        for (int level = levels - 1; level >= 0; level--)
        {
            for (int r = 0; r <= shape.ResBlocks; r++)
            {
                int outCh = c * shape.ChannelMult[level];
                list.AddRange(ResBlock($"{p}output_blocks.{idx}.0", ch + skips.Pop(), outCh, temb));
                ch = outCh;
                int sub = 1;
                if (shape.TransformerDepth[level] > 0) list.AddRange(Transformer($"{p}output_blocks.{idx}.{sub++}", ch, shape.TransformerDepth[level], shape));
                if (level > 0 && r == shape.ResBlocks) list.AddRange(Conv($"{p}output_blocks.{idx}.{sub}.conv", ch, ch, 3));
                idx++;
            }
        }

        list.AddRange(Norm(p + "out.0", c));
        list.AddRange(Conv(p + "out.2", c, shape.OutChannels, 3));
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

    /// <summary>A SpatialTransformer; its inner width equals the channels (heads × head width), whatever the head count.</summary>
    private static IEnumerable<TensorSpec> Transformer(string p, int ch, int depth, UnetShape shape)
    {
        foreach (var s in Norm(p + ".norm", ch)) yield return s;
        var projIn = shape.LinearProjection ? Linear(p + ".proj_in", ch, ch) : Conv(p + ".proj_in", ch, ch, 1);
        foreach (var s in projIn) yield return s;
        for (int i = 0; i < depth; i++)
        {
            string b = $"{p}.transformer_blocks.{i}.";
            foreach (var n in new[] { "to_q", "to_k", "to_v" }) yield return new(b + "attn1." + n + ".weight", [ch, ch]);
            foreach (var s in Linear(b + "attn1.to_out.0", ch, ch)) yield return s;
            // GEGLU: one projection to twice the 4× inner width (value and gate).
            foreach (var s in Linear(b + "ff.net.0.proj", ch, ch * 8)) yield return s;
            foreach (var s in Linear(b + "ff.net.2", ch * 4, ch)) yield return s;
            yield return new(b + "attn2.to_q.weight", [ch, ch]);
            yield return new(b + "attn2.to_k.weight", [ch, shape.ContextDim]);
            yield return new(b + "attn2.to_v.weight", [ch, shape.ContextDim]);
            foreach (var s in Linear(b + "attn2.to_out.0", ch, ch)) yield return s;
            foreach (var n in new[] { "norm1", "norm2", "norm3" })
                foreach (var s in Norm(b + n, ch)) yield return s;
        }
        var projOut = shape.LinearProjection ? Linear(p + ".proj_out", ch, ch) : Conv(p + ".proj_out", ch, ch, 1);
        foreach (var s in projOut) yield return s;
    }
}
