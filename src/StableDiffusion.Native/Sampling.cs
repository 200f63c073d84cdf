namespace StableDiffusion.Native;

/// <summary>Sampling methods (upstream <c>sample_method_t</c>, same order and values).</summary>
public enum Sampler
{
    Euler, EulerAncestral, Heun, Dpm2, DpmPlusPlus2SAncestral, DpmPlusPlus2M, DpmPlusPlus2Mv2, Ipndm, IpndmV, Lcm,
    DdimTrailing, Tcd, ResMultistep, Res2S, ErSde, EulerCfgPlusPlus, EulerAncestralCfgPlusPlus, EulerGe,
    DpmPlusPlus2MSde, DpmPlusPlus2MSdeBt, Lms,
}

/// <summary>Noise schedules (upstream <c>scheduler_t</c>, same order and values).</summary>
public enum Scheduler
{
    Discrete, Karras, Exponential, Ays, Gits, SgmUniform, Simple, Smoothstep, KlOptimal, Lcm, BongTangent, Ltx2,
    LogitNormal, Flux2, Flux, Beta,
}

/// <summary>How LoRAs are applied (upstream <c>lora_apply_mode_t</c>).</summary>
public enum LoraApplyMode
{
    /// <summary>Upstream decides: merged into the weights unless they are quantized.</summary>
    Auto,
    /// <summary>Merged into the weights before sampling.</summary>
    Immediately,
    /// <summary>Applied during each forward pass (works with quantized weights; slower).</summary>
    AtRuntime,
}

/// <summary>Upstream's names for samplers and schedulers, as sd-cli accepts and writes them ("euler_a", "karras").</summary>
public static class SamplingNames
{
    private static readonly string[] s_samplers =
    [
        "euler", "euler_a", "heun", "dpm2", "dpm++2s_a", "dpm++2m", "dpm++2mv2", "ipndm", "ipndm_v", "lcm",
        "ddim_trailing", "tcd", "res_multistep", "res_2s", "er_sde", "euler_cfg_pp", "euler_a_cfg_pp", "euler_ge",
        "dpm++2m_sde", "dpm++2m_sde_bt", "lms",
    ];

    private static readonly string[] s_schedulers =
    [
        "discrete", "karras", "exponential", "ays", "gits", "sgm_uniform", "simple", "smoothstep", "kl_optimal", "lcm",
        "bong_tangent", "ltx2", "logit_normal", "flux2", "flux", "beta",
    ];

    // A1111/Forge display names, so their PNGs' parameters can be read back too.
    private static readonly Dictionary<string, Sampler> s_a1111 = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Euler a"] = Sampler.EulerAncestral, ["Euler"] = Sampler.Euler, ["Heun"] = Sampler.Heun, ["DPM2"] = Sampler.Dpm2,
        ["DPM++ 2S a"] = Sampler.DpmPlusPlus2SAncestral, ["DPM++ 2M"] = Sampler.DpmPlusPlus2M, ["LCM"] = Sampler.Lcm,
        ["DPM++ 2M SDE"] = Sampler.DpmPlusPlus2MSde, ["LMS"] = Sampler.Lms, ["DDIM"] = Sampler.DdimTrailing, ["TCD"] = Sampler.Tcd,
    };

    public static IReadOnlyList<string> SamplerNames => s_samplers;

    public static IReadOnlyList<string> SchedulerNames => s_schedulers;

    public static string Name(this Sampler sampler) => s_samplers[(int)sampler];

    public static string Name(this Scheduler scheduler) => s_schedulers[(int)scheduler];

    public static bool TryParseSampler(string? name, out Sampler sampler)
    {
        int i = Array.IndexOf(s_samplers, name?.Trim().ToLowerInvariant());
        if (i >= 0)
        {
            sampler = (Sampler)i;
            return true;
        }
        if (name is not null && s_a1111.TryGetValue(name.Trim(), out sampler)) return true;
        sampler = default;
        return false;
    }

    public static bool TryParseScheduler(string? name, out Scheduler scheduler)
    {
        int i = Array.IndexOf(s_schedulers, name?.Trim().ToLowerInvariant().Replace(' ', '_'));
        scheduler = i >= 0 ? (Scheduler)i : default;
        return i >= 0;
    }
}
