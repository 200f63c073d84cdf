using static StableDiffusion.Native.TestModels.LayoutParts;

namespace StableDiffusion.Native.TestModels;

/// <summary>
/// The tensors of Wan 2.1 text-to-video (the original / ComfyUI naming: blocks.N.self_attn.q, patch_embedding,
/// head.head, ...) and of the Wan 2.1 VAE (encoder/decoder of causal 3D convs with RMS_norm gammas).
/// Upstream counts the blocks and picks every width from that count: 30 blocks mean the 1.3B model (dim 1536,
/// 12 heads, FFN 8960), 40 the 14B one, anything else aborts. So the smallest Wan upstream loads is the full
/// 1.3B transformer (≈ 1.42G parameters, ≈ 2.8 GB at F16); only the weights are random. The same layout serves
/// as either expert of a Wan 2.2 A14B-style pair (low- and high-noise models), which upstream builds with
/// whatever width the block count selects. The VAE's widths are hard-coded too (dim 96, z 16), ≈ 127M parameters.
/// </summary>
public static class WanLayout
{
    /// <summary>The block count that selects Wan2.1-T2V-1.3B (the other accepted count, 40, is the 14B model).</summary>
    public const int Blocks13B = 30;

    /// <summary>Width of the 1.3B model.</summary>
    public const int Dim13B = 1536;

    /// <summary>FFN width of the 1.3B model.</summary>
    public const int Ffn13B = 8960;

    /// <summary>Width of the UMT5-XXL states the text embedding takes (hard-coded <c>text_dim</c>).</summary>
    public const int TextDim = 4096;

    /// <summary>Latent channels of the Wan 2.1 VAE, the model's input and output channels.</summary>
    public const int LatentChannels = 16;

    private const int FreqDim = 256;

    /// <summary>The text-to-video transformer with Wan 2.1 1.3B's shape (no img_emb, so upstream reads it as t2v).</summary>
    public static IReadOnlyList<TensorSpec> T2V13B(string prefix = "")
    {
        const int dim = Dim13B, ffn = Ffn13B;
        var t = new List<TensorSpec>();
        // Patch size (1, 2, 2): a 3D conv over t×h×w.
        t.AddRange(Conv3d(prefix + "patch_embedding", LatentChannels, dim, 1, 2, 2));
        t.AddRange(Linear(prefix + "text_embedding.0", TextDim, dim));
        t.AddRange(Linear(prefix + "text_embedding.2", dim, dim));
        t.AddRange(Linear(prefix + "time_embedding.0", FreqDim, dim));
        t.AddRange(Linear(prefix + "time_embedding.2", dim, dim));
        t.AddRange(Linear(prefix + "time_projection.1", dim, 6 * dim));
        for (int i = 0; i < Blocks13B; i++)
        {
            string b = $"{prefix}blocks.{i}.";
            t.Add(new(b + "modulation", [1, 6, dim]));
            foreach (string attn in new[] { "self_attn", "cross_attn" })
            {
                foreach (string proj in new[] { "q", "k", "v", "o" }) t.AddRange(Linear($"{b}{attn}.{proj}", dim, dim));
                t.Add(Scale($"{b}{attn}.norm_q", dim));
                t.Add(Scale($"{b}{attn}.norm_k", dim));
            }
            // norm1/norm2 have no affine parameters; norm3 (cross_attn_norm) has.
            t.AddRange(Norm(b + "norm3", dim));
            t.AddRange(Linear(b + "ffn.0", dim, ffn));
            t.AddRange(Linear(b + "ffn.2", ffn, dim));
        }
        t.Add(new(prefix + "head.modulation", [1, 2, dim]));
        t.AddRange(Linear(prefix + "head.head", dim, LatentChannels * 1 * 2 * 2));
        return t;
    }

    /// <summary>
    /// The Wan 2.1 VAE (also Qwen-Image's): encoder (3 → 96·[1,2,4,4], z 16 doubled) and decoder, both causal 3D,
    /// plus the 1×1×1 convs around the latent. Upstream always builds the encoder too, so both halves are needed.
    /// </summary>
    public static IReadOnlyList<TensorSpec> Vae(string prefix = "")
    {
        const int dim = 96, z = LatentChannels;
        int[] mult = [1, 2, 4, 4];
        bool[] temporalDown = [false, true, true];
        bool[] temporalUp = [true, true, false];
        var t = new List<TensorSpec>();

        // Encoder.
        string e = prefix + "encoder.";
        t.AddRange(CausalConv(e + "conv1", 3, dim, 3));
        int index = 0;
        int[] dims = [dim, .. mult.Select(m => dim * m)];
        int outDim = dim;
        for (int i = 0; i < dims.Length - 1; i++)
        {
            int inDim = dims[i];
            outDim = dims[i + 1];
            for (int j = 0; j < 2; j++)
            {
                t.AddRange(Residual($"{e}downsamples.{index++}", inDim, outDim));
                inDim = outDim;
            }
            if (i != mult.Length - 1)
            {
                string r = $"{e}downsamples.{index++}";
                t.AddRange(Conv(r + ".resample.1", outDim, outDim, 3));
                if (temporalDown[i]) t.AddRange(CausalConv(r + ".time_conv", outDim, outDim, 3, 1, 1));
            }
        }
        t.AddRange(Middle(e + "middle", outDim));
        t.Add(Gamma(e + "head.0", outDim, 4));
        t.AddRange(CausalConv(e + "head.2", outDim, 2 * z, 3));
        t.AddRange(CausalConv(prefix + "conv1", 2 * z, 2 * z, 1));

        // Decoder: widths 384, 384, 384, 192, 96; every level after the first starts at half width because the
        // upsampler before it halves the channels.
        string d = prefix + "decoder.";
        int[] up = [dim * mult[^1], .. Enumerable.Range(0, mult.Length).Reverse().Select(i => dim * mult[i])];
        t.AddRange(CausalConv(d + "conv1", z, up[0], 3));
        t.AddRange(Middle(d + "middle", up[0]));
        index = 0;
        for (int i = 0; i < up.Length - 1; i++)
        {
            int inDim = i is 1 or 2 or 3 ? up[i] / 2 : up[i];
            outDim = up[i + 1];
            for (int j = 0; j < 3; j++)
            {
                t.AddRange(Residual($"{d}upsamples.{index++}", inDim, outDim));
                inDim = outDim;
            }
            if (i != mult.Length - 1)
            {
                string r = $"{d}upsamples.{index++}";
                t.AddRange(Conv(r + ".resample.1", outDim, outDim / 2, 3));
                if (temporalUp[i]) t.AddRange(CausalConv(r + ".time_conv", outDim, outDim * 2, 3, 1, 1));
            }
        }
        t.Add(Gamma(d + "head.0", outDim, 4));
        t.AddRange(CausalConv(d + "head.2", outDim, 3, 3));
        t.AddRange(CausalConv(prefix + "conv2", z, z, 1));
        return t;
    }

    private static IEnumerable<TensorSpec> Middle(string p, int ch)
    {
        foreach (var s in Residual(p + ".0", ch, ch)) yield return s;
        // The attention block normalizes images, so its gamma is (C, 1, 1) rather than (C, 1, 1, 1).
        yield return Gamma(p + ".1.norm", ch, 3);
        foreach (var s in Conv(p + ".1.to_qkv", ch, 3 * ch, 1)) yield return s;
        foreach (var s in Conv(p + ".1.proj", ch, ch, 1)) yield return s;
        foreach (var s in Residual(p + ".2", ch, ch)) yield return s;
    }

    private static IEnumerable<TensorSpec> Residual(string p, int inDim, int outDim)
    {
        yield return Gamma(p + ".residual.0", inDim, 4);
        foreach (var s in CausalConv(p + ".residual.2", inDim, outDim, 3)) yield return s;
        yield return Gamma(p + ".residual.3", outDim, 4);
        foreach (var s in CausalConv(p + ".residual.6", outDim, outDim, 3)) yield return s;
        if (inDim != outDim)
            foreach (var s in CausalConv(p + ".shortcut", inDim, outDim, 1)) yield return s;
    }

    private static IEnumerable<TensorSpec> CausalConv(string p, int inCh, int outCh, int k) => Conv3d(p, inCh, outCh, k, k, k);

    private static IEnumerable<TensorSpec> Conv3d(string p, long inCh, long outCh, int kt, int kh, int kw)
    {
        yield return new(p + ".weight", [outCh, inCh, kt, kh, kw]);
        yield return new(p + ".bias", [outCh]);
    }

    private static IEnumerable<TensorSpec> CausalConv(string p, int inCh, int outCh, int kt, int kh, int kw) => Conv3d(p, inCh, outCh, kt, kh, kw);

    private static TensorSpec Gamma(string p, int ch, int rank)
    {
        long[] shape = new long[rank];
        Array.Fill(shape, 1L);
        shape[0] = ch;
        return new(p + ".gamma", shape);
    }
}
