using StableDiffusion.Native.Native;

namespace StableDiffusion.Native;

/// <summary>
/// Guard clauses for everything that reaches native code: upstream validates almost nothing (zero steps is
/// undefined behaviour, negative steps abort the process, a bad regex terminates it), so we check first.
/// </summary>
/// <summary>What a load's validation learned from the files that the generator keeps.</summary>
/// <param name="UnetChannels">The UNet's first convolution's output channels (null for a DiT), which a ControlNet must match.</param>
/// <param name="Attention">The attention layers that bound a generation's working memory.</param>
internal sealed record LoadFacts(long? UnetChannels, AttentionProfile Attention);

internal static class Validation
{
    /// <summary>The most embeddings a model or LoRAs a request takes: far past real use, and bounded before native code loops over them.</summary>
    internal const int MaxListItems = 256;

    /// <summary>The most pairs in one of upstream's <c>key=value</c> argument strings (it reads about a dozen keys).</summary>
    internal const int MaxKeyValues = 64;

    /// <summary>Checks every option and model file; returns the UNet's width when the model has a readable UNet.</summary>
    public static LoadFacts Options(GeneratorOptions options)
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
        foreach (var (path, name) in ComponentPaths(options)) OptionalFile(path, name);
        ArgumentNullException.ThrowIfNull(options.Embeddings, nameof(options.Embeddings));
        if (options.Embeddings.Count > MaxListItems)
            throw new ArgumentException($"At most {MaxListItems} embeddings can be loaded (got {options.Embeddings.Count}).", nameof(options.Embeddings));
        foreach (var e in options.Embeddings)
        {
            if (e is null || string.IsNullOrWhiteSpace(e.Name))
                throw new ArgumentException("Every embedding needs a name.", nameof(options.Embeddings));
            // Upstream looks the name up among the prompt's words: it is one word, as a prompt spells it.
            if (e.Name.Length > 256 || e.Name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
                throw new ArgumentException($"The embedding name '{ModelFiles.DisplayText.Escape(e.Name, 80)}' must be 1 to 256 characters without spaces or control characters.", nameof(options.Embeddings));
            Text(e.Name, nameof(options.Embeddings));
            ExistingFile(e.Path, nameof(options.Embeddings));
        }
        Guard.Bounds(options, "");
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
        Defined(options.Rng, nameof(options.Rng));
        Defined(options.SamplerRng, nameof(options.SamplerRng));
        Defined(options.Prediction, nameof(options.Prediction));
        Defined(options.VaeFormat, nameof(options.VaeFormat));
        Defined(options.SplitMode, nameof(options.SplitMode));
        ArgumentNullException.ThrowIfNull(options.ModuleSplitModes, nameof(options.ModuleSplitModes));
        foreach (var (module, mode) in options.ModuleSplitModes)
        {
            Defined<ModelModule>(module, nameof(options.ModuleSplitModes));
            Defined<SplitMode>(mode, nameof(options.ModuleSplitModes));
        }
        KeyValues(options.ModelArguments, nameof(options.ModelArguments), UpstreamArgs.ModelArgKeys);
        DeviceSpec(options.Backend, nameof(options.Backend));
        DeviceSpec(options.ParamsBackend, nameof(options.ParamsBackend));
        if (options.RpcServers is { } rpc && !IsRpcServerList(rpc))
            throw new ArgumentException("RpcServers: expected HOST:PORT[,HOST:PORT…] (at most 16 servers; host names, IPv4 or [IPv6] addresses).", nameof(options.RpcServers));
        if (options.MaxVram is { } maxVram && !IsSafeSpec(maxVram))
            throw new ArgumentException("MaxVram: expected a GiB number, -1, or upstream's device assignment (letters, digits, '.', ',', '=', '&', ':', '-').", nameof(options.MaxVram));
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
        var vae = ModelFileOrNull(options.VaePath, fileOptions);
        ModelFileOrNull(options.TaesdPath, fileOptions);
        var controlNet = ModelFileOrNull(options.ControlNetPath, fileOptions);
        foreach (var e in options.Embeddings) ModelFileOrNull(e.Path, fileOptions);
        foreach (var (path, _) in ComponentPaths(options)) ModelFileOrNull(path, fileOptions);

        string[] unetNames = ["model.diffusion_model.input_blocks.0.0.weight", "input_blocks.0.0.weight"];
        long? unet = (diffusion is null ? null : FirstConvChannels(diffusion, unetNames)) ?? (model is null ? null : FirstConvChannels(model, unetNames));
        if (controlNet is not null) ControlNetMatches(controlNet, unet);
        return new LoadFacts(unet, AttentionProfile.Of(model, diffusion, vae));
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
        Guard.Bounds(request, "");
        Prompt(request.Prompt, nameof(request.Prompt));
        Prompt(request.NegativePrompt, nameof(request.NegativePrompt));
        ArgumentNullException.ThrowIfNull(request.Sampling, nameof(request.Sampling));
        Sampling(request.Sampling, nameof(request.Sampling));
        if (request.Seed is long seed && seed < 0)
            throw new ArgumentOutOfRangeException(nameof(request.Seed), seed, "Seed must be ≥ 0 (leave it null for a random one).");
        Loras(request.Loras, nameof(request.Loras));
        ImageExtras(request);

        if (request.Hires is { } hires) Hires(hires, request.RequestedWidth, request.RequestedHeight);

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

    /// <summary>The component files added for every model family, each validated like the checkpoint.</summary>
    private static IEnumerable<(string? Path, string Name)> ComponentPaths(GeneratorOptions o) =>
    [
        (o.ClipVisionPath, nameof(o.ClipVisionPath)), (o.LlmPath, nameof(o.LlmPath)), (o.LlmVisionPath, nameof(o.LlmVisionPath)),
        (o.HighNoiseDiffusionModelPath, nameof(o.HighNoiseDiffusionModelPath)), (o.UncondDiffusionModelPath, nameof(o.UncondDiffusionModelPath)),
        (o.EmbeddingsConnectorsPath, nameof(o.EmbeddingsConnectorsPath)), (o.AudioVaePath, nameof(o.AudioVaePath)),
        (o.IpAdapterPath, nameof(o.IpAdapterPath)), (o.MotionModulePath, nameof(o.MotionModulePath)), (o.PhotoMakerPath, nameof(o.PhotoMakerPath)),
        (o.PulidWeightsPath, nameof(o.PulidWeightsPath)),
    ];

    private static readonly System.Buffers.SearchValues<char> s_specChars =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,=&:-_ ");

    private static bool IsSafeSpec(string value) => value.Length is > 0 and <= 1024 && !value.AsSpan().ContainsAnyExcept(s_specChars);

    private static readonly System.Buffers.SearchValues<char> s_deviceChars =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.,=&:-[] ");

    /// <summary>
    /// A device name ("CUDA0", "RPC1") or upstream's assignment spec ("diffusion=CUDA0,clip=CPU"), which upstream splits at
    /// ',' and '=' and looks up by name: at most 256 such characters.
    /// </summary>
    internal static void DeviceSpec(string? value, string name)
    {
        if (value is not null && (value.Length > 256 || value.AsSpan().ContainsAnyExcept(s_deviceChars)))
            throw new ArgumentException($"{name}: expected a device name or upstream's assignment (module=device, …): at most 256 letters, digits, spaces and '_.,=&:-[]'.", name);
    }

    /// <summary>Upstream splits the list at ',' and hands each item to ggml's RPC client, which splits it at its last ':'.</summary>
    private static bool IsRpcServerList(string value)
    {
        if (value.Length > 1024) return false;
        string[] servers = value.Split(',', StringSplitOptions.TrimEntries);
        if (servers.Length > 16) return false;
        return servers.All(server => RpcServers.TryParse(server, out _, out _));
    }

    private static void Defined<T>(T? value, string name) where T : struct, Enum
    {
        if (value is { } v && !Enum.IsDefined(v)) throw new ArgumentOutOfRangeException(name, v, $"Unknown {typeof(T).Name} value.");
    }

    private static readonly System.Buffers.SearchValues<char> s_keyChars =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");

    /// <summary>
    /// Upstream splits its argument strings at ',' and ';' and the first '=', and trims: a key of word characters and a
    /// value without those separators or control characters cannot change another pair's meaning.
    /// </summary>
    public static void KeyValues(IReadOnlyDictionary<string, string>? pairs, string name, string[]? typedKeys = null)
    {
        ArgumentNullException.ThrowIfNull(pairs, name);
        if (pairs.Count > MaxKeyValues)
            throw new ArgumentException($"{name}: at most {MaxKeyValues} pairs (got {pairs.Count}).", name);
        foreach (var (key, value) in pairs)
        {
            if (typedKeys is not null && typedKeys.Contains(key, StringComparer.Ordinal))
                throw new ArgumentException($"{name}: '{key}' has a typed property; set that instead.", name);
            if (string.IsNullOrEmpty(key) || key.Length > 64 || key.AsSpan().ContainsAnyExcept(s_keyChars))
                throw new ArgumentException($"{name}: the key '{ModelFiles.DisplayText.Escape(key)}' must be 1 to 64 letters, digits, '_', '.' or '-'.", name);
            if (value is null || value.Length > 1024 || value.AsSpan().IndexOfAny(",;=") >= 0 || value.Any(char.IsControl) || value.Trim().Length == 0)
                throw new ArgumentException($"{name}: the value of '{key}' must be 1 to 1024 characters without ',', ';', '=' or control characters.", name);
        }
    }

    /// <summary>
    /// A prompt reaches upstream's recursive regular expressions: at most <see cref="ImageRequest.MaxPromptLength"/>
    /// characters (what <see cref="Native.NativeStack"/> is sized for). NUL would end it early in native code and an
    /// unpaired surrogate would be replaced silently when encoded, so both are refused rather than changed.
    /// </summary>
    internal static void Prompt(string text, string name)
    {
        ArgumentNullException.ThrowIfNull(text, name);
        if (text.Length > ImageRequest.MaxPromptLength)
            throw new ArgumentException($"{name} is {text.Length} characters long; the limit is {ImageRequest.MaxPromptLength} characters (ImageRequest.MaxPromptLength).", name);
        Text(text, name);
        AttentionWeights(text, name);
        WhitespaceRuns(text, name);
    }

    // Upstream searches every piece of a prompt for "\s*\bBREAK\b\s*": at each start inside a run of whitespace the
    // matcher takes the rest of the run and gives it back one character at a time, so a run costs time quadratic in
    // its length (32,768 spaces: over a minute of one core). Nobody types a thousand spaces in a row.
    private static void WhitespaceRuns(string text, string name)
    {
        int run = 0;
        foreach (char c in text)
        {
            if (c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r')
            {
                if (++run > ImageRequest.MaxWhitespaceRun)
                    throw new ArgumentException($"{name} has more than {ImageRequest.MaxWhitespaceRun} whitespace characters in a row; upstream's prompt parser takes time quadratic in such a run. Collapse it.", name);
            }
            else
            {
                run = 0;
            }
        }
    }

    // Upstream's prompt-attention parser reads "(text:WEIGHT)" with std::stof and catches nothing: a weight stof cannot
    // read ("(cat:.)") or that leaves float's range ("(cat:1e40)" spelled out, or one too small to be normal) throws a
    // C++ exception through the C API and terminates the process. Its pattern for a weight, ":([+-]?[.\d]+)\)", is tried
    // at every ':' (no other alternative consumes one), so every ':' is checked here the same way.
    internal static void AttentionWeights(string text, string name)
    {
        for (int colon = text.IndexOf(':'); colon >= 0; colon = text.IndexOf(':', colon + 1))
        {
            int start = colon + 1, end = start;
            if (end < text.Length && text[end] is '+' or '-') end++;
            int digits = end;
            while (end < text.Length && (char.IsAsciiDigit(text[end]) || text[end] == '.')) end++;
            if (end == digits || end >= text.Length || text[end] != ')') continue;
            string weight = text[start..end];
            if (!IsStofSafe(weight))
                throw new ArgumentException($"{name}: the attention weight '{ModelFiles.DisplayText.Escape(weight, 40)}' in '(…:{ModelFiles.DisplayText.Escape(weight, 40)})' is not a number between 1e-30 and 1e30 (or 0); write it as a number, or escape the parenthesis as \\).", name);
        }
    }

    /// <summary>
    /// Whether std::stof reads <paramref name="weight"/> (sign, digits and dots only) without throwing: it takes the
    /// longest prefix that is a number and throws when there is none, or when the value overflows or underflows float.
    /// The range accepted here stays well inside float's normal range.
    /// </summary>
    internal static bool IsStofSafe(string weight)
    {
        int i = 0;
        if (i < weight.Length && weight[i] is '+' or '-') i++;
        int digits = 0;
        int end = i;
        while (end < weight.Length && char.IsAsciiDigit(weight[end])) { end++; digits++; }
        if (end < weight.Length && weight[end] == '.')
        {
            end++;
            while (end < weight.Length && char.IsAsciiDigit(weight[end])) { end++; digits++; }
        }
        if (digits == 0) return false;
        if (!double.TryParse(weight.AsSpan(0, end), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double value))
            return false;
        double magnitude = Math.Abs(value);
        return magnitude == 0 || (magnitude >= 1e-30 && magnitude <= 1e30);
    }

    /// <summary>
    /// With an LLM text encoder (<see cref="GeneratorOptions.LlmPath"/>) upstream encodes the whole prompt in one pass
    /// whose memory grows with the square of its tokens, and aborts the process when that buffer cannot be had (measured
    /// with Qwen3's 32 heads: 16,400 tokens asked for 34 GB). Byte-level tokenizers give at most one token per UTF-8 byte,
    /// so the prompt is held to <see cref="ImageRequest.MaxLlmPromptBytes"/> bytes: about 2 GB at worst.
    /// </summary>
    internal static void LlmPrompts(GeneratorOptions options, string prompt, string negativePrompt)
    {
        if (options.LlmPath is null) return;
        foreach (var (text, name) in new[] { (prompt, "Prompt"), (negativePrompt, "NegativePrompt") })
        {
            int bytes = System.Text.Encoding.UTF8.GetByteCount(text);
            if (bytes > ImageRequest.MaxLlmPromptBytes)
                throw new ArgumentException($"{name} is {bytes} bytes of UTF-8; a model with an LLM text encoder takes at most {ImageRequest.MaxLlmPromptBytes} "
                    + "(ImageRequest.MaxLlmPromptBytes): it encodes the whole prompt at once, in memory that grows with the square of its length.", name);
        }
    }

    /// <summary>Text that reaches native code as UTF-8: no NUL, no unpaired surrogate.</summary>
    internal static void Text(string text, string name)
    {
        int nul = text.IndexOf('\0');
        if (nul >= 0)
            throw new ArgumentException($"{name} contains a NUL character (at {nul}), which would cut it short in native code.", name);
        for (int i = 0; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i])) continue;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            throw new ArgumentException($"{name} contains an unpaired surrogate (at {i}): it is not valid Unicode text.", name);
        }
    }

    private static void Sigmas(IReadOnlyList<float> sigmas, string name)
    {
        ArgumentNullException.ThrowIfNull(sigmas, name);
        if (sigmas.Count > 10_001) throw new ArgumentException($"{name}: at most 10001 sigmas.", name);
        for (int i = 0; i < sigmas.Count; i++)
        {
            if (!float.IsFinite(sigmas[i]) || sigmas[i] < 0) throw new ArgumentException($"{name}: sigma {i} must be finite and ≥ 0.", name);
            if (i > 0 && sigmas[i] > sigmas[i - 1]) throw new ArgumentException($"{name}: sigmas must not increase (sigma {i}).", name);
        }
    }

    /// <summary>The one check of a sampling shape, wherever it appears (image, video, the high-noise stage).</summary>
    internal static void Sampling(SamplingOptions s, string name)
    {
        Guard.Bounds(s, name);
        Defined(s.Sampler, name + ".Sampler");
        Defined(s.Scheduler, name + ".Scheduler");
        if (s.SkipLayerGuidance is { } slg) Slg(slg, name + ".SkipLayerGuidance");
        Sigmas(s.CustomSigmas, name + ".CustomSigmas");
        Apg(s.Apg, name + ".Apg");
        Schedule(s.GuidanceSchedule, name + ".GuidanceSchedule");
        KeyValues(s.ExtraArguments, name + ".ExtraArguments", UpstreamArgs.SampleArgKeys);
    }

    private static void Slg(SkipLayerGuidance slg, string name)
    {
        ArgumentNullException.ThrowIfNull(slg.Layers, name);
        if (slg.Layers.Count > 1024 || slg.Layers.Any(l => l < 0 || l > 1023))
            throw new ArgumentException($"{name}: at most 1024 layers, each 0 to 1023.", name);
        Guard.Bounds(slg, name);
        if (slg.End < slg.Start) throw new ArgumentOutOfRangeException(name + ".End", slg.End, $"{name}.End must be between Start ({slg.Start}) and 1.");
    }

    private static void Tiling(VaeTilingOptions? t, string name)
    {
        if (t is null) return;
        if (!t.Spatial && !t.Temporal) throw new ArgumentException($"{name}: tile in space, in time, or both (else leave the options unset).", name);
        Guard.Bounds(t, name);
        KeyValues(t.ExtraArguments, name + ".ExtraArguments", UpstreamArgs.TilingArgKeys);
    }

    internal static void Cache(StepCacheOptions? c, string name)
    {
        if (c is null) return;
        Defined<CacheMode>(c.Mode, name + ".Mode");
        Guard.Bounds(c, name);
        if ((c.StartPercent ?? 0.15f) >= (c.EndPercent ?? 0.95f))
            throw new ArgumentException($"{name}: StartPercent must be below EndPercent.", name);
        ArgumentNullException.ThrowIfNull(c.StepComputationMask, name + ".StepComputationMask");
        if (c.StepComputationMask.Count > 10_000) throw new ArgumentException($"{name}: at most 10000 mask entries.", name);
    }

    private static void Images(IReadOnlyList<Imaging.ImageBuffer> images, int max, string name)
    {
        ArgumentNullException.ThrowIfNull(images, name);
        if (images.Count > max) throw new ArgumentException($"{name}: at most {max} images.", name);
        if (images.Any(i => i is null)) throw new ArgumentException($"{name} contains null.", name);
    }

    private static void Preview(PreviewOptions? p, string name)
    {
        if (p is null) return;
        Defined<PreviewMode>(p.Mode, name + ".Mode");
        Guard.Bounds(p, name);
        if (!p.Denoised && !p.Noisy) throw new ArgumentException($"{name}: ask for denoised or noisy previews (or both).", name);
    }

    /// <summary>The hires pass of an image or a video request; its ESRGAN file is validated like every weight file.</summary>
    private static void Hires(HiresFix hires, int width, int height)
    {
        const string name = nameof(ImageRequest.Hires);
        Guard.Bounds(hires, name);
        if (!Enum.IsDefined(hires.Upscaler))
            throw new ArgumentOutOfRangeException(name, hires.Upscaler, "Unknown hires upscaler.");
        if (hires.Upscaler == HiresUpscaler.Model)
        {
            ExistingFile(hires.UpscalerModelPath ?? "", name);
            ModelFileOrNull(hires.UpscalerModelPath);
        }
        if (hires.TargetWidth.HasValue != hires.TargetHeight.HasValue)
            throw new ArgumentException($"{name}: set both TargetWidth and TargetHeight, or neither.", name);
        var (hiresWidth, hiresHeight) = hires.OutputSize(width, height);
        if (hiresWidth > ImageRequest.MaxDimension || hiresHeight > ImageRequest.MaxDimension)
            throw new ArgumentOutOfRangeException(name, hires.Scale, $"The hires pass would exceed {ImageRequest.MaxDimension} pixels per side.");
        Sigmas(hires.CustomSigmas, name + ".CustomSigmas");
    }

    private static void Loras(IReadOnlyList<LoraReference> loras, string name)
    {
        ArgumentNullException.ThrowIfNull(loras, name);
        if (loras.Count > MaxListItems)
            throw new ArgumentException($"{name}: at most {MaxListItems} LoRAs per request (got {loras.Count}).", name);
        foreach (var lora in loras)
        {
            if (lora is null) throw new ArgumentException($"{name} contains null.", name);
            ExistingFile(lora.Path, name);
            ModelFileOrNull(lora.Path);
            if (!float.IsFinite(lora.Multiplier))
                throw new ArgumentOutOfRangeException(name, lora.Multiplier, $"The multiplier of LoRA '{lora.Path}' must be finite.");
        }
    }

    private static void Apg(AdaptiveProjectedGuidance? apg, string name)
    {
        if (apg is null) return;
        Guard.Bounds(apg, name);
    }

    private static void Schedule(IReadOnlyList<float> schedule, string name)
    {
        ArgumentNullException.ThrowIfNull(schedule, name);
        if (schedule.Count > 10_000) throw new ArgumentException($"{name}: at most 10000 steps.", name);
        if (schedule.Any(g => !float.IsFinite(g) || g < 0 || g > 1e4f)) throw new ArgumentException($"{name}: every scale must be finite, 0 to 10000.", name);
    }

    /// <summary>The request fields every image generation shares beyond the basics.</summary>
    private static void ImageExtras(ImageRequest r)
    {
        Images(r.ReferenceImages, 16, nameof(r.ReferenceImages));
        if (r.ReferenceImageOptions is { } ro)
        {
            Defined<ReferenceImagePreset>(ro.Preset, "ReferenceImageOptions.Preset");
            Defined(ro.IndexMode, "ReferenceImageOptions.IndexMode");
            Defined(ro.VlmResizeMode, "ReferenceImageOptions.VlmResizeMode");
            Guard.Bounds(ro, nameof(r.ReferenceImageOptions));
        }
        if (r.PhotoMaker is { } pm)
        {
            Images(pm.IdImages, 64, "PhotoMaker.IdImages");
            if (pm.IdImages.Count == 0 && pm.IdEmbeddingPath is null)
                throw new ArgumentException("PhotoMaker needs IdImages or an IdEmbeddingPath.", nameof(r.PhotoMaker));
            OptionalFile(pm.IdEmbeddingPath, "PhotoMaker.IdEmbeddingPath");
            Guard.Bounds(pm, nameof(r.PhotoMaker));
        }
        if (r.Pulid is { } pulid)
        {
            ExistingFile(pulid.IdEmbeddingPath, "Pulid.IdEmbeddingPath");
            Guard.Bounds(pulid, nameof(r.Pulid));
        }
        Tiling(r.VaeTilingOptions, nameof(r.VaeTilingOptions));
        Cache(r.Cache, nameof(r.Cache));
        Preview(r.PreviewOptions, nameof(r.PreviewOptions));
    }

    public static void Video(VideoRequest r)
    {
        ArgumentNullException.ThrowIfNull(r);
        Guard.Bounds(r, "");
        Prompt(r.Prompt, nameof(r.Prompt));
        Prompt(r.NegativePrompt, nameof(r.NegativePrompt));
        ArgumentNullException.ThrowIfNull(r.Sampling, nameof(r.Sampling));
        Sampling(r.Sampling, nameof(r.Sampling));
        if (r.Seed is long seed && seed < 0)
            throw new ArgumentOutOfRangeException(nameof(r.Seed), seed, "Seed must be ≥ 0 (leave it null for a random one).");
        if (r.HighNoiseSampling is { } high) Sampling(high, nameof(r.HighNoiseSampling));
        Loras(r.Loras, nameof(r.Loras));
        Tiling(r.VaeTilingOptions, nameof(r.VaeTilingOptions));
        Cache(r.Cache, nameof(r.Cache));
        Preview(r.PreviewOptions, nameof(r.PreviewOptions));
        if (r.Hires is { } hires) Hires(hires, r.RequestedWidth, r.RequestedHeight);
        int width = r.RequestedWidth, height = r.RequestedHeight;
        Dimension(width, nameof(r.Width));
        Dimension(height, nameof(r.Height));
        long pixels = (long)width * height * r.Frames;
        if (pixels > VideoRequest.MaxPixels)
            throw new ArgumentOutOfRangeException(nameof(r.Frames), r.Frames,
                $"A {width}x{height} video of {r.Frames} frames is {pixels:N0} pixels; at most {VideoRequest.MaxPixels:N0} (VideoRequest.MaxPixels: 1920x1080x129, 1280x720x291), since upstream holds the whole clip in memory at once.");
        void SameSize(Imaging.ImageBuffer? image, string name)
        {
            if (image is not null && (image.Width != width || image.Height != height))
                throw new ArgumentException($"{name} is {image.Width}x{image.Height} but the video is {width}x{height}.", name);
        }
        SameSize(r.InitImage, nameof(r.InitImage));
        SameSize(r.EndImage, nameof(r.EndImage));
        Images(r.ReferenceImages, 16, nameof(r.ReferenceImages));
        Images(r.ControlFrames, VideoRequest.MaxFrames, nameof(r.ControlFrames));
        foreach (var frame in r.ControlFrames) SameSize(frame, nameof(r.ControlFrames));
        ArgumentNullException.ThrowIfNull(r.ReferenceVideos, nameof(r.ReferenceVideos));
        ArgumentNullException.ThrowIfNull(r.ReferenceAudios, nameof(r.ReferenceAudios));
        if (r.ReferenceVideos.Count > 16 || r.ReferenceAudios.Count > 16)
            throw new ArgumentException("At most 16 reference videos and 16 reference audio clips.", nameof(r.ReferenceVideos));
        foreach (var video in r.ReferenceVideos)
        {
            if (video is null) throw new ArgumentException("ReferenceVideos contains null.", nameof(r.ReferenceVideos));
            Images(video.Frames, VideoRequest.MaxFrames, nameof(r.ReferenceVideos));
            if (video.Frames.Count == 0) throw new ArgumentException("A reference video needs at least one frame.", nameof(r.ReferenceVideos));
            if (video.Frames.Any(f => f.Width != video.Frames[0].Width || f.Height != video.Frames[0].Height))
                throw new ArgumentException("The frames of a reference video must be the same size.", nameof(r.ReferenceVideos));
            Guard.Bounds(video, nameof(r.ReferenceVideos));
        }
        if (r.ReferenceAudios.Any(a => a is null)) throw new ArgumentException("ReferenceAudios contains null.", nameof(r.ReferenceAudios));
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
