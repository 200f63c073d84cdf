using System.Globalization;

namespace StableDiffusion.Native.Cli;

/// <summary>
/// sd-cli's value syntaxes (<c>[7,8,9]</c>, <c>key=value,...</c>, <c>64x32</c>, its enum names), read into the library's
/// typed settings. Upstream's tools read these strings themselves; here they are read in C# and never passed on raw, so a
/// typo is an error naming the flag instead of a value upstream ignores with a log line. sd-server's API takes the same
/// strings in its fields (<c>cache_option</c>, <c>scm_mask</c>, <c>extra_tiling_args</c>), so the server reads them here
/// too, its errors naming the field.
/// </summary>
internal static class SdCliSyntax
{
    /// <summary>A value error: its message starts with the flag, and the flag is the parameter name.</summary>
    public static ArgumentException Bad(string flag, string message) => new($"{flag}: {message}", flag);

    /// <summary>A finite number written as C reads it ("1.5", "-2", "1e-3"), in the invariant culture.</summary>
    public static float Float(string flag, string text)
    {
        if (float.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out float value) && float.IsFinite(value)) return value;
        throw Bad(flag, $"'{Shown(text)}' is not a number.");
    }

    /// <summary>A 32-bit integer.</summary>
    public static int Int(string flag, string text)
    {
        if (int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value)) return value;
        throw Bad(flag, $"'{Shown(text)}' is not a whole number.");
    }

    /// <summary>
    /// <c>--skip-layers</c>: a bracketed list of block indices, separated by commas or spaces (<c>[7,8,9]</c>,
    /// <c>"[7, 8, 9]"</c>). sd-cli refuses a list without the brackets, and so does this.
    /// </summary>
    public static IReadOnlyList<int> Layers(string flag, string text)
    {
        string t = text.Trim();
        if (t.Length < 2 || t[0] != '[' || t[^1] != ']')
            throw Bad(flag, $"expected a bracketed list such as \"[7,8,9]\", got '{Shown(text)}'.");
        return t[1..^1].Split([',', ' '], StringSplitOptions.RemoveEmptyEntries).Select(item => Int(flag, item)).ToList();
    }

    /// <summary><c>--sigmas</c>, <c>--hires-sigmas</c>: numbers separated by commas, optionally in brackets.</summary>
    public static IReadOnlyList<float> Sigmas(string flag, string text)
    {
        string t = text.Trim();
        if (t.StartsWith('[')) t = t[1..];
        if (t.EndsWith(']')) t = t[..^1];
        var values = t.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(item => Float(flag, item)).ToList();
        if (values.Count == 0) throw Bad(flag, $"no sigma values in '{Shown(text)}'.");
        return values;
    }

    /// <summary>
    /// Upstream's <c>key=value</c> lists (split at ',' and ';', each pair at its first '=', trimmed; a later key
    /// replaces an earlier one). Upstream skips a pair without '=' with a warning; here it is an error.
    /// </summary>
    public static IReadOnlyDictionary<string, string> KeyValues(string flag, string text)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in Pairs(flag, text)) pairs[key] = value;
        return pairs;
    }

    private static List<(string Key, string Value)> Pairs(string flag, string text)
    {
        var pairs = new List<(string, string)>();
        foreach (string token in text.Split([',', ';'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = token.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw Bad(flag, $"expected key=value, got '{Shown(token)}'.");
            string key = token[..eq].Trim();
            string value = token[(eq + 1)..].Trim();
            if (key.Length == 0 || value.Length == 0) throw Bad(flag, $"expected key=value, got '{Shown(token)}'.");
            pairs.Add((key, value));
        }
        return pairs;
    }

    /// <summary><c>--vae-tile-size</c>: <c>WxH</c> or one number for both, in latent pixels.</summary>
    public static (int Width, int Height) TileSize(string flag, string text)
    {
        int x = text.IndexOf('x', StringComparison.Ordinal);
        return x < 0 ? (Int(flag, text), Int(flag, text)) : (Int(flag, text[..x]), Int(flag, text[(x + 1)..]));
    }

    /// <summary><c>--vae-relative-tile-size</c>: <c>WxH</c> or one number for both.</summary>
    public static (float Width, float Height) RelativeTileSize(string flag, string text)
    {
        int x = text.IndexOf('x', StringComparison.Ordinal);
        return x < 0 ? (Float(flag, text), Float(flag, text)) : (Float(flag, text[..x]), Float(flag, text[(x + 1)..]));
    }

    /// <summary>One of <paramref name="names"/> exactly (upstream compares with strcmp), as its index.</summary>
    public static int Name(string flag, string text, IReadOnlyList<string> names)
    {
        for (int i = 0; i < names.Count; i++)
            if (string.Equals(names[i], text, StringComparison.Ordinal)) return i;
        throw Bad(flag, $"'{Shown(text)}' is not one of {string.Join(", ", names)}.");
    }

    // Upstream's names of the settings that are enums, tied to their values in the core (UpstreamNames): the lists
    // below only feed help text and error messages.

    /// <summary>Upstream's RNG names (<c>rng_type_to_str</c>).</summary>
    public static readonly string[] RngNames = [.. UpstreamNames.Names<RngType>()];

    /// <summary>Upstream's prediction names (<c>prediction_to_str</c>).</summary>
    public static readonly string[] PredictionNames = [.. UpstreamNames.Names<Prediction>()];

    /// <summary>Upstream's LoRA apply modes (<c>lora_apply_mode_to_str</c>).</summary>
    public static readonly string[] LoraApplyModeNames = [.. UpstreamNames.Names<LoraApplyMode>()];

    /// <summary>sd-cli's <c>--vae-format</c> names.</summary>
    public static readonly string[] VaeFormatNames = [.. UpstreamNames.Names<VaeFormat>()];

    /// <summary>sd-cli's <c>--preview</c> names (<c>previews_str</c>): "none", then each <see cref="PreviewMode"/>'s.</summary>
    public static readonly string[] PreviewNames = ["none", .. UpstreamNames.Names<PreviewMode>()];

    /// <summary>Upstream's hires upscaler names (<c>hires_upscaler_to_str</c>): "None", then each <see cref="HiresUpscaler"/>'s.</summary>
    public static readonly string[] HiresUpscalerNames = ["None", .. UpstreamNames.Names<HiresUpscaler>()];

    /// <summary>sd-cli's run modes (<c>modes_str</c>).</summary>
    public static readonly string[] ModeNames = ["img_gen", "adetailer", "vid_gen", "convert", "upscale", "metadata"];

    /// <summary>sd-cli's cache modes (<c>--cache-mode</c>), "disabled" aside.</summary>
    public static readonly string[] CacheModeNames = [.. UpstreamNames.Names<CacheMode>().Where(n => n != CacheMode.Disabled.Name())];

    public static RngType Rng(string flag, string text) => UpstreamNames.TryParse(text, out RngType v) ? v : throw NotOneOf(flag, text, RngNames);

    public static Prediction PredictionOf(string flag, string text) => UpstreamNames.TryParse(text, out Prediction v) ? v : throw NotOneOf(flag, text, PredictionNames);

    public static LoraApplyMode LoraApply(string flag, string text) => UpstreamNames.TryParse(text, out LoraApplyMode v) ? v : throw NotOneOf(flag, text, LoraApplyModeNames);

    public static VaeFormat Vae(string flag, string text) => UpstreamNames.TryParse(text, out VaeFormat v) ? v : throw NotOneOf(flag, text, VaeFormatNames);

    /// <summary><c>--preview</c>: a method, or null for "none".</summary>
    public static PreviewMode? Preview(string flag, string text)
        => string.Equals(text.Trim(), "none", StringComparison.OrdinalIgnoreCase) ? null
         : UpstreamNames.TryParse(text, out PreviewMode v) ? v : throw NotOneOf(flag, text, PreviewNames);

    private static ArgumentException NotOneOf(string flag, string text, IReadOnlyList<string> names)
        => Bad(flag, $"'{Shown(text)}' is not one of {string.Join(", ", names)}.");

    /// <summary>
    /// A sampler by upstream's name, as sd-cli takes it; sdnet also takes every other name the server and the
    /// IImageGenerator take (A1111's display names and aliases, and legacy names such as "DPM++ 2M Karras", whose
    /// schedule is returned too), ignoring case.
    /// </summary>
    public static (Sampler Sampler, Scheduler? Schedule) SamplerOf(string flag, string text)
        => SamplingNames.TryParseSampler(text, out var s, out var schedule) ? (s, schedule)
            : throw Bad(flag, $"'{Shown(text)}' is not one of {string.Join(", ", SamplingNames.SamplerNames)}.");

    /// <summary>A scheduler by upstream's name ("normal" is its alias of "discrete"), or A1111's label.</summary>
    public static Scheduler SchedulerOf(string flag, string text)
        => SamplingNames.TryParseScheduler(text, out var s) ? s
            : throw Bad(flag, $"'{Shown(text)}' is not one of {string.Join(", ", SamplingNames.SchedulerNames)} (or normal).");

    /// <summary>
    /// <c>--split-mode</c>: one mode for every module, per-module assignments, or both (<c>row</c>,
    /// <c>diffusion=row,te=layer</c>); module names and their aliases as upstream's backend assignment reads them.
    /// </summary>
    public static (SplitMode? Default, IReadOnlyDictionary<ModelModule, SplitMode> Modules) SplitModes(string flag, string text)
    {
        SplitMode? all = null;
        var modules = new Dictionary<ModelModule, SplitMode>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                all = Split(part);
                continue;
            }
            string key = part[..eq].Trim();
            var mode = Split(part[(eq + 1)..].Trim());
            if (key.ToLowerInvariant() is "all" or "default" or "*") all = mode;
            else modules[Module(flag, key)] = mode;
        }
        return (all, modules);

        SplitMode Split(string value) => value.ToLowerInvariant() switch
        {
            "layer" => SplitMode.Layer,
            "row" => SplitMode.Row,
            _ => throw Bad(flag, $"'{Shown(value)}' is not a split mode (layer or row)."),
        };
    }

    /// <summary>A module name as upstream's <c>parse_backend_module</c> reads it (case, '-' and '_' ignored).</summary>
    public static ModelModule Module(string flag, string name)
    {
        string n = name.Trim().ToLowerInvariant().Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
        return n switch
        {
            "diffusion" or "model" or "unet" or "dit" => ModelModule.Diffusion,
            "te" or "clip" or "text" or "textencoder" or "textencoders" or "conditioner" or "cond" or "llm" or "t5" or "t5xxl" => ModelModule.TextEncoder,
            "clipvision" or "vision" => ModelModule.ClipVision,
            "vae" or "firststage" or "autoencoder" or "tae" => ModelModule.Vae,
            "controlnet" or "control" => ModelModule.ControlNet,
            "photomaker" or "photomakerid" or "pmid" or "photo" => ModelModule.PhotoMaker,
            "upscaler" or "esrgan" or "hires" => ModelModule.Upscaler,
            "detector" or "adetailer" or "yolo" => ModelModule.Detector,
            _ => throw Bad(flag, $"'{Shown(name)}' is not a module (diffusion, te, clip_vision, vae, control_net, photomaker, upscaler, detector)."),
        };
    }

    /// <summary>
    /// <c>--cache-mode</c> with <c>--cache-option</c>, <c>--scm-mask</c> and <c>--scm-policy</c>, read as sd-cli's
    /// <c>initialize_cache_params</c> reads them: "threshold" is the reuse threshold of EasyCache/UCache and the residual
    /// threshold of the block caches; "warmup" is Spectrum's warm-up with Spectrum and the block caches' otherwise; the
    /// policy only reaches the block caches (DBCache, TaylorSeer, Cache-DiT).
    /// </summary>
    /// <param name="mode">The cache mode.</param>
    /// <param name="option">Its <c>key=value,...</c> parameters.</param>
    /// <param name="mask">The step mask.</param>
    /// <param name="policy"><c>dynamic</c> or <c>static</c>.</param>
    /// <param name="names">What errors call the four (default sd-cli's flags; the server gives its fields).</param>
    public static StepCacheOptions Cache(string mode, string? option, string? mask, string? policy, CacheNames? names = null)
    {
        names ??= CacheNames.Flags;
        string flag = names.Mode;
        var cacheMode = UpstreamNames.TryParse(mode, out CacheMode m) ? m : throw NotOneOf(flag, mode, CacheModeNames);
        var c = new StepCacheOptions(cacheMode);
        string opt = names.Option;
        foreach (var (key, value) in option is null ? [] : Pairs(opt, option))
        {
            c = key switch
            {
                "threshold" => cacheMode is CacheMode.EasyCache or CacheMode.UCache
                    ? c with { ReuseThreshold = Float(opt, value) }
                    : c with { ResidualDiffThreshold = Float(opt, value) },
                "start" => c with { StartPercent = Float(opt, value) },
                "end" => c with { EndPercent = Float(opt, value) },
                "decay" => c with { ErrorDecayRate = Float(opt, value) },
                "relative" => c with { UseRelativeThreshold = Float(opt, value) != 0f },
                "reset" => c with { ResetErrorOnCompute = Float(opt, value) != 0f },
                "Fn" or "fn" => c with { FirstComputeBlocks = Int(opt, value) },
                "Bn" or "bn" => c with { LastComputeBlocks = Int(opt, value) },
                "warmup" => cacheMode == CacheMode.Spectrum ? c with { SpectrumWarmupSteps = Int(opt, value) } : c with { MaxWarmupSteps = Int(opt, value) },
                "w" => c with { SpectrumWeight = Float(opt, value) },
                "m" => c with { SpectrumBasis = Int(opt, value) },
                "lam" => c with { SpectrumLambda = Float(opt, value) },
                "window" => c with { SpectrumWindowSize = Int(opt, value) },
                "flex" => c with { SpectrumFlexWindow = Float(opt, value) },
                "stop" => c with { SpectrumStopPercent = Float(opt, value) },
                _ => throw Bad(opt, $"unknown cache parameter '{Shown(key)}' (threshold, start, end, decay, relative, reset, Fn, Bn, warmup, w, m, lam, window, flex, stop)."),
            };
        }
        if (mask is not null) c = c with { StepComputationMask = Mask(mask, names.Mask) };
        if (policy is not null)
        {
            bool dynamic = policy switch
            {
                "dynamic" => true,
                "static" => false,
                _ => throw Bad(names.Policy, $"'{Shown(policy)}' is not dynamic or static."),
            };
            if (cacheMode is CacheMode.DbCache or CacheMode.TaylorSeer or CacheMode.CacheDit) c = c with { DynamicMaskPolicy = dynamic };
        }
        return c;
    }

    /// <summary><c>--scm-mask</c>: 1 (compute) or 0 (may cache) per step, comma-separated.</summary>
    public static IReadOnlyList<bool> Mask(string text, string flag = "--scm-mask") => text.Split(',', StringSplitOptions.TrimEntries).Select(t => t switch
    {
        "1" => true,
        "0" => false,
        _ => throw Bad(flag, $"expected 0 or 1 per step (\"1,1,0,1\"), got '{Shown(t)}'."),
    }).ToList();

    /// <summary>What <see cref="Cache"/>'s errors call its four inputs.</summary>
    internal sealed record CacheNames(string Mode, string Option, string Mask, string Policy)
    {
        public static readonly CacheNames Flags = new("--cache-mode", "--cache-option", "--scm-mask", "--scm-policy");
    }

    /// <summary>
    /// <c>--ref-image-args</c> (upstream's <c>ref_image_args</c> keys), with the deprecated switches sd-cli appends after
    /// them: <c>--disable-auto-resize-ref-image</c> (<c>resize_before_vae=0</c>) and <c>--increase-ref-index</c>
    /// (<c>ref_index_mode=increase</c>). Null when none is given.
    /// </summary>
    public static ReferenceImageOptions? ReferenceImages(string? args, bool disableAutoResize, bool increaseIndex)
    {
        if (args is null && !disableAutoResize && !increaseIndex) return null;
        const string Flag = "--ref-image-args";
        var o = new ReferenceImageOptions();
        foreach (var (key, value) in args is null ? [] : Pairs(Flag, args))
        {
            o = key switch
            {
                "preset" => o with { Preset = (ReferenceImagePreset)Name(Flag, value, Presets) },
                "pass_to_vlm" => o with { PassToVlm = Bool(Flag, key, value) },
                "pass_to_dit" => o with { PassToDit = Bool(Flag, key, value) },
                "ref_index_mode" => o with { IndexMode = (ReferenceIndexMode)Name(Flag, value, ["fixed", "increase", "decrease"]) },
                "force_ref_timestep_zero" => o with { ForceTimestepZero = Bool(Flag, key, value) },
                "resize_before_vae" => o with { ResizeBeforeVae = Bool(Flag, key, value) },
                "vae_input_max_pixels" => o with { VaeInputMaxPixels = Int(Flag, value) },
                "vlm_resize_mode" => o with { VlmResizeMode = (VlmResizeMode)Name(Flag, value, ["longest_side", "area", "none"]) },
                "vlm_max_size" => o with { VlmMaxSize = Int(Flag, value) },
                "vlm_min_size" => o with { VlmMinSize = Int(Flag, value) },
                // Upstream applies vlm_size after every other key, whatever the order: it sets both bounds.
                "vlm_size" => o,
                _ => throw Bad(Flag, $"unknown key '{Shown(key)}' (preset, pass_to_vlm, pass_to_dit, ref_index_mode, force_ref_timestep_zero, resize_before_vae, vae_input_max_pixels, vlm_resize_mode, vlm_min_size, vlm_max_size, vlm_size)."),
            };
        }
        foreach (var (key, value) in args is null ? [] : Pairs(Flag, args))
            if (key == "vlm_size") o = o with { VlmMinSize = Int(Flag, value), VlmMaxSize = Int(Flag, value) };
        if (disableAutoResize) o = o with { ResizeBeforeVae = false };
        if (increaseIndex) o = o with { IndexMode = ReferenceIndexMode.Increase };
        return o;
    }

    /// <summary>
    /// ADetailer's settings as upstream's <c>parse_adetailer_params</c> reads <c>--extra-ad-args</c> (keys ignore case):
    /// the detection keys into <see cref="DetailerRequest"/>, and inpaint_width/height, denoising_strength, cfg_scale,
    /// sample_method and scheduler into its <see cref="DetailerRequest.Inpaint"/> template.
    /// </summary>
    public static DetailerRequest Detailer(ImageRequest inpaint, string? prompt, string? negativePrompt, string? args)
    {
        const string Flag = "--extra-ad-args";
        // sd-cli passes an empty --ad-prompt as "inherit the main prompt".
        var d = new DetailerRequest { Prompt = string.IsNullOrEmpty(prompt) ? null : prompt, NegativePrompt = string.IsNullOrEmpty(negativePrompt) ? null : negativePrompt };
        bool? merge = null, invert = null;
        foreach (var (rawKey, value) in args is null ? [] : Pairs(Flag, args))
        {
            string key = rawKey.ToLowerInvariant();
            switch (key)
            {
                case "input_size": d = d with { InputSize = Int(Flag, value) }; break;
                case "confidence": d = d with { Confidence = Float(Flag, value) }; break;
                case "nms" or "nms_threshold": d = d with { NmsThreshold = Float(Flag, value) }; break;
                case "max_detections": d = d with { MaxDetections = Int(Flag, value) }; break;
                case "mask_k_largest": d = d with { MaskKLargest = Int(Flag, value) }; break;
                case "mask_min_ratio": d = d with { MaskMinRatio = Float(Flag, value) }; break;
                case "mask_max_ratio": d = d with { MaskMaxRatio = Float(Flag, value) }; break;
                case "dilate_erode": d = d with { DilateErode = Int(Flag, value) }; break;
                case "x_offset": d = d with { XOffset = Int(Flag, value) }; break;
                case "y_offset": d = d with { YOffset = Int(Flag, value) }; break;
                case "merge_masks": merge = Bool(Flag, key, value); break;
                case "invert_mask": invert = Bool(Flag, key, value); break;
                case "mask_mode":
                    (merge, invert) = value.ToLowerInvariant() switch
                    {
                        "none" => (false, false),
                        "merge" => (true, false),
                        "merge_invert" or "merge-invert" => (true, true),
                        _ => throw Bad(Flag, $"mask_mode: '{Shown(value)}' is not none, merge or merge_invert."),
                    };
                    break;
                case "mask_blur": d = d with { MaskBlur = Int(Flag, value) }; break;
                case "inpaint_padding": d = d with { InpaintPadding = Int(Flag, value) }; break;
                case "inpaint_width": inpaint = inpaint with { Width = Int(Flag, value) }; break;
                case "inpaint_height": inpaint = inpaint with { Height = Int(Flag, value) }; break;
                case "denoising_strength": inpaint = inpaint with { Strength = Float(Flag, value) }; break;
                case "steps": d = d with { Steps = Int(Flag, value) is > 0 and int steps ? steps : null }; break;
                // Upstream: a negative cfg_scale keeps the template's.
                case "cfg_scale": inpaint = Float(Flag, value) is >= 0 and float cfg ? inpaint with { Sampling = inpaint.Sampling with { CfgScale = cfg } } : inpaint; break;
                case "sample_method": inpaint = inpaint with { Sampling = inpaint.Sampling with { Sampler = (Sampler)Name(Flag, value, SamplingNames.SamplerNames) } }; break;
                case "scheduler": inpaint = inpaint with { Sampling = inpaint.Sampling with { Scheduler = value == "normal" ? Scheduler.Discrete : (Scheduler)Name(Flag, value, SamplingNames.SchedulerNames) } }; break;
                case "sort_by":
                    d = d with
                    {
                        SortBy = value.ToLowerInvariant() switch
                        {
                            "none" => DetectionOrder.None,
                            "left_to_right" or "left-to-right" => DetectionOrder.LeftToRight,
                            "center_to_edge" or "center-to-edge" => DetectionOrder.CenterToEdge,
                            "area" => DetectionOrder.Area,
                            _ => throw Bad(Flag, $"sort_by: '{Shown(value)}' is not none, left_to_right, center_to_edge or area."),
                        },
                    };
                    break;
                default:
                    throw Bad(Flag, $"unknown key '{Shown(rawKey)}' (input_size, confidence, nms, max_detections, mask_k_largest, mask_min_ratio, mask_max_ratio, dilate_erode, x_offset, y_offset, mask_mode, merge_masks, invert_mask, mask_blur, inpaint_padding, inpaint_width, inpaint_height, denoising_strength, steps, cfg_scale, sample_method, scheduler, sort_by).");
            }
        }
        if (merge is not null || invert is not null)
        {
            bool m = merge ?? false, inv = invert ?? false;
            // The library's mask modes are upstream's three combinations; inverting unmerged masks has no setting there.
            if (inv && !m) throw Bad(Flag, "invert_mask needs merge_masks (mask_mode=merge_invert).");
            d = d with { MaskMode = !m ? DetectionMaskMode.None : inv ? DetectionMaskMode.MergeInvert : DetectionMaskMode.Merge };
        }
        return d with { Inpaint = inpaint };
    }

    private static readonly string[] Presets =
        ["default", "flux_kontext", "longcat", "flux2", "qwen", "qwen_layered", "mage_flow", "z_image_omni", "krea2_ostris_edit", "krea2_edit", "cosmos_reference"];

    /// <summary>Upstream's <c>parse_strict_bool</c>: 1/true/yes/on or 0/false/no/off, ignoring case.</summary>
    public static bool Bool(string flag, string key, string value) => value.Trim().ToLowerInvariant() switch
    {
        "1" or "true" or "yes" or "on" => true,
        "0" or "false" or "no" or "off" => false,
        _ => throw Bad(flag, $"{key}: '{Shown(value)}' is not a boolean (1/0, true/false, yes/no, on/off)."),
    };

    /// <summary>A value quoted in a message: escaped, and cut if long, since it may be anything the user typed.</summary>
    private static string Shown(string text) => ModelFiles.DisplayText.Escape(text, 80);
}
