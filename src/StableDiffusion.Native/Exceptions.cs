namespace StableDiffusion.Native;

/// <summary>
/// The root of every exception this library throws for a reason other than a bad argument (those are
/// <see cref="ArgumentException"/>s) or cancellation (<see cref="OperationCanceledException"/>): catch it to
/// handle every runtime, model-file and generation failure in one place.
/// </summary>
/// <remarks>
/// Derived types: <see cref="NativeRuntimeException"/> (no usable native runtime; <see cref="NativeAbiMismatchException"/>
/// when it is the wrong build), <c>ModelFiles.InvalidModelFileException</c> (a model file is malformed, hostile
/// or of a refused format), <c>Hub.ModelDownloadException</c> (a model file could not be pulled from
/// the hub, or what arrived is not the hub's file), <see cref="GenerationException"/> (stable-diffusion.cpp failed
/// an operation) and <c>GenerationTooLargeException</c> (a generation would need more memory than the process can get).
/// </remarks>
public class StableDiffusionException : Exception
{
    /// <summary>Creates an exception with a default message.</summary>
    public StableDiffusionException()
        : this("A stable-diffusion.cpp operation failed.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public StableDiffusionException(string? message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause, or null.</param>
    public StableDiffusionException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// stable-diffusion.cpp failed an operation it was given valid input for: loading a model, generating, upscaling
/// or converting returned NULL/false. <see cref="NativeLog"/> holds what it logged as errors and warnings meanwhile.
/// </summary>
public class GenerationException : StableDiffusionException
{
    /// <summary>Creates an exception with a default message.</summary>
    public GenerationException()
        : this("stable-diffusion.cpp failed.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public GenerationException(string? message)
        : this(message, [], null)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause, or null.</param>
    public GenerationException(string? message, Exception? innerException)
        : this(message, [], innerException)
    {
    }

    /// <summary>Creates an exception for a failed native call with the lines upstream logged during it.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="nativeLog">Error and warning lines upstream logged on the failing thread, oldest first.</param>
    /// <param name="innerException">The cause, or null.</param>
    public GenerationException(string? message, IReadOnlyList<string> nativeLog, Exception? innerException = null)
        : base(Compose(message, nativeLog), innerException)
        => NativeLog = nativeLog ?? [];

    /// <summary>The last error and warning lines the native library logged on the failing thread (empty when none).</summary>
    public IReadOnlyList<string> NativeLog { get; } = [];

    private static string? Compose(string? message, IReadOnlyList<string>? nativeLog)
        => nativeLog is null || nativeLog.Count == 0 ? message : message + " Native log: " + string.Join(" | ", nativeLog);
}

/// <summary>
/// A generation needs more working memory than the process can get: refused before any native work, because upstream
/// would allocate it anyway and, where the operating system overcommits memory, the process would be killed when it
/// touched the pages. The message names what needs the memory and what would lower it (a smaller size, flash attention,
/// VAE tiling).
/// </summary>
public sealed class GenerationTooLargeException : StableDiffusionException
{
    /// <summary>Creates an exception with a default message.</summary>
    public GenerationTooLargeException()
        : this("The generation needs more memory than this process can get.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What does not fit.</param>
    public GenerationTooLargeException(string? message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">What does not fit.</param>
    /// <param name="innerException">The cause, or null.</param>
    public GenerationTooLargeException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception with the memory needed and the memory available.</summary>
    /// <param name="message">What does not fit.</param>
    /// <param name="requiredBytes">The least working memory the generation needs.</param>
    /// <param name="availableBytes">What the process could get when it was refused.</param>
    public GenerationTooLargeException(string? message, long requiredBytes, long availableBytes)
        : base(message)
    {
        RequiredBytes = requiredBytes;
        AvailableBytes = availableBytes;
    }

    /// <summary>The least working memory the generation needs, in bytes (0 when not given).</summary>
    public long RequiredBytes { get; }

    /// <summary>The memory the process could get when the generation was refused, in bytes (0 when not given).</summary>
    public long AvailableBytes { get; }
}

/// <summary>The native runtime could not be found or loaded. The message lists every place probed and why each failed.</summary>
public class NativeRuntimeException : StableDiffusionException
{
    /// <summary>Creates an exception with a default message.</summary>
    public NativeRuntimeException()
        : this("The native stable-diffusion.cpp runtime could not be loaded.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public NativeRuntimeException(string? message)
        : this(message, [], null)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause, or null.</param>
    public NativeRuntimeException(string? message, Exception? innerException)
        : this(message, [], innerException)
    {
    }

    /// <summary>Creates an exception with the probes that were tried.</summary>
    /// <param name="message">What went wrong, with every probe.</param>
    /// <param name="probes">Every candidate looked at, in probe order.</param>
    /// <param name="innerException">The cause, or null.</param>
    public NativeRuntimeException(string? message, IReadOnlyList<NativeProbe> probes, Exception? innerException = null)
        : base(message, innerException)
        => Probes = probes ?? [];

    /// <summary>Every candidate looked at, in probe order (empty when the failure came after a successful load).</summary>
    public IReadOnlyList<NativeProbe> Probes { get; } = [];
}

/// <summary>
/// The native runtime that was found is not the one these bindings were generated for (another upstream commit,
/// or a struct whose layout differs). Calling into it would corrupt memory, so it is refused.
/// </summary>
public sealed class NativeAbiMismatchException : NativeRuntimeException
{
    /// <summary>Creates an exception with a default message.</summary>
    public NativeAbiMismatchException()
        : this("The native runtime is not the build these bindings were generated for.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What differs.</param>
    public NativeAbiMismatchException(string? message)
        : this(message, string.Empty)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">What differs.</param>
    /// <param name="innerException">The cause, or null.</param>
    public NativeAbiMismatchException(string? message, Exception? innerException)
        : base(message, innerException)
        => LibraryPath = string.Empty;

    /// <summary>Creates an exception naming the refused library.</summary>
    /// <param name="message">What differs: both commits, or the first differing struct or field.</param>
    /// <param name="libraryPath">The refused library file.</param>
    public NativeAbiMismatchException(string? message, string libraryPath)
        : base(message)
        => LibraryPath = libraryPath ?? string.Empty;

    /// <summary>The refused library file.</summary>
    public string LibraryPath { get; }
}

/// <summary>One candidate location of the native runtime and what happened there.</summary>
/// <param name="Source">Why this place was probed (explicit setting, app folder, dev build, cache...).</param>
/// <param name="Path">The library file tried.</param>
/// <param name="Outcome">"not found", "loaded", or the OS loader's error text.</param>
public sealed record NativeProbe(string Source, string Path, string Outcome);

/// <summary>
/// A GPU was required (<see cref="GeneratorOptions.RequireGpu"/>) or a GPU backend was named, and none can be used:
/// <see cref="Backends"/> says, for each, why it was rejected. Nothing falls back to the CPU silently.
/// </summary>
public sealed class GpuUnavailableException : NativeRuntimeException
{
    /// <summary>Creates an exception with a default message.</summary>
    public GpuUnavailableException()
        : this("No GPU backend can be used.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public GpuUnavailableException(string? message)
        : this(message, [])
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause, or null.</param>
    public GpuUnavailableException(string? message, Exception? innerException)
        : base(message, innerException)
        => Backends = [];

    /// <summary>Creates an exception with each GPU backend's status.</summary>
    /// <param name="message">What went wrong, with each backend's reason.</param>
    /// <param name="backends">Each GPU backend and why it was rejected.</param>
    public GpuUnavailableException(string? message, IReadOnlyList<GpuBackendStatus> backends)
        : base(message)
        => Backends = backends ?? [];

    /// <summary>Each GPU backend in order of preference and why it cannot be used.</summary>
    public IReadOnlyList<GpuBackendStatus> Backends { get; }
}
