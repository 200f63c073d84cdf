namespace StableDiffusion.Native.TestModels;

/// <summary>The building blocks every layout repeats, in PyTorch shape order (out before in).</summary>
internal static class LayoutParts
{
    public static IEnumerable<TensorSpec> Linear(string p, long inF, long outF, bool bias = true)
    {
        yield return new(p + ".weight", [outF, inF]);
        if (bias) yield return new(p + ".bias", [outF]);
    }

    public static IEnumerable<TensorSpec> Conv(string p, long inCh, long outCh, int k, bool bias = true)
    {
        yield return new(p + ".weight", [outCh, inCh, k, k]);
        if (bias) yield return new(p + ".bias", [outCh]);
    }

    /// <summary>LayerNorm/GroupNorm with affine scale and shift.</summary>
    public static IEnumerable<TensorSpec> Norm(string p, long ch)
    {
        yield return new(p + ".weight", [ch]);
        yield return new(p + ".bias", [ch]);
    }

    /// <summary>
    /// A scale-only norm (RMSNorm, T5LayerNorm); <paramref name="name"/> is "weight" or Flux's "scale". Scales start
    /// near 1 like a trained network's, whatever the name (the factory only recognizes ".weight").
    /// </summary>
    public static TensorSpec Scale(string p, long ch, string name = "weight") => new(p + "." + name, [ch]) { Mean = 1f };
}
