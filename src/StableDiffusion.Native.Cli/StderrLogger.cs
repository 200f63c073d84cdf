using Microsoft.Extensions.Logging;

namespace StableDiffusion.Native.Cli;

/// <summary>
/// Native log lines to stderr (never stdout: stdout carries results), at or above a level; <paramref name="output"/>
/// stands in for stderr in tests.
/// </summary>
internal sealed class StderrLogger(LogLevel minimum, TextWriter? output = null) : ILogger
{
    private static readonly object s_gate = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        string tag = logLevel switch
        {
            LogLevel.Trace or LogLevel.Debug => "debug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            _ => "error",
        };
        string line = formatter(state, exception);
        // Formatters leave the exception out: Kestrel's "An unhandled exception was thrown by the application." alone
        // tells an operator nothing. Its type and message, then; the stack is for a debugger.
        if (exception is not null) line += $" {exception.GetType().FullName}: {exception.Message}";
        // Lines can quote file content (tensor names, paths) or, under `serve`, request data: escape before the terminal sees them.
        line = CliCommon.OneLine(line);
        lock (s_gate) (output ?? Console.Error).WriteLine($"[{tag}] {line}");
    }
}
