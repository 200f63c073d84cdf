namespace StableDiffusion.Native.Cli;

/// <summary>
/// The keys of sd-cli's <c>--extra-sample-args</c>, <c>--model-args</c> and <c>--extra-tiling-args</c> that the library
/// types: read here into those properties, as upstream reads them, so that only keys it does not know stay in the
/// dictionaries (the library refuses typed keys there).
/// </summary>
internal static class TypedArguments
{
    /// <summary>What <c>--extra-sample-args</c> holds, typed.</summary>
    internal sealed record SampleArguments(
        AdaptiveProjectedGuidance? Apg,
        IReadOnlyList<float> GuidanceSchedule,
        bool? SlgUncond,
        bool? StrengthAsNoiseLevel,
        bool? ForceFirstSigma,
        IReadOnlyDictionary<string, string> Rest);

    public static SampleArguments Sample(string flag, IReadOnlyDictionary<string, string> pairs)
    {
        var rest = new Dictionary<string, string>(StringComparer.Ordinal);
        float? eta = null, momentum = null, norm = null, smoothing = null;
        IReadOnlyList<float> schedule = [];
        bool? slgUncond = null, noiseLevel = null, firstSigma = null;
        foreach (var (key, value) in pairs)
        {
            switch (key)
            {
                case "apg_eta": eta = SdCliSyntax.Float(flag, value); break;
                case "apg_momentum": momentum = SdCliSyntax.Float(flag, value); break;
                case "apg_norm_threshold": norm = SdCliSyntax.Float(flag, value); break;
                case "apg_norm_threshold_smoothing": smoothing = SdCliSyntax.Float(flag, value); break;
                case "guidance_schedule": schedule = Schedule(flag, value); break;
                case "slg_uncond": slgUncond = SdCliSyntax.Bool(flag, key, value); break;
                case "strength_as_noise_level": noiseLevel = SdCliSyntax.Bool(flag, key, value); break;
                case "force_first_sigma": firstSigma = SdCliSyntax.Bool(flag, key, value); break;
                default: rest[key] = value; break;
            }
        }
        var apg = eta is null && momentum is null && norm is null && smoothing is null
            ? null
            : new AdaptiveProjectedGuidance { Eta = eta, Momentum = momentum, NormThreshold = norm, NormThresholdSmoothing = smoothing };
        return new SampleArguments(apg, schedule, slgUncond, noiseLevel, firstSigma, rest);
    }

    /// <summary>Upstream's <c>guidance_schedule</c>: <c>scale x count</c> segments joined by <c>+</c> (<c>7x10+3.5x10</c>).</summary>
    public static IReadOnlyList<float> Schedule(string flag, string text)
    {
        var scales = new List<float>();
        foreach (string segment in text.Split('+'))
        {
            int x = segment.IndexOf('x', StringComparison.Ordinal);
            if (x <= 0) throw SdCliSyntax.Bad(flag, "guidance_schedule: expected <scale>x<count> segments joined by '+'.");
            float scale = SdCliSyntax.Float(flag, segment[..x]);
            int count = SdCliSyntax.Int(flag, segment[(x + 1)..]);
            if (count <= 0 || scales.Count + count > 10_000) throw SdCliSyntax.Bad(flag, "guidance_schedule: counts must be positive, 10000 steps at most.");
            scales.AddRange(Enumerable.Repeat(scale, count));
        }
        return scales;
    }

    /// <summary><c>--model-args</c>: the typed keys set on the options, the rest kept.</summary>
    public static GeneratorOptions Model(string flag, GeneratorOptions options, IReadOnlyDictionary<string, string> pairs)
    {
        var rest = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in pairs)
        {
            options = key switch
            {
                "chroma_use_t5_mask" => options with { ChromaUseT5Mask = SdCliSyntax.Bool(flag, key, value) },
                "chroma_t5_mask_pad" => options with { ChromaT5MaskPad = SdCliSyntax.Int(flag, value) },
                "chroma_use_dit_mask" => options with { ChromaUseDitMask = SdCliSyntax.Bool(flag, key, value) },
                "qwen_image_zero_cond_t" => options with { QwenImageZeroCondT = SdCliSyntax.Bool(flag, key, value) },
                _ => Keep(options, rest, key, value),
            };
        }
        return options with { ModelArguments = rest };

        static GeneratorOptions Keep(GeneratorOptions o, Dictionary<string, string> rest, string key, string value)
        {
            rest[key] = value;
            return o;
        }
    }

    /// <summary><c>--extra-tiling-args</c>: LTX's temporal tile keys typed, the rest kept.</summary>
    public static VaeTilingOptions Tiling(string flag, VaeTilingOptions tiling, IReadOnlyDictionary<string, string> pairs)
    {
        var rest = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in pairs)
        {
            if (key == "temporal_tile_frames") tiling = tiling with { TemporalTileFrames = SdCliSyntax.Int(flag, value) };
            else if (key == "temporal_tile_overlap") tiling = tiling with { TemporalTileOverlap = SdCliSyntax.Int(flag, value) };
            else rest[key] = value;
        }
        return tiling with { ExtraArguments = rest };
    }
}
