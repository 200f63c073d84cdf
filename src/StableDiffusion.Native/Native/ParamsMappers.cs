using System.Runtime.InteropServices;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.Interop;

namespace StableDiffusion.Native.Native;

// One mapper per native struct, straight from the public records (checked by the generation API before they get
// here): each writes over a struct that upstream's *_init already filled (or a filled one in unit tests), leaving
// every unset (null) value at upstream's default, and allocates whatever the struct points to in the caller's arena,
// so the struct is valid exactly as long as the arena lives. This is the one hop between a setting and its field.

/// <summary>Maps <see cref="GeneratorOptions"/> onto <c>sd_ctx_params_t</c>.</summary>
internal static unsafe class ContextParamsMapper
{
    public static void Map(GeneratorOptions spec, NativeArena arena, ref sd_ctx_params_t p)
    {
        ArgumentNullException.ThrowIfNull(spec);
        p.model_path = arena.FilePath(spec.ModelPath);
        p.diffusion_model_path = arena.FilePath(spec.DiffusionModelPath);
        p.clip_l_path = arena.FilePath(spec.ClipLPath);
        p.clip_g_path = arena.FilePath(spec.ClipGPath);
        p.t5xxl_path = arena.FilePath(spec.T5xxlPath);
        p.vae_path = arena.FilePath(spec.VaePath);
        p.taesd_path = arena.FilePath(spec.TaesdPath);
        p.control_net_path = arena.FilePath(spec.ControlNetPath);
        if (spec.Embeddings.Count > 0)
        {
            var e = arena.Array<sd_embedding_t>(spec.Embeddings.Count);
            for (int i = 0; i < spec.Embeddings.Count; i++)
            {
                e[i].name = arena.Utf8(spec.Embeddings[i].Name);
                e[i].path = arena.FilePath(spec.Embeddings[i].Path);
            }
            p.embeddings = e;
            p.embedding_count = (uint)spec.Embeddings.Count;
        }
        if (spec.WeightType is { } wtype) p.wtype = (sd_type_t)(int)wtype;
        p.tensor_type_rules = arena.Utf8(spec.TensorTypeRules);
        if (spec.Threads is int threads) p.n_threads = threads;
        p.backend = arena.Utf8(spec.Backend);
        p.params_backend = arena.Utf8(spec.ParamsBackend);
        Flag(ref p.flash_attn, spec.FlashAttention);
        // One switch for both unless asked apart: upstream's diffusion-only flag exists for models whose text encoder breaks with it.
        Flag(ref p.diffusion_flash_attn, spec.DiffusionFlashAttention ?? spec.FlashAttention);
        Flag(ref p.diffusion_conv_direct, spec.DiffusionConvDirect);
        Flag(ref p.vae_conv_direct, spec.VaeConvDirect);
        Flag(ref p.enable_mmap, spec.EnableMmap);
        Flag(ref p.eager_load, spec.EagerLoad);
        if (spec.LoraApplyMode is { } mode) p.lora_apply_mode = (lora_apply_mode_t)(int)mode;
        p.rpc_servers = arena.Utf8(spec.RpcServers);
        p.max_vram = arena.Utf8(spec.MaxVram);
        p.clip_vision_path = arena.FilePath(spec.ClipVisionPath);
        p.llm_path = arena.FilePath(spec.LlmPath);
        p.llm_vision_path = arena.FilePath(spec.LlmVisionPath);
        p.high_noise_diffusion_model_path = arena.FilePath(spec.HighNoiseDiffusionModelPath);
        p.uncond_diffusion_model_path = arena.FilePath(spec.UncondDiffusionModelPath);
        p.embeddings_connectors_path = arena.FilePath(spec.EmbeddingsConnectorsPath);
        p.audio_vae_path = arena.FilePath(spec.AudioVaePath);
        p.ip_adapter_path = arena.FilePath(spec.IpAdapterPath);
        p.motion_module_path = arena.FilePath(spec.MotionModulePath);
        p.photo_maker_path = arena.FilePath(spec.PhotoMakerPath);
        p.pulid_weights_path = arena.FilePath(spec.PulidWeightsPath);
        if (spec.Rng is { } rng) p.rng_type = (rng_type_t)(int)rng;
        if (spec.SamplerRng is { } srng) p.sampler_rng_type = (rng_type_t)(int)srng;
        if (spec.Prediction is { } prediction) p.prediction = (prediction_t)(int)prediction;
        Flag(ref p.tae_preview_only, spec.TaePreviewOnly);
        Flag(ref p.force_sdxl_vae_conv_scale, spec.ForceSdxlVaeConvScale);
        if (spec.VaeFormat is { } vaeFormat) p.vae_format = (sd_vae_format_t)(int)vaeFormat;
        Flag(ref p.stream_layers, spec.StreamLayers);
        p.split_mode = arena.Utf8(UpstreamArgs.SplitMode(spec.SplitMode, spec.ModuleSplitModes));
        Flag(ref p.auto_fit, spec.AutoFit);
        p.model_args = arena.Utf8(UpstreamArgs.ModelArgs(spec));
    }

    /// <summary>Upstream's own description of the struct (<c>sd_ctx_params_to_str</c>), as the runtime sees it.</summary>
    public static string Describe(in sd_ctx_params_t p)
    {
        fixed (sd_ctx_params_t* ptr = &p) return UpstreamString.Take(Sd.sd_ctx_params_to_str(ptr));
    }

    internal static void Flag(ref byte field, bool? value)
    {
        if (value is bool b) field = b ? (byte)1 : (byte)0;
    }
}

/// <summary>Maps <see cref="SamplingOptions"/> onto <c>sd_sample_params_t</c> (with its guidance and SLG).</summary>
internal static unsafe class SampleParamsMapper
{
    /// <param name="spec">The sampling.</param>
    /// <param name="more">Further typed pairs of <c>extra_sample_args</c> (an image request's image-to-image switches).</param>
    /// <param name="arena">Owns what the struct points to.</param>
    /// <param name="p">The struct, filled by <c>sd_sample_params_init</c>.</param>
    public static void Map(SamplingOptions spec, IEnumerable<(string Key, string? Value)>? more, NativeArena arena, ref sd_sample_params_t p)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Steps is int steps) p.sample_steps = steps;
        if (spec.CfgScale is float cfg) p.guidance.txt_cfg = cfg;
        if (spec.ImageCfgScale is float imgCfg) p.guidance.img_cfg = imgCfg;
        if (spec.Guidance is float g) p.guidance.distilled_guidance = g;
        if (spec.SkipLayerGuidance is { } slg)
        {
            if (slg.Layers.Count > 0)
            {
                int* layers = arena.Array<int>(slg.Layers.Count);
                for (int i = 0; i < slg.Layers.Count; i++) layers[i] = slg.Layers[i];
                p.guidance.slg.layers = layers;
                p.guidance.slg.layer_count = (nuint)slg.Layers.Count;
            }
            p.guidance.slg.layer_start = slg.Start;
            p.guidance.slg.layer_end = slg.End;
            p.guidance.slg.scale = slg.Scale;
        }
        if (spec.Eta is float eta) p.eta = eta;
        if (spec.Sampler is { } method) p.sample_method = (sample_method_t)(int)method;
        if (spec.Scheduler is { } scheduler) p.scheduler = (scheduler_t)(int)scheduler;
        if (spec.ShiftedTimestep is int shifted) p.shifted_timestep = shifted;
        if (spec.CustomSigmas.Count > 0)
        {
            p.custom_sigmas = Floats(spec.CustomSigmas, arena);
            p.custom_sigmas_count = spec.CustomSigmas.Count;
        }
        if (spec.FlowShift is float shift) p.flow_shift = shift;
        p.extra_sample_args = arena.Utf8(UpstreamArgs.SampleArgs(spec, more));
    }

    internal static float* Floats(IReadOnlyList<float> values, NativeArena arena)
    {
        float* data = arena.Array<float>(values.Count);
        for (int i = 0; i < values.Count; i++) data[i] = values[i];
        return data;
    }

    /// <summary>Upstream's own description of the struct (<c>sd_sample_params_to_str</c>).</summary>
    public static string Describe(in sd_sample_params_t p)
    {
        fixed (sd_sample_params_t* ptr = &p) return UpstreamString.Take(Sd.sd_sample_params_to_str(ptr));
    }
}

/// <summary>Maps <see cref="HiresFix"/> onto <c>sd_hires_params_t</c>; null leaves the pass disabled.</summary>
internal static unsafe class HiresParamsMapper
{
    public static void Map(HiresFix? spec, NativeArena arena, ref sd_hires_params_t p)
    {
        if (spec is null) return;
        p.enabled = 1;
        p.upscaler = (sd_hires_upscaler_t)(int)spec.Upscaler;
        p.model_path = arena.FilePath(spec.UpscalerModelPath);
        p.scale = spec.Scale;
        p.steps = spec.Steps;
        p.denoising_strength = spec.DenoisingStrength;
        if (spec.TargetWidth is int tw) p.target_width = tw;
        if (spec.TargetHeight is int th) p.target_height = th;
        if (spec.UpscaleTileSize is int tile) p.upscale_tile_size = tile;
        if (spec.CustomSigmas.Count > 0)
        {
            p.custom_sigmas = SampleParamsMapper.Floats(spec.CustomSigmas, arena);
            p.custom_sigmas_count = spec.CustomSigmas.Count;
        }
    }
}

/// <summary>Maps a request's VAE tiling switch and options onto <c>sd_tiling_params_t</c>.</summary>
internal static unsafe class TilingParamsMapper
{
    /// <param name="enabled">The request's plain switch (<see cref="ImageRequest.VaeTiling"/>).</param>
    /// <param name="o">Its options; setting them turns tiling on.</param>
    /// <param name="arena">Owns what the struct points to.</param>
    /// <param name="p">The struct.</param>
    public static void Map(bool enabled, VaeTilingOptions? o, NativeArena arena, ref sd_tiling_params_t p)
    {
        p.enabled = enabled || (o?.Spatial ?? false) ? (byte)1 : (byte)0;
        if (o is null) return;
        p.temporal_tiling = o.Temporal ? (byte)1 : (byte)0;
        p.tile_size_x = o.TileWidth;
        p.tile_size_y = o.TileHeight;
        p.target_overlap = o.TargetOverlap;
        p.rel_size_x = o.RelativeWidth;
        p.rel_size_y = o.RelativeHeight;
        p.extra_tiling_args = arena.Utf8(UpstreamArgs.TilingArgs(o));
    }
}

/// <summary>Maps <see cref="StepCacheOptions"/> onto <c>sd_cache_params_t</c>; null leaves the cache disabled.</summary>
internal static unsafe class CacheParamsMapper
{
    public static void Map(StepCacheOptions? spec, NativeArena arena, ref sd_cache_params_t p)
    {
        if (spec is null) return;
        p.mode = (sd_cache_mode_t)(int)spec.Mode;
        if (spec.ReuseThreshold is float reuse) p.reuse_threshold = reuse;
        if (spec.StartPercent is float start) p.start_percent = start;
        if (spec.EndPercent is float end) p.end_percent = end;
        if (spec.ErrorDecayRate is float decay) p.error_decay_rate = decay;
        ContextParamsMapper.Flag(ref p.use_relative_threshold, spec.UseRelativeThreshold);
        ContextParamsMapper.Flag(ref p.reset_error_on_compute, spec.ResetErrorOnCompute);
        if (spec.FirstComputeBlocks is int fn) p.Fn_compute_blocks = fn;
        if (spec.LastComputeBlocks is int bn) p.Bn_compute_blocks = bn;
        if (spec.ResidualDiffThreshold is float rdt) p.residual_diff_threshold = rdt;
        if (spec.MaxWarmupSteps is int warmup) p.max_warmup_steps = warmup;
        if (spec.MaxCachedSteps is int cached) p.max_cached_steps = cached;
        if (spec.MaxContinuousCachedSteps is int continuous) p.max_continuous_cached_steps = continuous;
        if (spec.TaylorSeerDerivatives is int derivatives) p.taylorseer_n_derivatives = derivatives;
        if (spec.TaylorSeerSkipInterval is int skip) p.taylorseer_skip_interval = skip;
        p.scm_mask = arena.Utf8(UpstreamArgs.StepMask(spec.StepComputationMask));
        ContextParamsMapper.Flag(ref p.scm_policy_dynamic, spec.DynamicMaskPolicy);
        if (spec.SpectrumWeight is float w) p.spectrum_w = w;
        if (spec.SpectrumBasis is int m) p.spectrum_m = m;
        if (spec.SpectrumLambda is float lam) p.spectrum_lam = lam;
        if (spec.SpectrumWindowSize is int window) p.spectrum_window_size = window;
        if (spec.SpectrumFlexWindow is float flex) p.spectrum_flex_window = flex;
        if (spec.SpectrumWarmupSteps is int sw) p.spectrum_warmup_steps = sw;
        if (spec.SpectrumStopPercent is float stop) p.spectrum_stop_percent = stop;
    }
}

/// <summary>The images, arrays of images, LoRAs and audio that the generation structs point to.</summary>
internal static unsafe class NativeArrays
{
    /// <summary>An image as upstream reads init, control and reference images: RGB, whatever it was handed.</summary>
    public static sd_image_t Rgb(ImageBuffer? image, NativeArena arena) => arena.Image(NativeImage.From(image?.ToRgb24()));

    /// <summary>A mask as upstream reads it: one gray channel.</summary>
    public static sd_image_t Gray(ImageBuffer? image, NativeArena arena) => arena.Image(NativeImage.From(image?.ToGray8()));

    public static sd_image_t* Images(IReadOnlyList<ImageBuffer> images, NativeArena arena)
    {
        if (images.Count == 0) return null;
        var array = arena.Array<sd_image_t>(images.Count);
        for (int i = 0; i < images.Count; i++) array[i] = Rgb(images[i], arena);
        return array;
    }

    public static sd_lora_t* Loras(IReadOnlyList<LoraReference> loras, NativeArena arena)
    {
        if (loras.Count == 0) return null;
        var array = arena.Array<sd_lora_t>(loras.Count);
        for (int i = 0; i < loras.Count; i++)
        {
            array[i].path = arena.FilePath(loras[i].Path);
            array[i].multiplier = loras[i].Multiplier;
            array[i].is_high_noise = loras[i].HighNoise ? (byte)1 : (byte)0;
        }
        return array;
    }

    public static sd_audio_t Audio(AudioBuffer? audio, NativeArena arena)
    {
        if (audio is null) return default;
        float* data = arena.Array<float>(audio.Samples.Length);
        audio.Samples.Span.CopyTo(new Span<float>(data, audio.Samples.Length));
        return new sd_audio_t
        {
            sample_rate = (uint)audio.SampleRate,
            channels = (uint)audio.Channels,
            sample_count = (ulong)(audio.Samples.Length / audio.Channels),
            data = data,
        };
    }
}

/// <summary>Maps an <see cref="ImageRequest"/> onto <c>sd_img_gen_params_t</c> (and its nested structs).</summary>
internal static unsafe class ImageGenParamsMapper
{
    /// <param name="r">The request, its seed, sampler and scheduler resolved (a null one keeps upstream's default).</param>
    /// <param name="arena">Owns what the struct points to.</param>
    /// <param name="p">The struct, filled by <c>sd_img_gen_params_init</c>.</param>
    public static void Map(ImageRequest r, NativeArena arena, ref sd_img_gen_params_t p)
    {
        ArgumentNullException.ThrowIfNull(r);
        p.prompt = arena.Utf8(r.Prompt);
        p.negative_prompt = arena.Utf8(r.NegativePrompt);
        if (r.ClipSkip is int clipSkip) p.clip_skip = clipSkip;
        p.width = r.RequestedWidth;
        p.height = r.RequestedHeight;
        if (r.Seed is long seed) p.seed = seed;
        p.batch_count = r.BatchCount;
        p.strength = r.Strength;
        SampleParamsMapper.Map(r.Sampling, UpstreamArgs.ImageSampleArgs(r), arena, ref p.sample_params);
        TilingParamsMapper.Map(r.VaeTiling, r.VaeTilingOptions, arena, ref p.vae_tiling_params);
        HiresParamsMapper.Map(r.Hires, arena, ref p.hires);
        CacheParamsMapper.Map(r.Cache, arena, ref p.cache);
        p.init_image = NativeArrays.Rgb(r.InitImage, arena);
        p.mask_image = NativeArrays.Gray(r.Mask, arena);
        p.control_image = NativeArrays.Rgb(r.ControlImage, arena);
        if (r.ControlImage is not null) p.control_strength = r.ControlStrength;
        p.loras = NativeArrays.Loras(r.Loras, arena);
        p.lora_count = (uint)r.Loras.Count;
        p.ref_images = NativeArrays.Images(r.ReferenceImages, arena);
        p.ref_images_count = r.ReferenceImages.Count;
        if (UpstreamArgs.ReferenceArgs(r.ReferenceImageOptions) is { } refArgs) p.ref_image_args = arena.Utf8(refArgs);
        p.ip_adapter_image = NativeArrays.Rgb(r.IpAdapterImage, arena);
        if (r.IpAdapterImage is not null) p.ip_adapter_strength = r.IpAdapterStrength;
        if (r.PhotoMaker is { } pm)
        {
            p.pm_params.id_images = NativeArrays.Images(pm.IdImages, arena);
            p.pm_params.id_images_count = pm.IdImages.Count;
            p.pm_params.id_embed_path = arena.FilePath(pm.IdEmbeddingPath);
            p.pm_params.style_strength = pm.StyleStrength;
        }
        if (r.Pulid is { } pulid)
        {
            p.pulid_params.id_embedding_path = arena.FilePath(pulid.IdEmbeddingPath);
            p.pulid_params.id_weight = pulid.IdWeight;
        }
        if (r.QwenImageLayers is int layers) p.qwen_image_layers = layers;
        p.circular_x = r.CircularX ? (byte)1 : (byte)0;
        p.circular_y = r.CircularY ? (byte)1 : (byte)0;
    }

    /// <summary>Upstream's own description of the struct (<c>sd_img_gen_params_to_str</c>).</summary>
    public static string Describe(in sd_img_gen_params_t p)
    {
        fixed (sd_img_gen_params_t* ptr = &p) return UpstreamString.Take(Sd.sd_img_gen_params_to_str(ptr));
    }
}

/// <summary>Maps a <see cref="VideoRequest"/> onto <c>sd_vid_gen_params_t</c> (upstream has no printer for it).</summary>
internal static unsafe class VideoGenParamsMapper
{
    /// <param name="r">The request, its seed, sampler and scheduler resolved.</param>
    /// <param name="arena">Owns what the struct points to.</param>
    /// <param name="p">The struct, filled by <c>sd_vid_gen_params_init</c>.</param>
    public static void Map(VideoRequest r, NativeArena arena, ref sd_vid_gen_params_t p)
    {
        ArgumentNullException.ThrowIfNull(r);
        p.loras = NativeArrays.Loras(r.Loras, arena);
        p.lora_count = (uint)r.Loras.Count;
        p.prompt = arena.Utf8(r.Prompt);
        p.negative_prompt = arena.Utf8(r.NegativePrompt);
        p.clip_skip = r.ClipSkip ?? -1;
        p.init_image = NativeArrays.Rgb(r.InitImage, arena);
        p.end_image = NativeArrays.Rgb(r.EndImage, arena);
        p.ref_images = NativeArrays.Images(r.ReferenceImages, arena);
        p.ref_images_count = r.ReferenceImages.Count;
        if (r.ReferenceVideos.Count > 0)
        {
            var videos = arena.Array<sd_ref_video_t>(r.ReferenceVideos.Count);
            for (int i = 0; i < r.ReferenceVideos.Count; i++)
            {
                videos[i].frames = NativeArrays.Images(r.ReferenceVideos[i].Frames, arena);
                videos[i].frame_count = r.ReferenceVideos[i].Frames.Count;
                videos[i].fps = r.ReferenceVideos[i].Fps;
                videos[i].audio = NativeArrays.Audio(r.ReferenceVideos[i].Audio, arena);
            }
            p.ref_videos = videos;
            p.ref_videos_count = r.ReferenceVideos.Count;
        }
        if (r.ReferenceAudios.Count > 0)
        {
            var audios = arena.Array<sd_audio_t>(r.ReferenceAudios.Count);
            for (int i = 0; i < r.ReferenceAudios.Count; i++) audios[i] = NativeArrays.Audio(r.ReferenceAudios[i], arena);
            p.ref_audios = audios;
            p.ref_audios_count = r.ReferenceAudios.Count;
        }
        p.control_frames = NativeArrays.Images(r.ControlFrames, arena);
        p.control_frames_size = r.ControlFrames.Count;
        p.width = r.RequestedWidth;
        p.height = r.RequestedHeight;
        SampleParamsMapper.Map(r.Sampling, null, arena, ref p.sample_params);
        if (r.HighNoiseSampling is { } high) SampleParamsMapper.Map(high, null, arena, ref p.high_noise_sample_params);
        p.moe_boundary = r.MoeBoundary;
        p.strength = r.Strength;
        if (r.Seed is long seed) p.seed = seed;
        p.video_frames = r.Frames;
        p.fps = r.Fps;
        p.vace_strength = r.VaceStrength;
        TilingParamsMapper.Map(r.VaeTiling, r.VaeTilingOptions, arena, ref p.vae_tiling_params);
        CacheParamsMapper.Map(r.Cache, arena, ref p.cache);
        HiresParamsMapper.Map(r.Hires, arena, ref p.hires);
        p.circular_x = r.CircularX ? (byte)1 : (byte)0;
        p.circular_y = r.CircularY ? (byte)1 : (byte)0;
    }
}

/// <summary>sd_adetailer_params_t: the detailer's prompts and its key=value settings (composed by Detailer.ExtraArgs).</summary>
internal static unsafe class DetailerParamsMapper
{
    public static void Map(string? prompt, string? negativePrompt, string? extraArgs, NativeArena arena, ref sd_adetailer_params_t p)
    {
        p.prompt = arena.Utf8(prompt);
        p.negative_prompt = arena.Utf8(negativePrompt);
        p.extra_ad_args = arena.Utf8(extraArgs);
    }
}

/// <summary>Strings upstream mallocs for the caller, released by the runtime's own <c>free</c> (through the shim).</summary>
internal static unsafe class UpstreamString
{
    public static string Take(sbyte* text)
    {
        if (text == null) return string.Empty;
        try
        {
            return Marshal.PtrToStringUTF8((nint)text) ?? string.Empty;
        }
        finally
        {
            SdnetShim.sdnet_free_string(text);
        }
    }
}
