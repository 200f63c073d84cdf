using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Cli.Serve;

/// <summary>The queue is full: the request is refused with 503 and a <c>Retry-After</c> estimate.</summary>
internal sealed class QueueFullException(TimeSpan retryAfter, int capacity)
    : Exception($"The server is busy: one generation is running and {capacity} are waiting. Retry later.")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>The generation was stopped by <c>POST /sdapi/v1/interrupt</c> (not by its own client).</summary>
internal sealed class InterruptedException() : Exception("The generation was interrupted (POST /sdapi/v1/interrupt).");

/// <summary>What <c>/sdapi/v1/progress</c> reports: the running job, if any, and how many wait.</summary>
internal sealed record ProgressSnapshot(
    double Progress, TimeSpan Eta, bool Busy, bool Interrupted, int Step, int Steps, int Image, int Images, int Waiting,
    DateTimeOffset? Started, PreviewFrame? Preview, long JobNumber);

/// <summary>
/// One generation at a time, whichever model each request names, and at most <c>capacity</c> requests waiting for their
/// turn, in arrival order. A request's model is loaded (see <see cref="ModelPool"/>) when its turn comes, so loading and
/// unloading never overlap a generation. A request is admitted or refused at once (never blocks on a full queue); while
/// waiting or generating it is cancelled by its own token (the client went away) or by <see cref="Interrupt"/> (the
/// running one only).
/// </summary>
internal sealed class GenerationQueue(ModelPool pool, int capacity, ServerMetrics? metrics = null) : IDisposable
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    private int _admitted;
    private long _jobNumber;
    private volatile Job? _current;
    private long _lastDurationTicks = TimeSpan.FromSeconds(10).Ticks;
    private long _tickets;
    private readonly SortedSet<long> _waiting = [];

    /// <summary>The models in memory.</summary>
    public ModelPool Pool { get; } = pool;

    public int Capacity { get; } = capacity;

    /// <summary>Requests admitted since the server started: each one's arrival number is the count when it came.</summary>
    public long Arrivals => Interlocked.Read(ref _tickets);

    /// <summary>Whether a request arriving now would be refused (one generating and <see cref="Capacity"/> waiting).</summary>
    public bool IsFull => Volatile.Read(ref _admitted) >= 1 + Capacity;

    /// <summary>About when a place frees up: the last generation's time for each one ahead.</summary>
    public TimeSpan RetryAfter => TimeSpan.FromTicks(Interlocked.Read(ref _lastDurationTicks) * Math.Max(1, Volatile.Read(ref _admitted)));

    /// <summary>Runs <paramref name="request"/> on <paramref name="model"/> when its turn comes, with the model's recommended settings for what the request leaves unset.</summary>
    /// <exception cref="QueueFullException">One is running and <see cref="Capacity"/> are waiting.</exception>
    /// <exception cref="ModelTooLargeException">The model does not fit <c>--max-memory</c> even alone.</exception>
    /// <exception cref="InterruptedException">It was interrupted while running.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <param name="request">What to generate.</param>
    /// <param name="model">Which model generates it.</param>
    /// <param name="cancellationToken">Cancels it while it waits or generates (the client went away, or cancelled its job).</param>
    /// <param name="ticket">Told its place while waiting and when its turn came (sd-server's job API reports both).</param>
    public Task<IReadOnlyList<GeneratedImage>> RunAsync(ImageRequest request, ServedModel model, CancellationToken cancellationToken, QueueTicket? ticket = null)
        => RunAsync(model, request.BatchCount, Steps(request.Sampling, model), async (generator, job) =>
        {
            var traced = request with { Preview = job, Sampling = Sampling(request.Sampling, model) };
            // The request's shape (init image, mask) picks the mode, in the library.
            var images = await generator.GenerateAsync(traced, job, job.Token).ConfigureAwait(false);
            return (images, images.Count);
        }, ticket, cancellationToken);

    /// <summary>Runs a video <paramref name="request"/> on <paramref name="model"/> when its turn comes, as <see cref="RunAsync(ImageRequest, ServedModel, CancellationToken, QueueTicket?)"/>.</summary>
    /// <exception cref="QueueFullException">One is running and <see cref="Capacity"/> are waiting.</exception>
    /// <exception cref="NotSupportedException">The model makes images, not videos.</exception>
    public Task<GeneratedVideo> RunVideoAsync(VideoRequest request, ServedModel model, CancellationToken cancellationToken, QueueTicket? ticket = null)
        => RunAsync(model, 1, Steps(request.Sampling, model), async (generator, job) =>
        {
            var traced = request with { Preview = job, Sampling = Sampling(request.Sampling, model) };
            var video = await generator.GenerateVideoAsync(traced, job, job.Token).ConfigureAwait(false);
            return (video, video.Frames.Count);
        }, ticket, cancellationToken);

    /// <summary>The request's sampling with its model's recommended settings (its manifest's) where it leaves them unset.</summary>
    private static SamplingOptions Sampling(SamplingOptions sampling, ServedModel model)
        => model.Defaults is { } defaults ? sampling.WithDefaults(defaults) : sampling;

    /// <summary>The steps the progress reports count before the generator says: the request's, else the model's, else the library's.</summary>
    private static int Steps(SamplingOptions sampling, ServedModel model) => Sampling(sampling, model).Steps ?? SamplingOptions.DefaultSteps;

    /// <summary>The turn: admission, the wait in arrival order, the model's load, then <paramref name="work"/> with the job's progress and cancellation.</summary>
    private async Task<T> RunAsync<T>(ServedModel model, int images, int steps, Func<Generator, Job, Task<(T Result, int Images)>> work,
        QueueTicket? ticket, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _admitted) > 1 + Capacity)
        {
            int ahead = Interlocked.Decrement(ref _admitted);
            throw new QueueFullException(TimeSpan.FromTicks(Interlocked.Read(ref _lastDurationTicks) * Math.Max(1, ahead)), Capacity);
        }
        try
        {
            // Turns are taken in arrival order (SemaphoreSlim serves its asynchronous waiters first come, first served).
            long number = Interlocked.Increment(ref _tickets);
            if (ticket is not null) ticket.Number = number;
            lock (_waiting) _waiting.Add(number);
            try
            {
                await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                lock (_waiting) _waiting.Remove(number);
            }
            if (ticket is not null) ticket.Started = DateTimeOffset.UtcNow;
            try
            {
                using var job = new Job(images, steps, Interlocked.Increment(ref _jobNumber), cancellationToken);
                _current = job;
                try
                {
                    var generator = await Pool.AcquireAsync(model, job.Token).ConfigureAwait(false);
                    var (result, made) = await work(generator, job).ConfigureAwait(false);
                    Interlocked.Exchange(ref _lastDurationTicks, Math.Max(TimeSpan.TicksPerSecond, job.Elapsed.Ticks));
                    metrics?.Generated(made, job.Elapsed);
                    return result;
                }
                catch (OperationCanceledException) when (job.Interrupted && !cancellationToken.IsCancellationRequested)
                {
                    metrics?.Failed("interrupted");
                    throw new InterruptedException();
                }
                catch (OperationCanceledException)
                {
                    metrics?.Failed("cancelled");
                    throw;
                }
                catch (Exception e) when (e is ArgumentException or InvalidModelFileException or NotSupportedException or ModelTooLargeException or GenerationTooLargeException)
                {
                    metrics?.Failed("refused");
                    throw;
                }
                catch (StableDiffusionException)
                {
                    metrics?.Failed("failed");
                    throw;
                }
                finally
                {
                    _current = null;
                }
            }
            finally
            {
                _turn.Release();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _admitted);
        }
    }

    /// <summary>The 1-based place of <paramref name="ticket"/> among the requests waiting for their turn; 0 once it has its turn.</summary>
    public int PositionOf(QueueTicket ticket)
    {
        lock (_waiting) return _waiting.Contains(ticket.Number) ? _waiting.GetViewBetween(long.MinValue, ticket.Number).Count : 0;
    }

    /// <summary>Stops the running generation, if there is one; waiting requests keep their places.</summary>
    public bool Interrupt()
    {
        var job = _current;
        if (job is null) return false;
        job.Interrupt();
        return true;
    }

    public void Dispose()
    {
        _turn.Dispose();
        Pool.Dispose();
    }

    public ProgressSnapshot Snapshot()
    {
        var job = _current;
        int waiting = Math.Max(0, Volatile.Read(ref _admitted) - (job is null ? 0 : 1));
        if (job is null)
            return new ProgressSnapshot(0, TimeSpan.Zero, false, false, 0, 0, 0, 0, waiting, null, null, Interlocked.Read(ref _jobNumber));
        return job.Snapshot(waiting);
    }

    /// <summary>One running generation: its progress and preview as the native callbacks report them, and its cancellation.</summary>
    private sealed class Job : IProgress<GenerationProgress>, IProgress<PreviewFrame>, IDisposable
    {
        private readonly CancellationTokenSource _cancellation;
        private readonly int _images;
        private readonly long _number;
        private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private GenerationProgress _progress;
        private PreviewFrame? _preview;
        private volatile bool _interrupted;

        public Job(int images, int steps, long number, CancellationToken requestAborted)
        {
            _cancellation = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
            _images = images;
            _number = number;
            _progress = new GenerationProgress(GenerationPhase.Loading, 0, steps, 0, TimeSpan.Zero);
        }

        public CancellationToken Token => _cancellation.Token;

        public bool Interrupted => _interrupted;

        public TimeSpan Elapsed => _clock.Elapsed;

        public void Interrupt()
        {
            _interrupted = true;
            try
            {
                _cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The job ended meanwhile: nothing left to stop.
            }
        }

        // Both arrive on the generating thread; snapshots are read from request threads, hence the lock.
        public void Report(GenerationProgress value)
        {
            lock (this) _progress = value;
        }

        public void Report(PreviewFrame value)
        {
            lock (this) _preview = value;
        }

        public ProgressSnapshot Snapshot(int waiting)
        {
            GenerationProgress p;
            PreviewFrame? preview;
            lock (this)
            {
                p = _progress;
                preview = _preview;
            }
            double withinImage = p.Phase switch
            {
                GenerationPhase.Sampling when p.Steps > 0 => (double)p.Step / p.Steps,
                GenerationPhase.Decoding => 1,
                _ => 0,
            };
            double progress = Math.Clamp((p.Image + withinImage) / Math.Max(1, _images), 0, 1);
            var elapsed = _clock.Elapsed;
            var eta = progress > 0 ? TimeSpan.FromTicks((long)(elapsed.Ticks * (1 - progress) / progress)) : TimeSpan.Zero;
            return new ProgressSnapshot(progress, eta, true, _interrupted, p.Phase == GenerationPhase.Sampling ? p.Step : 0, p.Steps,
                p.Image, _images, waiting, _started, preview, _number);
        }

        public void Dispose() => _cancellation.Dispose();
    }
}

/// <summary>A request's place in the queue: its number once admitted, and when its turn came.</summary>
internal sealed class QueueTicket
{
    public long Number { get; set; } = long.MaxValue;

    public DateTimeOffset? Started { get; set; }
}
