using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Imaging;
using static StableDiffusion.Native.Cli.SdCli.OptionFactory;

namespace StableDiffusion.Native.Cli.SdCli;

/// <summary>Sampling and guidance: sd-cli's sampler, scheduler, steps, CFG, distilled and skip-layer guidance, sigmas and shifts, and the high-noise stage's own (Wan 2.2), read into one <see cref="SamplingOptions"/> each.</summary>
internal sealed class SamplingFlags
{
    /// <summary>The library's skip-layer guidance defaults, for the flags left out.</summary>
    private static readonly SkipLayerGuidance s_slg = new();

    public Option<int?> Steps { get; } = Int("--steps", $"Sampling steps (default {SamplingOptions.DefaultSteps})");
    public Option<int?> HighNoiseSteps { get; } = Int("--high-noise-steps", "High-noise model steps (default: from --moe-boundary)");
    public Option<int?> TimestepShift { get; } = Int("--timestep-shift", "Timestep shift (NitroFusion)");
    public Option<float?> CfgScale { get; } = Float("--cfg-scale", $"Classifier-free guidance scale (default {Default(SamplingOptions.DefaultCfgScale)})");
    public Option<float?> ImageCfgScale { get; } = Float("--img-cfg-scale", "Image guidance scale of editing models (default: --cfg-scale)");
    public Option<float?> Guidance { get; } = Float("--guidance", "Distilled guidance (Flux)");
    public Option<float?> SlgScale { get; } = Float("--slg-scale", "Skip-layer guidance scale (0: off)");
    public Option<float?> SkipLayerStart { get; } = Float("--skip-layer-start", $"Skip-layer guidance start (default {Default(new SkipLayerGuidance().Start)})");
    public Option<float?> SkipLayerEnd { get; } = Float("--skip-layer-end", $"Skip-layer guidance end (default {Default(new SkipLayerGuidance().End)})");
    public Option<float?> Eta { get; } = Float("--eta", "Noise of ancestral samplers");
    public Option<float?> FlowShift { get; } = Float("--flow-shift", "Flow models' schedule shift");
    public Option<float?> HighNoiseCfgScale { get; } = Float("--high-noise-cfg-scale", "High-noise model: guidance scale");
    public Option<float?> HighNoiseImageCfgScale { get; } = Float("--high-noise-img-cfg-scale", "High-noise model: image guidance scale");
    public Option<float?> HighNoiseGuidance { get; } = Float("--high-noise-guidance", "High-noise model: distilled guidance");
    public Option<float?> HighNoiseSlgScale { get; } = Float("--high-noise-slg-scale", "High-noise model: skip-layer guidance scale");
    public Option<float?> HighNoiseSkipLayerStart { get; } = Float("--high-noise-skip-layer-start", "High-noise model: skip-layer guidance start");
    public Option<float?> HighNoiseSkipLayerEnd { get; } = Float("--high-noise-skip-layer-end", "High-noise model: skip-layer guidance end");
    public Option<float?> HighNoiseEta { get; } = Float("--high-noise-eta", "High-noise model: eta");
    public Option<string?> SamplingMethod { get; } = Text("--sampling-method", "Sampler: " + string.Join(", ", SamplingNames.SamplerNames));
    public Option<string?> HighNoiseSamplingMethod { get; } = Text("--high-noise-sampling-method", "High-noise model's sampler");
    public Option<string?> Scheduler { get; } = Text("--scheduler", "Scheduler: " + string.Join(", ", SamplingNames.SchedulerNames));
    public Option<string?> Sigmas { get; } = Text("--sigmas", "Custom sigmas, comma-separated");
    public Option<string?> SkipLayers { get; } = Text("--skip-layers", "Skip-layer guidance layers, \"[7,8,9]\"");
    public Option<string?> HighNoiseSkipLayers { get; } = Text("--high-noise-skip-layers", "High-noise model's skip-layer guidance layers");
    public Option<string[]> ExtraSampleArgs { get; } = Joined("--extra-sample-args", "Extra sampler arguments, key=value,...");

    /// <summary>
    /// The sampling of the request (unset flags keep the library's, that is upstream's, defaults), and the image-to-image
    /// switches that <c>--extra-sample-args</c> may carry (they belong to an image request, not to the sampling).
    /// </summary>
    public (SamplingOptions Sampling, (bool? StrengthAsNoiseLevel, bool? ForceFirstSigma) Switches) Read(ParseResult r, ILogger logger)
    {
        var (sampler, legacySchedule) = r.GetValue(SamplingMethod) is { } sm ? SdCliSyntax.SamplerOf("--sampling-method", sm) : ((Sampler?, Scheduler?))(null, null);
        // --scheduler wins over the schedule a legacy sampler name ("DPM++ 2M Karras") carries.
        var scheduler = r.GetValue(Scheduler) is { } sc ? SdCliSyntax.SchedulerOf("--scheduler", sc) : legacySchedule;
        var slg = Slg(r, SlgScale, SkipLayers, SkipLayerStart, SkipLayerEnd, "--skip-layers");
        var sigmas = r.GetValue(Sigmas) is { } sg ? SdCliSyntax.Sigmas("--sigmas", sg) : [];
        var sampleArgs = TypedArguments.Sample("--extra-sample-args",
            ModelLoadOptions.JoinedValue(r, ExtraSampleArgs) is { } ea ? SdCliSyntax.KeyValues("--extra-sample-args", ea) : new Dictionary<string, string>());
        var extra = sampleArgs.Rest;
        if (sampleArgs.SlgUncond is bool uncond)
        {
            if (slg is null) logger.LogWarning("--extra-sample-args slg_uncond has no effect without --slg-scale");
            else slg = slg with { Unconditional = uncond };
        }
        // One sampling shape for images and video; what the flags leave unset keeps the library's (upstream's) default.
        var sampling = new SamplingOptions
        {
            Steps = r.GetValue(Steps),
            CfgScale = r.GetValue(CfgScale),
            ImageCfgScale = r.GetValue(ImageCfgScale),
            Guidance = r.GetValue(Guidance),
            SkipLayerGuidance = slg,
            Sampler = sampler,
            Scheduler = scheduler,
            Eta = r.GetValue(Eta),
            ShiftedTimestep = r.GetValue(TimestepShift),
            CustomSigmas = sigmas,
            FlowShift = r.GetValue(FlowShift),
            Apg = sampleArgs.Apg,
            GuidanceSchedule = sampleArgs.GuidanceSchedule,
            ExtraArguments = extra,
        };
        return (sampling, (sampleArgs.StrengthAsNoiseLevel, sampleArgs.ForceFirstSigma));
    }

    /// <summary>Every option of this group, to add to a command.</summary>
    public IEnumerable<Option> All => [Steps, HighNoiseSteps, TimestepShift, CfgScale, ImageCfgScale, Guidance, SlgScale, SkipLayerStart, SkipLayerEnd, Eta, FlowShift, HighNoiseCfgScale, HighNoiseImageCfgScale, HighNoiseGuidance, HighNoiseSlgScale, HighNoiseSkipLayerStart, HighNoiseSkipLayerEnd, HighNoiseEta, SamplingMethod, HighNoiseSamplingMethod, Scheduler, Sigmas, SkipLayers, HighNoiseSkipLayers, ExtraSampleArgs];

    /// <summary>Skip-layer guidance when any of its flags is given, with upstream's defaults for the rest (scale 0 is off).</summary>
    private static SkipLayerGuidance? Slg(ParseResult r, Option<float?> scale, Option<string?> layers, Option<float?> start, Option<float?> end, string layersFlag)
    {
        if (r.GetValue(scale) is null && r.GetValue(layers) is null && r.GetValue(start) is null && r.GetValue(end) is null) return null;
        return new SkipLayerGuidance
        {
            // sd-cli's scale is upstream's: 0 (off) until --slg-scale says otherwise; the rest are the record's defaults.
            Scale = r.GetValue(scale) ?? 0f,
            Layers = r.GetValue(layers) is { } l ? SdCliSyntax.Layers(layersFlag, l) : s_slg.Layers,
            Start = r.GetValue(start) ?? s_slg.Start,
            End = r.GetValue(end) ?? s_slg.End,
        };
    }

    public SamplingOptions? ReadHighNoise(ParseResult r)
    {
        Option[] all = [HighNoiseSteps, HighNoiseCfgScale, HighNoiseImageCfgScale, HighNoiseGuidance, HighNoiseSlgScale, HighNoiseSkipLayerStart,
            HighNoiseSkipLayerEnd, HighNoiseEta, HighNoiseSamplingMethod, HighNoiseSkipLayers];
        if (all.All(o => r.GetResult(o) is not { Implicit: false })) return null;
        var highNoise = r.GetValue(HighNoiseSamplingMethod) is { } m ? SdCliSyntax.SamplerOf("--high-noise-sampling-method", m) : ((Sampler Sampler, Scheduler? Schedule)?)null;
        return new SamplingOptions
        {
            Steps = r.GetValue(HighNoiseSteps) is > 0 and int s ? s : null,
            CfgScale = r.GetValue(HighNoiseCfgScale),
            ImageCfgScale = r.GetValue(HighNoiseImageCfgScale),
            Guidance = r.GetValue(HighNoiseGuidance),
            SkipLayerGuidance = Slg(r, HighNoiseSlgScale, HighNoiseSkipLayers, HighNoiseSkipLayerStart, HighNoiseSkipLayerEnd, "--high-noise-skip-layers"),
            Sampler = highNoise?.Sampler,
            Scheduler = highNoise?.Schedule,
            Eta = r.GetValue(HighNoiseEta),
        };
    }
}
