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
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("cancelled");
            return 130;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }
        catch (NativeRuntimeException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 3;
        }
        catch (NativeAbiMismatchException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 3;
        }
        catch (StableDiffusionException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
        catch (ModelFiles.InvalidModelFileException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
    }

    public static ILogger Logger(bool verbose) => new StderrLogger(verbose ? LogLevel.Debug : LogLevel.Warning);
}
