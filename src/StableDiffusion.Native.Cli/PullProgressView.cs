using System.Globalization;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Hub;

namespace StableDiffusion.Native.Cli;

/// <summary>
/// What <c>models pull</c> shows on stderr. On a terminal: one status line, redrawn, with a bar, the size, the speed
/// and the time left. Redirected: plain lines, one per tenth of the file, so a log holds a readable history. Log lines
/// (retries, a file verified by size only) are written between them, never through the status line.
/// </summary>
internal sealed class PullProgressView(TextWriter error, HubFileReference file, bool live) : IProgress<ModelPullProgress>
{
    private const int BarWidth = 30;
    private readonly object _gate = new();
    private bool _started;
    private bool _closed;
    private int _drawn; // the length of the status line now on screen; 0 when none is
    private int _lastTenth = -1;
    private long _lastResumed;
    private ModelPullStage _stage = ModelPullStage.Downloading;

    public void Report(ModelPullProgress value)
    {
        lock (_gate)
        {
            if (_closed) return;
            if (!_started)
            {
                _started = true;
                if (value.Stage == ModelPullStage.Completed)
                {
                    this.WriteLine($"{file} is already in the folder with the hub's size; not downloaded (--force downloads it again)");
                    return;
                }

                this.WriteLine($"downloading {file}{(value.TotalBytes is long total ? $" ({Size(total)})" : "")}");
            }

            if (value.Stage == ModelPullStage.Downloading && value.ResumedFrom > 0 && value.ResumedFrom != _lastResumed)
            {
                _lastResumed = value.ResumedFrom;
                this.WriteLine($"resuming at {Size(value.ResumedFrom)}");
            }

            bool stageChanged = value.Stage != _stage;
            _stage = value.Stage;
            switch (value.Stage)
            {
                case ModelPullStage.Downloading:
                    this.Downloading(value);
                    break;
                case ModelPullStage.Verifying:
                    if (live) this.Draw($"verifying sha256 {Bar(value.BytesReceived, value.TotalBytes)} {Percent(value.BytesReceived, value.TotalBytes)}");
                    else if (stageChanged) this.WriteLine("verifying sha256");
                    break;
                case ModelPullStage.Completed:
                    this.WriteLine(value.Sha256 is { } sha
                        ? $"verified: {Size(value.BytesReceived)}, sha256 {sha}"
                        : $"verified the size only ({Size(value.BytesReceived)}): the hub gives no sha256 for this file");
                    break;
            }
        }
    }

    /// <summary>Ends the status line, so what follows starts on a line of its own. Idempotent.</summary>
    public void Close()
    {
        lock (_gate)
        {
            this.EndStatusLine();
            _closed = true;
        }
    }

    /// <summary>A logger whose lines go between the status lines; warnings, and with <paramref name="verbose"/> information too.</summary>
    public ILogger Logger(bool verbose) => new ViewLogger(this, verbose ? LogLevel.Information : LogLevel.Warning);

    private void Downloading(ModelPullProgress p)
    {
        string amount = p.TotalBytes is long total ? $"{Size(p.BytesReceived)} of {Size(total)}" : Size(p.BytesReceived);
        string speed = p.BytesPerSecond > 0 ? $"  {Size((long)p.BytesPerSecond)}/s" : "";
        string eta = p.EstimatedRemaining is { } left ? $"  ETA {Duration(left)}" : "";
        if (live)
        {
            this.Draw($"{Bar(p.BytesReceived, p.TotalBytes)} {Percent(p.BytesReceived, p.TotalBytes),4}  {amount}{speed}{eta}");
            return;
        }

        // Redirected: a line per tenth (and none for a tenth that a resume skipped over).
        if (p.TotalBytes is not long size || size == 0) return;
        int tenth = (int)(p.BytesReceived * 10 / size);
        if (tenth <= _lastTenth || p.BytesReceived == p.ResumedFrom) return;
        _lastTenth = tenth;
        this.WriteLine($"{Percent(p.BytesReceived, size),4}  {amount}{speed}{eta}");
    }

    private void Draw(string text)
    {
        error.Write("\r" + text.PadRight(_drawn));
        _drawn = text.Length;
    }

    private void EndStatusLine()
    {
        if (_drawn == 0) return;
        error.WriteLine();
        _drawn = 0;
    }

    private void WriteLine(string text)
    {
        if (live && _drawn > 0)
        {
            // Overwrite the status line with the message; the next report draws it again below.
            error.WriteLine("\r" + text.PadRight(_drawn));
            _drawn = 0;
            return;
        }

        error.WriteLine(text);
    }

    private void Log(LogLevel level, string message)
    {
        lock (_gate)
        {
            string tag = level switch
            {
                LogLevel.Trace or LogLevel.Debug => "debug",
                LogLevel.Information => "info",
                LogLevel.Warning => "warn",
                _ => "error",
            };
            this.WriteLine($"[{tag}] {CliCommon.OneLine(message)}");
        }
    }

    private static string Bar(long done, long? total)
    {
        int filled = total is long t && t > 0 ? (int)Math.Min(BarWidth, done * BarWidth / t) : 0;
        return "[" + new string('#', filled) + new string('-', BarWidth - filled) + "]";
    }

    private static string Percent(long done, long? total)
        => total is long t && t > 0 ? string.Create(CultureInfo.InvariantCulture, $"{Math.Min(100, done * 100 / t)}%") : "";

    internal static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F1} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };

    internal static string Duration(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}h{t.Minutes:00}m")
        : t.TotalMinutes >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}m{t.Seconds:00}s")
            : string.Create(CultureInfo.InvariantCulture, $"{Math.Ceiling(t.TotalSeconds)}s");

    private sealed class ViewLogger(PullProgressView view, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) view.Log(logLevel, formatter(state, exception));
        }
    }
}
