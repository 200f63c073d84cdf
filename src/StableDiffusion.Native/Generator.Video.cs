using System.Diagnostics;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.Native;

namespace StableDiffusion.Native;

public sealed partial class Generator
{
    /// <summary>Whether the loaded model makes images (<see cref="TextToImage"/> and the other image calls).</summary>
    /// <exception cref="ObjectDisposedException">The generator was disposed.</exception>
    public bool CanGenerateImages
    {
        get
        {
            ThrowIfDisposed();
            return _context.SupportsImageGeneration;
        }
    }

    /// <summary>Whether the loaded model makes videos (<see cref="GenerateVideo"/>): Wan, LTX, HunyuanVideo, SVD, ...</summary>
    /// <exception cref="ObjectDisposedException">The generator was disposed.</exception>
    public bool CanGenerateVideos
    {
        get
        {
            ThrowIfDisposed();
            return _context.SupportsVideoGeneration;
        }
    }

    /// <summary>
    /// Asks the image call in flight to finish the image it is sampling and return the images done so far, skipping the
    /// rest of the batch (upstream's <c>SD_CANCEL_NEW_LATENTS</c>). The call then returns normally, with fewer images.
    /// Without a call in flight it does nothing. Safe from any thread.
    /// </summary>
    public void StopAfterCurrentImage()
    {
        if (_disposed) return;
        _context.Cancel(newLatentsOnly: true);
    }

    /// <summary>Generates a video (Wan, LTX-2, HunyuanVideo, ...): text-to-video, image-to-video, first-last-frame, VACE.</summary>
    /// <param name="request">What to generate.</param>
    /// <param name="progress">Receives phase and step reports on the generating thread, in order, all before the call returns (a <see cref="Progress{T}"/> posts them elsewhere, where order is lost: see <see cref="InlineProgress{T}"/>).</param>
    /// <param name="cancellationToken">Stops the generation within a step.</param>
    /// <returns>The frames, their rate and any audio.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> or one of its strings is null.</exception>
    /// <exception cref="ArgumentException">The request is invalid (a value out of range, a missing file, a wrong frame size).</exception>
    /// <exception cref="NotSupportedException">The model makes images, not videos (see <see cref="CanGenerateVideos"/>).</exception>
    /// <exception cref="ModelFiles.InvalidModelFileException">A LoRA or upscaler file is malformed or hostile.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The generator was disposed.</exception>
    public GeneratedVideo GenerateVideo(VideoRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Validation.Video(request);
        Validation.LlmPrompts(Options, request.Prompt, request.NegativePrompt);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        if (!CanGenerateVideos)
            throw new NotSupportedException($"The model '{_modelName}' generates images, not videos: use TextToImage.");

        lock (_gate)
        {
            ThrowIfDisposed();
            cancellationToken.ThrowIfCancellationRequested();
            RpcServers.EnsureReachable(Options.RpcServers);
            var (seed, sampling) = Resolve(request.Seed, request.Sampling);
            var resolved = request with { Seed = seed, Sampling = sampling };

            var clock = Stopwatch.StartNew();
            var tracker = new GenerationPhaseTracker();
            var callbacks = new NativeCallbacks(
                OnProgress: progress is null ? null : (step, steps) => progress.Report(new GenerationProgress(tracker.Phase, step, steps, 0, clock.Elapsed)),
                OnInfo: tracker.Observe,
                OnPreview: PreviewSink(request.Preview),
                Preview: PreviewSpec(request.Preview, request.PreviewOptions));
            var (frames, audio) = _context.GenerateVideo(resolved, callbacks, Options.Logger, cancellationToken);
            var images = frames.Select(f => f.ToImageBuffer()).ToList();
            var parameters = Parameters(request.Prompt, request.NegativePrompt, sampling, seed,
                images.Count > 0 ? images[0].Width : request.RequestedWidth, images.Count > 0 ? images[0].Height : request.RequestedHeight,
                request.InitImage is null ? null : request.Strength, request.ClipSkip);
            return new GeneratedVideo(images, request.Fps, audio, parameters);
        }
    }

    /// <summary>Runs <see cref="GenerateVideo"/> on a dedicated thread.</summary>
    /// <inheritdoc cref="GenerateVideo" path="/param"/>
    /// <returns>A task with the video; it faults with the exceptions <see cref="GenerateVideo"/> throws.</returns>
    public Task<GeneratedVideo> GenerateVideoAsync(VideoRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
        => RunAsync(() => GenerateVideo(request, progress, cancellationToken), cancellationToken);

    /// <summary>
    /// The seed (picked here when unset, so results can report it) and the model's default sampler and scheduler
    /// resolved, so results say what was really used. Call under the gate.
    /// </summary>
    private (long Seed, SamplingOptions Sampling) Resolve(long? seed, SamplingOptions sampling)
    {
        var method = sampling.Sampler ?? (Sampler)_context.DefaultSampleMethod;
        var scheduler = sampling.Scheduler ?? (Scheduler)_context.DefaultScheduler((int)method);
        return (seed ?? Random.Shared.NextInt64(0, 1L << 32), sampling with { Sampler = method, Scheduler = scheduler });
    }

    /// <summary>An image request with its seed, sampler and scheduler resolved (see <see cref="Resolve(long?, SamplingOptions)"/>).</summary>
    private ImageRequest Resolve(ImageRequest request)
    {
        var (seed, sampling) = Resolve(request.Seed, request.Sampling);
        return request with { Seed = seed, Sampling = sampling };
    }

    /// <summary>What a result reports of how it was made, from the resolved sampling.</summary>
    private GenerationParameters Parameters(string prompt, string negativePrompt, SamplingOptions sampling, long seed, int width, int height, float? strength, int? clipSkip) => new()
    {
        Prompt = prompt,
        NegativePrompt = negativePrompt,
        Steps = sampling.Steps ?? SamplingOptions.DefaultSteps,
        CfgScale = sampling.CfgScale ?? SamplingOptions.DefaultCfgScale,
        Guidance = sampling.Guidance,
        Eta = sampling.Eta,
        Seed = seed,
        Width = width,
        Height = height,
        Sampler = sampling.Sampler,
        Scheduler = sampling.Scheduler,
        Model = _modelName,
        Strength = strength,
        ClipSkip = clipSkip,
    };

    private static Action<int, IReadOnlyList<NativeImage>, bool>? PreviewSink(IProgress<PreviewFrame>? preview)
        => preview is null ? null : (step, frames, noisy) =>
        {
            var images = frames.Select(f => f.ToImageBuffer()).ToList();
            preview.Report(new PreviewFrame(step, images[0]) { IsNoisy = noisy, Frames = images });
        };

    private static NativePreview? PreviewSpec(IProgress<PreviewFrame>? preview, PreviewOptions? options)
    {
        if (preview is null) return null;
        var o = options ?? new PreviewOptions();
        return new NativePreview((int)o.Mode, o.Interval, o.Denoised, o.Noisy);
    }
}

public sealed partial class Generator
{
    /// <summary>An ADetailer pass on this generator's context, serialized with its other calls.</summary>
    internal ImageBuffer RunDetailer(DetailerContext detailer, NativeImage image, string? prompt, string? negativePrompt, string? extraArgs,
        ImageRequest inpaint, IProgress<GenerationProgress>? progress, Microsoft.Extensions.Logging.ILogger? logger, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (!CanGenerateImages) throw new NotSupportedException($"The model '{_modelName}' cannot inpaint: it generates videos.");
        Validation.LlmPrompts(Options, prompt ?? inpaint.Prompt, negativePrompt ?? inpaint.NegativePrompt);
        lock (_gate)
        {
            ThrowIfDisposed();
            cancellationToken.ThrowIfCancellationRequested();
            RpcServers.EnsureReachable(Options.RpcServers);
            var spec = Resolve(inpaint with { Width = inpaint.Width ?? 512, Height = inpaint.Height ?? 512 });
            var clock = Stopwatch.StartNew();
            var tracker = new GenerationPhaseTracker();
            var callbacks = new NativeCallbacks(
                OnProgress: progress is null ? null : (step, steps) => progress.Report(new GenerationProgress(tracker.Phase, step, steps, 0, clock.Elapsed)),
                OnInfo: tracker.Observe);
            return detailer.Apply(_context, image, prompt, negativePrompt, extraArgs, spec, callbacks, logger ?? Options.Logger, cancellationToken).ToImageBuffer();
        }
    }
}
