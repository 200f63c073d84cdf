using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Native.Interop;
using StableDiffusion.Native.Native;

namespace StableDiffusion.Native;

/// <summary>
/// A loaded Stable Diffusion model. Thread-safe: calls on one generator run one at a time (upstream's context
/// is not reentrant); use several generators for parallel work. Every argument is checked before any native
/// call, and native failures surface as <see cref="StableDiffusionException"/> with upstream's error lines.
/// </summary>
public sealed unsafe class Generator : IDisposable
{
    private readonly object _gate = new();
    private readonly SdContextHandle _handle;
    private readonly GeneratorOptions _options;
    private readonly long? _unetChannels;
    private readonly string? _modelName;
    private volatile bool _disposed;

    private Generator(SdContextHandle handle, GeneratorOptions options, long? unetChannels)
    {
        _unetChannels = unetChannels;
        _handle = handle;
        _options = options;
        _modelName = Path.GetFileName(options.ModelPath ?? options.DiffusionModelPath);
    }

    /// <summary>The options this generator was loaded with.</summary>
    public GeneratorOptions Options => _options;

    /// <summary>Loads a model. Weights load lazily on the first generation unless <see cref="GeneratorOptions.EagerLoad"/> is set.</summary>
    /// <exception cref="ArgumentException">A path is missing or invalid, or an option is out of range.</exception>
    /// <exception cref="StableDiffusionException">Upstream refused the model.</exception>
    public static Generator Load(GeneratorOptions options) => LoadValidated(options, Validation.Options(options));

    private static Generator LoadValidated(GeneratorOptions options, long? unetChannels)
    {
        NativeRuntime.EnsureLoaded();
        var requested = options;
        // A weight type on a checkpoint: load its cached conversion (converting once if needed) instead.
        options = ModelFiles.QuantizedModelCache.Apply(options);
        using var arena = new NativeArena();
        sd_ctx_params_t p;
        Sd.sd_ctx_params_init(&p);
        p.model_path = arena.Utf8(options.ModelPath);
        p.diffusion_model_path = arena.Utf8(options.DiffusionModelPath);
        p.clip_l_path = arena.Utf8(options.ClipLPath);
        p.clip_g_path = arena.Utf8(options.ClipGPath);
        p.t5xxl_path = arena.Utf8(options.T5xxlPath);
        p.vae_path = arena.Utf8(options.VaePath);
        p.taesd_path = arena.Utf8(options.TaesdPath);
        p.control_net_path = arena.Utf8(options.ControlNetPath);
        if (options.Embeddings.Count > 0)
        {
            var e = arena.Array<sd_embedding_t>(options.Embeddings.Count);
            for (int i = 0; i < options.Embeddings.Count; i++)
            {
                e[i].name = arena.Utf8(options.Embeddings[i].Name);
                e[i].path = arena.Utf8(options.Embeddings[i].Path);
            }
            p.embeddings = e;
            p.embedding_count = (uint)options.Embeddings.Count;
        }
        if (options.WeightType is { } wtype) p.wtype = (sd_type_t)(int)wtype;
        p.tensor_type_rules = arena.Utf8(options.TensorTypeRules);
        if (options.Threads is int threads) p.n_threads = threads;
        p.backend = arena.Utf8(options.Backend);
        p.params_backend = arena.Utf8(options.ParamsBackend);
        if (options.FlashAttention is bool fa)
        {
            p.flash_attn = fa ? (byte)1 : (byte)0;
            p.diffusion_flash_attn = p.flash_attn;
        }
        if (options.DiffusionConvDirect is bool dcd) p.diffusion_conv_direct = dcd ? (byte)1 : (byte)0;
        if (options.VaeConvDirect is bool vcd) p.vae_conv_direct = vcd ? (byte)1 : (byte)0;
        if (options.EnableMmap is bool mmap) p.enable_mmap = mmap ? (byte)1 : (byte)0;
        if (options.EagerLoad is bool eager) p.eager_load = eager ? (byte)1 : (byte)0;
        if (options.LoraApplyMode is { } mode) p.lora_apply_mode = (lora_apply_mode_t)(int)mode;
        p.rpc_servers = arena.Utf8(options.RpcServers);
        p.max_vram = arena.Utf8(options.MaxVram);

        using var scope = NativeCallScope.Enter(options.Logger);
        sd_ctx_t* ctx;
        lock (NativeLocks.ModelLoading)
        {
            ctx = Sd.new_sd_ctx(&p);
        }
        if (ctx == null)
            throw scope.Failure($"stable-diffusion.cpp could not load the model '{options.ModelPath ?? options.DiffusionModelPath}'.");
        var handle = new SdContextHandle(ctx);
        if (Sd.sd_ctx_supports_image_generation(ctx) == 0)
        {
            handle.Dispose();
            throw new StableDiffusionException("The model loaded, but it cannot generate images (a video-only model?).", scope.Problems);
        }
        return new Generator(handle, requested, unetChannels);
    }

    /// <summary>Loads a model on a worker thread. The load itself cannot be interrupted; cancellation is observed before it starts.</summary>
    public static Task<Generator> LoadAsync(GeneratorOptions options, CancellationToken cancellationToken = default)
    {
        // Bad options fail here, synchronously; the files are not read a second time on the worker.
        long? unetChannels = Validation.Options(options);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.Factory.StartNew(() => LoadValidated(options, unetChannels), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Generates images from text.</summary>
    public IReadOnlyList<GeneratedImage> TextToImage(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (request.InitImage is not null || request.Mask is not null)
            throw new ArgumentException("TextToImage takes no InitImage or Mask; use ImageToImage or Inpaint.", nameof(request));
        return Generate(request, progress, cancellationToken);
    }

    /// <summary>Generates images starting from <see cref="ImageRequest.InitImage"/>, moved away from it by <see cref="ImageRequest.Strength"/>.</summary>
    public IReadOnlyList<GeneratedImage> ImageToImage(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (request.InitImage is null) throw new ArgumentException("ImageToImage needs an InitImage.", nameof(request));
        if (request.Mask is not null) throw new ArgumentException("ImageToImage takes no Mask; use Inpaint.", nameof(request));
        return Generate(request, progress, cancellationToken);
    }

    /// <summary>Repaints the white parts of <see cref="ImageRequest.Mask"/> in <see cref="ImageRequest.InitImage"/>.</summary>
    public IReadOnlyList<GeneratedImage> Inpaint(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (request.InitImage is null) throw new ArgumentException("Inpaint needs an InitImage.", nameof(request));
        if (request.Mask is null) throw new ArgumentException("Inpaint needs a Mask.", nameof(request));
        return Generate(request, progress, cancellationToken);
    }

    public Task<IReadOnlyList<GeneratedImage>> TextToImageAsync(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
        => RunAsync(() => TextToImage(request, progress, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<GeneratedImage>> ImageToImageAsync(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
        => RunAsync(() => ImageToImage(request, progress, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<GeneratedImage>> InpaintAsync(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
        => RunAsync(() => Inpaint(request, progress, cancellationToken), cancellationToken);

    private static Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        // Native calls block their thread for seconds to minutes: keep them off the thread pool.
        return cancellationToken.IsCancellationRequested
            ? Task.FromCanceled<T>(cancellationToken)
            : Task.Factory.StartNew(work, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Loads (or replaces) the ControlNet without reloading the model.</summary>
    public void LoadControlNet(string path)
    {
        Validation.ExistingFile(path, nameof(path));
        var controlNet = Validation.ModelFileOrNull(path, new ModelFiles.ModelFileOptions { AllowLegacyPickle = _options.AllowLegacyPickle })!;
        Validation.ControlNetMatches(controlNet, _unetChannels);
        lock (_gate)
        {
            ThrowIfDisposed();
            using var arena = new NativeArena();
            using var scope = NativeCallScope.Enter(_options.Logger);
            if (Sd.sd_ctx_load_control_net(_handle.Pointer, arena.Utf8(path)) == 0)
                throw scope.Failure($"Could not load the ControlNet '{path}'.");
        }
    }

    /// <summary>Unloads the ControlNet, freeing its memory.</summary>
    public void UnloadControlNet()
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            Sd.sd_ctx_unload_control_net(_handle.Pointer);
        }
    }

    public bool HasControlNet
    {
        get
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                return Sd.sd_ctx_has_control_net(_handle.Pointer) != 0;
            }
        }
    }

    private IReadOnlyList<GeneratedImage> Generate(ImageRequest request, IProgress<GenerationProgress>? progress, CancellationToken cancellationToken)
    {
        Validation.Request(request);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();

        lock (_gate)
        {
            ThrowIfDisposed();
            cancellationToken.ThrowIfCancellationRequested();
            using var arena = new NativeArena();
            long seed = request.Seed ?? Random.Shared.NextInt64(0, 1L << 32);

            sd_img_gen_params_t p;
            Sd.sd_img_gen_params_init(&p);
            p.prompt = arena.Utf8(request.Prompt);
            p.negative_prompt = arena.Utf8(request.NegativePrompt);
            if (request.ClipSkip is int clipSkip) p.clip_skip = clipSkip;
            p.width = request.RequestedWidth;
            p.height = request.RequestedHeight;
            p.seed = seed;
            p.batch_count = request.BatchCount;
            p.strength = request.Strength;
            p.sample_params.sample_steps = request.Steps;
            p.sample_params.guidance.txt_cfg = request.CfgScale;
            if (request.Guidance is float g) p.sample_params.guidance.distilled_guidance = g;
            if (request.Eta is float eta) p.sample_params.eta = eta;
            // Resolve "model default" here so the results can say what was really used.
            var sampler = request.Sampler ?? (Sampler)(int)Sd.sd_get_default_sample_method(_handle.Pointer);
            var scheduler = request.Scheduler ?? (Scheduler)(int)Sd.sd_get_default_scheduler(_handle.Pointer, (sample_method_t)(int)sampler);
            p.sample_params.sample_method = (sample_method_t)(int)sampler;
            p.sample_params.scheduler = (scheduler_t)(int)scheduler;
            p.vae_tiling_params.enabled = request.VaeTiling ? (byte)1 : (byte)0;
            if (request.Hires is { } hires)
            {
                p.hires.enabled = 1;
                p.hires.scale = hires.Scale;
                p.hires.steps = hires.Steps;
                p.hires.denoising_strength = hires.DenoisingStrength;
                p.hires.upscaler = (sd_hires_upscaler_t)(int)hires.Upscaler;
                p.hires.model_path = arena.Utf8(hires.UpscalerModelPath);
            }
            if (request.InitImage is { } init) p.init_image = arena.Image(init);
            if (request.Mask is { } mask) p.mask_image = arena.Image(mask);
            if (request.ControlImage is { } control)
            {
                p.control_image = arena.Image(control);
                p.control_strength = request.ControlStrength;
            }
            if (request.Loras.Count > 0)
            {
                var loras = arena.Array<sd_lora_t>(request.Loras.Count);
                for (int i = 0; i < request.Loras.Count; i++)
                {
                    loras[i].path = arena.Utf8(request.Loras[i].Path);
                    loras[i].multiplier = request.Loras[i].Multiplier;
                }
                p.loras = loras;
                p.lora_count = (uint)request.Loras.Count;
            }

            var clock = Stopwatch.StartNew();
            var phase = GenerationPhase.Loading;
            var beforeLoading = GenerationPhase.Loading;
            int image = 0;
            var ctx = _handle.Pointer;
            var token = cancellationToken;
            void OnInfo(string line)
            {
                if (line.StartsWith("generating image: ", StringComparison.Ordinal))
                {
                    phase = GenerationPhase.Sampling;
                    int slash = line.IndexOf('/');
                    if (slash > 18 && int.TryParse(line.AsSpan(18, slash - 18), out int n)) image = n - 1;
                }
                else if (line.StartsWith("decoding ", StringComparison.Ordinal)) phase = GenerationPhase.Decoding;
                // Weights load lazily inside the first sampling or decoding; upstream reports that through the
                // same progress callback, bracketed by these two lines.
                else if (line.StartsWith("loading ", StringComparison.Ordinal) && line.Contains(" tensors from ", StringComparison.Ordinal))
                {
                    if (phase != GenerationPhase.Loading) beforeLoading = phase;
                    phase = GenerationPhase.Loading;
                }
                else if (line.StartsWith("loading tensors completed", StringComparison.Ordinal)) phase = beforeLoading;
                // Upstream clears the cancel flag when generate_image starts; re-assert a cancel requested before that.
                if (token.IsCancellationRequested) Sd.sd_cancel_generation(ctx, sd_cancel_mode_t.SD_CANCEL_ALL);
            }
            void OnProgress(int step, int steps, float _)
            {
                if (token.IsCancellationRequested) Sd.sd_cancel_generation(ctx, sd_cancel_mode_t.SD_CANCEL_ALL);
                progress?.Report(new GenerationProgress(phase, step, steps, image, clock.Elapsed));
            }

            sd_image_t* images = null;
            int count = 0;
            bool ok;
            bool added = false;
            _handle.DangerousAddRef(ref added);
            try
            {
                Action<int, Image<Rgb24>, bool>? onPreview = request.Preview is { } preview
                    ? (step, frame, _) => preview.Report(new PreviewFrame(step, frame))
                    : null;
                using var scope = NativeCallScope.Enter(_options.Logger, OnProgress, OnInfo, onPreview);
                using var registration = cancellationToken.Register(static s => ((Generator)s!).CancelNative(), this);
                ok = Sd.generate_image(ctx, &p, &images, &count) != 0;
                if (cancellationToken.IsCancellationRequested)
                {
                    if (images != null) Sd.free_sd_images(images, count);
                    throw new OperationCanceledException("The generation was cancelled.", cancellationToken);
                }
                if (!ok || images == null || count == 0)
                {
                    if (images != null) Sd.free_sd_images(images, count);
                    throw scope.Failure("stable-diffusion.cpp failed to generate the image.");
                }
            }
            finally
            {
                if (added) _handle.DangerousRelease();
            }

            try
            {
                var results = new List<GeneratedImage>(count);
                for (int i = 0; i < count; i++)
                {
                    sd_image_t img = images[i];
                    if (img.data == null || img.channel != 3) continue;
                    var pixels = new ReadOnlySpan<byte>(img.data, checked((int)(img.width * img.height * 3)));
                    var parameters = new GenerationParameters
                    {
                        Prompt = request.Prompt,
                        NegativePrompt = request.NegativePrompt,
                        Steps = request.Steps,
                        CfgScale = request.CfgScale,
                        Guidance = request.Guidance,
                        Eta = request.Eta,
                        Seed = seed + i,
                        Width = (int)img.width,
                        Height = (int)img.height,
                        Sampler = sampler,
                        Scheduler = scheduler,
                        Model = _modelName,
                        Strength = request.InitImage is null ? null : request.Strength,
                        ClipSkip = request.ClipSkip,
                    };
                    results.Add(new GeneratedImage(GeneratedImage.FromRgb(pixels, (int)img.width, (int)img.height), parameters));
                }
                return results;
            }
            finally
            {
                Sd.free_sd_images(images, count);
            }
        }
    }

    private void CancelNative()
    {
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            Sd.sd_cancel_generation(_handle.Pointer, sd_cancel_mode_t.SD_CANCEL_ALL);
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Cancels a generation in flight, waits for it to return, and frees the model.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        CancelNative();
        lock (_gate)
        {
            _handle.Dispose();
        }
    }
}
