namespace StableDiffusion.Native.Tests.Native;

/// <summary>
/// Tests that change process-wide state (environment variables) or observe it (whether the runtime is loaded).
/// The collection runs alone, after the parallel ones, so nothing else loads the runtime meanwhile.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeEnvironmentCollection
{
    public const string Name = "native-environment";
}
