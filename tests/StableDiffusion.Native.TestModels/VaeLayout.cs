using static StableDiffusion.Native.TestModels.LayoutParts;

namespace StableDiffusion.Native.TestModels;

/// <summary>
/// The KL autoencoder (LDM naming: <c>encoder.down.N.block.M</c>, <c>decoder.up.N.block.M</c>, mid blocks with one
/// attention) as upstream's <c>AutoEncoderKLModel</c> builds it (auto_encoder_kl.hpp). Upstream always builds the
/// encoder too (image-to-image needs it) at a fixed 128 channels, but infers the decoder's width from
/// <c>decoder.conv_in.weight</c>; the latent channels are fixed per version: 4 for SD1/SD2/SDXL (with
/// quant_conv/post_quant_conv), 16 for SD3 and Flux (without).
/// </summary>
public static class VaeLayout
{
    /// <summary>Upstream's fixed encoder width (and the full-size decoder width).</summary>
    public const int EncoderChannels = 128;

    /// <summary>The narrowest decoder GroupNorm's 32 groups allow.</summary>
    public const int SmallestDecoderChannels = 32;

    private static readonly int[] s_mult = [1, 2, 4, 4];

    /// <summary>SD1/SD2/SDXL: 4 latent channels, with the quant convs.</summary>
    public static IReadOnlyList<TensorSpec> Sd(string prefix, int decoderChannels = SmallestDecoderChannels)
        => Kl(prefix, latentChannels: 4, decoderChannels, quantConvs: true);

    /// <summary>SD3 and Flux (<c>ae.safetensors</c>): 16 latent channels, no quant convs.</summary>
    public static IReadOnlyList<TensorSpec> Sixteen(string prefix = "", int decoderChannels = SmallestDecoderChannels)
        => Kl(prefix, latentChannels: 16, decoderChannels, quantConvs: false);

    public static IReadOnlyList<TensorSpec> Kl(string p, int latentChannels, int decoderChannels, bool quantConvs)
    {
        if (decoderChannels < SmallestDecoderChannels || decoderChannels % 32 != 0)
            throw new ArgumentOutOfRangeException(nameof(decoderChannels), decoderChannels, "GroupNorm32 needs a multiple of 32.");
        int z = latentChannels;
        var list = new List<TensorSpec>();
        int c = EncoderChannels;
        list.AddRange(Conv(p + "encoder.conv_in", 3, c, 3));
        int ch = c;
        for (int i = 0; i < s_mult.Length; i++)
        {
            int outCh = c * s_mult[i];
            for (int b = 0; b < 2; b++)
            {
                list.AddRange(ResBlock($"{p}encoder.down.{i}.block.{b}", ch, outCh));
                ch = outCh;
            }
            if (i != s_mult.Length - 1) list.AddRange(Conv($"{p}encoder.down.{i}.downsample.conv", ch, ch, 3));
        }
        list.AddRange(Mid(p + "encoder.mid", ch));
        list.AddRange(Norm(p + "encoder.norm_out", ch));
        list.AddRange(Conv(p + "encoder.conv_out", ch, 2 * z, 3));

        c = decoderChannels;
        ch = c * s_mult[^1];
        list.AddRange(Conv(p + "decoder.conv_in", z, ch, 3));
        list.AddRange(Mid(p + "decoder.mid", ch));
        for (int i = s_mult.Length - 1; i >= 0; i--)
        {
            int outCh = c * s_mult[i];
            for (int b = 0; b < 3; b++)
            {
                list.AddRange(ResBlock($"{p}decoder.up.{i}.block.{b}", ch, outCh));
                ch = outCh;
            }
            if (i != 0) list.AddRange(Conv($"{p}decoder.up.{i}.upsample.conv", ch, ch, 3));
        }
        list.AddRange(Norm(p + "decoder.norm_out", ch));
        list.AddRange(Conv(p + "decoder.conv_out", ch, 3, 3));
        if (quantConvs)
        {
            list.AddRange(Conv(p + "quant_conv", 2 * z, 2 * z, 1));
            list.AddRange(Conv(p + "post_quant_conv", z, z, 1));
        }
        return list;
    }

    private static IEnumerable<TensorSpec> Mid(string p, int ch)
    {
        foreach (var s in ResBlock(p + ".block_1", ch, ch)) yield return s;
        foreach (var s in Norm(p + ".attn_1.norm", ch)) yield return s;
        foreach (var n in new[] { "q", "k", "v", "proj_out" })
            foreach (var s in Conv($"{p}.attn_1.{n}", ch, ch, 1)) yield return s;
        foreach (var s in ResBlock(p + ".block_2", ch, ch)) yield return s;
    }

    private static IEnumerable<TensorSpec> ResBlock(string p, int inCh, int outCh)
    {
        foreach (var s in Norm(p + ".norm1", inCh)) yield return s;
        foreach (var s in Conv(p + ".conv1", inCh, outCh, 3)) yield return s;
        foreach (var s in Norm(p + ".norm2", outCh)) yield return s;
        foreach (var s in Conv(p + ".conv2", outCh, outCh, 3)) yield return s;
        if (inCh != outCh)
            foreach (var s in Conv(p + ".nin_shortcut", inCh, outCh, 1)) yield return s;
    }
}
