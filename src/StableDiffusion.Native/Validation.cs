namespace StableDiffusion.Native;

/// <summary>
/// Guard clauses for everything that reaches native code: upstream validates almost nothing (zero steps is
/// undefined behaviour, negative steps abort the process, a bad regex terminates it), so we check first.
/// </summary>
internal static class Validation
{
    /// <summary>Checks every option and model file; returns the UNet's width when the model has a readable UNet.</summary>
    public static long? Options(GeneratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ModelPath is null && options.DiffusionModelPath is null)
            throw new ArgumentException("Set ModelPath (a full checkpoint) or DiffusionModelPath.", nameof(options));
        OptionalFile(options.ModelPath, nameof(options.ModelPath));
        OptionalFile(options.DiffusionModelPath, nameof(options.DiffusionModelPath));
        OptionalFile(options.ClipLPath, nameof(options.ClipLPath));
        OptionalFile(options.ClipGPath, nameof(options.ClipGPath));
        OptionalFile(options.T5xxlPath, nameof(options.T5xxlPath));
        OptionalFile(options.VaePath, nameof(options.VaePath));
        OptionalFile(options.TaesdPath, nameof(options.TaesdPath));
        OptionalFile(options.ControlNetPath, nameof(options.ControlNetPath));
        foreach (var e in options.Embeddings)
        {
            if (e is null || string.IsNullOrWhiteSpace(e.Name))
                throw new ArgumentException("Every embedding needs a name.", nameof(options.Embeddings));
            ExistingFile(e.Path, nameof(options.Embeddings));
        }
        if (options.Threads is int t && (t < 1 || t > 1024))
            throw new ArgumentOutOfRangeException(nameof(options.Threads), t, "Threads must be between 1 and 1024 (or null for upstream's choice).");
        if (options.WeightType is { } w && !Enum.IsDefined(w))
            throw new ArgumentOutOfRangeException(nameof(options.WeightType), w, "Unknown quantization type.");
        if (options.LoraApplyMode is { } m && !Enum.IsDefined(m))
            throw new ArgumentOutOfRangeException(nameof(options.LoraApplyMode), m, "Unknown LoRA apply mode.");
        if (options.TensorTypeRules is { } rules)
        {
            try
            {
                ModelFiles.TensorTypeRules.Parse(rules);
            }
            catch (FormatException e)
            {
                // A bad option is an argument problem; the parser's message names the bad pattern or type.
                throw new ArgumentException($"TensorTypeRules: {e.Message}", nameof(options.TensorTypeRules), e);
            }
        }
        if (!Enum.IsDefined(options.QuantizationCache))
            throw new ArgumentOutOfRangeException(nameof(options.QuantizationCache), options.QuantizationCache, "Unknown quantization cache mode.");

        // Upstream's parsers trust their input; every weight file is validated by the managed readers first, so a
        // malformed or hostile file (or a pickle, unless allowed) fails here with InvalidModelFileException.
        var fileOptions = new ModelFiles.ModelFileOptions { AllowLegacyPickle = options.AllowLegacyPickle };
        var model = ModelFileOrNull(options.ModelPath, fileOptions);
        var diffusion = ModelFileOrNull(options.DiffusionModelPath, fileOptions);
        ModelFileOrNull(options.ClipLPath, fileOptions);
        ModelFileOrNull(options.ClipGPath, fileOptions);
        ModelFileOrNull(options.T5xxlPath, fileOptions);
        ModelFileOrNull(options.VaePath, fileOptions);
        ModelFileOrNull(options.TaesdPath, fileOptions);
        var controlNet = ModelFileOrNull(options.ControlNetPath, fileOptions);
        foreach (var e in options.Embeddings) ModelFileOrNull(e.Path, fileOptions);

        string[] unetNames = ["model.diffusion_model.input_blocks.0.0.weight", "input_blocks.0.0.weight"];
        long? unet = (diffusion is null ? null : FirstConvChannels(diffusion, unetNames)) ?? (model is null ? null : FirstConvChannels(model, unetNames));
        if (controlNet is not null) ControlNetMatches(controlNet, unet);
        return unet;
    }

    /// <summary>
    /// Opens (and so validates) a model file about to be loaded; throws <see cref="ModelFiles.InvalidModelFileException"/>
    /// when it is bad or holds a tensor type upstream cannot load.
    /// </summary>
    public static ModelFiles.ModelFile? ModelFileOrNull(string? path, ModelFiles.ModelFileOptions? options = null)
        => path is null ? null : ModelFiles.ModelFile.OpenForLoading(path, options);

    public static void Request(ImageRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Prompt, nameof(request.Prompt));
        ArgumentNullException.ThrowIfNull(request.NegativePrompt, nameof(request.NegativePrompt));
        if (request.Width is int w) Dimension(w, nameof(request.Width));
        if (request.Height is int h) Dimension(h, nameof(request.Height));
        if (request.Steps < 1 || request.Steps > 10_000)
            throw new ArgumentOutOfRangeException(nameof(request.Steps), request.Steps, "Steps must be between 1 and 10000.");
        if (request.BatchCount < 1 || request.BatchCount > ImageRequest.MaxBatchCount)
            throw new ArgumentOutOfRangeException(nameof(request.BatchCount), request.BatchCount, $"BatchCount must be between 1 and {ImageRequest.MaxBatchCount}.");
        if (!float.IsFinite(request.CfgScale) || request.CfgScale < 0)
            throw new ArgumentOutOfRangeException(nameof(request.CfgScale), request.CfgScale, "CfgScale must be a finite number ≥ 0.");
        if (request.Guidance is float g && (!float.IsFinite(g) || g < 0))
            throw new ArgumentOutOfRangeException(nameof(request.Guidance), g, "Guidance must be a finite number ≥ 0.");
        if (request.Eta is float eta && (!float.IsFinite(eta) || eta < 0))
            throw new ArgumentOutOfRangeException(nameof(request.Eta), eta, "Eta must be a finite number ≥ 0.");
        if (!float.IsFinite(request.Strength) || request.Strength < 0 || request.Strength > 1)
            throw new ArgumentOutOfRangeException(nameof(request.Strength), request.Strength, "Strength must be between 0 and 1.");
        if (!float.IsFinite(request.ControlStrength) || request.ControlStrength < 0)
            throw new ArgumentOutOfRangeException(nameof(request.ControlStrength), request.ControlStrength, "ControlStrength must be a finite number ≥ 0.");
        if (request.Seed is long seed && seed < 0)
            throw new ArgumentOutOfRangeException(nameof(request.Seed), seed, "Seed must be ≥ 0 (leave it null for a random one).");
        if (request.ClipSkip is int cs && (cs < -1 || cs > 12))
            throw new ArgumentOutOfRangeException(nameof(request.ClipSkip), cs, "ClipSkip must be between -1 (model default) and 12.");
        if (request.Sampler is { } s && !Enum.IsDefined(s))
            throw new ArgumentOutOfRangeException(nameof(request.Sampler), s, "Unknown sampler.");
        if (request.Scheduler is { } sch && !Enum.IsDefined(sch))
            throw new ArgumentOutOfRangeException(nameof(request.Scheduler), sch, "Unknown scheduler.");
        ArgumentNullException.ThrowIfNull(request.Loras, nameof(request.Loras));
        foreach (var lora in request.Loras)
        {
            if (lora is null) throw new ArgumentException("Loras contains null.", nameof(request.Loras));
            ExistingFile(lora.Path, nameof(request.Loras));
            ModelFileOrNull(lora.Path);
            if (!float.IsFinite(lora.Multiplier))
                throw new ArgumentOutOfRangeException(nameof(request.Loras), lora.Multiplier, $"The multiplier of LoRA '{lora.Path}' must be finite.");
        }

        if (request.Hires is { } hires)
        {
            if (!float.IsFinite(hires.Scale) || hires.Scale < 1 || hires.Scale > 8)
                throw new ArgumentOutOfRangeException(nameof(request.Hires), hires.Scale, "Hires.Scale must be between 1 and 8.");
            if (hires.Steps < 0 || hires.Steps > 10_000)
                throw new ArgumentOutOfRangeException(nameof(request.Hires), hires.Steps, "Hires.Steps must be between 0 (the request's steps) and 10000.");
            if (!float.IsFinite(hires.DenoisingStrength) || hires.DenoisingStrength < 0 || hires.DenoisingStrength > 1)
                throw new ArgumentOutOfRangeException(nameof(request.Hires), hires.DenoisingStrength, "Hires.DenoisingStrength must be between 0 and 1.");
            if (!Enum.IsDefined(hires.Upscaler))
                throw new ArgumentOutOfRangeException(nameof(request.Hires), hires.Upscaler, "Unknown hires upscaler.");
            if (hires.Upscaler == HiresUpscaler.Model)
            {
                ExistingFile(hires.UpscalerModelPath ?? "", nameof(request.Hires));
                ModelFileOrNull(hires.UpscalerModelPath);
            }
            if (request.RequestedWidth * hires.Scale > ImageRequest.MaxDimension || request.RequestedHeight * hires.Scale > ImageRequest.MaxDimension)
                throw new ArgumentOutOfRangeException(nameof(request.Hires), hires.Scale, $"The hires pass would exceed {ImageRequest.MaxDimension} pixels per side.");
        }

        int width = request.RequestedWidth;
        int height = request.RequestedHeight;
        Dimension(width, nameof(request.Width));
        Dimension(height, nameof(request.Height));
        if (request.InitImage is { } init && (init.Width != width || init.Height != height))
            throw new ArgumentException($"InitImage is {init.Width}x{init.Height} but the request is {width}x{height}; resize it or leave Width/Height unset.", nameof(request.InitImage));
        if (request.Mask is { } mask)
        {
            if (request.InitImage is null) throw new ArgumentException("A Mask needs an InitImage.", nameof(request.Mask));
            if (mask.Width != width || mask.Height != height)
                throw new ArgumentException($"Mask is {mask.Width}x{mask.Height} but InitImage is {width}x{height}.", nameof(request.Mask));
        }
        if (request.ControlImage is { } control && (control.Width != width || control.Height != height))
            throw new ArgumentException($"ControlImage is {control.Width}x{control.Height} but the request is {width}x{height}.", nameof(request.ControlImage));
    }

    public static void Dimension(int value, string name)
    {
        if (value < 1 || value > ImageRequest.MaxDimension)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be between 1 and {ImageRequest.MaxDimension}.");
    }

    public static void OptionalFile(string? path, string name)
    {
        if (path is not null) ExistingFile(path, name);
    }

    public static void ExistingFile(string path, string name)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException($"{name}: the path is empty.", name);
        if (!File.Exists(path))
            throw new ArgumentException($"{name}: no file at '{path}'.", name, new FileNotFoundException(null, path));
    }

    /// <summary>Upstream builds every ControlNet 320 channels wide and adds its outputs to the UNet's unchecked.</summary>
    internal const long ControlNetChannels = 320;

    /// <summary>
    /// A ControlNet of another width than the UNet aborts the process inside ggml (a shape assert), so the shapes
    /// are compared before upstream sees them.
    /// </summary>
    internal static void ControlNetMatches(ModelFiles.ModelFile controlNet, long? unetChannels)
    {
        if (unetChannels is not long unet) return;
        if (unet != ControlNetChannels)
            throw new ArgumentException(
                $"stable-diffusion.cpp builds ControlNets {ControlNetChannels} channels wide, but this model's UNet has {unet}; a ControlNet cannot be used with it.",
                "ControlNetPath");
        long? control = FirstConvChannels(controlNet, ["control_model.input_blocks.0.0.weight", "input_blocks.0.0.weight"]);
        if (control is long c && c != unet)
            throw new ArgumentException($"The ControlNet '{controlNet.FilePath}' is {c} channels wide but the UNet has {unet}.", "ControlNetPath");
    }

    /// <summary>Output channels of the first 4-D tensor of those names (ggml order: ne[3]), from any model format.</summary>
    private static long? FirstConvChannels(ModelFiles.ModelFile file, string[] names)
    {
        foreach (string name in names)
        {
            var tensor = file.GetTensorDescriptors().FirstOrDefault(t => t.Name == name && t.Ne.Length == 4);
            if (tensor.Ne is not null) return tensor.Ne[3];
        }
        return null;
    }
}
