using Microsoft.Extensions.Logging;

namespace StableDiffusion.Native.Cli;

/// <summary>Native log lines to stderr (never stdout: stdout carries results), at or above a level.</summary>
internal sealed class StderrLogger(LogLevel minimum) : ILogger
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
        // Lines can quote file content (tensor names, paths) or, under `serve`, request data: escape before the terminal sees them.
        string line = CliCommon.OneLine(formatter(state, exception));
        lock (s_gate) Console.Error.WriteLine($"[{tag}] {line}");
    }
}
