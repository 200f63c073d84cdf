using Microsoft.Extensions.Logging;
using System.Diagnostics;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Native;
using StableDiffusion.Native.Quantization;

namespace StableDiffusion.Native;

/// <summary>
/// A loaded Stable Diffusion model. Thread-safe: calls on one generator run one at a time (upstream's context
/// is not reentrant); use several generators for parallel work. Every argument is checked before any native
/// call, and native failures surface as <see cref="GenerationException"/> with upstream's error lines.
/// </summary>
public sealed partial class Generator : IDisposable
{
    private readonly object _gate = new();
    private readonly SdContext _context;
    private readonly long? _unetChannels;
    private readonly AttentionProfile _attention;
    private readonly string? _modelName;
    private volatile bool _disposed;

    private Generator(SdContext context, GeneratorOptions options, LoadFacts facts)
    {
        _context = context;
        Options = options;
        _unetChannels = facts.UnetChannels;
        _attention = facts.Attention;
        _modelName = Path.GetFileName(options.ModelPath ?? options.DiffusionModelPath);
    }

    /// <summary>The options this generator was loaded with.</summary>
    public GeneratorOptions Options { get; }

    /// <summary>Loads a model. Weights load lazily on the first generation unless <see cref="GeneratorOptions.EagerLoad"/> is set.</summary>
    /// <param name="options">What to load and how.</param>
    /// <returns>The loaded generator; dispose it to free the model.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">A path is missing or invalid, or an option is out of range.</exception>
    /// <exception cref="InvalidModelFileException">A model file is malformed, hostile, or a refused format (pickle).</exception>
    /// <exception cref="NativeRuntimeException">No usable native runtime was found (<see cref="NativeAbiMismatchException"/>: the wrong build).</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp refused the model, converting it failed, or it can generate neither images nor videos.</exception>
    /// <exception cref="IOException">The quantize-once cache could not be written (with <see cref="GeneratorOptions.WeightType"/>).</exception>
    /// <exception cref="UnauthorizedAccessException">The quantize-once cache folder may not be written.</exception>
    public static Generator Load(GeneratorOptions options) => LoadValidated(options, Validation.Options(options));

    /// <summary>Loads a model on a worker thread. The load itself cannot be interrupted; cancellation is observed before it starts.</summary>
    /// <param name="options">What to load and how.</param>
    /// <param name="cancellationToken">Observed before the load starts.</param>
    /// <returns>The loaded generator; dispose it to free the model.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">A path is missing or invalid, or an option is out of range (thrown synchronously).</exception>
    /// <exception cref="InvalidModelFileException">A model file is malformed, hostile, or a refused format (thrown synchronously).</exception>
    /// <exception cref="NativeRuntimeException">No usable native runtime was found (through the task).</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp refused the model (through the task).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the load started.</exception>
    public static Task<Generator> LoadAsync(GeneratorOptions options, CancellationToken cancellationToken = default)
    {
        // Bad options fail here, synchronously; the files are not read a second time on the worker.
        var facts = Validation.Options(options);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.Factory.StartNew(() => LoadValidated(options, facts), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private static Generator LoadValidated(GeneratorOptions options, LoadFacts facts)
    {
        var runtime = NativeRuntimeLoader.EnsureLoaded();
        // A generator with RPC servers computes on its own first server's device, named from the live registry.
        string? rpcDevice = RpcServers.Device(options.RpcServers);
        if (options.AutoFit == true) RpcServers.EnsureEveryRegisteredReachable("AutoFit");
        var (backend, why) = BackendSelector.Choose(runtime, options.Backend, Environment.GetEnvironmentVariable(NativeRuntime.BackendVariable),
            options.RequireGpu, rpcDevice);
        options.Logger?.Log(LogLevel.Information, "backend: {Choice}; {GpuBackends}", why, string.Join("; ", runtime.GpuBackends));
        string? fit = FitWarning(runtime, backend, options);
        if (fit is not null) options.Logger?.Log(LogLevel.Warning, "{Fit}", fit);
        var effective = ApplyQuantizationCache(options) with { Backend = backend };
        // Freeing a context frees its weights on its RPC servers, and ggml aborts the process when one does not answer:
        // a context whose servers are gone is leaked instead.
        string? servers = rpcDevice is null ? null : options.RpcServers;
        var context = SdContext.Create(effective, options.Logger, $"the model '{options.ModelPath ?? options.DiffusionModelPath}'",
            servers is null ? null : () => RpcServers.AreReachable(servers));
        // Only a CPU device computes in this process's own memory, where an overcommitted allocation kills instead of failing.
        bool cpu = runtime.Devices.FirstOrDefault(d => d.Name == backend) is { } device ? device.Type == "cpu" : "CPU".Equals(backend, StringComparison.OrdinalIgnoreCase);
        return new Generator(context, options, cpu ? facts : facts with { Attention = AttentionProfile.None });
    }

    /// <summary>
    /// The model's estimated parameter memory against the chosen GPU's free memory: null when it fits (or the device is
    /// not a GPU), else what would fit — a smaller weight type, VAE tiling, offloading. Said before the load, because
    /// upstream's own failure to allocate names none of that.
    /// </summary>
    internal static string? FitWarning(NativeRuntimeInfo runtime, string? backend, GeneratorOptions options)
    {
        var device = runtime.Devices.FirstOrDefault(d => d.Name == backend);
        if (device is not { Type: "gpu" or "igpu", FreeMemory: > 0 }) return null;
        string?[] paths = [.. ComponentFiles(options)];
        var infos = new List<ModelInfo>();
        foreach (string path in paths.OfType<string>())
        {
            try
            {
                infos.Add(ModelInfo.FromFile(path, new ModelFileOptions { AllowLegacyPickle = options.AllowLegacyPickle }));
            }
            catch (Exception e) when (e is InvalidModelFileException or IOException or UnauthorizedAccessException)
            {
                return null; // a pickle or an unreadable file: no estimate, and the load reports the file itself
            }
        }
        long Need(QuantizationType? type) => infos.Sum(i => i.EstimateMemory(type).TotalBytes);
        long need = Need(options.WeightType);
        if (need <= device.FreeMemory) return null;
        static string GiB(long bytes) => (bytes / 1073741824.0).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " GiB";
        var smaller = new[] { QuantizationType.Q8_0, QuantizationType.Q5_0, QuantizationType.Q4_0 }
            .Select(t => (Type: t, Bytes: Need(t))).FirstOrDefault(x => x.Bytes <= device.FreeMemory && x.Bytes < need);
        string typeHint = smaller.Bytes > 0 ? $"WeightType = {smaller.Type} (about {GiB(smaller.Bytes)}) would fit; " : "no weight type fits whole; ";
        return $"The model needs about {GiB(need)} for its weights, more than the {GiB(device.FreeMemory)} free on {device.Name} ({device.Description}): "
            + typeHint + "VAE tiling (ImageRequest.VaeTiling) lowers the decode's memory, and MaxVram = \"-1\" offloads weights that do not fit.";
    }

    /// <summary>
    /// A weight type on a single checkpoint with the cache on: load its cached conversion (converting once if
    /// needed) instead. Upstream applies the weight type to every file it loads, so converting only the checkpoint
    /// would change what the other files load as: split models keep upstream's on-load conversion.
    /// </summary>
    private static GeneratorOptions ApplyQuantizationCache(GeneratorOptions options)
    {
        if (options.WeightType is not QuantizationType type || options.QuantizationCache == QuantizationCacheMode.Off || options.ModelPath is null)
            return options;
        if (ComponentFiles(options).Skip(1).Any(p => p is not null))
            return options;
        var cache = new QuantizedModelCache(options.QuantizationCacheDirectory);
        string cached = cache.GetOrCreate(options.ModelPath, type, options.TensorTypeRules, options.Logger, options.AllowLegacyPickle, threads: options.Threads);
        return options with { ModelPath = cached, WeightType = null, TensorTypeRules = null };
    }

    /// <summary>Every weight file a load reads, the checkpoint first.</summary>
    private static IEnumerable<string?> ComponentFiles(GeneratorOptions o) =>
    [
        o.ModelPath, o.DiffusionModelPath, o.ClipLPath, o.ClipGPath, o.T5xxlPath, o.VaePath, o.TaesdPath, o.ControlNetPath, o.ClipVisionPath, o.LlmPath,
        o.LlmVisionPath, o.HighNoiseDiffusionModelPath, o.UncondDiffusionModelPath, o.EmbeddingsConnectorsPath, o.AudioVaePath, o.IpAdapterPath,
        o.MotionModulePath, o.PhotoMakerPath, o.PulidWeightsPath,
    ];

    /// <summary>
    /// Generates images in the mode the request's shape asks for: from text; from <see cref="ImageRequest.InitImage"/>
    /// (image to image, moved away from it by <see cref="ImageRequest.Strength"/>); or repainting the white parts of
    /// <see cref="ImageRequest.Mask"/> in it (inpainting). References, ControlNet and IP-Adapter images join any of them.
    /// This is the one entry point that front ends (the CLI, the server, <c>IImageGenerator</c>) call; the mode-named
    /// methods are the same call with the shape checked first.
    /// </summary>
    /// <param name="request">What to generate.</param>
    /// <param name="progress">Receives phase and step reports on the generating thread, in order, all before the call returns (a <see cref="Progress{T}"/> posts them elsewhere, where order is lost: see <see cref="InlineProgress{T}"/>).</param>
    /// <param name="cancellationToken">Stops the generation within a step.</param>
    /// <returns>One image per <see cref="ImageRequest.BatchCount"/>, seeds ascending.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> or one of its strings is null.</exception>
    /// <exception cref="ArgumentException">The request is invalid (a value out of range, a missing file, a wrong image size, a mask without an init image).</exception>
    /// <exception cref="NotSupportedException">The model makes videos, not images (see <see cref="CanGenerateImages"/>).</exception>
    /// <exception cref="InvalidModelFileException">A LoRA or upscaler file is malformed or hostile.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The generator was disposed.</exception>
    public IReadOnlyList<GeneratedImage> Generate(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
        => GenerateImages(request, progress, cancellationToken);

    /// <summary>
    /// Checks <paramref name="request"/> as <see cref="Generate"/> does before any native work: every value's range, the
    /// images' sizes, the files it names, the limits on its text. A server calls it when it accepts a request it will run
    /// later, so that a bad one is refused then rather than failing in its turn. What depends on the loaded model (the
    /// text encoder's limits, whether it makes images) is checked by <see cref="Generate"/> only.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> or one of its strings is null.</exception>
    /// <exception cref="ArgumentException">A value is out of range, a file is missing, or an image has the wrong size; the parameter name says which.</exception>
    public static void Validate(ImageRequest request) => Validation.Request(request);

    /// <summary>Checks a video <paramref name="request"/> as <see cref="GenerateVideo"/> does before any native work, within <see cref="VideoRequest.MaxPixels"/>; see <see cref="Validate(ImageRequest)"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> or one of its strings is null.</exception>
    /// <exception cref="ArgumentException">A value is out of range, a file is missing, or an image has the wrong size; the parameter name says which.</exception>
    public static void Validate(VideoRequest request) => Validation.Video(request);

    /// <summary>Runs <see cref="Generate"/> on a dedicated thread.</summary>
    /// <inheritdoc cref="Generate" path="/param"/>
    /// <returns>A task with one image per <see cref="ImageRequest.BatchCount"/>; it faults with the exceptions <see cref="Generate"/> throws.</returns>
    public Task<IReadOnlyList<GeneratedImage>> GenerateAsync(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
        => RunAsync(() => Generate(request, progress, cancellationToken), cancellationToken);

    /// <summary>Generates images from text.</summary>
    /// <param name="request">What to generate; must have no <see cref="ImageRequest.InitImage"/> or <see cref="ImageRequest.Mask"/>.</param>
    /// <param name="progress">Receives phase and step reports on the generating thread, in order, all before the call returns (a <see cref="Progress{T}"/> posts them elsewhere, where order is lost: see <see cref="InlineProgress{T}"/>).</param>
    /// <param name="cancellationToken">Stops the generation within a step.</param>
    /// <returns>One image per <see cref="ImageRequest.BatchCount"/>, seeds ascending.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> or one of its strings is null.</exception>
    /// <exception cref="ArgumentException">The request is invalid (a value out of range, a missing file, a wrong image size).</exception>
    /// <exception cref="InvalidModelFileException">A LoRA or upscaler file is malformed or hostile.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The generator was disposed.</exception>
    public IReadOnlyList<GeneratedImage> TextToImage(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.InitImage is not null || request.Mask is not null)
            throw new ArgumentException("TextToImage takes no InitImage or Mask; use ImageToImage or Inpaint.", nameof(request));
        return GenerateImages(request, progress, cancellationToken);
    }

    /// <summary>Generates images starting from <see cref="ImageRequest.InitImage"/>, moved away from it by <see cref="ImageRequest.Strength"/>.</summary>
    /// <param name="request">What to generate; needs an <see cref="ImageRequest.InitImage"/> and no <see cref="ImageRequest.Mask"/>.</param>
    /// <param name="progress">Receives phase and step reports on the generating thread, in order, all before the call returns (a <see cref="Progress{T}"/> posts them elsewhere, where order is lost: see <see cref="InlineProgress{T}"/>).</param>
    /// <param name="cancellationToken">Stops the generation within a step.</param>
    /// <returns>One image per <see cref="ImageRequest.BatchCount"/>, seeds ascending.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> or one of its strings is null.</exception>
    /// <exception cref="ArgumentException">The request is invalid.</exception>
    /// <exception cref="InvalidModelFileException">A LoRA or upscaler file is malformed or hostile.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The generator was disposed.</exception>
    public IReadOnlyList<GeneratedImage> ImageToImage(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.InitImage is null) throw new ArgumentException("ImageToImage needs an InitImage.", nameof(request));
        if (request.Mask is not null) throw new ArgumentException("ImageToImage takes no Mask; use Inpaint.", nameof(request));
        return GenerateImages(request, progress, cancellationToken);
    }

    /// <summary>Repaints the white parts of <see cref="ImageRequest.Mask"/> in <see cref="ImageRequest.InitImage"/>.</summary>
    /// <param name="request">What to generate; needs an <see cref="ImageRequest.InitImage"/> and a <see cref="ImageRequest.Mask"/>.</param>
    /// <param name="progress">Receives phase and step reports on the generating thread, in order, all before the call returns (a <see cref="Progress{T}"/> posts them elsewhere, where order is lost: see <see cref="InlineProgress{T}"/>).</param>
    /// <param name="cancellationToken">Stops the generation within a step.</param>
    /// <returns>One image per <see cref="ImageRequest.BatchCount"/>, seeds ascending.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> or one of its strings is null.</exception>
    /// <exception cref="ArgumentException">The request is invalid.</exception>
    /// <exception cref="InvalidModelFileException">A LoRA or upscaler file is malformed or hostile.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The generator was disposed.</exception>
    public IReadOnlyList<GeneratedImage> Inpaint(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.InitImage is null) throw new ArgumentException("Inpaint needs an InitImage.", nameof(request));
        if (request.Mask is null) throw new ArgumentException("Inpaint needs a Mask.", nameof(request));
        return GenerateImages(request, progress, cancellationToken);
    }

    /// <summary>Runs <see cref="TextToImage"/> on a dedicated thread.</summary>
    /// <inheritdoc cref="TextToImage" path="/param"/>
    /// <returns>A task with one image per <see cref="ImageRequest.BatchCount"/>; it faults with the exceptions <see cref="TextToImage"/> throws.</returns>
    public Task<IReadOnlyList<GeneratedImage>> TextToImageAsync(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
        => RunAsync(() => TextToImage(request, progress, cancellationToken), cancellationToken);

    /// <summary>Runs <see cref="ImageToImage"/> on a dedicated thread.</summary>
    /// <inheritdoc cref="ImageToImage" path="/param"/>
    /// <returns>A task with one image per <see cref="ImageRequest.BatchCount"/>; it faults with the exceptions <see cref="ImageToImage"/> throws.</returns>
    public Task<IReadOnlyList<GeneratedImage>> ImageToImageAsync(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
        => RunAsync(() => ImageToImage(request, progress, cancellationToken), cancellationToken);

    /// <summary>Runs <see cref="Inpaint"/> on a dedicated thread.</summary>
    /// <inheritdoc cref="Inpaint" path="/param"/>
    /// <returns>A task with one image per <see cref="ImageRequest.BatchCount"/>; it faults with the exceptions <see cref="Inpaint"/> throws.</returns>
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
    /// <param name="path">ControlNet weights (.safetensors or .gguf).</param>
    /// <exception cref="ArgumentException">No such file, or the ControlNet does not fit this model's UNet.</exception>
    /// <exception cref="InvalidModelFileException">The file is malformed, hostile, or a refused format.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp could not load it.</exception>
    /// <exception cref="ObjectDisposedException">The generator was disposed.</exception>
    public void LoadControlNet(string path)
    {
        Validation.ExistingFile(path, nameof(path));
        var controlNet = Validation.ModelFileOrNull(path, new ModelFileOptions { AllowLegacyPickle = Options.AllowLegacyPickle })!;
        Validation.ControlNetMatches(controlNet, _unetChannels);
        lock (_gate)
        {
            ThrowIfDisposed();
            _context.LoadControlNet(path, Options.Logger);
        }
    }

    /// <summary>Unloads the ControlNet, freeing its memory.</summary>
    /// <exception cref="ObjectDisposedException">The generator was disposed.</exception>
    public void UnloadControlNet()
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            _context.UnloadControlNet();
        }
    }

    /// <summary>Whether a ControlNet is loaded.</summary>
    /// <exception cref="ObjectDisposedException">The generator was disposed.</exception>
    public bool HasControlNet
    {
        get
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                return _context.HasControlNet;
            }
        }
    }

    /// <summary>Refuses a request whose passes (the first, and a hires fix's) need more working memory than the process can get.</summary>
    private void EnsureMemoryFor(ImageRequest request)
    {
        int width = request.RequestedWidth, height = request.RequestedHeight;
        bool tiled = request.VaeTiling || request.VaeTilingOptions is not null;
        ComputeMemory.EnsureFits(_attention, Options, width, height, tiled);
        if (request.Hires is { } hires)
        {
            var (w, h) = hires.OutputSize(width, height);
            ComputeMemory.EnsureFits(_attention, Options, w, h, tiled);
        }
    }

    private List<GeneratedImage> GenerateImages(ImageRequest request, IProgress<GenerationProgress>? progress, CancellationToken cancellationToken)
    {
        Validation.Request(request);
        Validation.LlmPrompts(Options, request.Prompt, request.NegativePrompt);
        ThrowIfDisposed();
        if (!CanGenerateImages)
            throw new NotSupportedException($"The model '{_modelName}' generates videos, not images: use GenerateVideo.");
        cancellationToken.ThrowIfCancellationRequested();

        lock (_gate)
        {
            ThrowIfDisposed();
            cancellationToken.ThrowIfCancellationRequested();
            RpcServers.EnsureReachable(Options.RpcServers);
            // Under the lock: a generation that just ended has given its working memory back.
            EnsureMemoryFor(request);
            var resolved = Resolve(request);

            var clock = Stopwatch.StartNew();
            var tracker = new GenerationPhaseTracker();
            var callbacks = new NativeCallbacks(
                OnProgress: progress is null ? null : (step, steps) => progress.Report(new GenerationProgress(tracker.Phase, step, steps, tracker.Image, clock.Elapsed)),
                OnInfo: tracker.Observe,
                OnPreview: PreviewSink(request.Preview),
                Preview: PreviewSpec(request.Preview, request.PreviewOptions));
            var images = _context.GenerateImage(resolved, callbacks, Options.Logger, cancellationToken);

            var results = new List<GeneratedImage>(images.Count);
            for (int i = 0; i < images.Count; i++)
            {
                var image = images[i];
                if (image.Channels != 3) continue;
                var parameters = Parameters(resolved.Prompt, resolved.NegativePrompt, resolved.Sampling, resolved.Seed!.Value + i, image.Width, image.Height,
                    request.InitImage is null ? null : request.Strength, request.ClipSkip);
                results.Add(new GeneratedImage(image.ToImageBuffer(), parameters));
            }
            return results;
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Cancels a generation in flight, waits for it to return, and frees the model.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _context.Cancel();
        lock (_gate)
        {
            _context.Dispose();
        }
        if (_context.Leaked)
            Options.Logger?.Log(LogLevel.Warning, "The model's RPC servers ({Servers}) are gone: its context was left unfreed, because freeing it there would abort the process.", Options.RpcServers);
    }
}
