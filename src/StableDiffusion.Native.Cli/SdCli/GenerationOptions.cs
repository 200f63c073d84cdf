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

    public SamplingFlags Sampling { get; } = new();

    public OutputFlags Output { get; } = new();

    public VideoFlags Video { get; } = new();

    public CacheFlags Cache { get; } = new();

    public TilingFlags Tiling { get; } = new();

    public HiresFlags Hires { get; } = new();

    // CLI options (examples/cli/main.cpp).
    public Option<bool> Canny { get; } = Switch("--canny", "Run the Canny edge detector on the control image");
    public Option<bool> Verbose { get; } = Switch("--verbose", "Show the native log", "-v");
    public Option<bool> TaesdPreviewOnly { get; } = Switch("--taesd-preview-only", "Use the TAESD for previews only, the VAE for the result");
    public Option<string?> Mode { get; } = Text("--mode", "sd-cli's run mode: img_gen, vid_gen or upscale", "-M");
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
    public Option<string?> InitImage { get; } = Text("--init-img", "Init image (image-to-image, image-to-video)", "-i");
    public Option<string?> Mask { get; } = Text("--mask", "Inpainting mask (white repaints)");
    public Option<string?> ControlImage { get; } = Text("--control-image", "ControlNet conditioning image");
    public Option<string?> IpAdapterImage { get; } = Text("--ip-adapter-image", "IP-Adapter image");
    public Option<string?> PhotoMakerImages { get; } = Text("--pm-id-images-dir", "Folder of PhotoMaker ID images");
    public Option<string?> PhotoMakerEmbedding { get; } = Text("--pm-id-embed-path", "PhotoMaker v2 ID embedding");
    public Option<string?> PulidEmbedding { get; } = Text("--pulid-id-embedding", "PuLID ID embedding");
    public Option<string[]> RefImageArgs { get; } = Joined("--ref-image-args", "How reference images are used, key=value,... (preset, resize_before_vae, ref_index_mode, ...)");
    public Option<int?> Height { get; } = Int("--height", $"Height in pixels (default {ImageRequest.DefaultDimension}, or the init image's)", "-H");
    public Option<int?> Width { get; } = Int("--width", $"Width in pixels (default {ImageRequest.DefaultDimension}, or the init image's)", "-W");
    public Option<int?> ClipSkip { get; } = Int("--clip-skip", "Skip the last CLIP layers (<= 0: the model's default)");
    public Option<int?> BatchCount { get; } = Int("--batch-count", "Images to generate (seeds seed, seed+1, ...)", "-b");
    public Option<int?> QwenImageLayers { get; } = Int("--qwen-image-layers", "Qwen-Image-Layered layers");
    public Option<float?> Strength { get; } = Float("--strength", $"Denoising strength from the init image (default {Default(new ImageRequest().Strength)})");
    public Option<float?> PhotoMakerStyleStrength { get; } = Float("--pm-style-strength", $"PhotoMaker style strength (default {Default(new PhotoMakerOptions().StyleStrength)})");
    public Option<float?> PulidIdWeight { get; } = Float("--pulid-id-weight", $"PuLID identity weight (default {Default(new PulidOptions("").IdWeight)})");
    public Option<float?> ControlStrength { get; } = Float("--control-strength", $"ControlNet strength (default {Default(new ImageRequest().ControlStrength)})");
    public Option<float?> IpAdapterStrength { get; } = Float("--ip-adapter-strength", $"IP-Adapter strength (default {Default(new ImageRequest().IpAdapterStrength)})");
    public Option<bool> IncreaseRefIndex { get; } = Switch("--increase-ref-index", "Number reference images 1, 2, ... (ref_index_mode=increase)");
    public Option<bool> DisableAutoResizeRefImage { get; } = Switch("--disable-auto-resize-ref-image", "Do not resize reference images (resize_before_vae=0)");
    public Option<bool> Circular { get; } = Switch("--circular", "Seamless tiling on both axes");
    public Option<bool> CircularX { get; } = Switch("--circularx", "Seamless tiling along X");
    public Option<bool> CircularY { get; } = Switch("--circulary", "Seamless tiling along Y");
    public Option<long?> Seed { get; } = Long("--seed", "Seed of the first image (random if omitted or negative; always printed)", "-s");
    public Option<string[]> RefImage { get; } = Repeated("--ref-image", "Reference image (editing models, VACE)", "-r");

    /// <summary>sd-cli flags sdnet does not act on: refused with the reason, or ignored with a warning (see <see cref="SdCliFlags"/>).</summary>
    public IReadOnlyList<Option> NotApplicable { get; } = SdCliFlags.RefusedOptions("--list-devices");

    /// <summary>Every option, to add to a command.</summary>
    public IEnumerable<Option> All =>
    [
        .. Load.All, .. Sampling.All, .. Output.All, .. Video.All, .. Cache.All, .. Tiling.All, .. Hires.All,
        Canny, Verbose, TaesdPreviewOnly, Mode, ImportanceMatrixOut, Prompt, NegativePrompt, AdModel, AdPrompt, AdNegativePrompt, ExtraAdArgs,
        PromptFile, NegativePromptFile, Lora, LoraModelDirectory, InitImage, Mask, ControlImage, IpAdapterImage, PhotoMakerImages,
        PhotoMakerEmbedding, PulidEmbedding, RefImageArgs, Height, Width, ClipSkip, BatchCount, QwenImageLayers, Strength, PhotoMakerStyleStrength,
        PulidIdWeight, ControlStrength, IpAdapterStrength, IncreaseRefIndex, DisableAutoResizeRefImage, Circular, CircularX, CircularY, Seed,
        RefImage,
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
        Video.EndImage, Video.ControlVideo, Video.VideoFrames, Video.Fps, Sampling.HighNoiseSteps, Sampling.HighNoiseCfgScale, Sampling.HighNoiseImageCfgScale, Sampling.HighNoiseGuidance, Sampling.HighNoiseSlgScale,
        Sampling.HighNoiseSkipLayerStart, Sampling.HighNoiseSkipLayerEnd, Sampling.HighNoiseEta, Sampling.HighNoiseSamplingMethod, Sampling.HighNoiseSkipLayers, Video.MoeBoundary, Video.VaceStrength,
    ];

    private static readonly ImageRequest s_image = new();
    private static readonly VideoRequest s_video = new();
    private static readonly PhotoMakerOptions s_photoMaker = new();

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
        var output = SdCli.OutputNames.Parse(r.GetValue(Output.Pattern) ?? "output.png", r.GetValue(Output.OutputBeginIndex) ?? -1, video: mode == RunMode.Video);
        bool embed = !r.GetValue(Output.DisableImageMetadata);
        var upscale = Output.ReadUpscale(r);

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
        if (mode != RunMode.Video && (r.GetValue(Video.RefVideo) is { Length: > 0 } || r.GetValue(Video.RefVideoAudio) is { Length: > 0 } || r.GetValue(Video.RefAudio) is { Length: > 0 }))
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
        var end = mode == RunMode.Video ? LoadSized("--end-img", r.GetValue(Video.EndImage)) : null;
        var references = (r.GetValue(RefImage) ?? []).Select(p => LoadSized("--ref-image", p, fit: false)!).ToList();
        var (refVideos, refAudios) = mode == RunMode.Video ? Video.ReadReferenceMedia(r) : ([], []);
        int resolvedWidth = width ?? ImageRequest.DefaultDimension, resolvedHeight = height ?? ImageRequest.DefaultDimension;

        var cache = Cache.Read(r, logger);
        var tiling = Tiling.Read(r, logger);
        var hires = Hires.Read(r, logger);
        var seed = r.GetValue(Seed) is long s && s >= 0 ? s : (long?)null;
        var clipSkip = r.GetValue(ClipSkip) is > 0 and int cs ? cs : (int?)null;
        var (sampling, sampleSwitches) = Sampling.Read(r, logger);
        // A model named by its manifest brings its recommended settings; a flag given wins over them.
        if (Load.Manifest is { } manifest) sampling = sampling.WithDefaults(manifest.Defaults);
        bool circularX = r.GetValue(Circular) || r.GetValue(CircularX), circularY = r.GetValue(Circular) || r.GetValue(CircularY);
        var preview = Output.ReadPreview(r, logger);

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
            int fps = r.GetValue(Video.Fps) ?? s_video.Fps;
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
                    Frames = r.GetValue(Video.VideoFrames) ?? s_video.Frames,
                    Fps = fps,
                    Sampling = sampling,
                    HighNoiseSampling = Sampling.ReadHighNoise(r),
                    MoeBoundary = r.GetValue(Video.MoeBoundary) ?? s_video.MoeBoundary,
                    Strength = r.GetValue(Strength) ?? s_video.Strength,
                    Seed = seed,
                    InitImage = init,
                    EndImage = end,
                    ReferenceImages = references,
                    ReferenceVideos = refVideos,
                    ReferenceAudios = refAudios,
                    ControlFrames = r.GetValue(Video.ControlVideo) is { } cv
                        ? InputImages.Folder("--control-video", cv, resolvedWidth, resolvedHeight, r.GetValue(Video.VideoFrames) ?? s_video.Frames)
                        : [],
                    VaceStrength = r.GetValue(Video.VaceStrength) ?? s_video.VaceStrength,
                    VaeTiling = r.GetValue(Tiling.VaeTiling),
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
            VaeTiling = r.GetValue(Tiling.VaeTiling),
            VaeTilingOptions = tiling,
            Preview = preview.File,
            PreviewOptions = preview.Options,
            Hires = hires,
            StrengthAsNoiseLevel = sampleSwitches.StrengthAsNoiseLevel,
            ForceFirstSigma = sampleSwitches.ForceFirstSigma,
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

}
