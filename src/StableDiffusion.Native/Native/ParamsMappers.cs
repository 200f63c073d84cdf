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
        p.model_path = arena.Utf8(spec.ModelPath);
        p.diffusion_model_path = arena.Utf8(spec.DiffusionModelPath);
        p.clip_l_path = arena.Utf8(spec.ClipLPath);
        p.clip_g_path = arena.Utf8(spec.ClipGPath);
        p.t5xxl_path = arena.Utf8(spec.T5xxlPath);
        p.vae_path = arena.Utf8(spec.VaePath);
        p.taesd_path = arena.Utf8(spec.TaesdPath);
        p.control_net_path = arena.Utf8(spec.ControlNetPath);
        if (spec.Embeddings.Count > 0)
        {
            var e = arena.Array<sd_embedding_t>(spec.Embeddings.Count);
            for (int i = 0; i < spec.Embeddings.Count; i++)
            {
                e[i].name = arena.Utf8(spec.Embeddings[i].Name);
                e[i].path = arena.Utf8(spec.Embeddings[i].Path);
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

/// <summary>Maps <see cref="SampleSpec"/> onto <c>sd_sample_params_t</c>.</summary>
internal static unsafe class SampleParamsMapper
{
    public static void Map(SampleSpec spec, ref sd_sample_params_t p)
    {
        ArgumentNullException.ThrowIfNull(spec);
        p.sample_steps = spec.Steps;
        p.guidance.txt_cfg = spec.CfgScale;
        if (spec.DistilledGuidance is float g) p.guidance.distilled_guidance = g;
        if (spec.Eta is float eta) p.eta = eta;
        if (spec.SampleMethod is int method) p.sample_method = (sample_method_t)method;
        if (spec.Scheduler is int scheduler) p.scheduler = (scheduler_t)scheduler;
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
        p.model_path = arena.Utf8(spec.ModelPath);
        p.scale = spec.Scale;
        p.steps = spec.Steps;
        p.denoising_strength = spec.DenoisingStrength;
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
        SampleParamsMapper.Map(spec.Sample, ref p.sample_params);
        p.vae_tiling_params.enabled = spec.VaeTiling ? (byte)1 : (byte)0;
        HiresParamsMapper.Map(spec.Hires, arena, ref p.hires);
        p.init_image = arena.Image(spec.InitImage);
        p.mask_image = arena.Image(spec.MaskImage);
        p.control_image = arena.Image(spec.ControlImage);
        if (!spec.ControlImage.IsEmpty) p.control_strength = spec.ControlStrength;
        if (spec.Loras.Count > 0)
        {
            var loras = arena.Array<sd_lora_t>(spec.Loras.Count);
            for (int i = 0; i < spec.Loras.Count; i++)
            {
                loras[i].path = arena.Utf8(spec.Loras[i].Path);
                loras[i].multiplier = spec.Loras[i].Multiplier;
            }
            p.loras = loras;
            p.lora_count = (uint)spec.Loras.Count;
        }
    }

    /// <summary>Upstream's own description of the struct (<c>sd_img_gen_params_to_str</c>).</summary>
    public static string Describe(in sd_img_gen_params_t p)
    {
        fixed (sd_img_gen_params_t* ptr = &p) return UpstreamString.Take(Sd.sd_img_gen_params_to_str(ptr));
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
