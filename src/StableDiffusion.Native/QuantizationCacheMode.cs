namespace StableDiffusion.Native;

/// <summary>Whether a load with a weight type (<see cref="GeneratorOptions.WeightType"/>) keeps the converted weights for the next load.</summary>
public enum QuantizationCacheMode
{
    /// <summary>Convert once into the cache folder and load the cached file from then on (the default).</summary>
    ReadWrite = 0,

    /// <summary>Convert on every load, as upstream does (slow, nothing written).</summary>
    Off = 1,
}
