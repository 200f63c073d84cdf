using System.Globalization;
using System.Text;

namespace StableDiffusion.Native.Native;

/// <summary>
/// The one place that writes the strings upstream parses: its <c>key=value,...</c> argument strings
/// (<c>model_args</c>, <c>extra_sample_args</c>, <c>extra_tiling_args</c>, <c>ref_image_args</c>, <c>extra_ad_args</c>),
/// <c>guidance_schedule</c>, <c>scm_mask</c> and <c>split_mode</c>. Every value here has passed the request's checks.
/// </summary>
internal static class UpstreamArgs
{
    private static readonly string[] s_presetNames =
    [
        "default", "flux_kontext", "longcat", "flux2", "qwen", "qwen_layered", "mage_flow", "z_image_omni", "krea2_ostris_edit", "krea2_edit", "cosmos_reference",
    ];

    private static readonly string[] s_moduleNames = ["diffusion", "te", "clip_vision", "vae", "control_net", "photomaker", "upscaler", "detector"];

    /// <summary>The keys the typed properties write into each argument string (refused in the free-form dictionaries).</summary>
    internal static readonly string[] ModelArgKeys = ["chroma_use_t5_mask", "chroma_t5_mask_pad", "chroma_use_dit_mask", "qwen_image_zero_cond_t"];

    internal static readonly string[] SampleArgKeys =
        ["apg_eta", "apg_momentum", "apg_norm_threshold", "apg_norm_threshold_smoothing", "slg_uncond", "guidance_schedule", "strength_as_noise_level", "force_first_sigma"];

    internal static readonly string[] TilingArgKeys = ["temporal_tile_frames", "temporal_tile_overlap"];

    internal static string PresetName(ReferenceImagePreset preset) => s_presetNames[(int)preset];

    internal static string ModuleName(ModelModule module) => s_moduleNames[(int)module];

    internal static string? Bool(bool? value) => value is bool b ? (b ? "true" : "false") : null;

    internal static string? Int(int? value) => value?.ToString(CultureInfo.InvariantCulture);

    internal static string? Float(float? value) => value?.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Upstream's <c>key=value,...</c> form: the typed pairs that are set, then the checked extra pairs; null when empty.</summary>
    internal static string? Join(IEnumerable<(string Key, string? Value)> typed, IReadOnlyDictionary<string, string>? extra)
    {
        var parts = typed.Where(p => p.Value is not null).Select(p => p.Key + "=" + p.Value).ToList();
        if (KeyValues(extra) is { } rest) parts.Add(rest);
        return parts.Count == 0 ? null : string.Join(",", parts);
    }

    /// <summary>Upstream's <c>key=value,...</c> form of checked pairs, sorted by key; null when empty.</summary>
    internal static string? KeyValues(IReadOnlyDictionary<string, string>? pairs)
    {
        if (pairs is null || pairs.Count == 0) return null;
        var text = new StringBuilder();
        foreach (var (key, value) in pairs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (text.Length > 0) text.Append(',');
            text.Append(key).Append('=').Append(value);
        }
        return text.ToString();
    }

    /// <summary>Upstream's guidance schedule: runs of equal scales as <c>scale x count</c>, joined by <c>+</c>.</summary>
    internal static string? Schedule(IReadOnlyList<float> scales)
    {
        if (scales.Count == 0) return null;
        var runs = new List<string>();
        for (int i = 0; i < scales.Count;)
        {
            int j = i;
            while (j < scales.Count && scales[j].Equals(scales[i])) j++;
            runs.Add(Float(scales[i]) + "x" + (j - i).ToString(CultureInfo.InvariantCulture));
            i = j;
        }
        return string.Join("+", runs);
    }

    /// <summary><c>model_args</c>: the typed model switches, then <see cref="GeneratorOptions.ModelArguments"/>.</summary>
    internal static string? ModelArgs(GeneratorOptions o) => Join(
    [
        ("chroma_use_t5_mask", Bool(o.ChromaUseT5Mask)), ("chroma_t5_mask_pad", Int(o.ChromaT5MaskPad)),
        ("chroma_use_dit_mask", Bool(o.ChromaUseDitMask)), ("qwen_image_zero_cond_t", Bool(o.QwenImageZeroCondT)),
    ], o.ModelArguments);

    /// <summary><c>extra_sample_args</c>: APG, <c>slg_uncond</c>, the guidance schedule and any image-to-image switches, then the free pairs.</summary>
    internal static string? SampleArgs(SamplingOptions s, IEnumerable<(string Key, string? Value)>? more = null) => Join(
    [
        ("apg_eta", Float(s.Apg?.Eta)), ("apg_momentum", Float(s.Apg?.Momentum)), ("apg_norm_threshold", Float(s.Apg?.NormThreshold)),
        ("apg_norm_threshold_smoothing", Float(s.Apg?.NormThresholdSmoothing)), ("slg_uncond", Bool(s.SkipLayerGuidance?.Unconditional)),
        ("guidance_schedule", Schedule(s.GuidanceSchedule)), .. more ?? [],
    ], s.ExtraArguments);

    /// <summary>The image-to-image switches an image request adds to its <c>extra_sample_args</c>.</summary>
    internal static (string, string?)[] ImageSampleArgs(ImageRequest r) =>
        [("strength_as_noise_level", Bool(r.StrengthAsNoiseLevel)), ("force_first_sigma", Bool(r.ForceFirstSigma))];

    /// <summary><c>extra_tiling_args</c>: LTX's temporal tiles, then the free pairs.</summary>
    internal static string? TilingArgs(VaeTilingOptions o)
        => Join([("temporal_tile_frames", Int(o.TemporalTileFrames)), ("temporal_tile_overlap", Int(o.TemporalTileOverlap))], o.ExtraArguments);

    /// <summary><c>scm_mask</c>: upstream's <c>1,0,1</c> form; null when empty.</summary>
    internal static string? StepMask(IReadOnlyList<bool> mask) => mask.Count == 0 ? null : string.Join(",", mask.Select(b => b ? "1" : "0"));

    /// <summary><c>split_mode</c>: the default mode, then <c>module=mode</c> pairs; null when neither is set.</summary>
    internal static string? SplitMode(SplitMode? mode, IReadOnlyDictionary<ModelModule, SplitMode> modules)
    {
        var parts = new List<string>();
        if (mode is { } m) parts.Add(Name(m));
        foreach (var (module, moduleMode) in modules.OrderBy(kv => kv.Key)) parts.Add($"{ModuleName(module)}={Name(moduleMode)}");
        return parts.Count == 0 ? null : string.Join(",", parts);
        static string Name(SplitMode m) => m == StableDiffusion.Native.SplitMode.Row ? "row" : "layer";
    }

    /// <summary><c>ref_image_args</c>; null keeps upstream's empty default.</summary>
    internal static string? ReferenceArgs(ReferenceImageOptions? o)
    {
        if (o is null) return null;
        return Join(
        [
            ("preset", o.Preset == ReferenceImagePreset.Default ? null : PresetName(o.Preset)),
            ("resize_before_vae", Bool(o.ResizeBeforeVae)), ("pass_to_vlm", Bool(o.PassToVlm)), ("pass_to_dit", Bool(o.PassToDit)),
            ("ref_index_mode", o.IndexMode?.ToString().ToLowerInvariant()), ("force_ref_timestep_zero", Bool(o.ForceTimestepZero)),
            ("vae_input_max_pixels", Int(o.VaeInputMaxPixels)),
            ("vlm_resize_mode", o.VlmResizeMode switch { null => null, VlmResizeMode.LongestSide => "longest_side", VlmResizeMode.Area => "area", _ => "none" }),
            ("vlm_min_size", Int(o.VlmMinSize)), ("vlm_max_size", Int(o.VlmMaxSize)),
        ], null) ?? "";
    }
}
