using Microsoft.Extensions.Logging;

namespace StableDiffusion.Native.Cli;

internal static class CliCommon
{
    /// <summary>Exit codes: 0 ok, 1 failure, 2 bad arguments, 3 no native runtime, 130 cancelled.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (ExitCode(e) is int code)
        {
            Console.Error.WriteLine(code == 130 ? "cancelled" : "error: " + e.Message);
            return code;
        }
    }

    /// <summary>The exit code of an expected failure; null lets anything else crash loudly with its stack.</summary>
    private static int? ExitCode(Exception e) => e switch
    {
        OperationCanceledException => 130,
        ArgumentException => 2,
        NativeRuntimeException or NativeAbiMismatchException => 3,
        StableDiffusionException or ModelFiles.InvalidModelFileException or IOException => 1,
        _ => null,
    };

    public static ILogger Logger(bool verbose) => new StderrLogger(verbose ? LogLevel.Debug : LogLevel.Warning);
}
