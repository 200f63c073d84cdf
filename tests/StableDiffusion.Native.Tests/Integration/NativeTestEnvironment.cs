using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.Tests.Integration;

/// <summary>
/// Whether the native runtime is here (explicit SDNET_NATIVE_PATH, this checkout's build, or the user cache).
/// Tests that need it call <see cref="Require"/>, which skips them with the loader's own reason otherwise.
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

    public static NativeRuntimeInfo Require()
    {
        var (info, reason) = s_state.Value;
        Skip.If(info is null, reason);
        return info!;
    }

    private static readonly Lazy<string> s_tinySd1 = new(() => TestModelFactory.Sd1(unetChannels: 32));

    /// <summary>The tiny random-weight SD1 checkpoint (32-channel UNet and VAE decoder, full CLIP and VAE encoder, F16).</summary>
    public static string TinySd1 => s_tinySd1.Value;

    /// <summary>
    /// The threads of every generation the native tests start, in process or in a child: one, for the two lanes that run
    /// side by side a core each (why: see NativeCollection.cs).
    /// </summary>
    public const int Threads = 1;

    /// <summary><see cref="Threads"/> as a command-line value.</summary>
    public static string ThreadsArgument => Threads.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static GeneratorOptions TinyOptions => new() { ModelPath = TinySd1, Threads = Threads };

    /// <summary>
    /// A fast request: 64×64, 2 steps, fixed seed, and clip skip 12, which stops SD1's CLIP after the first of its 12
    /// full-size layers (upstream fixes CLIP-L's depth, so no test model can be shallower). The tests that use it assert
    /// sizes, seeds, determinism and what reaches upstream, which no layer count changes; the text encoders' full depth
    /// was half of each tiny SD1 generation's time (0.67 of 1.3 s in sd-cli), and still runs for every request the server
    /// and CLI tests send over HTTP or on a command line.
    /// </summary>
    public static ImageRequest Small(long seed = 42, int steps = 2) => new()
    {
        Prompt = "a lighthouse at dusk",
        Width = 64,
        Height = 64,
        Seed = seed,
        ClipSkip = 12,
        Sampling = new SamplingOptions { Steps = steps, Sampler = Sampler.Euler },
    };
}

/// <summary>One tiny model loaded once for the tests that only generate.</summary>
public sealed class TinyGeneratorFixture : IDisposable
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
