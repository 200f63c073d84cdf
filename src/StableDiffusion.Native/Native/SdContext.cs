using StableDiffusion.Native.Imaging;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Interop;

namespace StableDiffusion.Native.Native;

/// <summary>What a generation call wants to hear from upstream while it runs (all optional).</summary>
/// <param name="OnProgress">Step and steps of upstream's progress callback.</param>
/// <param name="OnInfo">Every INFO/DEBUG line, without upstream's "file.cpp:line - " prefix.</param>
/// <param name="OnPreview">Step, frames (one for an image) and whether they show the noisy latent.</param>
/// <param name="Preview">How upstream should make previews; null with no <paramref name="OnPreview"/>.</param>
internal sealed record NativeCallbacks(
    Action<int, int>? OnProgress = null,
    Action<string>? OnInfo = null,
    Action<int, IReadOnlyList<NativeImage>, bool>? OnPreview = null,
    NativePreview? Preview = null);

/// <summary>Upstream's preview settings: <c>preview_t</c> value, every n-th step, denoised and/or noisy latents.</summary>
internal sealed record NativePreview(int Mode, int Interval, bool Denoised, bool Noisy);

/// <summary>
/// A loaded upstream <c>sd_ctx_t</c>: the typed face of every call on it. Calls on one context must not overlap
/// (upstream's context is not reentrant); the owner serializes them. Only <see cref="Cancel"/> may be called
/// from another thread while a call runs.
/// </summary>
internal sealed unsafe class SdContext : IDisposable
{
    private readonly SdContextHandle _handle;

    // Upstream clears its cancel flag when a generation starts, so a request to stop after the current image is
    // remembered here and re-sent from the callbacks until the call returns.
    private volatile bool _stopNewLatents;

    private SdContext(SdContextHandle handle) => _handle = handle;

    /// <summary>Loads a model; fails with upstream's error lines when it returns NULL or the model can generate nothing.</summary>
    /// <exception cref="GenerationException">Upstream refused the model, or it cannot do what was required.</exception>
    /// <param name="spec">What to load.</param>
    /// <param name="logger">Receives the native log of the load.</param>
    /// <param name="what">Names the model in errors.</param>
    /// <param name="canFree">Asked before the context is freed; false leaks it (see <see cref="SdContextHandle"/>).</param>
    public static SdContext Create(GeneratorOptions spec, ILogger? logger, string what, Func<bool>? canFree = null)
        => NativeStack.Run(() => CreateOnNativeStack(spec, logger, what, canFree));

    // Loading compiles the tensor type rules with std::regex.
    private static SdContext CreateOnNativeStack(GeneratorOptions spec, ILogger? logger, string what, Func<bool>? canFree)
    {
        NativeRuntimeLoader.EnsureLoaded();
        using var arena = new NativeArena();
        sd_ctx_params_t p = default;
        Sd.sd_ctx_params_init(&p);
        ContextParamsMapper.Map(spec, arena, ref p);
        using var scope = NativeCallScope.Enter(logger);
        sd_ctx_t* ctx;
        lock (NativeLocks.ModelLoading)
        {
            ctx = Sd.new_sd_ctx(&p);
        }
        if (ctx == null) throw scope.Failure($"stable-diffusion.cpp could not load {what}.");
        var context = new SdContext(new SdContextHandle(ctx, canFree));
        if (!context.SupportsImageGeneration && !context.SupportsVideoGeneration)
        {
            context.Dispose();
            throw scope.Failure($"{what} loaded, but it can generate neither images nor videos.");
        }
        return context;
    }

    public bool SupportsImageGeneration
    {
        get
        {
            using var lease = new Lease(_handle);
            return Sd.sd_ctx_supports_image_generation(lease.Context) != 0;
        }
    }

    public bool SupportsVideoGeneration
    {
        get
        {
            using var lease = new Lease(_handle);
            return Sd.sd_ctx_supports_video_generation(lease.Context) != 0;
        }
    }

    /// <summary>The model's default <c>sample_method_t</c>.</summary>
    public int DefaultSampleMethod
    {
        get
        {
            using var lease = new Lease(_handle);
            return (int)Sd.sd_get_default_sample_method(lease.Context);
        }
    }

    /// <summary>The model's default <c>scheduler_t</c> for a <c>sample_method_t</c>.</summary>
    public int DefaultScheduler(int sampleMethod)
    {
        using var lease = new Lease(_handle);
        return (int)Sd.sd_get_default_scheduler(lease.Context, (sample_method_t)sampleMethod);
    }

    public bool HasControlNet
    {
        get
        {
            using var lease = new Lease(_handle);
            return Sd.sd_ctx_has_control_net(lease.Context) != 0;
        }
    }

    /// <exception cref="GenerationException">Upstream could not load it.</exception>
    public void LoadControlNet(string path, ILogger? logger)
    {
        using var arena = new NativeArena();
        using var scope = NativeCallScope.Enter(logger);
        bool ok;
        using (var lease = new Lease(_handle)) ok = Sd.sd_ctx_load_control_net(lease.Context, arena.FilePath(path)) != 0;
        if (!ok) throw scope.Failure($"Could not load the ControlNet '{path}'.");
    }

    public void UnloadControlNet()
    {
        using var lease = new Lease(_handle);
        Sd.sd_ctx_unload_control_net(lease.Context);
    }

    /// <summary>
    /// Runs <c>generate_image</c> and copies each returned image into managed memory. Cancellation is checked
    /// in every callback, because upstream clears its cancel flag when the call starts; a cancelled call throws
    /// <see cref="OperationCanceledException"/> whatever upstream returned.
    /// </summary>
    /// <exception cref="GenerationException">Upstream failed or returned no image.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IReadOnlyList<NativeImage> GenerateImage(ImageRequest spec, NativeCallbacks callbacks, ILogger? logger, CancellationToken cancellationToken)
        => NativeStack.Run(() => GenerateImageOnNativeStack(spec, callbacks, logger, cancellationToken));

    private List<NativeImage> GenerateImageOnNativeStack(ImageRequest spec, NativeCallbacks callbacks, ILogger? logger, CancellationToken cancellationToken)
    {
        using var arena = new NativeArena();
        sd_img_gen_params_t p = default;
        Sd.sd_img_gen_params_init(&p);
        ImageGenParamsMapper.Map(spec, arena, ref p);

        using var lease = new Lease(_handle);
        sd_image_t* images = null;
        int count = 0;
        try
        {
            var ctx = lease.Context;
            using (var call = new GenerationCall(this, ctx, callbacks, logger, cancellationToken))
            {
                bool ok = Sd.generate_image(ctx, &p, &images, &count) != 0;
                cancellationToken.ThrowIfCancellationRequested();
                if (!ok || images == null || count == 0) throw call.Scope.Failure("stable-diffusion.cpp failed to generate the image.");
            }

            var results = new List<NativeImage>(count);
            for (int i = 0; i < count; i++)
            {
                if (Copy(images[i]) is { } image) results.Add(image);
            }
            return results;
        }
        finally
        {
            if (images != null) Sd.free_sd_images(images, count);
        }
    }

    /// <summary>
    /// Runs <c>generate_video</c>, copying the frames and any audio into managed memory (and freeing upstream's with its
    /// own frees). Cancellation as in <see cref="GenerateImage"/>.
    /// </summary>
    /// <exception cref="GenerationException">Upstream failed or returned no frame.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public (IReadOnlyList<NativeImage> Frames, AudioBuffer? Audio) GenerateVideo(VideoRequest spec, NativeCallbacks callbacks, ILogger? logger, CancellationToken cancellationToken)
        => NativeStack.Run(() => GenerateVideoOnNativeStack(spec, callbacks, logger, cancellationToken));

    private (IReadOnlyList<NativeImage> Frames, AudioBuffer? Audio) GenerateVideoOnNativeStack(VideoRequest spec, NativeCallbacks callbacks, ILogger? logger, CancellationToken cancellationToken)
    {
        using var arena = new NativeArena();
        sd_vid_gen_params_t p = default;
        Sd.sd_vid_gen_params_init(&p);
        VideoGenParamsMapper.Map(spec, arena, ref p);

        using var lease = new Lease(_handle);
        sd_image_t* frames = null;
        sd_audio_t* audio = null;
        int count = 0;
        try
        {
            var ctx = lease.Context;
            using (var call = new GenerationCall(this, ctx, callbacks, logger, cancellationToken))
            {
                bool ok = Sd.generate_video(ctx, &p, &frames, &count, &audio) != 0;
                cancellationToken.ThrowIfCancellationRequested();
                if (!ok || frames == null || count == 0) throw call.Scope.Failure("stable-diffusion.cpp failed to generate the video.");
            }

            var results = new List<NativeImage>(count);
            for (int i = 0; i < count; i++)
            {
                if (Copy(frames[i]) is { } frame) results.Add(frame);
            }
            return (results, CopyAudio(audio));
        }
        finally
        {
            if (frames != null) Sd.free_sd_images(frames, count);
            if (audio != null) Sd.free_sd_audio(audio);
        }
    }

    /// <summary>Runs an ADetailer pass (which calls <c>generate_image</c> on this context) with this context's callbacks.</summary>
    internal delegate bool DetailerCall(sd_ctx_t* ctx);

    internal bool RunDetailer(DetailerCall run, NativeCallbacks callbacks, ILogger? logger, CancellationToken cancellationToken, out GenerationException? failure)
    {
        var (ok, error) = NativeStack.Run(() =>
        {
            using var lease = new Lease(_handle);
            using var call = new GenerationCall(this, lease.Context, callbacks, logger, cancellationToken);
            bool ok = run(lease.Context);
            return (ok, ok ? null : call.Scope.Failure("ADetailer failed."));
        });
        failure = error;
        return ok;
    }

    /// <summary>A managed copy of audio upstream returned; null when there is none.</summary>
    internal static AudioBuffer? CopyAudio(sd_audio_t* audio)
    {
        if (audio == null || audio->data == null || audio->channels == 0 || audio->sample_count == 0 || audio->sample_rate == 0) return null;
        long length = checked((long)audio->sample_count * audio->channels);
        if (length > Array.MaxLength) throw new GenerationException("stable-diffusion.cpp returned more audio than fits in memory.", []);
        float[] samples = new ReadOnlySpan<float>(audio->data, (int)length).ToArray();
        return AudioBuffer.Adopt((int)audio->sample_rate, (int)audio->channels, samples);
    }

    /// <summary>
    /// The callbacks, cancellation and preview settings of one generation call: cancellation is re-sent from every
    /// callback because upstream clears its flag when the call starts.
    /// </summary>
    private sealed class GenerationCall : IDisposable
    {
        private readonly SdContext _owner;
        private readonly sd_ctx_t* _ctx;
        private readonly NativeCallbacks _callbacks;
        private readonly CancellationToken _cancellationToken;
        private readonly CancellationTokenRegistration _registration;

        public GenerationCall(SdContext owner, sd_ctx_t* ctx, NativeCallbacks callbacks, ILogger? logger, CancellationToken cancellationToken)
        {
            _owner = owner;
            _ctx = ctx;
            _callbacks = callbacks;
            _cancellationToken = cancellationToken;
            owner._stopNewLatents = false;
            Scope = NativeCallScope.Enter(logger, OnProgress, OnInfo, callbacks.OnPreview, callbacks.Preview);
            _registration = cancellationToken.Register(static s => ((SdContext)s!).Cancel(), owner);
        }

        public NativeCallScope Scope { get; }

        private void Reassert()
        {
            if (_cancellationToken.IsCancellationRequested) Sd.sd_cancel_generation(_ctx, sd_cancel_mode_t.SD_CANCEL_ALL);
            else if (_owner._stopNewLatents) Sd.sd_cancel_generation(_ctx, sd_cancel_mode_t.SD_CANCEL_NEW_LATENTS);
        }

        private void OnInfo(string line)
        {
            _callbacks.OnInfo?.Invoke(line);
            Reassert();
        }

        private void OnProgress(int step, int steps, float _)
        {
            Reassert();
            _callbacks.OnProgress?.Invoke(step, steps);
        }

        public void Dispose()
        {
            _registration.Dispose();
            Scope.Dispose();
            _owner._stopNewLatents = false;
        }
    }

    /// <summary>
    /// Asks upstream to stop every image of the call in flight (or, with <paramref name="newLatentsOnly"/>, to finish the
    /// current image and skip the rest); safe from any thread, and after disposal.
    /// </summary>
    public void Cancel(bool newLatentsOnly = false)
    {
        if (newLatentsOnly) _stopNewLatents = true;
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            Sd.sd_cancel_generation(_handle.Pointer, newLatentsOnly ? sd_cancel_mode_t.SD_CANCEL_NEW_LATENTS : sd_cancel_mode_t.SD_CANCEL_ALL);
        }
        catch (ObjectDisposedException)
        {
            // Nothing runs on a freed context.
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>Whether disposal leaked the context because its guard refused the free.</summary>
    public bool Leaked => _handle.Leaked;

    /// <summary>A managed copy of an RGB image upstream returned; null for an empty slot.</summary>
    internal static NativeImage? Copy(in sd_image_t image)
    {
        if (image.data == null || image.width == 0 || image.height == 0 || image.channel is not (1 or 3)) return null;
        int length = checked((int)(image.width * image.height * image.channel));
        byte[] pixels = new ReadOnlySpan<byte>(image.data, length).ToArray();
        return new NativeImage((int)image.width, (int)image.height, (int)image.channel, pixels);
    }

    /// <summary>Keeps the context alive for one native call even if another thread disposes the owner meanwhile.</summary>
    private readonly ref struct Lease
    {
        private readonly SdContextHandle _handle;
        private readonly bool _added;

        public Lease(SdContextHandle handle)
        {
            _handle = handle;
            bool added = false;
            handle.DangerousAddRef(ref added);
            _added = added;
        }

        public sd_ctx_t* Context => _handle.Pointer;

        public void Dispose()
        {
            if (_added) _handle.DangerousRelease();
        }
    }
}
