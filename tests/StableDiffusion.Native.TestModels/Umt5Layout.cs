namespace StableDiffusion.Native.TestModels;

/// <summary>
/// UMT5 as Wan loads it through <c>--t5xxl</c>: the T5 v1.1 layout (<see cref="T5Layout"/>) with a relative-attention
/// bias table in every block and UMT5's 256384-token vocabulary. Upstream infers every width from the tensors, but
/// Wan hard-codes the 4096-wide text states its text embedding takes, so the model width stays UMT5-XXL's, and
/// with the real vocabulary that embedding alone is ≈ 1.05G parameters (≈ 590 MB at Q4_0, 2.1 GB at F16).
/// Everything else shrinks: one block, one head, a 64-wide FFN.
/// </summary>
public static class Umt5Layout
{
    /// <summary>UMT5's vocabulary (upstream's default for UMT5, and the real embedding's row count).</summary>
    public const int Vocabulary = 256384;

    public static IReadOnlyList<TensorSpec> Encoder(int layers = 1, int innerDim = T5Layout.HeadWidth, int ffDim = 64)
        => T5Layout.Encoder(modelDim: T5Layout.XxlModelDim, innerDim: innerDim, ffDim: ffDim, layers: layers,
            vocabulary: Vocabulary, relativeBiasInEveryBlock: true);
}
