using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Native;

namespace StableDiffusion.Native;

/// <summary>
/// The native stable-diffusion.cpp runtime: where it is loaded from, the check that it is the build these
/// bindings were generated for, and what it registered (CPU variant, GPU devices). Every other entry point
/// loads it on first use; call <see cref="Describe"/> to load it early or to report on it.
/// </summary>
public static class NativeRuntime
{
    /// <summary>
    /// Environment variable that picks the device when <see cref="GeneratorOptions.Backend"/> is not set: a device name
    /// ("Vulkan0"), a backend ("cuda", "vulkan", "metal", "rocm": its first device) or <c>cpu</c>.
    /// </summary>
    public const string BackendVariable = BackendSelector.Variable;

    /// <summary>
    /// A directory holding the runtime, probed before anything else (also settable with the
    /// <c>SDNET_NATIVE_PATH</c> environment variable). Must be set before the first load.
    /// </summary>
    /// <exception cref="InvalidOperationException">Set to another value after the runtime was loaded.</exception>
    public static string? SearchDirectory
    {
        get => NativeRuntimeLoader.SearchDirectory;
        set => NativeRuntimeLoader.SearchDirectory = value;
    }

    /// <summary>Receives native log lines that belong to no particular call (model loading on worker threads, backend discovery).</summary>
    public static ILogger? Logger
    {
        get => NativeRuntimeLoader.Logger;
        set => NativeRuntimeLoader.Logger = value;
    }

    /// <summary>Whether the runtime has been loaded and checked.</summary>
    public static bool IsLoaded => NativeRuntimeLoader.IsLoaded;

    /// <summary>Loads and checks the runtime if that has not happened yet, and describes it.</summary>
    /// <exception cref="NativeRuntimeException">No loadable runtime was found; the message lists every probe.</exception>
    /// <exception cref="NativeAbiMismatchException">The runtime is of another upstream commit or struct layout.</exception>
    public static NativeRuntimeInfo Describe() => NativeRuntimeLoader.EnsureLoaded();
}
