using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Interop;

namespace StableDiffusion.Native.Native;

/// <summary>
/// Routes upstream's process-global log and progress callbacks to the managed call that caused them.
/// Upstream offers one callback per process, and its user-data pointer cannot tell two concurrent calls
/// apart; but sampling, decoding and their logs run on the calling thread, so a thread-static scope set
/// around each native call attributes them exactly. Lines from upstream's worker threads (model loading)
/// go to <see cref="NativeRuntimeLoader.Logger"/>.
/// </summary>
internal sealed class NativeCallScope : IDisposable
{
    [ThreadStatic] private static NativeCallScope? t_current;

    private readonly NativeCallScope? _previous;
    private readonly List<string> _problems = new();

    private readonly NativePreview? _preview;

    private NativeCallScope(ILogger? logger, Action<int, int, float>? onProgress, Action<string>? onInfo,
        Action<int, IReadOnlyList<NativeImage>, bool>? onPreview, NativePreview? preview)
    {
        Logger = logger;
        OnProgress = onProgress;
        OnInfo = onInfo;
        OnPreview = onPreview;
        if (onPreview is not null)
        {
            _preview = preview ?? DefaultPreview;
            SubscribePreviews(_preview);
        }
        _previous = t_current;
        t_current = this;
    }

    public ILogger? Logger { get; }

    public Action<int, int, float>? OnProgress { get; }

    /// <summary>Sees every INFO and DEBUG line of the call (used to tell loading, sampling and decoding apart).</summary>
    public Action<string>? OnInfo { get; }

    /// <summary>Error and warning lines logged on this thread during the scope, oldest first (at most 32 kept).</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            lock (_problems) return _problems.ToArray();
        }
    }

    /// <summary>Receives a copy of each preview (step, frames, is-noisy) of this call, every <see cref="NativePreview.Interval"/>-th step.</summary>
    public Action<int, IReadOnlyList<NativeImage>, bool>? OnPreview { get; }

    private static readonly NativePreview DefaultPreview = new((int)preview_t.PREVIEW_PROJ, 1, Denoised: true, Noisy: false);

    public static NativeCallScope Enter(ILogger? logger = null, Action<int, int, float>? onProgress = null, Action<string>? onInfo = null,
        Action<int, IReadOnlyList<NativeImage>, bool>? onPreview = null, NativePreview? preview = null)
        => new(logger, onProgress, onInfo, onPreview, preview);

    public void Dispose()
    {
        if (t_current == this) t_current = _previous;
        if (OnPreview is not null) UnsubscribePreviews();
    }

    // Upstream's preview callback and its settings (mode, denoised, noisy) are process-global, and cost work per step:
    // they are installed only while a call wants previews, and calls that want other settings than the ones installed
    // wait until those calls end. The interval is applied here, because upstream stores it but never reads it.
    private static readonly object s_previewGate = new();
    private static int s_previewSubscribers;
    private static NativePreview? s_installed;

    private static unsafe void SubscribePreviews(NativePreview preview)
    {
        var settings = preview with { Interval = 1 };
        lock (s_previewGate)
        {
            while (s_previewSubscribers > 0 && s_installed != settings) Monitor.Wait(s_previewGate);
            if (s_previewSubscribers++ == 0)
            {
                s_installed = settings;
                Sd.sd_set_preview_callback(&PreviewBridge, (preview_t)settings.Mode, 1, settings.Denoised ? (byte)1 : (byte)0,
                    settings.Noisy ? (byte)1 : (byte)0, (void*)GCHandle.ToIntPtr(s_routerHandle));
            }
        }
    }

    private static unsafe void UnsubscribePreviews()
    {
        lock (s_previewGate)
        {
            if (--s_previewSubscribers == 0)
            {
                s_installed = null;
                Sd.sd_set_preview_callback(null, preview_t.PREVIEW_NONE, 1, 0, 0, null);
                Monitor.PulseAll(s_previewGate);
            }
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void PreviewBridge(int step, int frameCount, sd_image_t* frames, byte isNoisy, void* data)
    {
        try
        {
            var scope = t_current;
            var sink = scope?.OnPreview;
            if (sink is null || frames == null || frameCount < 1) return;
            int interval = scope!._preview?.Interval ?? 1;
            if (interval > 1 && step % interval != 0) return;
            // Upstream frees the frames when this returns: copy them out.
            var images = new List<NativeImage>(frameCount);
            for (int i = 0; i < frameCount; i++)
            {
                if (SdContext.Copy(frames[i]) is { Channels: 3 } image) images.Add(image);
            }
            if (images.Count > 0) sink(step, images, isNoisy != 0);
        }
        catch
        {
            // A throwing preview consumer must not unwind through upstream's frames.
        }
    }

    /// <summary>Builds the typed exception for a failed native call from what upstream logged during it.</summary>
    public GenerationException Failure(string what)
    {
        var lines = Problems;
        var errors = lines.Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        return new GenerationException(what, (errors.Count > 0 ? errors : lines).TakeLast(8).ToList());
    }

    private void Add(string line)
    {
        lock (_problems)
        {
            if (_problems.Count == 32) _problems.RemoveAt(0);
            _problems.Add(line);
        }
    }

    // ---- the bridges (registered once per process by NativeRuntime) ----

    private static readonly ILoggerHolder s_router = new();
    private static GCHandle s_routerHandle;

    internal static unsafe void Install()
    {
        if (!s_routerHandle.IsAllocated) s_routerHandle = GCHandle.Alloc(s_router);
        void* data = (void*)GCHandle.ToIntPtr(s_routerHandle);
        Sd.sd_set_log_callback(&LogBridge, data);
        // Also silences upstream's own progress bars on stdout.
        Sd.sd_set_progress_callback(&ProgressBridge, data);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void LogBridge(sd_log_level_t level, sbyte* text, void* data)
    {
        try
        {
            if (text == null) return;
            string line = Marshal.PtrToStringUTF8((nint)text) ?? string.Empty;
            var router = data == null ? s_router : (ILoggerHolder?)GCHandle.FromIntPtr((nint)data).Target ?? s_router;
            Route(level, line, router.Logger);
        }
        catch
        {
            // Never let an exception cross into native code; a lost log line is the lesser harm.
        }
    }

    /// <summary>
    /// Where one native log line goes: the calling thread's innermost scope (its logger, its problem lines, its
    /// phase observer), else <paramref name="fallback"/>. The bridge's whole logic, callable from tests.
    /// </summary>
    internal static void Route(sd_log_level_t level, string text, ILogger? fallback)
    {
        string line = text.TrimEnd('\r', '\n');
        if (line.Length == 0) return;
        var scope = t_current;
        ILogger? logger = scope?.Logger ?? fallback;
        LogLevel mapped = level switch
        {
            sd_log_level_t.SD_LOG_DEBUG => LogLevel.Debug,
            sd_log_level_t.SD_LOG_INFO => LogLevel.Information,
            sd_log_level_t.SD_LOG_WARN => LogLevel.Warning,
            _ => LogLevel.Error,
        };
        if (logger is not null && logger.IsEnabled(mapped))
            logger.Log(mapped, new EventId((int)level, "native"), line, null, static (s, _) => s);
        if (scope is not null)
        {
            if (mapped >= LogLevel.Warning) scope.Add((mapped == LogLevel.Error ? "error: " : "warning: ") + line);
            else scope.OnInfo?.Invoke(Message(line));
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void ProgressBridge(int step, int steps, float time, void* data)
    {
        try
        {
            t_current?.OnProgress?.Invoke(step, steps, time);
        }
        catch
        {
            // A throwing IProgress<T> must not unwind through upstream's stack frames.
        }
    }

    private static readonly System.Buffers.SearchValues<char> s_digits = System.Buffers.SearchValues.Create("0123456789");

    /// <summary>Upstream prefixes every line with "file.cpp:line - "; this is the text after it.</summary>
    internal static string Message(string line)
    {
        int dash = line.IndexOf(" - ", StringComparison.Ordinal);
        if (dash <= 0) return line;
        int colon = line.LastIndexOf(':', dash);
        if (colon <= 0) return line;
        var number = line.AsSpan(colon + 1, dash - colon - 1).Trim();
        // "file.cpp:1234 - ": a non-empty run of digits, and no space in the file name.
        return number.Length > 0 && !number.ContainsAnyExcept(s_digits) && !line.AsSpan(0, colon).Contains(' ') ? line[(dash + 3)..] : line;
    }

    internal static ILogger? GlobalLogger
    {
        get => s_router.Logger;
        set => s_router.Logger = value;
    }

    /// <summary>The object the callbacks' user-data GCHandle points to.</summary>
    private sealed class ILoggerHolder
    {
        public volatile ILogger? Logger;
    }
}
