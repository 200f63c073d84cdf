using System.Globalization;
using Microsoft.Extensions.Configuration;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Quantization;

namespace StableDiffusion.Native.AI;

/// <summary>
/// Reads <see cref="GeneratorOptions"/> from a configuration section, key by key: no reflection (so it is trimming- and
/// AOT-safe), every key of the section must be known, and a bad value fails with its full configuration path.
/// </summary>
internal static class GeneratorOptionsConfiguration
{
    private delegate GeneratorOptions Setter(GeneratorOptions options, string value, string path);

    private static readonly Dictionary<string, Setter> s_setters = new(StringComparer.OrdinalIgnoreCase)
    {
        [nameof(GeneratorOptions.ModelPath)] = (o, v, _) => o with { ModelPath = v },
        [nameof(GeneratorOptions.DiffusionModelPath)] = (o, v, _) => o with { DiffusionModelPath = v },
        [nameof(GeneratorOptions.ClipLPath)] = (o, v, _) => o with { ClipLPath = v },
        [nameof(GeneratorOptions.ClipGPath)] = (o, v, _) => o with { ClipGPath = v },
        [nameof(GeneratorOptions.T5xxlPath)] = (o, v, _) => o with { T5xxlPath = v },
        [nameof(GeneratorOptions.VaePath)] = (o, v, _) => o with { VaePath = v },
        [nameof(GeneratorOptions.TaesdPath)] = (o, v, _) => o with { TaesdPath = v },
        [nameof(GeneratorOptions.ControlNetPath)] = (o, v, _) => o with { ControlNetPath = v },
        [nameof(GeneratorOptions.WeightType)] = (o, v, p) => o with { WeightType = WeightType(v, p) },
        [nameof(GeneratorOptions.TensorTypeRules)] = (o, v, _) => o with { TensorTypeRules = v },
        [nameof(GeneratorOptions.QuantizationCache)] = (o, v, p) => o with { QuantizationCache = EnumValue<QuantizationCacheMode>(v, p) },
        [nameof(GeneratorOptions.QuantizationCacheDirectory)] = (o, v, _) => o with { QuantizationCacheDirectory = v },
        [nameof(GeneratorOptions.AllowLegacyPickle)] = (o, v, p) => o with { AllowLegacyPickle = Bool(v, p) },
        [nameof(GeneratorOptions.Threads)] = (o, v, p) => o with { Threads = Int(v, p) },
        [nameof(GeneratorOptions.Backend)] = (o, v, _) => o with { Backend = v },
        [nameof(GeneratorOptions.ParamsBackend)] = (o, v, _) => o with { ParamsBackend = v },
        [nameof(GeneratorOptions.FlashAttention)] = (o, v, p) => o with { FlashAttention = Bool(v, p) },
        [nameof(GeneratorOptions.DiffusionConvDirect)] = (o, v, p) => o with { DiffusionConvDirect = Bool(v, p) },
        [nameof(GeneratorOptions.VaeConvDirect)] = (o, v, p) => o with { VaeConvDirect = Bool(v, p) },
        [nameof(GeneratorOptions.EnableMmap)] = (o, v, p) => o with { EnableMmap = Bool(v, p) },
        [nameof(GeneratorOptions.EagerLoad)] = (o, v, p) => o with { EagerLoad = Bool(v, p) },
        [nameof(GeneratorOptions.LoraApplyMode)] = (o, v, p) => o with { LoraApplyMode = EnumValue<LoraApplyMode>(v, p) },
        [nameof(GeneratorOptions.RequireGpu)] = (o, v, p) => o with { RequireGpu = Bool(v, p) },
        [nameof(GeneratorOptions.RpcServers)] = (o, v, _) => o with { RpcServers = v },
        [nameof(GeneratorOptions.MaxVram)] = (o, v, _) => o with { MaxVram = v },
        [nameof(GeneratorOptions.ClipVisionPath)] = (o, v, _) => o with { ClipVisionPath = v },
        [nameof(GeneratorOptions.LlmPath)] = (o, v, _) => o with { LlmPath = v },
        [nameof(GeneratorOptions.LlmVisionPath)] = (o, v, _) => o with { LlmVisionPath = v },
        [nameof(GeneratorOptions.HighNoiseDiffusionModelPath)] = (o, v, _) => o with { HighNoiseDiffusionModelPath = v },
        [nameof(GeneratorOptions.UncondDiffusionModelPath)] = (o, v, _) => o with { UncondDiffusionModelPath = v },
        [nameof(GeneratorOptions.EmbeddingsConnectorsPath)] = (o, v, _) => o with { EmbeddingsConnectorsPath = v },
        [nameof(GeneratorOptions.AudioVaePath)] = (o, v, _) => o with { AudioVaePath = v },
        [nameof(GeneratorOptions.IpAdapterPath)] = (o, v, _) => o with { IpAdapterPath = v },
        [nameof(GeneratorOptions.MotionModulePath)] = (o, v, _) => o with { MotionModulePath = v },
        [nameof(GeneratorOptions.PhotoMakerPath)] = (o, v, _) => o with { PhotoMakerPath = v },
        [nameof(GeneratorOptions.PulidWeightsPath)] = (o, v, _) => o with { PulidWeightsPath = v },
        [nameof(GeneratorOptions.Rng)] = (o, v, p) => o with { Rng = EnumValue<RngType>(v, p) },
        [nameof(GeneratorOptions.SamplerRng)] = (o, v, p) => o with { SamplerRng = EnumValue<RngType>(v, p) },
        [nameof(GeneratorOptions.Prediction)] = (o, v, p) => o with { Prediction = EnumValue<Prediction>(v, p) },
        [nameof(GeneratorOptions.DiffusionFlashAttention)] = (o, v, p) => o with { DiffusionFlashAttention = Bool(v, p) },
        [nameof(GeneratorOptions.TaePreviewOnly)] = (o, v, p) => o with { TaePreviewOnly = Bool(v, p) },
        [nameof(GeneratorOptions.ForceSdxlVaeConvScale)] = (o, v, p) => o with { ForceSdxlVaeConvScale = Bool(v, p) },
        [nameof(GeneratorOptions.VaeFormat)] = (o, v, p) => o with { VaeFormat = EnumValue<VaeFormat>(v, p) },
        [nameof(GeneratorOptions.StreamLayers)] = (o, v, p) => o with { StreamLayers = Bool(v, p) },
        [nameof(GeneratorOptions.SplitMode)] = (o, v, p) => o with { SplitMode = EnumValue<SplitMode>(v, p) },
        [nameof(GeneratorOptions.AutoFit)] = (o, v, p) => o with { AutoFit = Bool(v, p) },
        [nameof(GeneratorOptions.ChromaUseT5Mask)] = (o, v, p) => o with { ChromaUseT5Mask = Bool(v, p) },
        [nameof(GeneratorOptions.ChromaT5MaskPad)] = (o, v, p) => o with { ChromaT5MaskPad = Int(v, p) },
        [nameof(GeneratorOptions.ChromaUseDitMask)] = (o, v, p) => o with { ChromaUseDitMask = Bool(v, p) },
        [nameof(GeneratorOptions.QwenImageZeroCondT)] = (o, v, p) => o with { QwenImageZeroCondT = Bool(v, p) },
    };

    /// <summary>A model by name (a checkpoint or a manifest), resolved in <see cref="ModelsDirectoryKey"/> or the models folder.</summary>
    public const string ModelKey = "Model";

    /// <summary>The folder <see cref="ModelKey"/> is looked up in.</summary>
    public const string ModelsDirectoryKey = "ModelsDirectory";

    /// <summary>The keys a section may hold: every scalar option, <c>Embeddings</c>, the two maps, and the model by name.</summary>
    internal static IEnumerable<string> Keys => s_setters.Keys.Append(nameof(GeneratorOptions.Embeddings))
        .Append(nameof(GeneratorOptions.ModuleSplitModes)).Append(nameof(GeneratorOptions.ModelArguments)).Append(ModelKey).Append(ModelsDirectoryKey);

    /// <summary>
    /// Reads the options a section describes, and the manifest its <c>Model</c> key names, if any: the model's files
    /// come from the manifest (or are the checkpoint <c>Model</c> names), and a path key set beside it wins.
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="Read(IConfiguration)"/>; or <c>Model</c> names no file and no model of the folder.</exception>
    /// <exception cref="InvalidModelFileException">The manifest <c>Model</c> names is not valid.</exception>
    public static (GeneratorOptions Options, ModelManifest? Manifest) ReadModel(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        string? name = configuration[ModelKey] is { Length: > 0 } m && !string.IsNullOrWhiteSpace(m) ? m.Trim() : null;
        if (name is null) return (Read(configuration), null);
        string? directory = configuration[ModelsDirectoryKey] is { Length: > 0 } d && !string.IsNullOrWhiteSpace(d) ? d.Trim() : null;
        var (model, manifest) = ResolveModel(name, directory is null ? null : new ModelsFolder(directory));
        var given = Read(configuration, requireModel: false);
        // Path keys beside Model win over the model's own files.
        return (given.WithComponentsFrom(model), manifest);
    }

    /// <summary>A model by name: its options, and its manifest when it has one.</summary>
    internal static (GeneratorOptions Options, ModelManifest? Manifest) ResolveModel(string nameOrPath, ModelsFolder? folder)
    {
        string path = (folder ?? new ModelsFolder()).Resolve(nameOrPath);
        if (!ModelManifest.IsManifestPath(path)) return (new GeneratorOptions { ModelPath = path }, null);
        var manifest = ModelManifest.Load(path);
        return (GeneratorOptions.FromManifest(manifest), manifest);
    }

    /// <summary>Reads the options a section describes; an empty value leaves its option unset.</summary>
    /// <exception cref="ArgumentException">An unknown key, a value of the wrong kind, or neither ModelPath nor DiffusionModelPath.</exception>
    public static GeneratorOptions Read(IConfiguration configuration) => Read(configuration, requireModel: true);

    private static GeneratorOptions Read(IConfiguration configuration, bool requireModel)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new GeneratorOptions();
        foreach (var child in configuration.GetChildren())
        {
            if (string.Equals(child.Key, nameof(GeneratorOptions.Embeddings), StringComparison.OrdinalIgnoreCase))
            {
                options = options with { Embeddings = Embeddings(child) };
                continue;
            }
            if (string.Equals(child.Key, nameof(GeneratorOptions.ModuleSplitModes), StringComparison.OrdinalIgnoreCase))
            {
                options = options with { ModuleSplitModes = child.GetChildren().ToDictionary(c => EnumValue<ModelModule>(c.Key, c.Path), c => EnumValue<SplitMode>(c.Value ?? "", c.Path)) };
                continue;
            }
            if (string.Equals(child.Key, nameof(GeneratorOptions.ModelArguments), StringComparison.OrdinalIgnoreCase))
            {
                // Checked like every other value when the generator loads (keys and values that cannot split upstream's list).
                options = options with { ModelArguments = child.GetChildren().ToDictionary(c => c.Key, c => c.Value ?? "", StringComparer.Ordinal) };
                continue;
            }
            if (string.Equals(child.Key, ModelKey, StringComparison.OrdinalIgnoreCase) || string.Equals(child.Key, ModelsDirectoryKey, StringComparison.OrdinalIgnoreCase))
                continue; // read by ReadModel
            if (!s_setters.TryGetValue(child.Key, out var setter))
                throw Bad(child.Path, $"is not an option; the keys are {string.Join(", ", Keys)}.");
            if (child.GetChildren().Any())
                throw Bad(child.Path, "must be a single value, not a section.");
            if (string.IsNullOrWhiteSpace(child.Value)) continue;
            options = setter(options, child.Value.Trim(), child.Path);
        }
        if (requireModel && options.ModelPath is null && options.DiffusionModelPath is null)
        {
            string where = configuration is IConfigurationSection section ? $"'{section.Path}'" : "The configuration";
            throw new ArgumentException(
                $"Configuration {where} sets neither {ModelKey} (a model by name), {nameof(GeneratorOptions.ModelPath)} (a full checkpoint) nor {nameof(GeneratorOptions.DiffusionModelPath)}.",
                nameof(configuration));
        }
        return options;
    }

    /// <summary>A list of <c>{ "Name": ..., "Path": ... }</c> entries, as <see cref="Embedding"/> is shaped.</summary>
    private static List<Embedding> Embeddings(IConfigurationSection section)
    {
        var list = new List<Embedding>();
        foreach (var entry in section.GetChildren())
        {
            string? name = null, path = null;
            foreach (var field in entry.GetChildren())
            {
                if (string.Equals(field.Key, nameof(Embedding.Name), StringComparison.OrdinalIgnoreCase)) name = field.Value;
                else if (string.Equals(field.Key, nameof(Embedding.Path), StringComparison.OrdinalIgnoreCase)) path = field.Value;
                else throw Bad(field.Path, "is not a field of an embedding; the fields are Name and Path.");
            }
            if (string.IsNullOrWhiteSpace(name) || string.IsNullOrWhiteSpace(path))
                throw Bad(entry.Path, "needs a Name (the prompt token) and a Path (the file).");
            list.Add(new Embedding(name.Trim(), path.Trim()));
        }
        return list;
    }

    private static bool Bool(string value, string path)
        => bool.TryParse(value, out bool result) ? result : throw Bad(path, $"is '{Shorten(value)}'; expected true or false.");

    private static int Int(string value, string path)
        => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int result) ? result : throw Bad(path, $"is '{Shorten(value)}'; expected an integer.");

    /// <summary>Upstream's type name ("q8_0") or the enum's ("Q8_0").</summary>
    private static QuantizationType WeightType(string value, string path)
        => QuantizationTypes.TryParse(value, out var type) ? type : EnumValue<QuantizationType>(value, path);

    /// <summary>A defined member by name, ignoring case; numbers are refused (they would accept undefined values).</summary>
    private static T EnumValue<T>(string value, string path) where T : struct, Enum
    {
        foreach (T member in Enum.GetValues<T>())
        {
            if (string.Equals(member.ToString(), value, StringComparison.OrdinalIgnoreCase)) return member;
        }
        throw Bad(path, $"is '{Shorten(value)}'; expected one of {string.Join(", ", Enum.GetNames<T>())}.");
    }

    private static ArgumentException Bad(string path, string problem) => new($"Configuration key '{path}' {problem}", "configuration");

    private static string Shorten(string value) => Messages.Shorten(value);
}
