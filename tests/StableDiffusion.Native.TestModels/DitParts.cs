namespace StableDiffusion.Native.TestModels;

/// <summary>The building blocks the transformer-family layouts share (PyTorch shape order, as in the checkpoints).</summary>
internal static class DitParts
{
    public static IEnumerable<TensorSpec> Linear(string p, long inF, long outF, bool bias = true)
    {
        yield return new(p + ".weight", [outF, inF]);
        if (bias) yield return new(p + ".bias", [outF]);
    }

    /// <summary>A norm with a scale only (RMSNorm, T5LayerNorm).</summary>
    public static TensorSpec Scale(string p, long ch) => new(p + ".weight", [ch]);

    /// <summary>A LayerNorm/GroupNorm with scale and shift.</summary>
    public static IEnumerable<TensorSpec> Norm(string p, long ch)
    {
        yield return new(p + ".weight", [ch]);
        yield return new(p + ".bias", [ch]);
    }

    public static IEnumerable<TensorSpec> Conv2d(string p, long inCh, long outCh, int k, bool bias = true)
    {
        yield return new(p + ".weight", [outCh, inCh, k, k]);
        if (bias) yield return new(p + ".bias", [outCh]);
    }

    public static IEnumerable<TensorSpec> Conv3d(string p, long inCh, long outCh, int kt, int kh, int kw)
    {
        yield return new(p + ".weight", [outCh, inCh, kt, kh, kw]);
        yield return new(p + ".bias", [outCh]);
    }
}
