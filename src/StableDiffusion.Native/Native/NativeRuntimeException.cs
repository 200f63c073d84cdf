namespace StableDiffusion.Native;

/// <summary>The native runtime could not be found or loaded. The message lists every place probed and why each failed.</summary>
public sealed class NativeRuntimeException : Exception
{
    public NativeRuntimeException(string message, IReadOnlyList<NativeProbe> probes, Exception? inner = null)
        : base(message, inner) => Probes = probes;

    /// <summary>Every candidate looked at, in probe order.</summary>
    public IReadOnlyList<NativeProbe> Probes { get; }
}

/// <summary>
/// The native runtime that was found is not the one these bindings were generated for (another upstream commit,
/// or a struct whose layout differs). Calling into it would corrupt memory, so it is refused.
/// </summary>
public sealed class NativeAbiMismatchException : Exception
{
    public NativeAbiMismatchException(string message, string libraryPath) : base(message) => LibraryPath = libraryPath;

    public string LibraryPath { get; }
}

/// <summary>One candidate location of the native runtime and what happened there.</summary>
/// <param name="Source">Why this place was probed (explicit setting, app folder, dev build, cache...).</param>
/// <param name="Path">The library file tried.</param>
/// <param name="Outcome">"not found", "loaded", or the OS loader's error text.</param>
public sealed record NativeProbe(string Source, string Path, string Outcome);

/// <summary>A native call failed (returned NULL/false). <see cref="NativeLog"/> holds what upstream logged as errors.</summary>
public class StableDiffusionException : Exception
{
    public StableDiffusionException(string message, IReadOnlyList<string> nativeLog)
        : base(nativeLog.Count == 0 ? message : message + " Native log: " + string.Join(" | ", nativeLog)) => NativeLog = nativeLog;

    /// <summary>The last error and warning lines the native library logged on the failing thread.</summary>
    public IReadOnlyList<string> NativeLog { get; }
}
