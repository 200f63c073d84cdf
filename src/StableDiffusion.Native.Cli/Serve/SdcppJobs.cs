using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Cli.Serve;

/// <summary>sd-server's job states, by its names.</summary>
internal enum SdcppJobStatus
{
    Queued,
    Generating,
    Completed,
    Failed,
    Cancelled,
}

/// <summary>One accepted <c>img_gen</c> or <c>vid_gen</c> job: its request's place in the one queue, then its result or its error.</summary>
internal sealed class SdcppJob(string id, string kind) : IDisposable
{
    private readonly CancellationTokenSource _cancellation = new();

    public string Id { get; } = id;

    public string Kind { get; } = kind;

    public DateTimeOffset Created { get; } = DateTimeOffset.UtcNow;

    public QueueTicket Ticket { get; } = new();

    public CancellationToken Token => _cancellation.Token;

    public Task Done { get; set; } = Task.CompletedTask;

    /// <summary>Set once, when the job ends; read by any request thread.</summary>
    public volatile Outcome? Result;

    public void Cancel()
    {
        try
        {
            _cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Ended and cleaned up meanwhile: nothing left to cancel.
        }
    }

    public void Dispose() => _cancellation.Dispose();

    public SdcppJobStatus Status => Result?.Status ?? (Ticket.Started is null ? SdcppJobStatus.Queued : SdcppJobStatus.Generating);

    /// <summary>How a job ended: what writes its <c>result</c> object (encoded once), or sd-server's error code and message.</summary>
    public sealed record Outcome(SdcppJobStatus Status, DateTimeOffset Completed, Action<Utf8JsonWriter>? WriteResult, string? ErrorCode, string? ErrorMessage);
}

/// <summary>
/// The jobs of sd-server's asynchronous API. A job's request waits in the same queue as every other request (one
/// generation at a time, in arrival order) but is not tied to an HTTP request: the client polls <c>/sdcpp/v1/jobs/{id}</c>.
/// Ended jobs are kept <see cref="Retention"/> (sd-server's 600 s), at most <see cref="MaxEnded"/> of them, then answer 410.
/// </summary>
internal sealed class SdcppJobs(GenerationQueue queue, TimeSpan? retention = null)
{
    /// <summary>How long an ended job answers with its result (sd-server's 600 s).</summary>
    public TimeSpan Retention { get; } = retention ?? TimeSpan.FromSeconds(600);

    public const int MaxEnded = 256;

    private const int MaxRemembered = 4096;

    private readonly ConcurrentDictionary<string, SdcppJob> _jobs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _gone = new();
    private readonly ConcurrentDictionary<string, byte> _goneSet = new(StringComparer.Ordinal);

    /// <summary>Admits <paramref name="request"/> as an <c>img_gen</c> job now, or throws when the queue is full.</summary>
    /// <exception cref="QueueFullException">One generates and the queue's capacity wait.</exception>
    public SdcppJob Submit(ImageRequest request, ServedModel model, OutputFormat format, int quality, bool embedMetadata)
        => Submit("img_gen", async job =>
        {
            var images = await queue.RunAsync(request, model, job.Token, job.Ticket).ConfigureAwait(false);
            var encoded = images.Select(i => format == OutputFormat.Png && !embedMetadata ? EncodeBare(i) : ServerImages.Encode(i, format, quality)).ToList();
            return w =>
            {
                w.WriteString("output_format", format switch { OutputFormat.Jpeg => "jpeg", OutputFormat.Webp => "webp", _ => "png" });
                w.WriteStartArray("images");
                for (int i = 0; i < encoded.Count; i++)
                {
                    w.WriteStartObject();
                    w.WriteNumber("index", i);
                    w.WriteBase64String("b64_json", encoded[i]);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            };
        });

    /// <summary>Admits <paramref name="request"/> as a <c>vid_gen</c> job now, its frames to go into <paramref name="container"/>; throws when the queue is full.</summary>
    /// <exception cref="QueueFullException">One generates and the queue's capacity wait.</exception>
    public SdcppJob SubmitVideo(VideoRequest request, ServedModel model, VideoContainer container, int quality)
        => Submit("vid_gen", async job =>
        {
            var video = await queue.RunVideoAsync(request, model, job.Token, job.Ticket).ConfigureAwait(false);
            if (video.Frames.Count == 0) throw new GenerationException("generate_video returned no results");
            byte[] encoded = VideoContainers.Encode(container, video.Frames, video.Fps, quality);
            return w =>
            {
                w.WriteString("output_format", VideoContainers.Name(container));
                w.WriteString("mime_type", VideoContainers.MediaType(container));
                w.WriteNumber("fps", video.Fps);
                w.WriteNumber("frame_count", video.Frames.Count);
                w.WriteBase64String("b64_json", encoded);
            };
        });

    private SdcppJob Submit(string kind, Func<SdcppJob, Task<Action<Utf8JsonWriter>>> start)
    {
        Sweep();
        var job = new SdcppJob(NewId(), kind);
        // Admission is decided before the queue's first await: a full queue faults the task before it returns.
        var run = start(job);
        if (run.IsFaulted && run.Exception!.InnerException is QueueFullException full)
        {
            job.Dispose();
            throw full;
        }
        _jobs[job.Id] = job;
        job.Done = Complete(job, run);
        return job;
    }

    private static async Task Complete(SdcppJob job, Task<Action<Utf8JsonWriter>> run)
    {
        SdcppJob.Outcome outcome;
        try
        {
            outcome = new(SdcppJobStatus.Completed, DateTimeOffset.UtcNow, await run.ConfigureAwait(false), null, null);
        }
        catch (OperationCanceledException) when (job.Token.IsCancellationRequested)
        {
            outcome = new(SdcppJobStatus.Cancelled, DateTimeOffset.UtcNow, null, "cancelled", "job cancelled by client");
        }
        catch (Exception e) when (e is StableDiffusionException or ArgumentException or InvalidModelFileException or NotSupportedException or ModelTooLargeException
            or OperationCanceledException or InterruptedException or IOException)
        {
            outcome = new(SdcppJobStatus.Failed, DateTimeOffset.UtcNow, null, "generation_failed", CliCommon.OneLine(e.Message));
        }
        job.Result = outcome;
    }

    private static byte[] EncodeBare(GeneratedImage image)
    {
        using var stream = new MemoryStream();
        image.Image.SaveAsPng(stream);
        return stream.ToArray();
    }

    /// <summary>The job, or why there is none: gone (ended and dropped) or never known.</summary>
    public (SdcppJob? Job, bool Gone) Find(string id)
    {
        Sweep();
        if (_jobs.TryGetValue(id, out var job)) return (job, false);
        return (null, _goneSet.ContainsKey(id));
    }

    public int PositionOf(SdcppJob job) => job.Status == SdcppJobStatus.Queued ? queue.PositionOf(job.Ticket) : 0;

    /// <summary>Waits for every accepted job to end, up to <paramref name="timeout"/>, then cancels those still running.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        var pending = _jobs.Values.Where(j => j.Result is null).Select(j => j.Done).ToList();
        var all = Task.WhenAll(pending);
        if (await Task.WhenAny(all, Task.Delay(timeout)).ConfigureAwait(false) != all)
        {
            foreach (var job in _jobs.Values) job.Cancel();
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false);
        }
    }

    /// <summary>Drops ended jobs past <see cref="Retention"/>, and the oldest ended beyond <see cref="MaxEnded"/>; they then answer 410.</summary>
    private void Sweep()
    {
        var now = DateTimeOffset.UtcNow;
        var ended = _jobs.Values.Where(j => j.Result is not null).OrderBy(j => j.Result!.Completed).ToList();
        int excess = ended.Count - MaxEnded;
        foreach (var job in ended)
        {
            if (excess-- > 0 || now - job.Result!.Completed > Retention)
            {
                if (_jobs.TryRemove(job.Id, out _))
                {
                    Remember(job.Id);
                    job.Dispose();
                }
            }
        }
    }

    private void Remember(string id)
    {
        _goneSet[id] = 0;
        _gone.Enqueue(id);
        while (_gone.Count > MaxRemembered && _gone.TryDequeue(out string? old)) _goneSet.TryRemove(old, out _);
    }

    /// <summary>sd-server's <c>job_&lt;hex time&gt;_&lt;n&gt;</c> shape, with 64 random bits: ids cannot be guessed from one another.</summary>
    private static string NewId() => $"job_{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds():x}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}";

    /// <summary>sd-server's job object: id, kind, status, created, started, completed, queue_position, result, error.</summary>
    public void Write(Utf8JsonWriter w, SdcppJob job)
    {
        var outcome = job.Result;
        var status = job.Status;
        w.WriteStartObject();
        w.WriteString("id", job.Id);
        w.WriteString("kind", job.Kind);
        w.WriteString("status", status.ToString().ToLowerInvariant());
        w.WriteNumber("created", job.Created.ToUnixTimeSeconds());
        if (job.Ticket.Started is { } started) w.WriteNumber("started", started.ToUnixTimeSeconds());
        else w.WriteNull("started");
        if (outcome is not null) w.WriteNumber("completed", outcome.Completed.ToUnixTimeSeconds());
        else w.WriteNull("completed");
        w.WriteNumber("queue_position", PositionOf(job));
        if (outcome is { Status: SdcppJobStatus.Completed, WriteResult: { } writeResult })
        {
            w.WriteStartObject("result");
            writeResult(w);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("result");
        }
        if (outcome?.ErrorCode is { } code)
        {
            w.WriteStartObject("error");
            w.WriteString("code", code);
            w.WriteString("message", outcome.ErrorMessage);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("error");
        }
        w.WriteEndObject();
    }
}
