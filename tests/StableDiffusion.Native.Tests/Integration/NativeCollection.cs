namespace StableDiffusion.Native.Tests.Integration;

// The native tests run in two lanes side by side, one core each, and a third collection runs alone at the end. Each
// lane is serial inside; every generation in them uses one thread (NativeTestEnvironment.Threads). ggml's threads spin at
// every graph node until all have arrived: two-thread generations beside each other (or beside any busy process) hold
// each other spinning (the tiny SD1's hostile cases took 17 s alone and 40 s beside one busy process), while one-thread
// generations never wait, and on the tests' tiny models a second thread bought 1.34x the speed for 1.2x the CPU. Two lanes
// of one thread keep both cores doing work. The lanes split by concern, drawn so that their running times come out
// close; each loads its own TinyGeneratorFixture.

/// <summary>
/// The library lane: generations in this process (families, editing, extra models, RPC) and the hostile-input harness's
/// library cases (in a child process).
/// </summary>
[CollectionDefinition(Name)]
public sealed class NativeCollection : ICollectionFixture<TinyGeneratorFixture>
{
    public const string Name = "native";
}

/// <summary>
/// The tool lane: <c>sdnet</c> and its server, upstream's sd-cli and sd-server beside it, conversions (<c>sdnet convert</c>'s
/// and the quantize-once cache's), the hostile-input harness through <c>sdnet</c>, and the net8.0 smoke test.
/// </summary>
[CollectionDefinition(Name)]
public sealed class NativeToolCollection : ICollectionFixture<TinyGeneratorFixture>
{
    public const string Name = "native-tool";
}

/// <summary>
/// Tests that measure the whole process or the machine, or race a clock (working set across loads, a memory cgroup,
/// several threads on one generator, HAProxy's health checks every 500 ms): they run alone, after everything else, so
/// that no other test's generations are in their numbers or their timing.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeAloneCollection : ICollectionFixture<TinyGeneratorFixture>
{
    public const string Name = "native-alone";
}
