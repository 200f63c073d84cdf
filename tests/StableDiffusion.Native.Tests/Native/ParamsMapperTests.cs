using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.Interop;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Native;
using StableDiffusion.Native.Tests.Integration;

namespace StableDiffusion.Native.Tests.Native;

/// <summary>
/// The mappers, from the public records to upstream's structs. Without a runtime they are checked field by field
/// on a zeroed struct; with one, every field set to a non-default value must show in upstream's own printer
/// (<c>*_params_to_str</c>), and the fields that printer leaves out are read back from the struct.
/// </summary>
public sealed unsafe class ParamsMapperTests
{
    private static readonly GeneratorOptions AllOptions = new()
    {
        ModelPath = "m.safetensors", DiffusionModelPath = "d.gguf", ClipLPath = "cl.safetensors", ClipGPath = "cg.safetensors",
        T5xxlPath = "t5.safetensors", VaePath = "vae.safetensors", TaesdPath = "taesd.safetensors", ControlNetPath = "cn.safetensors",
        Embeddings = [new Embedding("emb", "emb.safetensors")], WeightType = QuantizationType.Q8_0, TensorTypeRules = "attn=q4_0",
        Threads = 3, Backend = "CPU", ParamsBackend = "CPU", FlashAttention = true, DiffusionConvDirect = true, VaeConvDirect = true,
        EnableMmap = true, EagerLoad = true, LoraApplyMode = LoraApplyMode.AtRuntime, RpcServers = "127.0.0.1:50052", MaxVram = "4",
    };

    private static readonly ImageRequest AllRequest = new()
    {
        Prompt = "a lighthouse",
        NegativePrompt = "blurry",
        Width = 96,
        Height = 80,
        Seed = 1234,
        BatchCount = 3,
        ClipSkip = 2,
        Loras = [new LoraReference("l.safetensors", 0.5f)],
        Strength = 0.4f,
        VaeTiling = true,
        InitImage = ImageBuffer.Filled(PixelFormat.Rgb24, 96, 80, [1, 2, 3]),
        Mask = ImageBuffer.Filled(PixelFormat.Gray8, 96, 80, [255]),
        ControlImage = ImageBuffer.Filled(PixelFormat.Rgb24, 96, 80, [9, 9, 9]),
        ControlStrength = 0.6f,
        Hires = new HiresFix(Scale: 1.5f, Steps: 4, DenoisingStrength: 0.3f, Upscaler: HiresUpscaler.LatentBicubic, UpscalerModelPath: "up.safetensors"),
        Sampling = new SamplingOptions { Steps = 7, CfgScale = 4.5f, Guidance = 2.25f, Eta = 0.5f, Sampler = Sampler.DpmPlusPlus2M, Scheduler = Scheduler.Karras },
    };

    private static string Str(sbyte* p) => System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)p) ?? "<null>";

    [Fact]
    public void Context_mapper_sets_every_field_of_the_options()
    {
        using var arena = new NativeArena();
        var p = default(sd_ctx_params_t);
        ContextParamsMapper.Map(AllOptions, arena, ref p);
        Assert.Equal(("m.safetensors", "d.gguf", "cl.safetensors", "cg.safetensors"), (Str(p.model_path), Str(p.diffusion_model_path), Str(p.clip_l_path), Str(p.clip_g_path)));
        Assert.Equal(("t5.safetensors", "vae.safetensors", "taesd.safetensors", "cn.safetensors"), (Str(p.t5xxl_path), Str(p.vae_path), Str(p.taesd_path), Str(p.control_net_path)));
        Assert.Equal(1u, p.embedding_count);
        Assert.Equal(("emb", "emb.safetensors"), (Str(p.embeddings[0].name), Str(p.embeddings[0].path)));
        Assert.Equal((int)QuantizationType.Q8_0, (int)p.wtype);
        Assert.Equal("attn=q4_0", Str(p.tensor_type_rules));
        Assert.Equal(3, p.n_threads);
        Assert.Equal(("CPU", "CPU", "127.0.0.1:50052", "4"), (Str(p.backend), Str(p.params_backend), Str(p.rpc_servers), Str(p.max_vram)));
        Assert.Equal([1, 1, 1, 1, 1, 1], new[] { p.flash_attn, p.diffusion_flash_attn, p.diffusion_conv_direct, p.vae_conv_direct, p.enable_mmap, p.eager_load });
        Assert.Equal(lora_apply_mode_t.LORA_APPLY_AT_RUNTIME, p.lora_apply_mode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Each_switch_lands_in_its_own_field(bool first)
    {
        // Alternating values over a struct prefilled with the opposite: a swapped pair of fields cannot pass both runs.
        using var arena = new NativeArena();
        byte fill = first ? (byte)0 : (byte)1;
        var p = default(sd_ctx_params_t);
        p.flash_attn = p.diffusion_flash_attn = p.diffusion_conv_direct = p.vae_conv_direct = p.enable_mmap = p.eager_load = fill;
        ContextParamsMapper.Map(new GeneratorOptions
        {
            ModelPath = "m", FlashAttention = first, DiffusionConvDirect = !first, VaeConvDirect = first, EnableMmap = !first, EagerLoad = first,
        }, arena, ref p);
        byte on = first ? (byte)1 : (byte)0, off = first ? (byte)0 : (byte)1;
        Assert.Equal([on, on, off, on, off, on], new[] { p.flash_attn, p.diffusion_flash_attn, p.diffusion_conv_direct, p.vae_conv_direct, p.enable_mmap, p.eager_load });
    }

    [Fact]
    public void Context_mapper_leaves_unset_fields_at_their_defaults()
    {
        using var arena = new NativeArena();
        var p = default(sd_ctx_params_t);
        p.n_threads = 77;
        p.wtype = (sd_type_t)5;
        p.flash_attn = 1;
        ContextParamsMapper.Map(new GeneratorOptions { ModelPath = "m" }, arena, ref p);
        Assert.Equal((77, 5, (byte)1), (p.n_threads, (int)p.wtype, p.flash_attn));
        Assert.True(p.embeddings == null && p.vae_path == null && p.backend == null);
    }

    [Fact]
    public void Image_mapper_sets_every_field_of_the_request()
    {
        using var arena = new NativeArena();
        var p = default(sd_img_gen_params_t);
        ImageGenParamsMapper.Map(AllRequest, arena, ref p);
        Assert.Equal(("a lighthouse", "blurry", 2), (Str(p.prompt), Str(p.negative_prompt), p.clip_skip));
        Assert.Equal((96, 80, 1234L, 3, 0.4f), (p.width, p.height, p.seed, p.batch_count, p.strength));
        Assert.Equal((7, 4.5f, 2.25f, 0.5f), (p.sample_params.sample_steps, p.sample_params.guidance.txt_cfg, p.sample_params.guidance.distilled_guidance, p.sample_params.eta));
        Assert.Equal((sample_method_t.DPMPP2M_SAMPLE_METHOD, scheduler_t.KARRAS_SCHEDULER), (p.sample_params.sample_method, p.sample_params.scheduler));
        Assert.Equal((96u, 80u, 3u, (byte)1), (p.init_image.width, p.init_image.height, p.init_image.channel, p.init_image.data[0]));
        Assert.Equal((1u, (byte)255), (p.mask_image.channel, p.mask_image.data[0]));
        Assert.Equal((3u, (byte)9, 0.6f), (p.control_image.channel, p.control_image.data[0], p.control_strength));
        Assert.Equal(1u, p.lora_count);
        Assert.Equal(("l.safetensors", 0.5f), (Str(p.loras[0].path), p.loras[0].multiplier));
        Assert.Equal(1, p.vae_tiling_params.enabled);
        Assert.Equal((1, sd_hires_upscaler_t.SD_HIRES_UPSCALER_LATENT_BICUBIC, "up.safetensors"), (p.hires.enabled, p.hires.upscaler, Str(p.hires.model_path)));
        Assert.Equal((1.5f, 4, 0.3f), (p.hires.scale, p.hires.steps, p.hires.denoising_strength));
    }

    [SkippableFact]
    public void Every_context_field_shows_in_upstreams_own_description()
    {
        NativeTestEnvironment.Require();
        using var arena = new NativeArena();
        sd_ctx_params_t p;
        Sd.sd_ctx_params_init(&p);
        string defaults = ContextParamsMapper.Describe(p);
        ContextParamsMapper.Map(AllOptions, arena, ref p);
        string text = ContextParamsMapper.Describe(p);
        foreach (string line in new[]
        {
            "model_path: m.safetensors", "diffusion_model_path: d.gguf", "clip_l_path: cl.safetensors", "clip_g_path: cg.safetensors",
            "t5xxl_path: t5.safetensors", "vae_path: vae.safetensors", "taesd_path: taesd.safetensors", "control_net_path: cn.safetensors",
            "tensor_type_rules: attn=q4_0", "n_threads: 3", "wtype: q8_0", "max_vram: 4", "eager_load: true", "backend: CPU",
            "params_backend: CPU", "flash_attn: true", "diffusion_flash_attn: true",
        })
        {
            Assert.Contains(line + "\n", text);
            Assert.DoesNotContain(line + "\n", defaults);
        }
        // Not in upstream's printer: read back from the struct itself.
        Assert.Equal((1, 1, 1), (p.diffusion_conv_direct, p.vae_conv_direct, p.enable_mmap));
        Assert.Equal(lora_apply_mode_t.LORA_APPLY_AT_RUNTIME, p.lora_apply_mode);
        Assert.Equal(("127.0.0.1:50052", 1u), (Str(p.rpc_servers), p.embedding_count));
    }

    [SkippableFact]
    public void Every_request_field_shows_in_upstreams_own_description()
    {
        NativeTestEnvironment.Require();
        using var arena = new NativeArena();
        sd_img_gen_params_t p;
        Sd.sd_img_gen_params_init(&p);
        string defaults = ImageGenParamsMapper.Describe(p);
        ImageGenParamsMapper.Map(AllRequest, arena, ref p);
        string text = ImageGenParamsMapper.Describe(p);
        foreach (string part in new[]
        {
            "prompt: a lighthouse\n", "negative_prompt: blurry\n", "clip_skip: 2\n", "width: 96\n", "height: 80\n", "strength: 0.40\n",
            "seed: 1234\n", "batch_count: 3\n", "control_strength: 0.60\n", "VAE tiling: true",
            "txt_cfg: 4.50", "distilled_guidance: 2.25", "scheduler: karras", "sample_method: dpm++2m", "sample_steps: 7", "eta: 0.50",
            "hires: {enabled=true, upscaler=Latent (bicubic)", "model_path=up.safetensors, scale=1.50", "steps=4, denoising_strength=0.30}",
        })
        {
            Assert.Contains(part, text);
            Assert.DoesNotContain(part, defaults);
        }
        Assert.Equal((1u, 3u, 1u), (p.lora_count, p.init_image.channel, p.mask_image.channel));
    }

    [SkippableFact]
    public void Every_new_context_field_shows_in_upstreams_own_description()
    {
        NativeTestEnvironment.Require();
        using var arena = new NativeArena();
        sd_ctx_params_t p;
        Sd.sd_ctx_params_init(&p);
        string defaults = ContextParamsMapper.Describe(p);
        ContextParamsMapper.Map(FieldCoverageTests.AllOptions with { DiffusionFlashAttention = true }, arena, ref p);
        string text = ContextParamsMapper.Describe(p);
        foreach (string line in new[]
        {
            "clip_vision_path: cv.safetensors", "llm_path: llm.gguf", "llm_vision_path: llmv.gguf", "high_noise_diffusion_model_path: hn.gguf",
            "uncond_diffusion_model_path: un.gguf", "embeddings_connectors_path: ec.safetensors", "audio_vae_path: avae.safetensors",
            "photo_maker_path: pm.safetensors", "pulid_weights_path: pulid.safetensors", "rng_type: cpu", "sampler_rng_type: std_default",
            "prediction: sd3_flow", "stream_layers: true", "split_mode: row,te=layer", "model_args: qwen_image_zero_cond_t=true,future_model_key=1", "auto_fit: true",
            "diffusion_flash_attn: true", "vae_format: wan",
        })
        {
            Assert.Contains(line + "\n", text);
            Assert.DoesNotContain(line + "\n", defaults);
        }
        // Not in upstream's printer: read back from the struct itself.
        Assert.Equal(("ip.safetensors", "mm.safetensors"), (Str(p.ip_adapter_path), Str(p.motion_module_path)));
        Assert.Equal(((byte)1, (byte)1), (p.tae_preview_only, p.force_sdxl_vae_conv_scale));
    }

    [SkippableFact]
    public void Every_new_request_field_shows_in_upstreams_own_description()
    {
        NativeTestEnvironment.Require();
        using var arena = new NativeArena();
        sd_img_gen_params_t p;
        Sd.sd_img_gen_params_init(&p);
        string defaults = ImageGenParamsMapper.Describe(p);
        ImageGenParamsMapper.Map(FieldCoverageTests.AllRequest, arena, ref p);
        string text = ImageGenParamsMapper.Describe(p);
        foreach (string part in new[]
        {
            "img_cfg: 1.50", "slg.layer_count: 2", "slg.layer_start: 0.05", "slg.layer_end: 0.30", "slg.scale: 2.50", "shifted_timestep: 250",
            "flow_shift: 3.00", "extra_sample_args: apg_eta=0.5,slg_uncond=true,guidance_schedule=7x2+3.5x1,strength_as_noise_level=true,future_key=1)", "qwen_image_layers: 4\n", "ref_images_count: 2\n",
            "ref_image_args: preset=qwen,resize_before_vae=false\n", "photo maker: {style_strength = 30.00, id_images_count = 1, id_embed_path = id.bin}",
            "VAE tiling: true (temporal=true, extra_tiling_args=temporal_tile_frames=8,future_tile_key=2)", "circular_x: true", "circular_y: true", "target=144x120",
        })
        {
            Assert.Contains(part, text);
            Assert.DoesNotContain(part, defaults);
        }
        // Upstream's printer names only EasyCache and UCache; the cache fields are read back from the struct.
        Assert.Equal((sd_cache_mode_t.SD_CACHE_CACHE_DIT, 4, 2, 0.8f), (p.cache.mode, p.cache.Fn_compute_blocks, p.cache.Bn_compute_blocks, p.cache.spectrum_stop_percent));
        Assert.Equal("1,0,1", Str(p.cache.scm_mask));
        Assert.Equal((64, 3, 0.7f), (p.hires.upscale_tile_size, p.hires.custom_sigmas_count, p.ip_adapter_strength));
        Assert.Equal(("face.safetensors", 0.8f), (Str(p.pulid_params.id_embedding_path), p.pulid_params.id_weight));
        Assert.Equal((32, 48, 0.25f), (p.vae_tiling_params.tile_size_x, p.vae_tiling_params.tile_size_y, p.vae_tiling_params.target_overlap));
    }

    [Fact]
    public void Video_mapper_sets_every_field_of_the_request()
    {
        using var arena = new NativeArena();
        var p = default(sd_vid_gen_params_t);
        VideoGenParamsMapper.Map(FieldCoverageTests.AllVideo, arena, ref p);
        Assert.Equal(("waves", "static", 1), (Str(p.prompt), Str(p.negative_prompt), p.clip_skip));
        Assert.Equal((96, 80, 9, 24, 77L), (p.width, p.height, p.video_frames, p.fps, p.seed));
        Assert.Equal((0.9f, 0.5f, 0.5f), (p.moe_boundary, p.strength, p.vace_strength));
        Assert.Equal((1u, (byte)1, "l.safetensors"), (p.lora_count, p.loras[0].is_high_noise, Str(p.loras[0].path)));
        Assert.Equal((96u, 96u, 1, 3), (p.init_image.width, p.end_image.width, p.ref_images_count, p.control_frames_size));
        Assert.Equal((1, 2, 12, 16000u, 1ul), (p.ref_videos_count, p.ref_videos[0].frame_count, p.ref_videos[0].fps, p.ref_videos[0].audio.sample_rate, p.ref_videos[0].audio.channels));
        Assert.Equal((2ul, 0.1f), (p.ref_videos[0].audio.sample_count, p.ref_videos[0].audio.data[0]));
        Assert.Equal((1, 22050u, 2u, 1ul), (p.ref_audios_count, p.ref_audios[0].sample_rate, p.ref_audios[0].channels, p.ref_audios[0].sample_count));
        Assert.Equal((5, 6f, 2f, 3f, 5f), (p.sample_params.sample_steps, p.sample_params.guidance.txt_cfg, p.sample_params.guidance.img_cfg, p.sample_params.guidance.distilled_guidance, p.sample_params.flow_shift));
        Assert.Equal((sample_method_t.EULER_SAMPLE_METHOD, scheduler_t.SIMPLE_SCHEDULER, 2), (p.sample_params.sample_method, p.sample_params.scheduler, p.sample_params.custom_sigmas_count));
        Assert.Equal((3, 4f, sample_method_t.HEUN_SAMPLE_METHOD, scheduler_t.KARRAS_SCHEDULER, 8f), (p.high_noise_sample_params.sample_steps,
            p.high_noise_sample_params.guidance.txt_cfg, p.high_noise_sample_params.sample_method, p.high_noise_sample_params.scheduler, p.high_noise_sample_params.flow_shift));
        Assert.Equal(("slg_uncond=true,k=v", "slg_uncond=true,a=b"), (Str(p.sample_params.extra_sample_args), Str(p.high_noise_sample_params.extra_sample_args)));
        Assert.Equal(((nuint)2, 7, 8), (p.sample_params.guidance.slg.layer_count, p.sample_params.guidance.slg.layers[0], p.sample_params.guidance.slg.layers[1]));
        Assert.Equal(((byte)1, (byte)1, (byte)1, (byte)1), (p.vae_tiling_params.enabled, p.hires.enabled, p.circular_x, p.circular_y));
        Assert.Equal(sd_cache_mode_t.SD_CACHE_CACHE_DIT, p.cache.mode);
    }
}
