using static StableDiffusion.Native.TestModels.LayoutParts;

namespace StableDiffusion.Native.TestModels;

/// <summary>
/// A T5 v1.1 encoder (<c>t5xxl_fp16.safetensors</c> naming: <c>shared.weight</c>,
/// <c>encoder.block.N.layer.0.SelfAttention.{q,k,v,o}</c>, gated-GELU <c>layer.1.DenseReluDense.{wi_0,wi_1,wo}</c>,
/// scale-only layer norms, no biases). Upstream infers every size from the tensors (t5.hpp
/// <c>T5Config::detect_from_weights</c>): vocabulary and model width from <c>shared.weight</c>, inner width from
/// block 0's q (heads = inner / 64, so the inner width must be a multiple of 64), feed-forward width from wi_0,
/// and the layer count from the highest block index. Only block 0 carries the relative attention bias (32 buckets ×
/// heads), unless every block does (umT5). T5-XXL itself is 24 layers of 4096/4096/10240 with 64 heads.
/// </summary>
public static class T5Layout
{
    public const int Vocabulary = 32128;
    public const int RelativeBuckets = 32;
    public const int HeadWidth = 64;

    /// <summary>T5-XXL's model width, which SD3's conditioner hard-codes (it pads CLIP-L+G to it and concatenates).</summary>
    public const int XxlModelDim = 4096;

    public static IReadOnlyList<TensorSpec> Encoder(string p = "", int modelDim = XxlModelDim, int innerDim = HeadWidth, int ffDim = 64,
        int layers = 1, int vocabulary = Vocabulary, bool relativeBiasInEveryBlock = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        if (innerDim < HeadWidth || innerDim % HeadWidth != 0)
            throw new ArgumentOutOfRangeException(nameof(innerDim), innerDim, "Upstream derives the heads as inner / 64.");
        int heads = innerDim / HeadWidth;
        var list = new List<TensorSpec> { new(p + "shared.weight", [vocabulary, modelDim]) };
        for (int i = 0; i < layers; i++)
        {
            string b = $"{p}encoder.block.{i}.";
            foreach (var n in new[] { "q", "k", "v" }) list.AddRange(Linear(b + "layer.0.SelfAttention." + n, modelDim, innerDim, bias: false));
            list.AddRange(Linear(b + "layer.0.SelfAttention.o", innerDim, modelDim, bias: false));
            if (i == 0 || relativeBiasInEveryBlock)
                list.Add(new(b + "layer.0.SelfAttention.relative_attention_bias.weight", [RelativeBuckets, heads]));
            list.Add(Scale(b + "layer.0.layer_norm", modelDim));
            list.AddRange(Linear(b + "layer.1.DenseReluDense.wi_0", modelDim, ffDim, bias: false));
            list.AddRange(Linear(b + "layer.1.DenseReluDense.wi_1", modelDim, ffDim, bias: false));
            list.AddRange(Linear(b + "layer.1.DenseReluDense.wo", ffDim, modelDim, bias: false));
            list.Add(Scale(b + "layer.1.layer_norm", modelDim));
        }
        list.Add(Scale(p + "encoder.final_layer_norm", modelDim));
        return list;
    }
}
