using Microsoft.Extensions.Logging;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Hub;

namespace StableDiffusion.Native.Cli;

internal static class CliCommon
{
    /// <summary>Exit code of a run that completed.</summary>
    public const int Ok = 0;

    /// <summary>Exit code of an operation that failed (a model, a file, the native library).</summary>
    public const int Failed = 1;

    /// <summary>Exit code of bad arguments or input.</summary>
    public const int BadArguments = 2;

    /// <summary>Exit code when no usable native runtime was found.</summary>
    public const int NoRuntime = 3;

    /// <summary>Exit code of a cancelled run (as a shell reports SIGINT).</summary>
    public const int Cancelled = 130;

    /// <summary>
    /// Runs a command body and turns every documented failure into one line on <paramref name="error"/> and an
    /// exit code (see <see cref="Map"/>); anything else is a bug and crashes loudly with its stack.
    /// </summary>
    public static int Run(Func<int> body, TextWriter? error = null)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (Map(e) is { } failure)
        {
            (error ?? Console.Error).WriteLine(failure.Message);
            return failure.ExitCode;
        }
    }

    /// <summary><see cref="Run"/> for an asynchronous body, with the same map.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> body, TextWriter? error = null)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e) when (Map(e) is { } failure)
        {
            (error ?? Console.Error).WriteLine(failure.Message);
            return failure.ExitCode;
        }
    }

    /// <summary>
    /// The one map from an expected exception to an exit code and the line printed for it: every exception the
    /// library documents, plus the I/O errors of the files the commands read and write. Null for anything else.
    /// </summary>
    public static (int ExitCode, string Message)? Map(Exception e)
    {
        int? code = e switch
        {
            OperationCanceledException => Cancelled,
            ArgumentException or FormatException => BadArguments,
            // A video asked of an image model (or the reverse): the input does not fit the request.
            NotSupportedException => BadArguments,
            // A size this machine cannot hold: the arguments must change.
            GenerationTooLargeException => BadArguments,
            NativeRuntimeException => NoRuntime, // NativeAbiMismatchException included
            StableDiffusionException => Failed,  // InvalidModelFileException, ModelDownloadException, GenerationException
            IOException or UnauthorizedAccessException or InvalidDataException => Failed,
            // Documented by the library (a disposed generator; NativeRuntime.SearchDirectory changed after the load).
            // ObjectDisposedException is an InvalidOperationException.
            InvalidOperationException => Failed,
            _ => null,
        };
        if (code is not int exit) return null;
        return (exit, exit == Cancelled ? "cancelled" : "error: " + OneLine(e.Message));
    }

    /// <summary>
    /// One terminal-safe line: messages can quote file content (paths, tensor names, metadata), so control and
    /// escape characters are shown escaped and line breaks cannot fake further output lines.
    /// </summary>
    internal static string OneLine(string text) => DisplayText.Escape(
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)),
        int.MaxValue);

    /// <summary>
    /// Parse errors of <c>generate</c> and <c>video</c> (sd-cli's flags) as one "error:" line each and
    /// <see cref="BadArguments"/>, the exit code of their other bad values; their help runs to two hundred lines and
    /// would bury the line that names the flag. Null for a parse without errors, or of another command (which keeps
    /// System.CommandLine's report).
    /// </summary>
    public static int? ReportParseErrors(System.CommandLine.ParseResult parse, TextWriter error)
    {
        if (parse.Errors.Count == 0 || parse.CommandResult.Command.Name is not ("generate" or "video")) return null;
        foreach (var e in parse.Errors) error.WriteLine("error: " + OneLine(e.Message));
        error.WriteLine($"(sdnet {parse.CommandResult.Command.Name} --help lists the options)");
        return BadArguments;
    }

    public static ILogger Logger(bool verbose) => new StderrLogger(verbose ? LogLevel.Debug : LogLevel.Warning);
}
