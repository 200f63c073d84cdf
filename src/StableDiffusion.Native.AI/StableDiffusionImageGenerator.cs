using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.AI;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.AI;

/// <summary>
/// A local Stable Diffusion model behind Microsoft.Extensions.AI's <see cref="IImageGenerator"/>: text-to-image, and
/// image-to-image when the request carries an original image.
/// </summary>
/// <remarks>
/// <para>How a request maps onto an <see cref="ImageRequest"/> (everything is checked, and a bad value throws an
/// <see cref="ArgumentException"/>, before any native work starts):</para>
/// <list type="bullet">
/// <item><description><see cref="ImageGenerationRequest.Prompt"/> → <see cref="ImageRequest.Prompt"/> (null: empty).</description></item>
/// <item><description><see cref="ImageGenerationRequest.OriginalImages"/> → image-to-image from the first item, which
/// must be an image <see cref="DataContent"/> (decoded with ImageSharp: PNG, JPEG, GIF, BMP, TIFF, WebP, TGA, PBM; at
/// most 8192 pixels per side). Every further item must be an image <see cref="DataContent"/> as well, but only the
/// first is used: Stable Diffusion starts from one image.</description></item>
/// <item><description><see cref="ImageGenerationOptions.Count"/> → <see cref="ImageRequest.BatchCount"/>, 1 to
/// <see cref="ImageRequest.MaxBatchCount"/> (default 1); image i of a batch uses seed + i.</description></item>
/// <item><description><see cref="ImageGenerationOptions.ImageSize"/> → <see cref="ImageRequest.Width"/> and
/// <see cref="ImageRequest.Height"/> (default: the original image's size, else 512 × 512). An original image of
/// another size is resized (stretched) to it.</description></item>
/// <item><description><see cref="ImageGenerationOptions.MediaType"/>: <c>image/png</c> (default) or <c>image/jpeg</c>.
/// PNGs carry the A1111 <c>parameters</c> text chunk (<see cref="GeneratedImage.EncodePng"/>); JPEG has no text
/// chunks, so JPEGs (quality 90) carry the same text in the EXIF <c>UserComment</c> tag instead, as A1111 writes it.</description></item>
/// <item><description><see cref="ImageGenerationOptions.ResponseFormat"/>: only
/// <see cref="ImageGenerationResponseFormat.Data"/> (the default): a local generator has no place to host images at a
/// URI or as a hosted file.</description></item>
/// <item><description><see cref="ImageGenerationOptions.ModelId"/>: null, or the loaded model's name (its file name,
/// with or without the extension; see <see cref="ImageGeneratorMetadata.DefaultModelId"/>). Any other model is refused
/// rather than silently answered by this one.</description></item>
/// <item><description><see cref="ImageGenerationOptions.AdditionalProperties"/>: A1111's parameter names, ignoring case:
/// <c>seed</c> (integer ≥ 0, or -1 for a random one), <c>steps</c> (integer, 1 to 10000), <c>cfg_scale</c> (number ≥ 0),
/// <c>negative_prompt</c> (text), <c>sampler</c> or <c>sampler_name</c> (upstream's names such as <c>euler_a</c>,
/// A1111's such as <c>Euler a</c> or <c>DPM++ 2M</c>, or a <see cref="Sampler"/>), <c>scheduler</c> (upstream's names such
/// as <c>karras</c>, A1111's such as <c>SGM Uniform</c> or <c>automatic</c> for the model's default, or a
/// <see cref="Scheduler"/>), <c>strength</c> or <c>denoising_strength</c> (number, 0 to 1; image-to-image). Values may be
/// .NET numbers, strings or <see cref="System.Text.Json.JsonElement"/>s, and are accepted when they convert exactly (20.0
/// is 20 steps; 20.5 is refused). A null value counts as absent; any other key is refused.</description></item>
/// <item><description><see cref="ImageGenerationOptions.RawRepresentationFactory"/> may return an
/// <see cref="ImageRequest"/>: it is the starting point (LoRAs, hires fix, a mask for inpainting, ...), and the values
/// above override it where they are set.</description></item>
/// <item><description><see cref="ImageGenerationOptions.StreamingCount"/> is ignored: results come at the end.</description></item>
/// </list>
/// <para>The response holds one <see cref="DataContent"/> per image (its <see cref="AIContent.RawRepresentation"/> is the
/// <see cref="GeneratedImage"/>, and its <see cref="AIContent.AdditionalProperties"/> hold its <c>seed</c>); the response's
/// <see cref="ImageGenerationResponse.RawRepresentation"/> is the <see cref="IReadOnlyList{T}"/> of
/// <see cref="GeneratedImage"/>s. The same request with the same seed gives the same bytes.</para>
/// <para>Thread-safe; calls run one at a time on the underlying <see cref="Generator"/>.</para>
/// </remarks>
// IImageGenerator is experimental in Microsoft.Extensions.AI (MEAI001): this type is marked with the same diagnostic,
// so that using it asks for the same opt-in as the abstraction it implements, and one suppression covers both.
[Experimental(AIDiagnostics.Experimental, UrlFormat = AIDiagnostics.UrlFormat)]
public sealed class StableDiffusionImageGenerator : IImageGenerator
{
    /// <summary>The provider name in <see cref="ImageGeneratorMetadata.ProviderName"/>.</summary>
    public const string ProviderName = "stable-diffusion.cpp";

    private readonly Generator? _generator;
    private readonly bool _ownsGenerator;
    private readonly GenerateCall _generate;
    private readonly string? _modelId;
    private readonly ImageGeneratorMetadata _metadata;
    private volatile bool _disposed;

    /// <summary>Wraps a loaded generator without taking it over: disposing this wrapper leaves it loaded.</summary>
    /// <param name="generator">The loaded model; the caller keeps it and disposes it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="generator"/> is null.</exception>
    public StableDiffusionImageGenerator(Generator generator)
        : this(generator ?? throw new ArgumentNullException(nameof(generator)), ownsGenerator: false)
    {
    }

    /// <summary>Loads a model and owns it: <see cref="Dispose"/> frees it.</summary>
    /// <param name="options">What to load and how (see <see cref="Generator.Load"/>).</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">A path is missing or invalid, or an option is out of range.</exception>
    /// <exception cref="ModelFiles.InvalidModelFileException">A model file is malformed, hostile, or a refused format.</exception>
    /// <exception cref="NativeRuntimeException">No usable native runtime was found.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp refused the model.</exception>
    public StableDiffusionImageGenerator(GeneratorOptions options)
        : this(Generator.Load(options ?? throw new ArgumentNullException(nameof(options))), ownsGenerator: true)
    {
    }

    /// <summary>
    /// Loads a model by name and owns it: a checkpoint, or a manifest <c>NAME.model.json</c> naming its component files
    /// (see <see cref="ModelManifest"/>), in <paramref name="folder"/> (default: the models folder), or a path. A
    /// manifest's recommended settings apply to every request where the request leaves them unset, and the name is the
    /// model's <see cref="ImageGeneratorMetadata.DefaultModelId"/>.
    /// </summary>
    /// <param name="nameOrPath">A model name in the folder, or a path.</param>
    /// <param name="folder">The models folder; null for <see cref="ModelsFolder.DefaultDirectory"/>.</param>
    /// <param name="configure">Load settings over the model's files (threads, backend, weight type, ...); a component path it sets wins over the manifest's.</param>
    /// <returns>The loaded generator, which the caller disposes.</returns>
    /// <exception cref="ArgumentException">No such file, and no unique model of that name in the folder; or an option is out of range.</exception>
    /// <exception cref="InvalidModelFileException">The manifest, or a model file, is malformed (the file and field named).</exception>
    /// <exception cref="NativeRuntimeException">No usable native runtime was found.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp refused the model.</exception>
    public static StableDiffusionImageGenerator FromModel(string nameOrPath, ModelsFolder? folder = null, Func<GeneratorOptions, GeneratorOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrPath);
        var (options, manifest) = GeneratorOptionsConfiguration.ResolveModel(nameOrPath, folder);
        return Load(configure is null ? options : configure(options), manifest);
    }

    /// <summary>Loads <paramref name="options"/>, with <paramref name="manifest"/>'s name and defaults when the model came from one.</summary>
    internal static StableDiffusionImageGenerator Load(GeneratorOptions options, ModelManifest? manifest)
    {
        var generator = Generator.Load(options);
        return new StableDiffusionImageGenerator(generator, ownsGenerator: true, manifest?.Name, manifest?.Defaults);
    }

    private StableDiffusionImageGenerator(Generator generator, bool ownsGenerator, string? modelId = null, ModelDefaults? defaults = null)
        : this(modelId ?? ModelId(generator.Options), (request, ct) => Run(generator, defaults is null ? request : request with { Sampling = request.Sampling.WithDefaults(defaults) }, ct))
    {
        _generator = generator;
        _ownsGenerator = ownsGenerator;
    }

    /// <summary>For tests: maps and encodes around <paramref name="generate"/> instead of a loaded model.</summary>
    internal StableDiffusionImageGenerator(string? modelId, GenerateCall generate)
    {
        _modelId = modelId;
        _generate = generate;
        _metadata = new ImageGeneratorMetadata(ProviderName, providerUri: null, defaultModelId: modelId);
    }

    /// <summary>Runs one mapped request; the test constructor's stand-in for a loaded model.</summary>
    internal delegate Task<IReadOnlyList<GeneratedImage>> GenerateCall(ImageRequest request, CancellationToken cancellationToken);

    /// <summary>Generates images for a request; see the remarks of <see cref="StableDiffusionImageGenerator"/> for the mapping.</summary>
    /// <param name="request">The prompt, and optionally the image to start from.</param>
    /// <param name="options">Count, size, media type and A1111-style parameters; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the generation within a step.</param>
    /// <returns>One <see cref="DataContent"/> per image, seeds ascending.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is null.</exception>
    /// <exception cref="ArgumentException">An option, additional property or original image is not accepted (the message names it and what is accepted), or the resulting request is invalid.</exception>
    /// <exception cref="ModelFiles.InvalidModelFileException">A LoRA of an <see cref="ImageRequest"/> from <see cref="ImageGenerationOptions.RawRepresentationFactory"/> is malformed.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">This wrapper or its generator was disposed.</exception>
    public async Task<ImageGenerationResponse> GenerateAsync(ImageGenerationRequest request, ImageGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var mapped = RequestMapping.Map(request, options, this, _modelId);
        cancellationToken.ThrowIfCancellationRequested();

        var images = await _generate(mapped.Request, cancellationToken).ConfigureAwait(false);

        var contents = new List<AIContent>(images.Count);
        foreach (var image in images)
            contents.Add(ImageEncoding.Encode(image, mapped.Format));
        return new ImageGenerationResponse(contents) { RawRepresentation = images };
    }

    /// <summary>
    /// This wrapper's services: the <see cref="Generator"/>, the <see cref="ImageGeneratorMetadata"/>, or the wrapper
    /// itself (for any type it is an instance of).
    /// </summary>
    /// <param name="serviceType">The type asked for.</param>
    /// <param name="serviceKey">Must be null: this wrapper has no keyed services.</param>
    /// <returns>The service, or null when there is none of that type or a key was given.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="serviceType"/> is null.</exception>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ImageGeneratorMetadata)) return _metadata;
        if (serviceType == typeof(Generator)) return _generator;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Frees the generator when this wrapper loaded it (the <see cref="GeneratorOptions"/> constructor); a wrapped one stays loaded.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_ownsGenerator) _generator?.Dispose();
    }

    /// <summary>The loaded model's name: its file name (<see cref="GeneratorOptions.ModelPath"/>, else <see cref="GeneratorOptions.DiffusionModelPath"/>).</summary>
    internal static string? ModelId(GeneratorOptions options)
        => Path.GetFileName(options.ModelPath ?? options.DiffusionModelPath) is { Length: > 0 } name ? name : null;

    private static Task<IReadOnlyList<GeneratedImage>> Run(Generator generator, ImageRequest request, CancellationToken cancellationToken)
        => generator.GenerateAsync(request, progress: null, cancellationToken);
}
