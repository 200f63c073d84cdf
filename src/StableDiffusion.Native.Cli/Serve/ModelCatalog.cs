using Microsoft.Extensions.Logging;
using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Cli.Serve;

/// <summary>
/// One model the server can serve: its name (a checkpoint's stem, or a manifest's name), the file clients see as its
/// title, the options that load it, its manifest's recommended settings and its estimated weight memory.
/// </summary>
internal sealed record ServedModel(string Name, string FileName, GeneratorOptions Options, ModelDefaults? Defaults, long EstimatedBytes);

/// <summary>A request named a model this server does not serve: 404, with the names it does.</summary>
internal sealed class ModelNotFoundException(string requested, IReadOnlyList<string> available, string param)
    : Exception($"No model '{DisplayText.Escape(requested, 80)}' here; this server serves: {string.Join(", ", available.Take(50))}{(available.Count > 50 ? ", ..." : "")}.")
{
    public string Param { get; } = param;
}

/// <summary>A model's estimated memory exceeds <c>--max-memory</c> even with every other model unloaded.</summary>
internal sealed class ModelTooLargeException(ServedModel model, long budget)
    : Exception($"The model '{model.Name}' needs about {ModelCatalog.Gib(model.EstimatedBytes)} for its weights, more than --max-memory ({ModelCatalog.Gib(budget)}): raise --max-memory or serve a smaller weight type (--type q8_0).");

/// <summary>
/// The models one <c>sdnet serve</c> answers for, and which one a request without a model name gets. A request's name
/// picks the model, and an unknown name is a 404 that lists the names served (OpenAI's <c>model</c> is laxer: see
/// <see cref="RouteOpenAi"/>).
/// </summary>
internal sealed class ModelCatalog
{
    private readonly Dictionary<string, ServedModel> _byName;
    private volatile ServedModel _default;

    private ModelCatalog(IReadOnlyList<ServedModel> models, ServedModel defaultModel, bool single)
    {
        Models = models;
        _byName = new Dictionary<string, ServedModel>(StringComparer.Ordinal);
        foreach (var model in models)
        {
            _byName.TryAdd(model.Name, model);
            _byName.TryAdd(model.FileName, model);
        }
        _default = defaultModel;
        IsSingle = single;
    }

    /// <summary>Every model served, sorted by name.</summary>
    public IReadOnlyList<ServedModel> Models { get; }

    /// <summary>Whether one model was given (<c>-m</c>): then every name is that model.</summary>
    public bool IsSingle { get; }

    /// <summary>The model of a request that names none; A1111's <c>POST /sdapi/v1/options</c> changes it, as A1111's checkpoint switch does.</summary>
    public ServedModel Default
    {
        get => _default;
        set => _default = value;
    }

    /// <summary>The one model given on the command line (or to <see cref="ImageServer.StartAsync(Generator, ServeOptions, ModelDefaults?, CancellationToken)"/>).</summary>
    public static ModelCatalog Single(GeneratorOptions options, ModelDefaults? defaults)
    {
        string file = Path.GetFileName(options.ModelPath ?? options.DiffusionModelPath ?? "model");
        string name = file.EndsWith(ModelManifest.Extension, StringComparison.OrdinalIgnoreCase) ? file[..^ModelManifest.Extension.Length] : Path.GetFileNameWithoutExtension(file);
        var model = new ServedModel(name, file, options, defaults, Estimate(options));
        return new ModelCatalog([model], model, single: true);
    }

    /// <summary>
    /// Every model in <paramref name="folder"/>: each valid manifest <c>NAME.model.json</c> and each full checkpoint (a
    /// manifest over a checkpoint, giving it other defaults, leaves the checkpoint served under its own name too).
    /// Component files (a VAE, an encoder, a diffusion model alone), LoRAs and bad files are not models by themselves:
    /// each one skipped is told to <paramref name="log"/> with why.
    /// </summary>
    /// <param name="folder">The models folder.</param>
    /// <param name="shared">The load options for every model (threads, weight type, backend, ...); component flags fill what a model does not name.</param>
    /// <param name="defaultName">The model of requests that name none; null: the first by name.</param>
    /// <param name="log">Told what was skipped and why.</param>
    /// <exception cref="ArgumentException">The folder holds no model, or <paramref name="defaultName"/> is not one of them.</exception>
    public static ModelCatalog FromFolder(ModelsFolder folder, GeneratorOptions shared, string? defaultName, ILogger log)
    {
        var models = new List<ServedModel>();
        if (Directory.Exists(folder.Directory))
        {
            foreach (string path in Directory.EnumerateFiles(folder.Directory, "*" + ModelManifest.Extension).Order(StringComparer.Ordinal))
            {
                ModelManifest manifest;
                try
                {
                    manifest = ModelManifest.Load(path);
                }
                catch (Exception e) when (e is InvalidModelFileException or IOException or UnauthorizedAccessException)
                {
                    log.LogWarning("skipped {File}: {Reason}", DisplayText.Escape(Path.GetFileName(path), 200), CliCommon.OneLine(e.Message));
                    continue;
                }
                // The manifest's components win over serve's shared flags: one --vae fills what each model leaves out.
                var options = GeneratorOptions.FromManifest(manifest, shared with { ModelPath = null, DiffusionModelPath = null });
                models.Add(new ServedModel(manifest.Name, Path.GetFileName(path), options, manifest.Defaults, Estimate(options)));
            }
        }
        var manifestNames = models.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        long sharedBytes = Estimate(shared with { ModelPath = null, DiffusionModelPath = null });
        foreach (var entry in folder.List(new ModelFileOptions { AllowLegacyPickle = shared.AllowLegacyPickle }))
        {
            // A manifest wins over a checkpoint of the same name, as ModelsFolder.Resolve has it.
            if (manifestNames.Contains(entry.Name)) continue;
            string file = DisplayText.Escape(Path.GetFileName(entry.Path), 200);
            if (entry.Info is not { } info)
            {
                log.LogWarning("skipped {File}: {Reason}", file, CliCommon.OneLine(entry.Error ?? "unreadable"));
                continue;
            }
            if (info.Kind != ModelKind.Checkpoint)
            {
                log.LogInformation("skipped {File}: a {Kind} alone; a manifest NAME.model.json can make it part of a model", file, info.Kind);
                continue;
            }
            var options = shared with { ModelPath = entry.Path, DiffusionModelPath = null };
            // The checkpoint was inspected by the listing: only the shared component files (a --vae) are read again.
            long bytes = info.EstimateMemory(shared.WeightType).TotalBytes + sharedBytes;
            models.Add(new ServedModel(entry.Name, Path.GetFileName(entry.Path), options, null, bytes));
        }
        if (models.Count == 0)
            throw new ArgumentException($"The models folder {DisplayText.Escape(folder.Directory, 300)} holds no model to serve (a full checkpoint, or a manifest NAME.model.json naming a model's files).", "--models-dir");
        models.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        var catalog = new ModelCatalog(models, models[0], single: false);
        if (defaultName is not null)
            catalog.Default = catalog.Find(defaultName) ?? throw new ArgumentException(new ModelNotFoundException(defaultName, catalog.Names, "--model").Message, "--model");
        return catalog;
    }

    /// <summary>The names served, for messages and lists.</summary>
    public IReadOnlyList<string> Names => Models.Select(m => m.Name).ToList();

    /// <summary>The model called <paramref name="name"/>: its name, its file name, or an A1111 title ("name.safetensors [hash]").</summary>
    public ServedModel? Find(string name)
    {
        string bare = name.Split(" [", 2)[0].Trim();
        return _byName.GetValueOrDefault(bare);
    }

    /// <summary>The model a request asked for in <paramref name="param"/>: the default when it names none.</summary>
    /// <exception cref="ModelNotFoundException">No model served has that name.</exception>
    public ServedModel Route(string? requested, string param)
    {
        if (string.IsNullOrWhiteSpace(requested)) return Default;
        return Find(requested) ?? throw new ModelNotFoundException(requested, Names, param);
    }

    /// <summary>
    /// The model an OpenAI request's <c>model</c> names. OpenAI's own names (<c>dall-e-*</c>, <c>gpt-image-*</c>), which
    /// SDKs send by default, mean the default model; so does any name when one model is served, so that code written
    /// for a cloud model keeps working against it.
    /// </summary>
    /// <exception cref="ModelNotFoundException">Several models are served and none has that name.</exception>
    public ServedModel RouteOpenAi(string? requested)
    {
        if (string.IsNullOrWhiteSpace(requested)) return Default;
        if (Find(requested) is { } model) return model;
        bool openAiName = requested.StartsWith("dall-e", StringComparison.OrdinalIgnoreCase) || requested.StartsWith("gpt-image", StringComparison.OrdinalIgnoreCase);
        return IsSingle || openAiName ? Default : throw new ModelNotFoundException(requested, Names, "model");
    }

    /// <summary>The estimated weight memory of the files <paramref name="options"/> loads, 0 for a file that cannot be read as a model.</summary>
    public static long Estimate(GeneratorOptions options)
    {
        long total = 0;
        string?[] files =
        [
            options.ModelPath, options.DiffusionModelPath, options.ClipLPath, options.ClipGPath, options.T5xxlPath, options.VaePath, options.TaesdPath,
            options.ControlNetPath, options.ClipVisionPath, options.LlmPath, options.LlmVisionPath, options.HighNoiseDiffusionModelPath,
        ];
        foreach (string path in files.OfType<string>())
        {
            try
            {
                total += ModelInfo.FromFile(path, new ModelFileOptions { AllowLegacyPickle = options.AllowLegacyPickle }).EstimateMemory(options.WeightType).TotalBytes;
            }
            catch (Exception e) when (e is InvalidModelFileException or IOException or UnauthorizedAccessException)
            {
                // A pickle the server was allowed to load, or a file gone since: no estimate for it.
            }
        }
        return total;
    }

    /// <summary>The default <c>--max-memory</c>: three quarters of the memory this process may use (physical, or its container's limit).</summary>
    public static long DefaultBudget => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4 * 3;

    /// <summary>
    /// Reads <c>--max-memory</c>: a number of GiB ("12", "1.5"), or a number with a binary unit ("512M", "12G", "12GiB", "1T").
    /// </summary>
    /// <exception cref="ArgumentException">Not a positive size.</exception>
    public static long ParseSize(string text, string option)
    {
        string t = text.Trim();
        int end = t.Length;
        while (end > 0 && char.IsLetter(t[end - 1])) end--;
        string unit = t[end..].ToUpperInvariant();
        long multiplier = unit switch
        {
            "" or "G" or "GB" or "GIB" => 1L << 30,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "T" or "TB" or "TIB" => 1L << 40,
            "B" => 1,
            _ => 0,
        };
        if (multiplier == 0 || !double.TryParse(t[..end], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double value)
            || !double.IsFinite(value) || value <= 0 || value * multiplier >= long.MaxValue)
            throw new ArgumentException($"{option} must be a size: GiB (12, 1.5) or a number with K, M, G or T (512M, 12G), not '{DisplayText.Escape(text, 40)}'.", option);
        return (long)(value * multiplier);
    }

    internal static string Gib(long bytes) => (bytes / 1073741824.0).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + " GiB";
}
