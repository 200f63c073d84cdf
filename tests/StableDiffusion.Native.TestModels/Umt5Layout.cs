using static StableDiffusion.Native.TestModels.DitParts;

namespace StableDiffusion.Native.TestModels;

/// <summary>
/// The tensors of a UMT5 encoder (HF T5EncoderModel naming: shared, encoder.block.N.layer.0.SelfAttention.q, ...,
/// encoder.final_layer_norm) as Wan loads it through <c>--t5xxl</c>. Unlike T5, UMT5 gives every block its own
/// relative-attention bias table (32 buckets × heads). Upstream infers the block count, the widths and the head
/// count (inner width / 64) from the tensors, but Wan hard-codes the 4096-wide text states it takes, so the model
/// width stays at UMT5-XXL's; with the real 256384-token embedding that table alone is ≈ 1.05G parameters
/// (≈ 2.1 GB at F16). Everything else can shrink: one block, one head, a 64-wide FFN.
/// </summary>
public static class Umt5Layout
{
    /// <summary>UMT5's vocabulary (upstream's default for UMT5, and the real embedding's row count).</summary>
    public const int VocabSize = 256384;

    /// <summary>UMT5-XXL's width, which Wan's text embedding requires.</summary>
    public const int XxlModelDim = 4096;

    private const int RelativeBuckets = 32;
    private const int HeadDim = 64;

    public static IReadOnlyList<TensorSpec> Encoder(int blocks = 1, int innerDim = HeadDim, int ffDim = 64, int modelDim = XxlModelDim, int vocabSize = VocabSize)
    {
        if (innerDim % HeadDim != 0) throw new ArgumentOutOfRangeException(nameof(innerDim), innerDim, "Upstream derives the head count as inner width / 64.");
        int heads = innerDim / HeadDim;
        var t = new List<TensorSpec> { new("shared.weight", [vocabSize, modelDim]) };
        for (int i = 0; i < blocks; i++)
        {
            string b = $"encoder.block.{i}.layer.";
            foreach (string proj in new[] { "q", "k", "v" }) t.AddRange(Linear($"{b}0.SelfAttention.{proj}", modelDim, innerDim, bias: false));
            t.AddRange(Linear(b + "0.SelfAttention.o", innerDim, modelDim, bias: false));
            t.Add(new(b + "0.SelfAttention.relative_attention_bias.weight", [RelativeBuckets, heads]));
            t.Add(Scale(b + "0.layer_norm", modelDim));
            t.AddRange(Linear(b + "1.DenseReluDense.wi_0", modelDim, ffDim, bias: false));
            t.AddRange(Linear(b + "1.DenseReluDense.wi_1", modelDim, ffDim, bias: false));
            t.AddRange(Linear(b + "1.DenseReluDense.wo", ffDim, modelDim, bias: false));
            t.Add(Scale(b + "1.layer_norm", modelDim));
        }
        t.Add(Scale("encoder.final_layer_norm", modelDim));
        return t;
    }
}
