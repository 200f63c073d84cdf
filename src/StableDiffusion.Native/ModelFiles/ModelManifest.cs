using System.Text.Json;

namespace StableDiffusion.Native.ModelFiles;

/// <summary>
/// A model made of several files, named once: a small <c>NAME.model.json</c> in the models folder that lists its
/// component files (relative to the manifest's folder, or absolute) and its recommended sampling defaults. Families
/// people run today need a diffusion model, a VAE and text encoders; with a manifest, <c>sdnet generate -m NAME</c>,
/// <c>GeneratorOptions.FromManifest</c> and the server load them by one name.
/// </summary>
/// <remarks>
/// The file is JSON: <c>{"diffusion_model": "flux1-dev-q4_0.gguf", "vae": "ae.safetensors", "clip_l": "clip_l.safetensors",
/// "t5xxl": "t5xxl_fp16.safetensors", "defaults": {"steps": 20, "cfg_scale": 1, "sampler": "euler", "scheduler": "simple",
/// "flow_shift": 3}}</c>. Keys are upstream's (sd-cli's flag names with underscores). Unknown keys, files that do not
/// exist and values of the wrong type are refused with the file and the field named.
/// </remarks>
public sealed record ModelManifest
{
    /// <summary>What a manifest's file name ends with.</summary>
    public const string Extension = ".model.json";

    /// <summary>Manifests are small: anything larger is not one.</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>The model's name: the file name without <see cref="Extension"/>.</summary>
    public required string Name { get; init; }

    /// <summary>The manifest's full path.</summary>
    public required string ManifestPath { get; init; }

    /// <summary>A whole checkpoint (<c>model</c>), when the model is one file plus overrides.</summary>
    public string? Model { get; init; }

    /// <summary>The diffusion model alone (<c>diffusion_model</c>).</summary>
    public string? DiffusionModel { get; init; }

    /// <summary>The high-noise expert of a two-stage video model (<c>high_noise_diffusion_model</c>).</summary>
    public string? HighNoiseDiffusionModel { get; init; }

    /// <summary>The VAE (<c>vae</c>).</summary>
    public string? Vae { get; init; }

    /// <summary>The tiny autoencoder for previews or fast decoding (<c>taesd</c>).</summary>
    public string? Taesd { get; init; }

    /// <summary>CLIP-L (<c>clip_l</c>).</summary>
    public string? ClipL { get; init; }

    /// <summary>CLIP-G (<c>clip_g</c>).</summary>
    public string? ClipG { get; init; }

    /// <summary>The CLIP vision encoder (<c>clip_vision</c>).</summary>
    public string? ClipVision { get; init; }

    /// <summary>T5-XXL or UMT5 (<c>t5xxl</c>).</summary>
    public string? T5xxl { get; init; }

    /// <summary>The language model used as text encoder (<c>llm</c>).</summary>
    public string? Llm { get; init; }

    /// <summary>Its vision tower (<c>llm_vision</c>).</summary>
    public string? LlmVision { get; init; }

    /// <summary>The recommended sampling settings; each unset one keeps the library's default.</summary>
    public ModelDefaults Defaults { get; init; } = new();

    private static readonly string[] s_files =
        ["model", "diffusion_model", "high_noise_diffusion_model", "vae", "taesd", "clip_l", "clip_g", "clip_vision", "t5xxl", "llm", "llm_vision"];

    /// <summary>Whether <paramref name="path"/> names a manifest (by its extension).</summary>
    public static bool IsManifestPath(string path) => path.EndsWith(Extension, StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads and checks the manifest at <paramref name="path"/>; component paths come back full.</summary>
    /// <exception cref="InvalidModelFileException">Not JSON, an unknown or mistyped field, a missing component file, or no model at all (the file and field named).</exception>
    /// <exception cref="IOException">The manifest cannot be read.</exception>
    public static ModelManifest Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full)!;
        var info = new FileInfo(full);
        if (!info.Exists) throw new FileNotFoundException($"No manifest '{DisplayText.Escape(full, 300)}'.", full);
        if (info.Length > MaxBytes) throw Bad(full, InvalidModelFileReason.HeaderTooLarge, $"it is {info.Length} bytes; a manifest is at most {MaxBytes}");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(full), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Bad(full, InvalidModelFileReason.InvalidJson, "not valid JSON: " + e.Message);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad(full, InvalidModelFileReason.UnexpectedStructure, "it must be a JSON object");
            var files = new Dictionary<string, string>(StringComparer.Ordinal);
            var defaults = new ModelDefaults();
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == "defaults")
                {
                    defaults = ReadDefaults(full, property.Value);
                    continue;
                }
                if (!s_files.Contains(property.Name, StringComparer.Ordinal))
                    throw Bad(full, InvalidModelFileReason.UnexpectedStructure, $"unknown field '{property.Name}' (known: {string.Join(", ", s_files)}, defaults)");
                if (property.Value.ValueKind != JsonValueKind.String || property.Value.GetString() is not { Length: > 0 } relative)
                    throw Bad(full, InvalidModelFileReason.InvalidMetadata, $"field '{property.Name}' must be a file name or path");
                string component = Path.GetFullPath(Path.Combine(folder, relative));
                if (!File.Exists(component))
                    throw Bad(full, InvalidModelFileReason.InvalidMetadata, $"field '{property.Name}': the file '{component}' does not exist");
                files[property.Name] = component;
            }
            if (!files.ContainsKey("model") && !files.ContainsKey("diffusion_model"))
                throw Bad(full, InvalidModelFileReason.UnexpectedStructure, "it names no 'model' or 'diffusion_model'");
            string name = Path.GetFileName(full);
            return new ModelManifest
            {
                Name = name[..^Extension.Length],
                ManifestPath = full,
                Model = files.GetValueOrDefault("model"),
                DiffusionModel = files.GetValueOrDefault("diffusion_model"),
                HighNoiseDiffusionModel = files.GetValueOrDefault("high_noise_diffusion_model"),
                Vae = files.GetValueOrDefault("vae"),
                Taesd = files.GetValueOrDefault("taesd"),
                ClipL = files.GetValueOrDefault("clip_l"),
                ClipG = files.GetValueOrDefault("clip_g"),
                ClipVision = files.GetValueOrDefault("clip_vision"),
                T5xxl = files.GetValueOrDefault("t5xxl"),
                Llm = files.GetValueOrDefault("llm"),
                LlmVision = files.GetValueOrDefault("llm_vision"),
                Defaults = defaults,
            };
        }
    }

    private static ModelDefaults ReadDefaults(string path, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object) throw Bad(path, InvalidModelFileReason.InvalidMetadata, "field 'defaults' must be an object");
        var defaults = new ModelDefaults();
        foreach (var p in value.EnumerateObject())
        {
            string field = "defaults." + p.Name;
            defaults = p.Name switch
            {
                "steps" => defaults with { Steps = Number(path, field, p.Value, 1, 10_000, integer: true) is double s ? (int)s : null },
                "cfg_scale" => defaults with { CfgScale = (float?)Number(path, field, p.Value, 0, 10_000, integer: false) },
                "flow_shift" => defaults with { FlowShift = (float?)Number(path, field, p.Value, -1_000, 1_000, integer: false) },
                "sampler" => defaults with { Sampler = Text(path, field, p.Value) is { } n ? SamplingNames.TryParseSampler(n, out var sampler) ? sampler : throw Bad(path, InvalidModelFileReason.InvalidMetadata, $"field '{field}': unknown sampler '{n}'") : null },
                "scheduler" => defaults with { Scheduler = Text(path, field, p.Value) is { } n ? SamplingNames.TryParseScheduler(n, out var scheduler) ? scheduler : throw Bad(path, InvalidModelFileReason.InvalidMetadata, $"field '{field}': unknown scheduler '{n}'") : null },
                _ => throw Bad(path, InvalidModelFileReason.UnexpectedStructure, $"unknown field '{field}' (known: steps, cfg_scale, sampler, scheduler, flow_shift)"),
            };
        }
        return defaults;
    }

    private static double? Number(string path, string field, JsonElement value, double min, double max, bool integer)
    {
        if (value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double d) || d < min || d > max || (integer && d != Math.Floor(d)))
            throw Bad(path, InvalidModelFileReason.InvalidMetadata, $"field '{field}' must be {(integer ? "an integer" : "a number")} from {min} to {max}");
        return d;
    }

    private static string? Text(string path, string field, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => value.GetString(),
        _ => throw Bad(path, InvalidModelFileReason.InvalidMetadata, $"field '{field}' must be a name"),
    };

    private static InvalidModelFileException Bad(string path, InvalidModelFileReason reason, string detail) => new(path, reason, null, "model manifest: " + detail);
}

/// <summary>A model's recommended sampling settings, from its manifest; null keeps the library's default.</summary>
public sealed record ModelDefaults
{
    /// <summary>Sampling steps.</summary>
    public int? Steps { get; init; }

    /// <summary>Classifier-free guidance scale.</summary>
    public float? CfgScale { get; init; }

    /// <summary>The sampler.</summary>
    public Sampler? Sampler { get; init; }

    /// <summary>The noise schedule.</summary>
    public Scheduler? Scheduler { get; init; }

    /// <summary>Flow models' schedule shift.</summary>
    public float? FlowShift { get; init; }
}
