namespace StableDiffusion.Native.Tests.Integration;

/// <summary>
/// Native tests share one collection: each already uses every core, so running them side by side only thrashes. Worse
/// than sharing: ggml's threads spin at every graph node until all have arrived, so one that has lost its core holds the
/// others spinning (the tiny SD1's hostile cases took 17 s alone and 40 s beside one busy process). A test whose child
/// processes generate belongs here too. The collection runs alone, after the parallel ones (the managed tests), so that
/// none of them takes a core from its generations.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeCollection : ICollectionFixture<TinyGeneratorFixture>
{
    public const string Name = "native";
}
