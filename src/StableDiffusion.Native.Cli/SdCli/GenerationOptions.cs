using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Imaging;
using static StableDiffusion.Native.Cli.SdCli.OptionFactory;

namespace StableDiffusion.Native.Cli.SdCli;

/// <summary>What a generation command runs: sd-cli's <c>-M</c> modes that sdnet does itself.</summary>
internal enum RunMode
{
    /// <summary>img_gen: text-to-image, image-to-image, inpainting, ControlNet, editing.</summary>
    Image,

    /// <summary>vid_gen: <see cref="Generator.GenerateVideo"/>.</summary>
    Video,

    /// <summary>upscale: the ESRGAN model on <c>--init-img</c>, no diffusion model.</summary>
    Upscale,

    /// <summary>adetailer: ADetailer on <c>--init-img</c> with the model.</summary>
    Detail,
}

/// <summary>The ESRGAN pass sd-cli runs on every result when <c>--upscale-model</c> is given.</summary>
internal sealed record UpscaleStep(string ModelPath, int Repeats, int TileSize);

/// <summary>The ADetailer pass sd-cli runs on every image when <c>--ad-model</c> is given; image i inpaints with seed + i.</summary>
internal sealed record DetailStep(string DetectorPath, DetailerRequest Request);

/// <summary>Everything a parse of <c>generate</c> or <c>video</c> asks for, read and checked before any model loads.</summary>
internal sealed record GenerationPlan(RunMode Mode, OutputNames Output)
{
    /// <summary>What to load (in <see cref="RunMode.Upscale"/> only its threads are used: no model loads).</summary>
    public GeneratorOptions? Load { get; init; }

    /// <summary>The request of <see cref="RunMode.Image"/>.</summary>
    public ImageRequest? Image { get; init; }

    /// <summary>The request of <see cref="RunMode.Video"/>.</summary>
    public VideoRequest? Video { get; init; }

    /// <summary>The input image of <see cref="RunMode.Upscale"/> and <see cref="RunMode.Detail"/>.</summary>
    public ImageBuffer? Input { get; init; }

    /// <summary>The ADetailer pass, when asked for (always in <see cref="RunMode.Detail"/>).</summary>
    public DetailStep? Detail { get; init; }

    /// <summary>Collect an importance matrix while generating and save it here (<c>--imat-out</c>).</summary>
    public string? ImportanceMatrixOut { get; init; }

    /// <summary>Run the Canny edge detector on the control image (sd-cli's <c>--canny</c>).</summary>
    public bool Canny { get; init; }

    /// <summary>Write the parameters into each PNG (off with <c>--disable-image-metadata</c>).</summary>
    public bool EmbedMetadata { get; init; } = true;

    /// <summary>Where previews go, when asked for.</summary>
    public PreviewFile? Preview { get; init; }

    /// <summary>The ESRGAN pass on every result, when asked for.</summary>
    public UpscaleStep? Upscale { get; init; }

    /// <summary>Show the native log.</summary>
    public bool Verbose { get; init; }
}

/// <summary>
/// sd-cli's generation options (and the CLI options of its img_gen and vid_gen modes) under sd-cli's names, shared by
/// <c>sdnet generate</c> and <c>sdnet video</c>, and the <see cref="GenerationPlan"/> they give. Every flag of
/// <see cref="SdCliFlags.All"/> is here or in <see cref="ModelLoadOptions"/>; values are read into the library's typed
/// settings as sd-cli reads them (see <see cref="SdCliSyntax"/>).
/// </summary>
internal sealed class GenerationOptions
{
    public ModelLoadOptions Load { get; } = new();

    // CLI options (examples/cli/main.cpp).
    public Option<string?> Output { get; } = Text("--output", "Output PNG; %d or %03d numbers each result (a batch without it adds _N); video: an animated PNG, or numbered PNGs with %d (default output.png)", "-o");
    public Option<string?> PreviewPath { get; } = Text("--preview-path", "Preview file, rewritten as sampling goes (with --preview; default preview.png)");
    public Option<int?> PreviewInterval { get; } = Int("--preview-interval", "Steps between previews (default 1)");
    public Option<int?> OutputBeginIndex { get; } = Int("--output-begin-idx", "First number of the output files (default 0)");
    public Option<bool> Canny { get; } = Switch("--canny", "Run the Canny edge detector on the control image");
    public Option<bool> Verbose { get; } = Switch("--verbose", "Show the native log", "-v");
    public Option<bool> TaesdPreviewOnly { get; } = Switch("--taesd-preview-only", "Use the TAESD for previews only, the VAE for the result");
    public Option<bool> PreviewNoisy { get; } = Switch("--preview-noisy", "Preview the noisy latent instead of the denoised estimate");
    public Option<string?> Mode { get; } = Text("--mode", "sd-cli's run mode: img_gen, vid_gen or upscale", "-M");
    public Option<string?> Preview { get; } = Text("--preview", "Preview method: " + string.Join(", ", SdCliSyntax.PreviewNames) + " (default none)");
    public Option<string?> ImportanceMatrixOut { get; } = Text("--imat-out", "Collect an importance matrix while generating and save it to this file (for sdnet convert)");

    // Generation options (examples/common/common.cpp), with the sd-cli context options that act per run.
    public Option<string?> Prompt { get; } = Text("--prompt", "What to draw", "-p");
    public Option<string?> NegativePrompt { get; } = Text("--negative-prompt", "What to avoid", "-n");
    public Option<string?> AdModel { get; } = Text("--ad-model", "ADetailer: YOLOv8 detector run on each image, its detections inpainted");
    public Option<string?> AdPrompt { get; } = Text("--ad-prompt", "ADetailer prompt (default: the prompt; [SEP] separates per-detection prompts)");
    public Option<string?> AdNegativePrompt { get; } = Text("--ad-negative-prompt", "ADetailer negative prompt (default: the negative prompt)");
    public Option<string[]> ExtraAdArgs { get; } = Joined("--extra-ad-args", "ADetailer settings, key=value,... (confidence, mask_blur, inpaint_width, denoising_strength, ...)");
    public Option<string?> PromptFile { get; } = Text("--prompt-file", "Read the prompt from a file (the whole file)");
    public Option<string?> NegativePromptFile { get; } = Text("--negative-prompt-file", "Read the negative prompt from a file");
    public Option<string[]> Lora { get; } = Repeated("--lora", "sdnet: a LoRA file, optionally with a multiplier: path[:0.8]");
    public Option<string?> LoraModelDirectory { get; } = Text("--lora-model-dir", "Folder that <lora:name:weight> tags in the prompt load from");
    public Option<string?> HiresUpscalersDirectory { get; } = Text("--hires-upscalers-dir", "Folder of the models --hires-upscaler names");
    public Option<string?> UpscaleModel { get; } = Text("--upscale-model", "ESRGAN model run on each result after generating");
    public Option<int?> UpscaleRepeats { get; } = Int("--upscale-repeats", "Times the ESRGAN model runs (default 1)");
    public Option<int?> UpscaleTileSize { get; } = Int("--upscale-tile-size", "ESRGAN tile size (default 128)");
    public Option<string?> InitImage { get; } = Text("--init-img", "Init image (image-to-image, image-to-video)", "-i");
    public Option<string?> EndImage { get; } = Text("--end-img", "Last frame (first-last-frame video)");
    public Option<string?> Mask { get; } = Text("--mask", "Inpainting mask (white repaints)");
    public Option<string?> ControlImage { get; } = Text("--control-image", "ControlNet conditioning image");
    public Option<string?> IpAdapterImage { get; } = Text("--ip-adapter-image", "IP-Adapter image");
    public Option<string?> ControlVideo { get; } = Text("--control-video", "Folder of VACE control frames (read in file-name order)");
    public Option<string?> PhotoMakerImages { get; } = Text("--pm-id-images-dir", "Folder of PhotoMaker ID images");
    public Option<string?> PhotoMakerEmbedding { get; } = Text("--pm-id-embed-path", "PhotoMaker v2 ID embedding");
    public Option<string?> PulidEmbedding { get; } = Text("--pulid-id-embedding", "PuLID ID embedding");
    public Option<string?> HiresUpscaler { get; } = Text("--hires-upscaler", "Hires upscaler: " + string.Join(", ", SdCliSyntax.HiresUpscalerNames.Where(n => n != "Model")) + ", or a model name in --hires-upscalers-dir");
    public Option<string[]> ExtraSampleArgs { get; } = Joined("--extra-sample-args", "Extra sampler arguments, key=value,...");
    public Option<string[]> ExtraTilingArgs { get; } = Joined("--extra-tiling-args", "Extra VAE tiling arguments, key=value,...");
    public Option<string[]> RefImageArgs { get; } = Joined("--ref-image-args", "How reference images are used, key=value,... (preset, resize_before_vae, ref_index_mode, ...)");
    public Option<int?> Height { get; } = Int("--height", "Height in pixels (default 512, or the init image's)", "-H");
    public Option<int?> Width { get; } = Int("--width", "Width in pixels (default 512, or the init image's)", "-W");
    public Option<int?> Steps { get; } = Int("--steps", "Sampling steps (default 20)");
    public Option<int?> HighNoiseSteps { get; } = Int("--high-noise-steps", "High-noise model steps (default: from --moe-boundary)");
    public Option<int?> ClipSkip { get; } = Int("--clip-skip", "Skip the last CLIP layers (<= 0: the model's default)");
    public Option<int?> BatchCount { get; } = Int("--batch-count", "Images to generate (seeds seed, seed+1, ...)", "-b");
    public Option<int?> QwenImageLayers { get; } = Int("--qwen-image-layers", "Qwen-Image-Layered layers");
    public Option<int?> VideoFrames { get; } = Int("--video-frames", "Video frames");
    public Option<int?> Fps { get; } = Int("--fps", "Video frames per second (default 16)");
    public Option<int?> TimestepShift { get; } = Int("--timestep-shift", "Timestep shift (NitroFusion)");
    public Option<int?> HiresWidth { get; } = Int("--hires-width", "Hires target width (0: --hires-scale)");
    public Option<int?> HiresHeight { get; } = Int("--hires-height", "Hires target height (0: --hires-scale)");
    public Option<int?> HiresSteps { get; } = Int("--hires-steps", "Hires fix: steps of the second pass (0: same as --steps)");
    public Option<int?> HiresUpscaleTileSize { get; } = Int("--hires-upscale-tile-size", "Hires fix: ESRGAN tile size");
    public Option<float?> CfgScale { get; } = Float("--cfg-scale", "Classifier-free guidance scale (default 7)");
    public Option<float?> ImageCfgScale { get; } = Float("--img-cfg-scale", "Image guidance scale of editing models (default: --cfg-scale)");
    public Option<float?> Guidance { get; } = Float("--guidance", "Distilled guidance (Flux)");
    public Option<float?> SlgScale { get; } = Float("--slg-scale", "Skip-layer guidance scale (0: off)");
    public Option<float?> SkipLayerStart { get; } = Float("--skip-layer-start", "Skip-layer guidance start (default 0.01)");
    public Option<float?> SkipLayerEnd { get; } = Float("--skip-layer-end", "Skip-layer guidance end (default 0.2)");
    public Option<float?> Eta { get; } = Float("--eta", "Noise of ancestral samplers");
    public Option<float?> FlowShift { get; } = Float("--flow-shift", "Flow models' schedule shift");
    public Option<float?> HighNoiseCfgScale { get; } = Float("--high-noise-cfg-scale", "High-noise model: guidance scale");
    public Option<float?> HighNoiseImageCfgScale { get; } = Float("--high-noise-img-cfg-scale", "High-noise model: image guidance scale");
    public Option<float?> HighNoiseGuidance { get; } = Float("--high-noise-guidance", "High-noise model: distilled guidance");
    public Option<float?> HighNoiseSlgScale { get; } = Float("--high-noise-slg-scale", "High-noise model: skip-layer guidance scale");
    public Option<float?> HighNoiseSkipLayerStart { get; } = Float("--high-noise-skip-layer-start", "High-noise model: skip-layer guidance start");
    public Option<float?> HighNoiseSkipLayerEnd { get; } = Float("--high-noise-skip-layer-end", "High-noise model: skip-layer guidance end");
    public Option<float?> HighNoiseEta { get; } = Float("--high-noise-eta", "High-noise model: eta");
    public Option<float?> Strength { get; } = Float("--strength", "Denoising strength from the init image (default 0.75)");
    public Option<float?> PhotoMakerStyleStrength { get; } = Float("--pm-style-strength", "PhotoMaker style strength (default 20)");
    public Option<float?> PulidIdWeight { get; } = Float("--pulid-id-weight", "PuLID identity weight (default 1)");
    public Option<float?> ControlStrength { get; } = Float("--control-strength", "ControlNet strength (default 0.9)");
    public Option<float?> IpAdapterStrength { get; } = Float("--ip-adapter-strength", "IP-Adapter strength (default 1)");
    public Option<float?> MoeBoundary { get; } = Float("--moe-boundary", "Where the high-noise model hands over (default 0.875)");
    public Option<float?> VaceStrength { get; } = Float("--vace-strength", "VACE strength (default 1)");
    public Option<float?> VaeTileOverlap { get; } = Float("--vae-tile-overlap", "VAE tile overlap, a fraction of a tile (default 0.5)");
    public Option<float?> HiresScale { get; } = Float("--hires-scale", "Hires fix: enlarge the first pass by this factor and refine it (turns the hires fix on)");
    public Option<float?> HiresDenoisingStrength { get; } = Float("--hires-denoising-strength", "Hires fix: denoising strength of the second pass (default 0.7)");
    public Option<bool> IncreaseRefIndex { get; } = Switch("--increase-ref-index", "Number reference images 1, 2, ... (ref_index_mode=increase)");
    public Option<bool> DisableAutoResizeRefImage { get; } = Switch("--disable-auto-resize-ref-image", "Do not resize reference images (resize_before_vae=0)");
    public Option<bool> Circular { get; } = Switch("--circular", "Seamless tiling on both axes");
    public Option<bool> CircularX { get; } = Switch("--circularx", "Seamless tiling along X");
    public Option<bool> CircularY { get; } = Switch("--circulary", "Seamless tiling along Y");
    public Option<bool> DisableImageMetadata { get; } = Switch("--disable-image-metadata", "Write PNGs without the parameters text");
    public Option<bool> VaeTiling { get; } = Switch("--vae-tiling", "Decode in tiles (less memory)");
    public Option<bool> TemporalTiling { get; } = Switch("--temporal-tiling", "Tile the video VAE along time (LTX)");
    public Option<bool> Hires { get; } = Switch("--hires", "Turn the hires fix on");
    public Option<long?> Seed { get; } = Long("--seed", "Seed of the first image (random if omitted or negative; always printed)", "-s");
    public Option<string?> SamplingMethod { get; } = Text("--sampling-method", "Sampler: " + string.Join(", ", SamplingNames.SamplerNames));
    public Option<string?> HighNoiseSamplingMethod { get; } = Text("--high-noise-sampling-method", "High-noise model's sampler");
    public Option<string?> Scheduler { get; } = Text("--scheduler", "Scheduler: " + string.Join(", ", SamplingNames.SchedulerNames));
    public Option<string?> Sigmas { get; } = Text("--sigmas", "Custom sigmas, comma-separated");
    public Option<string?> HiresSigmas { get; } = Text("--hires-sigmas", "Custom sigmas of the hires pass");
    public Option<string?> SkipLayers { get; } = Text("--skip-layers", "Skip-layer guidance layers, \"[7,8,9]\"");
    public Option<string?> HighNoiseSkipLayers { get; } = Text("--high-noise-skip-layers", "High-noise model's skip-layer guidance layers");
    public Option<string[]> RefImage { get; } = Repeated("--ref-image", "Reference image (editing models, VACE)", "-r");
    public Option<string[]> RefVideo { get; } = Repeated("--ref-video", "Reference video: a folder of frames at 24 fps");
    public Option<string[]> RefVideoAudio { get; } = Repeated("--ref-video-audio", "WAV for the --ref-video at the same position");
    public Option<string[]> RefAudio { get; } = Repeated("--ref-audio", "Reference audio (WAV)");
    public Option<string?> CacheMode { get; } = Text("--cache-mode", "Step cache: " + string.Join(", ", SdCliSyntax.CacheModeNames));
    public Option<string?> CacheOption { get; } = Text("--cache-option", "Cache parameters, key=value,... (threshold, start, end, decay, relative, reset, Fn, Bn, warmup, w, m, lam, window, flex, stop)");
    public Option<string?> ScmMask { get; } = Text("--scm-mask", "Cache steps mask, 1 (compute) or 0 per step");
    public Option<string?> ScmPolicy { get; } = Text("--scm-policy", "Cache mask policy: dynamic or static");
    public Option<string?> VaeTileSize { get; } = Text("--vae-tile-size", "VAE tile size, WxH in latent pixels");
    public Option<string?> VaeRelativeTileSize { get; } = Text("--vae-relative-tile-size", "VAE tile size relative to the latent, WxH");

    /// <summary>sd-cli flags sdnet does not act on: refused with the reason, or ignored with a warning (see <see cref="SdCliFlags"/>).</summary>
    public IReadOnlyList<Option> NotApplicable { get; } = SdCliFlags.RefusedOptions("--list-devices");

    /// <summary>Every option, to add to a command.</summary>
    public IEnumerable<Option> All =>
    [
        .. Load.All,
        Output, PreviewPath, PreviewInterval, OutputBeginIndex, Canny, Verbose, TaesdPreviewOnly, PreviewNoisy, Mode, Preview, ImportanceMatrixOut,
        Prompt, NegativePrompt, AdModel, AdPrompt, AdNegativePrompt, ExtraAdArgs, PromptFile, NegativePromptFile, Lora, LoraModelDirectory, HiresUpscalersDirectory, UpscaleModel, UpscaleRepeats,
        UpscaleTileSize, InitImage, EndImage, Mask, ControlImage, IpAdapterImage, ControlVideo, PhotoMakerImages, PhotoMakerEmbedding, PulidEmbedding,
        HiresUpscaler, ExtraSampleArgs, ExtraTilingArgs, RefImageArgs, Height, Width, Steps, HighNoiseSteps, ClipSkip, BatchCount, QwenImageLayers,
        VideoFrames, Fps, TimestepShift, HiresWidth, HiresHeight, HiresSteps, HiresUpscaleTileSize, CfgScale, ImageCfgScale, Guidance, SlgScale,
        SkipLayerStart, SkipLayerEnd, Eta, FlowShift, HighNoiseCfgScale, HighNoiseImageCfgScale, HighNoiseGuidance, HighNoiseSlgScale,
        HighNoiseSkipLayerStart, HighNoiseSkipLayerEnd, HighNoiseEta, Strength, PhotoMakerStyleStrength, PulidIdWeight, ControlStrength,
        IpAdapterStrength, MoeBoundary, VaceStrength, VaeTileOverlap, HiresScale, HiresDenoisingStrength, IncreaseRefIndex, DisableAutoResizeRefImage,
        Circular, CircularX, CircularY, DisableImageMetadata, VaeTiling, TemporalTiling, Hires, Seed, SamplingMethod, HighNoiseSamplingMethod,
        Scheduler, Sigmas, HiresSigmas, SkipLayers, HighNoiseSkipLayers, RefImage, RefVideo, RefVideoAudio, RefAudio, CacheMode, CacheOption,
        ScmMask, ScmPolicy, VaeTileSize, VaeRelativeTileSize,
        .. NotApplicable,
    ];

    /// <summary>Options that only images use, and only video uses: given in the other mode they change nothing, as in sd-cli.</summary>
    private IEnumerable<Option> ImageOnly =>
    [
        Mask, ControlImage, IpAdapterImage, PhotoMakerImages, PhotoMakerEmbedding, PhotoMakerStyleStrength, PulidEmbedding, PulidIdWeight,
        BatchCount, QwenImageLayers, ControlStrength, IpAdapterStrength, RefImageArgs, IncreaseRefIndex, DisableAutoResizeRefImage, Canny,
    ];

    private IEnumerable<Option> VideoOnly =>
    [
        EndImage, ControlVideo, VideoFrames, Fps, HighNoiseSteps, HighNoiseCfgScale, HighNoiseImageCfgScale, HighNoiseGuidance, HighNoiseSlgScale,
        HighNoiseSkipLayerStart, HighNoiseSkipLayerEnd, HighNoiseEta, HighNoiseSamplingMethod, HighNoiseSkipLayers, MoeBoundary, VaceStrength,
    ];

    private static readonly ImageRequest s_image = new();
    private static readonly VideoRequest s_video = new();
    private static readonly PhotoMakerOptions s_photoMaker = new();
    private static readonly SkipLayerGuidance s_slg = new();
    private static readonly VaeTilingOptions s_tiling = new();
    private static readonly HiresFix s_hires = new();

    /// <summary>
    /// Reads a parse into a plan: model options, the request with its images loaded (fitted to the size as sd-cli fits
    /// them), the output names, previews and the upscale pass. Nothing is loaded or generated.
    /// </summary>
    /// <param name="r">The parse.</param>
    /// <param name="defaultMode">The command's mode when <c>-M</c> is not given.</param>
    /// <param name="logger">Receives warnings about flags that change nothing here.</param>
    /// <exception cref="ArgumentException">A bad value or combination; the message names the flag.</exception>
    /// <exception cref="IOException">An input file could not be read.</exception>
    public GenerationPlan Read(ParseResult r, RunMode defaultMode, ILogger logger)
    {
        // Unset flags take the library's defaults, read from its records rather than written again here.
        SdCliFlags.Check(r, [.. NotApplicable, Load.ListDevices], logger);
        var mode = r.GetValue(Mode) is { } m ? ParseMode(m) : defaultMode;
        var output = SdCli.OutputNames.Parse(r.GetValue(Output) ?? "output.png", r.GetValue(OutputBeginIndex) ?? -1);
        bool embed = !r.GetValue(DisableImageMetadata);
        var upscale = ReadUpscale(r);

        if (mode == RunMode.Upscale)
        {
            if (upscale is null) throw SdCliSyntax.Bad("--upscale-model", "upscale mode needs an ESRGAN model (--upscale-model).");
            if (r.GetValue(InitImage) is not { } input) throw SdCliSyntax.Bad("--init-img", "upscale mode needs an image (--init-img).");
            return new GenerationPlan(mode, output)
            {
                // Nothing is loaded but the upscaler, which takes the threads.
                Load = Load.Read(r, logger),
                Input = InputImages.Rgb("--init-img", input),
                Upscale = upscale,
                EmbedMetadata = embed,
                Verbose = r.GetValue(Verbose),
            };
        }

        foreach (var option in mode == RunMode.Video ? ImageOnly : VideoOnly)
            if (r.GetResult(option) is { Implicit: false })
                logger.LogWarning("{Flag} has no effect on {Kind} (sd-cli ignores it there too)", option.Name, mode == RunMode.Video ? "video" : "images");
        if (mode == RunMode.Video && r.GetValue(AdModel) is not null)
            throw SdCliSyntax.Bad("--ad-model", "ADetailer works on images, not video.");
        if (mode == RunMode.Detail && (r.GetValue(AdModel) is null || r.GetValue(InitImage) is null))
            throw SdCliSyntax.Bad("--mode", "adetailer mode needs a detector (--ad-model) and an image (--init-img).");
        if (mode != RunMode.Video && (r.GetValue(RefVideo) is { Length: > 0 } || r.GetValue(RefVideoAudio) is { Length: > 0 } || r.GetValue(RefAudio) is { Length: > 0 }))
            throw SdCliSyntax.Bad("--ref-video", "reference video and audio need video generation (sdnet video, or -M vid_gen).");

        var load = Load.Read(r, logger) with { TaePreviewOnly = r.GetValue(TaesdPreviewOnly) ? true : null };
        var (prompt, loras) = ReadPrompt(r, logger);
        string negative = ReadText(r, NegativePrompt, NegativePromptFile) ?? "";

        // sd-cli's sizes: -W/-H above zero; each init/end/reference image sets both when they are not both set, and is
        // fitted to them when they are (reference images never are). Masks, control images and frames take the result.
        int? width = r.GetValue(Width) is > 0 and int w0 ? w0 : null;
        int? height = r.GetValue(Height) is > 0 and int h0 ? h0 : null;
        ImageBuffer? LoadSized(string flag, string? path, bool fit = true)
        {
            if (path is null) return null;
            var image = fit && width is not null && height is not null ? InputImages.Rgb(flag, path, width, height) : InputImages.Rgb(flag, path);
            if (width is null || height is null) (width, height) = (image.Width, image.Height);
            return image;
        }
        var init = LoadSized("--init-img", r.GetValue(InitImage));
        var end = mode == RunMode.Video ? LoadSized("--end-img", r.GetValue(EndImage)) : null;
        var references = (r.GetValue(RefImage) ?? []).Select(p => LoadSized("--ref-image", p, fit: false)!).ToList();
        var (refVideos, refAudios) = mode == RunMode.Video ? ReadReferenceMedia(r) : ([], []);
        int resolvedWidth = width ?? ImageRequest.DefaultDimension, resolvedHeight = height ?? ImageRequest.DefaultDimension;

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
        var cache = ReadCache(r, logger);
        var tiling = ReadTiling(r, logger);
        var hires = ReadHires(r, logger);
        var seed = r.GetValue(Seed) is long s && s >= 0 ? s : (long?)null;
        var clipSkip = r.GetValue(ClipSkip) is > 0 and int cs ? cs : (int?)null;
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
        bool circularX = r.GetValue(Circular) || r.GetValue(CircularX), circularY = r.GetValue(Circular) || r.GetValue(CircularY);
        var preview = ReadPreview(r, logger);

        var plan = new GenerationPlan(mode, output)
        {
            Load = load,
            EmbedMetadata = embed,
            Upscale = upscale,
            Preview = preview.File,
            Verbose = r.GetValue(Verbose),
            ImportanceMatrixOut = r.GetValue(ImportanceMatrixOut),
        };

        if (mode == RunMode.Video)
        {
            // Numbered frames are the library's PngSequenceWriter's: its pattern rules are checked now, not after sampling.
            if (output.IsNumbered) CheckFramePattern(output.Pattern);
            int fps = r.GetValue(Fps) ?? s_video.Fps;
            // sd-cli animates a multi-frame preview at the video's rate, a quarter of it for projections.
            if (preview.File is { } previewFile) previewFile.Fps = Math.Max(1, preview.Options!.Mode == PreviewMode.Projection ? fps / 4 : fps);
            return plan with
            {
                Video = new VideoRequest
                {
                    Prompt = prompt,
                    NegativePrompt = negative,
                    ClipSkip = clipSkip,
                    Loras = loras,
                    Width = resolvedWidth,
                    Height = resolvedHeight,
                    Frames = r.GetValue(VideoFrames) ?? s_video.Frames,
                    Fps = fps,
                    Sampling = sampling,
                    HighNoiseSampling = ReadHighNoise(r),
                    MoeBoundary = r.GetValue(MoeBoundary) ?? s_video.MoeBoundary,
                    Strength = r.GetValue(Strength) ?? s_video.Strength,
                    Seed = seed,
                    InitImage = init,
                    EndImage = end,
                    ReferenceImages = references,
                    ReferenceVideos = refVideos,
                    ReferenceAudios = refAudios,
                    ControlFrames = r.GetValue(ControlVideo) is { } cv
                        ? InputImages.Folder("--control-video", cv, resolvedWidth, resolvedHeight, r.GetValue(VideoFrames) ?? s_video.Frames)
                        : [],
                    VaceStrength = r.GetValue(VaceStrength) ?? s_video.VaceStrength,
                    VaeTiling = r.GetValue(VaeTiling),
                    VaeTilingOptions = tiling,
                    Cache = cache,
                    Hires = hires,
                    CircularX = circularX,
                    CircularY = circularY,
                    Preview = preview.File,
                    PreviewOptions = preview.Options,
                },
            };
        }

        var pmImages = r.GetValue(PhotoMakerImages) is { } pmDir ? InputImages.Folder("--pm-id-images-dir", pmDir) : null;
        var pmEmbedding = r.GetValue(PhotoMakerEmbedding);
        var image = new ImageRequest
        {
            Prompt = prompt,
            NegativePrompt = negative,
            Width = resolvedWidth,
            Height = resolvedHeight,
            Sampling = sampling,
            Seed = seed,
            BatchCount = r.GetValue(BatchCount) ?? s_image.BatchCount,
            ClipSkip = clipSkip,
            Loras = loras,
            InitImage = init,
            Mask = r.GetValue(Mask) is { } mp ? InputImages.Mask("--mask", mp, resolvedWidth, resolvedHeight) : null,
            Strength = r.GetValue(Strength) ?? s_image.Strength,
            ControlImage = r.GetValue(ControlImage) is { } cp ? InputImages.Rgb("--control-image", cp, resolvedWidth, resolvedHeight) : null,
            ControlStrength = r.GetValue(ControlStrength) ?? s_image.ControlStrength,
            VaeTiling = r.GetValue(VaeTiling),
            VaeTilingOptions = tiling,
            Preview = preview.File,
            PreviewOptions = preview.Options,
            Hires = hires,
            StrengthAsNoiseLevel = sampleArgs.StrengthAsNoiseLevel,
            ForceFirstSigma = sampleArgs.ForceFirstSigma,
            ReferenceImages = references,
            ReferenceImageOptions = SdCliSyntax.ReferenceImages(ModelLoadOptions.JoinedValue(r, RefImageArgs), r.GetValue(DisableAutoResizeRefImage), r.GetValue(IncreaseRefIndex)),
            IpAdapterImage = r.GetValue(IpAdapterImage) is { } ip ? InputImages.Rgb("--ip-adapter-image", ip) : null,
            IpAdapterStrength = r.GetValue(IpAdapterStrength) ?? s_image.IpAdapterStrength,
            PhotoMaker = pmImages is null && pmEmbedding is null ? null : new PhotoMakerOptions
            {
                IdImages = pmImages ?? [],
                IdEmbeddingPath = pmEmbedding,
                StyleStrength = r.GetValue(PhotoMakerStyleStrength) ?? s_photoMaker.StyleStrength,
            },
            Pulid = r.GetValue(PulidEmbedding) is { } pe ? (r.GetValue(PulidIdWeight) is float idWeight ? new PulidOptions(pe, idWeight) : new PulidOptions(pe)) : null,
            Cache = cache,
            QwenImageLayers = r.GetValue(QwenImageLayers),
            CircularX = circularX,
            CircularY = circularY,
        };
        DetailStep? detail = null;
        if (r.GetValue(AdModel) is { } detector)
        {
            // sd-cli inpaints the detections of generated images at 512x512 with strength 0.4; in adetailer mode it
            // keeps the request's size (the input's) and strength.
            var template = mode == RunMode.Detail ? image : image with { Width = 512, Height = 512, Strength = 0.4f };
            detail = new DetailStep(detector, SdCliSyntax.Detailer(template, r.GetValue(AdPrompt), r.GetValue(AdNegativePrompt), ModelLoadOptions.JoinedValue(r, ExtraAdArgs)));
        }
        else if (r.GetValue(AdPrompt) is not null || r.GetValue(AdNegativePrompt) is not null || r.GetValue(ExtraAdArgs) is { Length: > 0 })
        {
            logger.LogWarning("--ad-prompt, --ad-negative-prompt and --extra-ad-args have no effect without --ad-model");
        }
        return plan with
        {
            Canny = r.GetValue(Canny),
            Image = image,
            Detail = detail,
            Input = mode == RunMode.Detail ? init : null,
        };
    }

    private static void CheckFramePattern(string pattern)
    {
        try
        {
            PngSequenceWriter.GetPath(pattern, 0);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException("--output: " + e.Message, "--output", e);
        }
    }

    private static RunMode ParseMode(string text) => SdCliSyntax.ModeNames[SdCliSyntax.Name("--mode", text, SdCliSyntax.ModeNames)] switch
    {
        "img_gen" => RunMode.Image,
        "vid_gen" => RunMode.Video,
        "upscale" => RunMode.Upscale,
        "adetailer" => RunMode.Detail,
        "convert" => throw SdCliSyntax.Bad("--mode", "convert: use `sdnet convert MODEL --type TYPE`."),
        _ => throw SdCliSyntax.Bad("--mode", "metadata: " + SdCliFlags.Get("--image").NotApplicable + "."),
    };

    private (string Prompt, IReadOnlyList<LoraReference> Loras) ReadPrompt(ParseResult r, ILogger logger)
    {
        string prompt = ReadText(r, Prompt, PromptFile) ?? "";
        var loras = (r.GetValue(Lora) ?? []).Select(ParseLora).ToList();
        if (r.GetValue(LoraModelDirectory) is { } dir)
        {
            var (stripped, tagged) = PromptLoras.Extract(prompt, dir, logger);
            prompt = stripped;
            loras.AddRange(tagged);
        }
        return (prompt, loras);
    }

    /// <summary>A text given inline or as a file (sd-cli reads the whole file); both at once is refused rather than guessing which wins.</summary>
    private static string? ReadText(ParseResult r, Option<string?> inline, Option<string?> file)
    {
        string? text = r.GetValue(inline);
        if (r.GetValue(file) is not { } path) return Bounded(text, inline.Name);
        if (text is not null) throw SdCliSyntax.Bad(file.Name, $"give {inline.Name} or {file.Name}, not both.");
        if (!File.Exists(path)) throw SdCliSyntax.Bad(file.Name, $"no file '{path}'.");
        // A prompt is at most MaxPromptLength UTF-16 units, so at most 3 bytes each in UTF-8 (4 with a BOM's slack):
        // a larger file is refused before it is read into memory.
        if (new FileInfo(path).Length > 3L * ImageRequest.MaxPromptLength + 4)
            throw SdCliSyntax.Bad(file.Name, $"'{path}' is larger than a prompt may be ({ImageRequest.MaxPromptLength} characters).");
        return Bounded(File.ReadAllText(path), file.Name);
    }

    /// <summary>The library's prompt limit, checked before the CLI's own parsing (LoRA tags) reads the text.</summary>
    private static string? Bounded(string? text, string flag)
        => text is { Length: > ImageRequest.MaxPromptLength }
            ? throw SdCliSyntax.Bad(flag, $"the text is {text.Length} characters long; the limit is {ImageRequest.MaxPromptLength} characters (ImageRequest.MaxPromptLength).")
            : text;

    /// <summary>sdnet's <c>--lora path[:multiplier]</c>.</summary>
    internal static LoraReference ParseLora(string spec)
    {
        // The last colon only counts when a number follows (Windows drive letters).
        int colon = spec.LastIndexOf(':');
        if (colon > 1 && float.TryParse(spec.AsSpan(colon + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out float m))
            return new LoraReference(spec[..colon], m);
        return new LoraReference(spec);
    }

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

    private SamplingOptions? ReadHighNoise(ParseResult r)
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

    private StepCacheOptions? ReadCache(ParseResult r, ILogger logger)
    {
        if (r.GetValue(CacheMode) is { } mode) return SdCliSyntax.Cache(mode, r.GetValue(CacheOption), r.GetValue(ScmMask), r.GetValue(ScmPolicy));
        foreach (var option in new[] { CacheOption, ScmMask, ScmPolicy })
            if (r.GetValue(option) is not null) logger.LogWarning("{Flag} has no effect without --cache-mode", option.Name);
        return null;
    }

    /// <summary>
    /// Tiling settings when tiling is on (<c>--vae-tiling</c>) or temporal tiling is asked for; sd-cli ignores the tile
    /// settings without <c>--vae-tiling</c>, and so does this, with a warning.
    /// </summary>
    private VaeTilingOptions? ReadTiling(ParseResult r, ILogger logger)
    {
        bool on = r.GetValue(VaeTiling) || r.GetValue(TemporalTiling);
        var size = r.GetValue(VaeTileSize) is { } ts ? SdCliSyntax.TileSize("--vae-tile-size", ts) : ((int, int)?)null;
        var relative = r.GetValue(VaeRelativeTileSize) is { } rs ? SdCliSyntax.RelativeTileSize("--vae-relative-tile-size", rs) : ((float, float)?)null;
        var overlap = r.GetValue(VaeTileOverlap);
        var extra = ModelLoadOptions.JoinedValue(r, ExtraTilingArgs) is { } ea ? SdCliSyntax.KeyValues("--extra-tiling-args", ea) : null;
        bool any = size is not null || relative is not null || overlap is not null || extra is not null || r.GetValue(TemporalTiling);
        if (!any) return null;
        if (!on)
        {
            logger.LogWarning("VAE tile settings have no effect without --vae-tiling");
            return null;
        }
        var tiling = new VaeTilingOptions
        {
            // As in sd-cli: --vae-tiling tiles in space, --temporal-tiling along time, each on its own.
            Spatial = r.GetValue(VaeTiling),
            Temporal = r.GetValue(TemporalTiling),
            TileWidth = size?.Item1 ?? s_tiling.TileWidth,
            TileHeight = size?.Item2 ?? s_tiling.TileHeight,
            TargetOverlap = overlap ?? s_tiling.TargetOverlap,
            RelativeWidth = relative?.Item1 ?? s_tiling.RelativeWidth,
            RelativeHeight = relative?.Item2 ?? s_tiling.RelativeHeight,
        };
        return extra is null ? tiling : TypedArguments.Tiling("--extra-tiling-args", tiling, extra);
    }

    /// <summary>The hires fix with <c>--hires</c> (or sdnet's <c>--hires-scale</c>); its other flags alone change nothing, as in sd-cli.</summary>
    private HiresFix? ReadHires(ParseResult r, ILogger logger)
    {
        bool on = r.GetValue(Hires) || r.GetValue(HiresScale) is not null;
        if (!on)
        {
            foreach (var option in new Option[] { HiresUpscaler, HiresWidth, HiresHeight, HiresSteps, HiresDenoisingStrength, HiresSigmas, HiresUpscaleTileSize })
                if (r.GetResult(option) is { Implicit: false }) logger.LogWarning("{Flag} has no effect without --hires", option.Name);
            return null;
        }
        var upscaler = StableDiffusion.Native.HiresUpscaler.Latent;
        string? modelPath = null;
        if (r.GetValue(HiresUpscaler) is { } name)
        {
            if (name == "None") return null; // sd-cli turns the hires fix off.
            // Exact names only, as sd-cli reads them: any other word is a model name in --hires-upscalers-dir.
            var builtIn = Enum.GetValues<StableDiffusion.Native.HiresUpscaler>()
                .Where(u => u != StableDiffusion.Native.HiresUpscaler.Model && u.Name() == name).Cast<StableDiffusion.Native.HiresUpscaler?>().FirstOrDefault();
            if (builtIn is { } known) upscaler = known;
            else
            {
                upscaler = StableDiffusion.Native.HiresUpscaler.Model;
                modelPath = ResolveHiresModel(name, r.GetValue(HiresUpscalersDirectory));
            }
        }
        return new HiresFix(r.GetValue(HiresScale) ?? s_hires.Scale, r.GetValue(HiresSteps) ?? s_hires.Steps,
            r.GetValue(HiresDenoisingStrength) ?? s_hires.DenoisingStrength, upscaler, modelPath)
        {
            TargetWidth = r.GetValue(HiresWidth) is > 0 and int w ? w : null,
            TargetHeight = r.GetValue(HiresHeight) is > 0 and int h ? h : null,
            UpscaleTileSize = r.GetValue(HiresUpscaleTileSize),
            CustomSigmas = r.GetValue(HiresSigmas) is { } hs ? SdCliSyntax.Sigmas("--hires-sigmas", hs) : [],
        };
    }

    /// <summary>sd-cli's <c>resolve_model_file_from_dir</c>: a plain name (no folder, no extension) with .gguf, .safetensors, .pt or .pth.</summary>
    private static string ResolveHiresModel(string name, string? directory)
    {
        const string Flag = "--hires-upscaler";
        string[] extensions = [".gguf", ".safetensors", ".pt", ".pth"];
        if (directory is null)
            throw SdCliSyntax.Bad(Flag, $"'{name}' is not one of {string.Join(", ", SdCliSyntax.HiresUpscalerNames.Where(n => n is not ("None" or "Model")))}; a model name needs --hires-upscalers-dir.");
        if (name == "Model" || name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal) || Path.IsPathRooted(name)
            || extensions.Any(e => name.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
            throw SdCliSyntax.Bad(Flag, $"'{name}' must be a model name without folder or extension.");
        return extensions.Select(e => Path.Combine(directory, name + e)).FirstOrDefault(File.Exists)
            ?? throw SdCliSyntax.Bad(Flag, $"no model '{name}' in '{directory}' ({string.Join(", ", extensions)}).");
    }

    private (PreviewFile? File, PreviewOptions? Options) ReadPreview(ParseResult r, ILogger logger)
    {
        var method = r.GetValue(Preview) is { } p ? SdCliSyntax.Preview("--preview", p) : null;
        if (method is null)
        {
            foreach (var option in new Option[] { PreviewPath, PreviewInterval, PreviewNoisy })
                if (r.GetResult(option) is { Implicit: false }) logger.LogWarning("{Flag} has no effect without --preview (proj, tae or vae)", option.Name);
            return (null, null);
        }
        int interval = r.GetValue(PreviewInterval) ?? 1;
        if (interval < 1) throw SdCliSyntax.Bad("--preview-interval", "must be 1 or more.");
        bool noisy = r.GetValue(PreviewNoisy);
        var options = new PreviewOptions { Mode = method.Value, Interval = interval, Denoised = !noisy, Noisy = noisy };
        return (new PreviewFile(r.GetValue(PreviewPath) ?? "preview.png", logger), options);
    }

    private (IReadOnlyList<ReferenceVideo> Videos, IReadOnlyList<AudioBuffer> Audios) ReadReferenceMedia(ParseResult r)
    {
        string[] videos = r.GetValue(RefVideo) ?? [], videoAudios = r.GetValue(RefVideoAudio) ?? [];
        if (videoAudios.Length > videos.Length) throw SdCliSyntax.Bad("--ref-video-audio", "each --ref-video-audio needs a --ref-video at the same position.");
        var list = new List<ReferenceVideo>();
        for (int i = 0; i < videos.Length; i++)
        {
            var frames = InputImages.Folder("--ref-video", videos[i]);
            if (frames.Count == 0) throw SdCliSyntax.Bad("--ref-video", $"no frames in '{videos[i]}'.");
            // sd-cli reads reference videos at 24 frames per second.
            list.Add(new ReferenceVideo(frames, 24, i < videoAudios.Length ? WavReader.Read("--ref-video-audio", videoAudios[i]) : null));
        }
        return (list, (r.GetValue(RefAudio) ?? []).Select(p => WavReader.Read("--ref-audio", p)).ToList());
    }

    private UpscaleStep? ReadUpscale(ParseResult r)
    {
        int repeats = r.GetValue(UpscaleRepeats) ?? 1, tile = r.GetValue(UpscaleTileSize) ?? 128;
        if (repeats < 1) throw SdCliSyntax.Bad("--upscale-repeats", "must be 1 or more.");
        if (tile < 1) throw SdCliSyntax.Bad("--upscale-tile-size", "must be 1 or more.");
        return r.GetValue(UpscaleModel) is { } model ? new UpscaleStep(model, repeats, tile) : null;
    }
}
