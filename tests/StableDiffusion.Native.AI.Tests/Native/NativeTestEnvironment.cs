using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.AI.Tests.Native;

/// <summary>
/// Whether the native runtime is here (explicit SDNET_NATIVE_PATH, this checkout's build, or the user cache), as
/// the core tests decide it: tests that need it call <see cref="Require"/>, which skips them with the loader's own
/// reason otherwise.
/// </summary>
internal static class NativeTestEnvironment
{
    private static readonly Lazy<(NativeRuntimeInfo? Info, string? Reason)> s_state = new(() =>
    {
        try
        {
            return (NativeRuntime.Describe(), null);
        }
        catch (Exception e) when (e is NativeRuntimeException or NativeAbiMismatchException)
        {
            string first = e.Message.Split('\n')[0].Trim();
            return (null, "native runtime not available (build it with `cmake --workflow --preset cpu`): " + first);
        }
    });

    public static void Require()
    {
        var (info, reason) = s_state.Value;
        Skip.If(info is null, reason);
    }

    private static readonly Lazy<string> s_tinySd1 = new(() => TestModelFactory.Sd1(unetChannels: 32));

    /// <summary>The tiny random-weight SD1 checkpoint (32-channel UNet and VAE decoder, full CLIP and VAE encoder, F16).</summary>
    public static string TinySd1 => s_tinySd1.Value;

    public static GeneratorOptions TinyOptions => new() { ModelPath = TinySd1, Threads = 2 };
}

/// <summary>One tiny model, loaded once for every native test: loading is the slow part.</summary>
public sealed class TinyModelFixture : IDisposable
{
    private readonly Lazy<Generator> _generator = new(() => Generator.Load(NativeTestEnvironment.TinyOptions));

    public Generator Generator
    {
        get
        {
            NativeTestEnvironment.Require();
            return _generator.Value;
        }
    }

    public void Dispose()
    {
        if (_generator.IsValueCreated) _generator.Value.Dispose();
    }
}

/// <summary>The native tests run one after another, on the one shared model.</summary>
[CollectionDefinition(Name)]
public sealed class TinyModelCollection : ICollectionFixture<TinyModelFixture>
{
    public const string Name = "tiny model";
}
