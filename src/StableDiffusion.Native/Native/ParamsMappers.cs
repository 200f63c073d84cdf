using System.Runtime.InteropServices;
using StableDiffusion.Native.Interop;

namespace StableDiffusion.Native.Native;

// One mapper per native struct. Each writes a managed spec over a struct that upstream's *_init already filled
// (or a zeroed one in unit tests), leaving every unset field at its default, and allocates whatever the
// struct points to in the caller's arena, so the struct is valid exactly as long as the arena lives.

/// <summary>Maps <see cref="ContextSpec"/> onto <c>sd_ctx_params_t</c>.</summary>
internal static unsafe class ContextParamsMapper
{
    public static void Map(ContextSpec spec, NativeArena arena, ref sd_ctx_params_t p)
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
        if (spec.WeightType is int wtype) p.wtype = (sd_type_t)wtype;
        p.tensor_type_rules = arena.Utf8(spec.TensorTypeRules);
        if (spec.Threads is int threads) p.n_threads = threads;
        p.backend = arena.Utf8(spec.Backend);
        p.params_backend = arena.Utf8(spec.ParamsBackend);
        Flag(ref p.flash_attn, spec.FlashAttention);
        Flag(ref p.diffusion_flash_attn, spec.DiffusionFlashAttention);
        Flag(ref p.diffusion_conv_direct, spec.DiffusionConvDirect);
        Flag(ref p.vae_conv_direct, spec.VaeConvDirect);
        Flag(ref p.enable_mmap, spec.EnableMmap);
        Flag(ref p.eager_load, spec.EagerLoad);
        if (spec.LoraApplyMode is int mode) p.lora_apply_mode = (lora_apply_mode_t)mode;
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
        if (spec.RngType is int rng) p.rng_type = (rng_type_t)rng;
        if (spec.SamplerRngType is int srng) p.sampler_rng_type = (rng_type_t)srng;
        if (spec.Prediction is int prediction) p.prediction = (prediction_t)prediction;
        Flag(ref p.tae_preview_only, spec.TaePreviewOnly);
        Flag(ref p.force_sdxl_vae_conv_scale, spec.ForceSdxlVaeConvScale);
        if (spec.VaeFormat is int vaeFormat) p.vae_format = (sd_vae_format_t)vaeFormat;
        Flag(ref p.stream_layers, spec.StreamLayers);
        p.split_mode = arena.Utf8(spec.SplitMode);
        Flag(ref p.auto_fit, spec.AutoFit);
        p.model_args = arena.Utf8(spec.ModelArgs);
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

/// <summary>Maps <see cref="SampleSpec"/> onto <c>sd_sample_params_t</c> (with its guidance and SLG).</summary>
internal static unsafe class SampleParamsMapper
{
    public static void Map(SampleSpec spec, NativeArena arena, ref sd_sample_params_t p)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Steps is int steps) p.sample_steps = steps;
        if (spec.CfgScale is float cfg) p.guidance.txt_cfg = cfg;
        if (spec.ImageCfg is float imgCfg) p.guidance.img_cfg = imgCfg;
        if (spec.DistilledGuidance is float g) p.guidance.distilled_guidance = g;
        if (spec.Slg is { } slg)
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
        if (spec.SampleMethod is int method) p.sample_method = (sample_method_t)method;
        if (spec.Scheduler is int scheduler) p.scheduler = (scheduler_t)scheduler;
        if (spec.ShiftedTimestep is int shifted) p.shifted_timestep = shifted;
        if (spec.CustomSigmas.Count > 0)
        {
            p.custom_sigmas = Floats(spec.CustomSigmas, arena);
            p.custom_sigmas_count = spec.CustomSigmas.Count;
        }
        if (spec.FlowShift is float shift) p.flow_shift = shift;
        p.extra_sample_args = arena.Utf8(spec.ExtraArgs);
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

/// <summary>Maps <see cref="HiresSpec"/> onto <c>sd_hires_params_t</c>; a null spec leaves the pass disabled.</summary>
internal static unsafe class HiresParamsMapper
{
    public static void Map(HiresSpec? spec, NativeArena arena, ref sd_hires_params_t p)
    {
        if (spec is null) return;
        p.enabled = 1;
        p.upscaler = (sd_hires_upscaler_t)spec.Upscaler;
        p.model_path = arena.FilePath(spec.ModelPath);
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

/// <summary>Maps <see cref="TilingSpec"/> onto <c>sd_tiling_params_t</c>.</summary>
internal static unsafe class TilingParamsMapper
{
    public static void Map(TilingSpec spec, NativeArena arena, ref sd_tiling_params_t p)
    {
        ArgumentNullException.ThrowIfNull(spec);
        p.enabled = spec.Enabled ? (byte)1 : (byte)0;
        p.temporal_tiling = spec.Temporal ? (byte)1 : (byte)0;
        if (spec.TileSizeX is int x) p.tile_size_x = x;
        if (spec.TileSizeY is int y) p.tile_size_y = y;
        if (spec.TargetOverlap is float overlap) p.target_overlap = overlap;
        if (spec.RelSizeX is float rx) p.rel_size_x = rx;
        if (spec.RelSizeY is float ry) p.rel_size_y = ry;
        p.extra_tiling_args = arena.Utf8(spec.ExtraArgs);
    }
}

/// <summary>Maps <see cref="CacheSpec"/> onto <c>sd_cache_params_t</c>; a null spec leaves the cache disabled.</summary>
internal static unsafe class CacheParamsMapper
{
    public static void Map(CacheSpec? spec, NativeArena arena, ref sd_cache_params_t p)
    {
        if (spec is null) return;
        p.mode = (sd_cache_mode_t)spec.Mode;
        if (spec.ReuseThreshold is float reuse) p.reuse_threshold = reuse;
        if (spec.StartPercent is float start) p.start_percent = start;
        if (spec.EndPercent is float end) p.end_percent = end;
        if (spec.ErrorDecayRate is float decay) p.error_decay_rate = decay;
        ContextParamsMapper.Flag(ref p.use_relative_threshold, spec.UseRelativeThreshold);
        ContextParamsMapper.Flag(ref p.reset_error_on_compute, spec.ResetErrorOnCompute);
        if (spec.FnComputeBlocks is int fn) p.Fn_compute_blocks = fn;
        if (spec.BnComputeBlocks is int bn) p.Bn_compute_blocks = bn;
        if (spec.ResidualDiffThreshold is float rdt) p.residual_diff_threshold = rdt;
        if (spec.MaxWarmupSteps is int warmup) p.max_warmup_steps = warmup;
        if (spec.MaxCachedSteps is int cached) p.max_cached_steps = cached;
        if (spec.MaxContinuousCachedSteps is int continuous) p.max_continuous_cached_steps = continuous;
        if (spec.TaylorSeerDerivatives is int derivatives) p.taylorseer_n_derivatives = derivatives;
        if (spec.TaylorSeerSkipInterval is int skip) p.taylorseer_skip_interval = skip;
        p.scm_mask = arena.Utf8(spec.ScmMask);
        ContextParamsMapper.Flag(ref p.scm_policy_dynamic, spec.ScmPolicyDynamic);
        if (spec.SpectrumW is float w) p.spectrum_w = w;
        if (spec.SpectrumM is int m) p.spectrum_m = m;
        if (spec.SpectrumLam is float lam) p.spectrum_lam = lam;
        if (spec.SpectrumWindowSize is int window) p.spectrum_window_size = window;
        if (spec.SpectrumFlexWindow is float flex) p.spectrum_flex_window = flex;
        if (spec.SpectrumWarmupSteps is int sw) p.spectrum_warmup_steps = sw;
        if (spec.SpectrumStopPercent is float stop) p.spectrum_stop_percent = stop;
    }
}

/// <summary>The arrays of images, LoRAs and audio that the generation structs point to.</summary>
internal static unsafe class NativeArrays
{
    public static sd_image_t* Images(IReadOnlyList<NativeImage> images, NativeArena arena)
    {
        if (images.Count == 0) return null;
        var array = arena.Array<sd_image_t>(images.Count);
        for (int i = 0; i < images.Count; i++) array[i] = arena.Image(images[i]);
        return array;
    }

    public static sd_lora_t* Loras(IReadOnlyList<LoraSpec> loras, NativeArena arena)
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

    public static sd_audio_t Audio(AudioSpec? audio, NativeArena arena)
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

/// <summary>Maps <see cref="ImageGenerationSpec"/> onto <c>sd_img_gen_params_t</c> (and its nested structs).</summary>
internal static unsafe class ImageGenParamsMapper
{
    public static void Map(ImageGenerationSpec spec, NativeArena arena, ref sd_img_gen_params_t p)
    {
        ArgumentNullException.ThrowIfNull(spec);
        p.prompt = arena.Utf8(spec.Prompt);
        p.negative_prompt = arena.Utf8(spec.NegativePrompt);
        if (spec.ClipSkip is int clipSkip) p.clip_skip = clipSkip;
        p.width = spec.Width;
        p.height = spec.Height;
        p.seed = spec.Seed;
        p.batch_count = spec.BatchCount;
        p.strength = spec.Strength;
        SampleParamsMapper.Map(spec.Sample, arena, ref p.sample_params);
        TilingParamsMapper.Map(spec.Tiling, arena, ref p.vae_tiling_params);
        HiresParamsMapper.Map(spec.Hires, arena, ref p.hires);
        CacheParamsMapper.Map(spec.Cache, arena, ref p.cache);
        p.init_image = arena.Image(spec.InitImage);
        p.mask_image = arena.Image(spec.MaskImage);
        p.control_image = arena.Image(spec.ControlImage);
        if (!spec.ControlImage.IsEmpty) p.control_strength = spec.ControlStrength;
        p.loras = NativeArrays.Loras(spec.Loras, arena);
        p.lora_count = (uint)spec.Loras.Count;
        p.ref_images = NativeArrays.Images(spec.RefImages, arena);
        p.ref_images_count = spec.RefImages.Count;
        if (spec.RefImageArgs is not null) p.ref_image_args = arena.Utf8(spec.RefImageArgs);
        p.ip_adapter_image = arena.Image(spec.IpAdapterImage);
        if (spec.IpAdapterStrength is float ipStrength) p.ip_adapter_strength = ipStrength;
        if (spec.PhotoMaker is { } pm)
        {
            p.pm_params.id_images = NativeArrays.Images(pm.IdImages, arena);
            p.pm_params.id_images_count = pm.IdImages.Count;
            p.pm_params.id_embed_path = arena.FilePath(pm.IdEmbeddingPath);
            p.pm_params.style_strength = pm.StyleStrength;
        }
        if (spec.Pulid is { } pulid)
        {
            p.pulid_params.id_embedding_path = arena.FilePath(pulid.IdEmbeddingPath);
            p.pulid_params.id_weight = pulid.IdWeight;
        }
        if (spec.QwenImageLayers is int layers) p.qwen_image_layers = layers;
        p.circular_x = spec.CircularX ? (byte)1 : (byte)0;
        p.circular_y = spec.CircularY ? (byte)1 : (byte)0;
    }

    /// <summary>Upstream's own description of the struct (<c>sd_img_gen_params_to_str</c>).</summary>
    public static string Describe(in sd_img_gen_params_t p)
    {
        fixed (sd_img_gen_params_t* ptr = &p) return UpstreamString.Take(Sd.sd_img_gen_params_to_str(ptr));
    }
}

/// <summary>Maps <see cref="VideoGenerationSpec"/> onto <c>sd_vid_gen_params_t</c> (upstream has no printer for it).</summary>
internal static unsafe class VideoGenParamsMapper
{
    public static void Map(VideoGenerationSpec spec, NativeArena arena, ref sd_vid_gen_params_t p)
    {
        ArgumentNullException.ThrowIfNull(spec);
        p.loras = NativeArrays.Loras(spec.Loras, arena);
        p.lora_count = (uint)spec.Loras.Count;
        p.prompt = arena.Utf8(spec.Prompt);
        p.negative_prompt = arena.Utf8(spec.NegativePrompt);
        p.clip_skip = spec.ClipSkip ?? -1;
        p.init_image = arena.Image(spec.InitImage);
        p.end_image = arena.Image(spec.EndImage);
        p.ref_images = NativeArrays.Images(spec.RefImages, arena);
        p.ref_images_count = spec.RefImages.Count;
        if (spec.RefVideos.Count > 0)
        {
            var videos = arena.Array<sd_ref_video_t>(spec.RefVideos.Count);
            for (int i = 0; i < spec.RefVideos.Count; i++)
            {
                videos[i].frames = NativeArrays.Images(spec.RefVideos[i].Frames, arena);
                videos[i].frame_count = spec.RefVideos[i].Frames.Count;
                videos[i].fps = spec.RefVideos[i].Fps;
                videos[i].audio = NativeArrays.Audio(spec.RefVideos[i].Audio, arena);
            }
            p.ref_videos = videos;
            p.ref_videos_count = spec.RefVideos.Count;
        }
        if (spec.RefAudios.Count > 0)
        {
            var audios = arena.Array<sd_audio_t>(spec.RefAudios.Count);
            for (int i = 0; i < spec.RefAudios.Count; i++) audios[i] = NativeArrays.Audio(spec.RefAudios[i], arena);
            p.ref_audios = audios;
            p.ref_audios_count = spec.RefAudios.Count;
        }
        p.control_frames = NativeArrays.Images(spec.ControlFrames, arena);
        p.control_frames_size = spec.ControlFrames.Count;
        p.width = spec.Width;
        p.height = spec.Height;
        SampleParamsMapper.Map(spec.Sample, arena, ref p.sample_params);
        if (spec.HighNoiseSample is { } high) SampleParamsMapper.Map(high, arena, ref p.high_noise_sample_params);
        if (spec.MoeBoundary is float boundary) p.moe_boundary = boundary;
        if (spec.Strength is float strength) p.strength = strength;
        p.seed = spec.Seed;
        p.video_frames = spec.Frames;
        p.fps = spec.Fps;
        if (spec.VaceStrength is float vace) p.vace_strength = vace;
        TilingParamsMapper.Map(spec.Tiling, arena, ref p.vae_tiling_params);
        CacheParamsMapper.Map(spec.Cache, arena, ref p.cache);
        HiresParamsMapper.Map(spec.Hires, arena, ref p.hires);
        p.circular_x = spec.CircularX ? (byte)1 : (byte)0;
        p.circular_y = spec.CircularY ? (byte)1 : (byte)0;
    }
}

/// <summary>Strings upstream mallocs for the caller, released by the runtime's own <c>free</c> (through the shim).</summary>
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
