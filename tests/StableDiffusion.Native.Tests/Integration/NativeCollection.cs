namespace StableDiffusion.Native.Tests.Integration;

/// <summary>Native tests share one collection: each already uses every core, so running them side by side only thrashes.</summary>
[CollectionDefinition(Name)]
public sealed class NativeCollection : ICollectionFixture<TinyGeneratorFixture>
{
    public const string Name = "native";
}
