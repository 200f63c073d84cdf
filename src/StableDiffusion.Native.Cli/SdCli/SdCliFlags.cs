using System.CommandLine;
using Microsoft.Extensions.Logging;

namespace StableDiffusion.Native.Cli.SdCli;

/// <summary>
/// One flag of upstream's sd-cli at the pinned commit (examples/cli/main.cpp and examples/common/common.cpp) and how
/// <c>sdnet generate</c> / <c>sdnet video</c> take it.
/// </summary>
/// <param name="Name">The long name, as sd-cli spells it; sdnet takes the same name.</param>
/// <param name="Short">sd-cli's one-letter alias, or null; sdnet takes the same alias.</param>
/// <param name="Value">What follows it: empty for a switch, else <c>&lt;string&gt;</c>, <c>&lt;int&gt;</c>, <c>&lt;float&gt;</c> or the syntax of a manual option.</param>
/// <param name="Sets">What it sets in sd-cli.</param>
internal sealed record SdCliFlag(string Name, string? Short, string Value, string Sets)
{
    /// <summary>What it sets in sdnet (a library property, or what the command does with it); null when not applicable.</summary>
    public string? Sdnet { get; init; }

    /// <summary>sdnet's own, older names for it, still accepted.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>Why sdnet does not take it; null when it does.</summary>
    public string? NotApplicable { get; init; }

    /// <summary>With <see cref="NotApplicable"/>: accepted and ignored with a warning (it changes nothing sdnet makes), instead of refused.</summary>
    public bool Ignored { get; init; }

    /// <summary>A model-loading option: <c>sdnet serve</c> takes it too.</summary>
    public bool LoadsModel { get; init; }

    /// <summary>Whether sdnet takes it and acts on it.</summary>
    public bool Supported => NotApplicable is null;
}

/// <summary>
/// Every sd-cli flag at the pin and its sdnet counterpart: the table behind docs/sd-cli-flags.md. Tests check it
/// against the flag list extracted from upstream's sources, and check that each supported flag lands where
/// <see cref="SdCliFlag.Sdnet"/> says.
/// </summary>
internal static class SdCliFlags
{
    private const string S = "<string>", I = "<int>", F = "<float>", Sw = "";
    private const string Metadata = "metadata mode (-M metadata) only; sdnet has no metadata command (the library's GenerationParameters.Read reads a PNG's parameters)";

    private static SdCliFlag Gen(string name, string value, string sets, string sdnet, string? shortName = null, params string[] aliases)
        => new(name, shortName, value, sets) { Sdnet = sdnet, Aliases = aliases };

    private static SdCliFlag Ctx(string name, string value, string sets, string sdnet, string? shortName = null, params string[] aliases)
        => new(name, shortName, value, sets) { Sdnet = sdnet, Aliases = aliases, LoadsModel = true };

    private static SdCliFlag No(string name, string value, string sets, string reason, string? shortName = null)
        => new(name, shortName, value, sets) { NotApplicable = reason };

    private static SdCliFlag Skip(string name, string value, string sets, string reason)
        => new(name, null, value, sets) { NotApplicable = reason, Ignored = true };

    /// <summary>Every flag, in sd-cli's help order (CLI, context, generation options).</summary>
    public static IReadOnlyList<SdCliFlag> All { get; } =
    [
        // examples/cli/main.cpp: SDCliParams
        Gen("--output", S, "output path; printf %d numbers a sequence", "the output PNG(s): `%d`/`%03d` numbers each result, else a batch adds `_N`; video: `.avi` (MJPG), `.webp` (animated), an animated PNG or numbered PNGs", "-o"),
        No("--image", S, "image to inspect (metadata mode)", Metadata),
        No("--metadata-format", S, "metadata output format", Metadata),
        Gen("--preview-path", S, "file the previews are written to (default preview.png)", "the preview file (PNG; an animated PNG for video previews)"),
        Gen("--imat-out", S, "collect an importance matrix and save it", "ImportanceMatrixCollector started before generating, saved here after"),
        Gen("--preview-interval", I, "steps between previews", "PreviewOptions.Interval"),
        Gen("--output-begin-idx", I, "first number of an output sequence", "the first number of `-o` (default 0)"),
        Gen("--canny", Sw, "run the Canny edge detector on the control image", "ImageFilters.Canny on ImageRequest.ControlImage (sd-cli's thresholds)"),
        No("--convert-name", Sw, "convert tensor names (convert mode)", "convert mode only; `sdnet convert` converts models"),
        Gen("--verbose", Sw, "print the native log", "the native log on stderr", "-v"),
        Skip("--color", Sw, "colour the log level tags", "sdnet's log lines carry no colours"),
        Gen("--taesd-preview-only", Sw, "sd_ctx_params_t.tae_preview_only", "GeneratorOptions.TaePreviewOnly"),
        Gen("--preview-noisy", Sw, "preview the noisy latent instead of the denoised one", "PreviewOptions.Noisy (and Denoised off)"),
        No("--metadata-raw", Sw, "hex previews of unparsed metadata", Metadata),
        No("--metadata-brief", Sw, "truncate long metadata values", Metadata),
        No("--metadata-all", Sw, "include structural PNG/JPEG entries", Metadata),
        Gen("--mode", "<img_gen|vid_gen|upscale|...>", "run mode", "img_gen: images; vid_gen: video (as `sdnet video`); adetailer: Detailer.Apply on --init-img; upscale: --init-img through --upscale-model; convert and metadata are refused with what to use", "-M"),
        Gen("--preview", "<none|proj|tae|vae>", "preview method", "PreviewOptions.Mode (none: no previews)"),
        Gen("--help", Sw, "show the help", "the command's help", "-h"),
        No("--imat-in", S, "load an importance matrix to continue collecting or to quantize with (repeatable)", "the library's ImportanceMatrixCollector cannot continue from a file, and GeneratorOptions has no matrix for --type; `sdnet convert` quantizes with one"),
        No("--version", Sw, "print the version (first argument only)", "`sdnet --version` prints sdnet's version, `sdnet doctor` the runtime's sd.cpp commit"),

        // examples/common/common.cpp: SDContextParams
        Ctx("--model", S, "sd_ctx_params_t.model_path", "GeneratorOptions.ModelPath (a path, or a model name in the models folder)", "-m"),
        Ctx("--clip_l", S, "clip_l_path", "GeneratorOptions.ClipLPath"),
        Ctx("--clip_g", S, "clip_g_path", "GeneratorOptions.ClipGPath"),
        Ctx("--clip_vision", S, "clip_vision_path", "GeneratorOptions.ClipVisionPath"),
        Ctx("--t5xxl", S, "t5xxl_path", "GeneratorOptions.T5xxlPath"),
        Ctx("--llm", S, "llm_path", "GeneratorOptions.LlmPath"),
        Ctx("--llm_vision", S, "llm_vision_path", "GeneratorOptions.LlmVisionPath"),
        Ctx("--qwen2vl", S, "llm_path (deprecated alias of --llm)", "GeneratorOptions.LlmPath"),
        Ctx("--qwen2vl_vision", S, "llm_vision_path (deprecated alias of --llm_vision)", "GeneratorOptions.LlmVisionPath"),
        Ctx("--diffusion-model", S, "diffusion_model_path", "GeneratorOptions.DiffusionModelPath"),
        Ctx("--high-noise-diffusion-model", S, "high_noise_diffusion_model_path", "GeneratorOptions.HighNoiseDiffusionModelPath"),
        Ctx("--uncond-diffusion-model", S, "uncond_diffusion_model_path", "GeneratorOptions.UncondDiffusionModelPath"),
        Ctx("--embeddings-connectors", S, "embeddings_connectors_path", "GeneratorOptions.EmbeddingsConnectorsPath"),
        Ctx("--vae", S, "vae_path", "GeneratorOptions.VaePath"),
        Ctx("--vae-format", "<auto|flux|sd3|flux2|wan>", "vae_format", "GeneratorOptions.VaeFormat"),
        Ctx("--audio-vae", S, "audio_vae_path", "GeneratorOptions.AudioVaePath"),
        Ctx("--taesd", S, "taesd_path", "GeneratorOptions.TaesdPath"),
        Ctx("--tae", S, "taesd_path (alias of --taesd)", "GeneratorOptions.TaesdPath"),
        Ctx("--control-net", S, "control_net_path", "GeneratorOptions.ControlNetPath"),
        Ctx("--ip-adapter", S, "ip_adapter_path", "GeneratorOptions.IpAdapterPath"),
        Ctx("--motion-module", S, "motion_module_path", "GeneratorOptions.MotionModulePath"),
        Ctx("--embd-dir", S, "embeddings folder (each file's stem is its name)", "GeneratorOptions.Embeddings (.safetensors/.gguf; pickles are skipped with a warning)"),
        Gen("--lora-model-dir", S, "folder that <lora:name:weight> prompt tags load from", "ImageRequest.Loras / VideoRequest.Loras from the prompt's tags, which are taken out of the prompt"),
        Gen("--hires-upscalers-dir", S, "folder of --hires-upscaler model names", "HiresFix.UpscalerModelPath of a --hires-upscaler name"),
        Ctx("--tensor-type-rules", S, "tensor_type_rules (repeats joined with ',')", "GeneratorOptions.TensorTypeRules"),
        Ctx("--model-args", "<key=value,...>", "model_args (repeats joined with ',')", "GeneratorOptions.ChromaUseT5Mask, ChromaT5MaskPad, ChromaUseDitMask, QwenImageZeroCondT; other keys ModelArguments"),
        Ctx("--photo-maker", S, "photo_maker_path", "GeneratorOptions.PhotoMakerPath"),
        Ctx("--pulid-weights", S, "pulid_weights_path", "GeneratorOptions.PulidWeightsPath"),
        Gen("--upscale-model", S, "ESRGAN model run on the results", "Upscaler.Load, run on each result after generating"),
        Ctx("--backend", S, "backend assignment (repeats joined with ',')", "GeneratorOptions.Backend"),
        Ctx("--params-backend", S, "params_backend assignment (repeats joined with ',')", "GeneratorOptions.ParamsBackend"),
        Ctx("--split-mode", "<layer|row|module=mode,...>", "split_mode", "GeneratorOptions.SplitMode / ModuleSplitModes"),
        Ctx("--rpc-servers", S, "rpc_servers (repeats joined with ',')", "GeneratorOptions.RpcServers"),
        Ctx("--max-vram", S, "max_vram", "GeneratorOptions.MaxVram"),
        Ctx("--threads", I, "n_threads (<= 0: physical cores)", "GeneratorOptions.Threads (<= 0: upstream's choice, the physical cores)", "-t"),
        Ctx("--stream-layers", Sw, "stream_layers", "GeneratorOptions.StreamLayers"),
        Ctx("--eager-load", Sw, "eager_load", "GeneratorOptions.EagerLoad"),
        Ctx("--auto-fit", Sw, "auto_fit", "GeneratorOptions.AutoFit"),
        Ctx("--force-sdxl-vae-conv-scale", Sw, "force_sdxl_vae_conv_scale", "GeneratorOptions.ForceSdxlVaeConvScale"),
        Ctx("--offload-to-cpu", Sw, "params_backend gets *=cpu first", "GeneratorOptions.ParamsBackend gets *=cpu first"),
        Ctx("--mmap", Sw, "enable_mmap", "GeneratorOptions.EnableMmap"),
        Ctx("--control-net-cpu", Sw, "backend gets controlnet=cpu first (deprecated)", "GeneratorOptions.Backend gets controlnet=cpu first"),
        Ctx("--clip-on-cpu", Sw, "backend gets te=cpu first (deprecated)", "GeneratorOptions.Backend gets te=cpu first"),
        Ctx("--vae-on-cpu", Sw, "backend gets vae=cpu first (deprecated)", "GeneratorOptions.Backend gets vae=cpu first"),
        Ctx("--fa", Sw, "flash_attn", "GeneratorOptions.FlashAttention", null, "--flash-attn"),
        Ctx("--diffusion-fa", Sw, "diffusion_flash_attn", "GeneratorOptions.DiffusionFlashAttention"),
        Ctx("--diffusion-conv-direct", Sw, "diffusion_conv_direct", "GeneratorOptions.DiffusionConvDirect"),
        Ctx("--vae-conv-direct", Sw, "vae_conv_direct", "GeneratorOptions.VaeConvDirect"),
        Ctx("--type", "<f32|f16|q8_0|...>", "wtype", "GeneratorOptions.WeightType (converted once into the quantization cache; --no-quantization-cache converts on every load)"),
        Ctx("--rng", "<std_default|cuda|cpu>", "rng_type", "GeneratorOptions.Rng"),
        Ctx("--sampler-rng", "<std_default|cuda|cpu>", "sampler_rng_type", "GeneratorOptions.SamplerRng"),
        Ctx("--prediction", "<eps|v|edm_v|sd3_flow|flux_flow|sefi_flow|minit2i_flow>", "prediction", "GeneratorOptions.Prediction"),
        Ctx("--lora-apply-mode", "<auto|immediately|at_runtime>", "lora_apply_mode", "GeneratorOptions.LoraApplyMode"),
        No("--list-devices", Sw, "print the ggml devices and exit", "`sdnet doctor` lists the devices --backend takes"),

        // examples/common/common.cpp: SDGenerationParams
        Gen("--prompt", S, "prompt", "ImageRequest.Prompt / VideoRequest.Prompt", "-p"),
        Gen("--negative-prompt", S, "negative_prompt", "ImageRequest.NegativePrompt / VideoRequest.NegativePrompt", "-n"),
        Gen("--ad-model", S, "ADetailer detector model, run on each result", "Detailer.Load, then Detailer.Apply on each result (inpainting at 512x512, strength 0.4, as sd-cli)"),
        Gen("--ad-prompt", S, "ADetailer prompt (empty: the main prompt)", "DetailerRequest.Prompt"),
        Gen("--ad-negative-prompt", S, "ADetailer negative prompt (empty: the main one)", "DetailerRequest.NegativePrompt"),
        Gen("--extra-ad-args", "<key=value,...>", "ADetailer arguments (repeats joined with ',')", "the DetailerRequest fields (and its Inpaint template's size, strength, cfg, sampler, scheduler) upstream's keys set"),
        Gen("--init-img", S, "init_image (resized to -W/-H when both are given; else it sets them)", "ImageRequest.InitImage / VideoRequest.InitImage, fitted as sd-cli fits it", "-i"),
        Gen("--end-img", S, "end_image (first-last-frame video)", "VideoRequest.EndImage"),
        Gen("--mask", S, "mask_image (resized to the output size)", "ImageRequest.Mask (inpainting)"),
        Gen("--control-image", S, "control_image (resized to the output size)", "ImageRequest.ControlImage"),
        Gen("--ip-adapter-image", S, "ip_adapter_image", "ImageRequest.IpAdapterImage"),
        Gen("--control-video", S, "control_frames: the folder's images in name order, resized, at most --video-frames", "VideoRequest.ControlFrames"),
        Gen("--pm-id-images-dir", S, "pm_params.id_images: the folder's images", "ImageRequest.PhotoMaker.IdImages"),
        Gen("--pm-id-embed-path", S, "pm_params.id_embed_path", "ImageRequest.PhotoMaker.IdEmbeddingPath"),
        Gen("--pulid-id-embedding", S, "pulid_params.id_embedding_path", "ImageRequest.Pulid.IdEmbeddingPath"),
        Gen("--hires-upscaler", "<Latent|Lanczos|...|model name>", "hires.upscaler (a name under --hires-upscalers-dir: hires.model_path)", "HiresFix.Upscaler / UpscalerModelPath"),
        Gen("--extra-sample-args", "<key=value,...>", "sample_params.extra_sample_args (repeats joined with ',')", "Apg, GuidanceSchedule, SkipLayerGuidance.Unconditional, StrengthAsNoiseLevel, ForceFirstSigma; other keys SamplingOptions.ExtraArguments"),
        Gen("--extra-tiling-args", "<key=value,...>", "vae_tiling_params.extra_tiling_args (repeats joined with ',')", "VaeTilingOptions.TemporalTileFrames/TemporalTileOverlap; other keys ExtraArguments"),
        Gen("--ref-image-args", "<key=value,...>", "ref_image_args (repeats joined with ',')", "ImageRequest.ReferenceImageOptions"),
        Gen("--height", I, "height (<= 0: unset)", "ImageRequest.Height / VideoRequest.Height", "-H"),
        Gen("--width", I, "width (<= 0: unset)", "ImageRequest.Width / VideoRequest.Width", "-W"),
        Gen("--steps", I, "sample_params.sample_steps", "SamplingOptions.Steps (ImageRequest/VideoRequest.Sampling)"),
        Gen("--high-noise-steps", I, "high_noise_sample_params.sample_steps (<= 0: auto)", "VideoRequest.HighNoiseSampling.Steps (<= 0: null, auto)"),
        Gen("--clip-skip", I, "clip_skip (<= 0: the model's)", "ImageRequest.ClipSkip / VideoRequest.ClipSkip (<= 0: null)"),
        Gen("--batch-count", I, "batch_count", "ImageRequest.BatchCount", "-b"),
        Gen("--qwen-image-layers", I, "qwen_image_layers", "ImageRequest.QwenImageLayers"),
        Gen("--video-frames", I, "video_frames", "VideoRequest.Frames"),
        Gen("--fps", I, "fps", "VideoRequest.Fps"),
        Gen("--timestep-shift", I, "sample_params.shifted_timestep", "SamplingOptions.ShiftedTimestep (ImageRequest/VideoRequest.Sampling)"),
        Gen("--upscale-repeats", I, "how many times the ESRGAN upscaler runs", "Upscaler.Upscale repeated this many times on each result"),
        Gen("--upscale-tile-size", I, "ESRGAN tile size", "the tile size of Upscaler.Load"),
        Gen("--hires-width", I, "hires.target_width (0: use --hires-scale)", "HiresFix.TargetWidth (0: null)"),
        Gen("--hires-height", I, "hires.target_height (0: use --hires-scale)", "HiresFix.TargetHeight (0: null)"),
        Gen("--hires-steps", I, "hires.steps", "HiresFix.Steps"),
        Gen("--hires-upscale-tile-size", I, "hires.upscale_tile_size", "HiresFix.UpscaleTileSize"),
        Gen("--cfg-scale", F, "sample_params.guidance.txt_cfg", "SamplingOptions.CfgScale (ImageRequest/VideoRequest.Sampling)"),
        Gen("--img-cfg-scale", F, "sample_params.guidance.img_cfg", "SamplingOptions.ImageCfgScale (ImageRequest/VideoRequest.Sampling)"),
        Gen("--guidance", F, "sample_params.guidance.distilled_guidance", "SamplingOptions.Guidance (ImageRequest/VideoRequest.Sampling)"),
        Gen("--slg-scale", F, "sample_params.guidance.slg.scale", "SkipLayerGuidance.Scale (ImageRequest/VideoRequest.Sampling.SkipLayerGuidance)"),
        Gen("--skip-layer-start", F, "sample_params.guidance.slg.layer_start", "SkipLayerGuidance.Start"),
        Gen("--skip-layer-end", F, "sample_params.guidance.slg.layer_end", "SkipLayerGuidance.End"),
        Gen("--eta", F, "sample_params.eta", "SamplingOptions.Eta (ImageRequest/VideoRequest.Sampling)"),
        Gen("--flow-shift", F, "sample_params.flow_shift", "SamplingOptions.FlowShift (ImageRequest/VideoRequest.Sampling)"),
        Gen("--high-noise-cfg-scale", F, "high_noise_sample_params.guidance.txt_cfg", "VideoRequest.HighNoiseSampling.CfgScale"),
        Gen("--high-noise-img-cfg-scale", F, "high_noise_sample_params.guidance.img_cfg", "VideoRequest.HighNoiseSampling.ImageCfgScale"),
        Gen("--high-noise-guidance", F, "high_noise_sample_params.guidance.distilled_guidance", "VideoRequest.HighNoiseSampling.Guidance"),
        Gen("--high-noise-slg-scale", F, "high_noise_sample_params.guidance.slg.scale", "VideoRequest.HighNoiseSampling.SkipLayerGuidance.Scale"),
        Gen("--high-noise-skip-layer-start", F, "high_noise_sample_params.guidance.slg.layer_start", "VideoRequest.HighNoiseSampling.SkipLayerGuidance.Start"),
        Gen("--high-noise-skip-layer-end", F, "high_noise_sample_params.guidance.slg.layer_end", "VideoRequest.HighNoiseSampling.SkipLayerGuidance.End"),
        Gen("--high-noise-eta", F, "high_noise_sample_params.eta", "VideoRequest.HighNoiseSampling.Eta"),
        Gen("--strength", F, "strength", "ImageRequest.Strength / VideoRequest.Strength"),
        Gen("--pm-style-strength", F, "pm_params.style_strength", "ImageRequest.PhotoMaker.StyleStrength"),
        Gen("--pulid-id-weight", F, "pulid_params.id_weight", "ImageRequest.Pulid.IdWeight"),
        Gen("--control-strength", F, "control_strength", "ImageRequest.ControlStrength"),
        Gen("--ip-adapter-strength", F, "ip_adapter_strength", "ImageRequest.IpAdapterStrength"),
        Gen("--moe-boundary", F, "moe_boundary", "VideoRequest.MoeBoundary"),
        Gen("--vace-strength", F, "vace_strength", "VideoRequest.VaceStrength"),
        Gen("--vae-tile-overlap", F, "vae_tiling_params.target_overlap", "VaeTilingOptions.TargetOverlap"),
        Gen("--hires-scale", F, "hires.scale", "HiresFix.Scale (sdnet: turns the hires fix on, as --hires does)"),
        Gen("--hires-denoising-strength", F, "hires.denoising_strength", "HiresFix.DenoisingStrength"),
        Gen("--increase-ref-index", Sw, "ref_image_args += ref_index_mode=increase (deprecated)", "ReferenceImageOptions.IndexMode = Increase"),
        Gen("--disable-auto-resize-ref-image", Sw, "ref_image_args += resize_before_vae=0 (deprecated)", "ReferenceImageOptions.ResizeBeforeVae = false"),
        Gen("--circular", Sw, "circular_x and circular_y", "CircularX and CircularY"),
        Gen("--circularx", Sw, "circular_x", "CircularX"),
        Gen("--circulary", Sw, "circular_y", "CircularY"),
        Gen("--disable-image-metadata", Sw, "no parameters in the written images", "PNGs without the parameters text chunk"),
        Gen("--vae-tiling", Sw, "vae_tiling_params.enabled", "ImageRequest.VaeTiling / VideoRequest.VaeTiling"),
        Gen("--temporal-tiling", Sw, "vae_tiling_params.temporal_tiling", "VaeTilingOptions.Temporal (alone, as in sd-cli, it tiles along time only: Spatial off)"),
        Gen("--hires", Sw, "hires.enabled", "ImageRequest.Hires / VideoRequest.Hires"),
        Gen("--seed", "<int64>", "seed (< 0: random)", "ImageRequest.Seed / VideoRequest.Seed (< 0 or absent: random; sd-cli's default is 42)", "-s"),
        Gen("--sampling-method", "<euler|euler_a|...>", "sample_params.sample_method", "SamplingOptions.Sampler (ImageRequest/VideoRequest.Sampling)"),
        Gen("--high-noise-sampling-method", "<euler|euler_a|...>", "high_noise_sample_params.sample_method", "VideoRequest.HighNoiseSampling.Sampler"),
        Gen("--scheduler", "<discrete|karras|...>", "sample_params.scheduler (normal: discrete)", "SamplingOptions.Scheduler (ImageRequest/VideoRequest.Sampling)"),
        Gen("--sigmas", "<s1,s2,...>", "sample_params.custom_sigmas", "SamplingOptions.CustomSigmas (ImageRequest/VideoRequest.Sampling)"),
        Gen("--hires-sigmas", "<s1,s2,...>", "hires.custom_sigmas", "HiresFix.CustomSigmas"),
        Gen("--skip-layers", "<[l1,l2,...]>", "sample_params.guidance.slg.layers", "SkipLayerGuidance.Layers"),
        Gen("--high-noise-skip-layers", "<[l1,l2,...]>", "high_noise_sample_params.guidance.slg.layers", "VideoRequest.HighNoiseSampling.SkipLayerGuidance.Layers"),
        Gen("--ref-image", S, "ref_images (repeatable)", "ImageRequest.ReferenceImages / VideoRequest.ReferenceImages", "-r"),
        Gen("--ref-video", S, "ref_videos: a folder of frames at 24 fps (repeatable)", "VideoRequest.ReferenceVideos"),
        Gen("--ref-video-audio", S, "WAV paired by position with --ref-video (repeatable)", "ReferenceVideo.Audio"),
        Gen("--ref-audio", S, "ref_audios: WAV files (repeatable)", "VideoRequest.ReferenceAudios"),
        Gen("--cache-mode", "<easycache|ucache|dbcache|taylorseer|cache-dit|spectrum>", "cache.mode", "StepCacheOptions.Mode (ImageRequest/VideoRequest.Cache)"),
        Gen("--cache-option", "<key=value,...>", "cache parameters (threshold, start, end, decay, relative, reset, Fn, Bn, warmup, w, m, lam, window, flex, stop)", "the StepCacheOptions fields sd-cli's initialize_cache_params sets"),
        Gen("--scm-mask", "<0/1,...>", "cache.scm_mask", "StepCacheOptions.StepComputationMask"),
        Gen("--scm-policy", "<dynamic|static>", "cache.scm_policy_dynamic (block caches only)", "StepCacheOptions.DynamicMaskPolicy"),
        Gen("--vae-tile-size", "<WxH>", "vae_tiling_params.tile_size_x/y", "VaeTilingOptions.TileWidth / TileHeight"),
        Gen("--vae-relative-tile-size", "<WxH>", "vae_tiling_params.rel_size_x/y", "VaeTilingOptions.RelativeWidth / RelativeHeight"),
        Gen("--prompt-file", S, "prompt: the whole file", "ImageRequest.Prompt / VideoRequest.Prompt: the whole file, as sd-cli reads it"),
        Gen("--negative-prompt-file", S, "negative_prompt: the whole file", "ImageRequest.NegativePrompt / VideoRequest.NegativePrompt: the whole file"),
    ];

    /// <summary>The row of a flag by its long name.</summary>
    public static SdCliFlag Get(string name) => All.Single(f => f.Name == name);

    /// <summary>
    /// A hidden option for a flag sdnet does not act on, so that a pasted sd-cli command line gets a reason instead of
    /// "unrecognized": it takes the flag's value (if any) and <see cref="Check"/> refuses it or warns.
    /// </summary>
    public static Option Refused(string name)
    {
        var flag = Get(name);
        if (flag.Supported) throw new InvalidOperationException($"{name} is supported; it needs a real option.");
        string[] aliases = flag.Short is null ? [] : [flag.Short];
        return flag.Value.Length == 0
            ? new Option<bool>(name, aliases) { Hidden = true }
            : new Option<string[]>(name, aliases) { Hidden = true, AllowMultipleArgumentsPerToken = false };
    }

    /// <summary>The hidden options of every flag sdnet does not act on, but for those in <paramref name="except"/> (already on the command).</summary>
    public static IReadOnlyList<Option> RefusedOptions(params string[] except)
        => All.Where(f => !f.Supported && !except.Contains(f.Name)).Select(f => Refused(f.Name)).ToList();

    /// <summary>Refuses a not-applicable flag that was given (naming it and why), or warns about an ignored one.</summary>
    /// <exception cref="ArgumentException">A refused flag was given.</exception>
    public static void Check(ParseResult r, IEnumerable<Option> options, ILogger? logger = null)
    {
        foreach (var option in options)
        {
            if (r.GetResult(option) is not { Implicit: false }) continue;
            var flag = Get(option.Name);
            if (flag.Ignored)
                logger?.LogWarning("{Flag} is ignored: {Reason}", flag.Name, flag.NotApplicable);
            else
                throw new ArgumentException($"{flag.Name} is not applicable to sdnet: {flag.NotApplicable}.", flag.Name);
        }
    }

    /// <summary><see cref="Check"/> for one option.</summary>
    public static void ThrowIfRefused(ParseResult r, Option option) => Check(r, [option]);
}
