namespace StableDiffusion.Native;

/// <summary>Sampling methods (upstream <c>sample_method_t</c>, same order and values).</summary>
public enum Sampler
{
    /// <summary>Euler ("euler").</summary>
    Euler,
    /// <summary>Euler ancestral ("euler_a").</summary>
    EulerAncestral,
    /// <summary>Heun ("heun").</summary>
    Heun,
    /// <summary>DPM2 ("dpm2").</summary>
    Dpm2,
    /// <summary>DPM++ 2S ancestral ("dpm++2s_a").</summary>
    DpmPlusPlus2SAncestral,
    /// <summary>DPM++ 2M ("dpm++2m").</summary>
    DpmPlusPlus2M,
    /// <summary>DPM++ 2M v2 ("dpm++2mv2").</summary>
    DpmPlusPlus2Mv2,
    /// <summary>iPNDM ("ipndm").</summary>
    Ipndm,
    /// <summary>iPNDM-v ("ipndm_v").</summary>
    IpndmV,
    /// <summary>LCM ("lcm").</summary>
    Lcm,
    /// <summary>DDIM, trailing timesteps ("ddim_trailing").</summary>
    DdimTrailing,
    /// <summary>TCD ("tcd").</summary>
    Tcd,
    /// <summary>RES multistep ("res_multistep").</summary>
    ResMultistep,
    /// <summary>RES 2S ("res_2s").</summary>
    Res2S,
    /// <summary>ER-SDE ("er_sde").</summary>
    ErSde,
    /// <summary>Euler CFG++ ("euler_cfg_pp").</summary>
    EulerCfgPlusPlus,
    /// <summary>Euler ancestral CFG++ ("euler_a_cfg_pp").</summary>
    EulerAncestralCfgPlusPlus,
    /// <summary>Euler GE ("euler_ge").</summary>
    EulerGe,
    /// <summary>DPM++ 2M SDE ("dpm++2m_sde").</summary>
    DpmPlusPlus2MSde,
    /// <summary>DPM++ 2M SDE, Brownian tree ("dpm++2m_sde_bt").</summary>
    DpmPlusPlus2MSdeBt,
    /// <summary>LMS ("lms").</summary>
    Lms,
}

/// <summary>Noise schedules (upstream <c>scheduler_t</c>, same order and values).</summary>
public enum Scheduler
{
    /// <summary>The model's discrete training schedule ("discrete").</summary>
    Discrete,
    /// <summary>Karras ("karras").</summary>
    Karras,
    /// <summary>Exponential ("exponential").</summary>
    Exponential,
    /// <summary>Align Your Steps ("ays").</summary>
    Ays,
    /// <summary>GITS ("gits").</summary>
    Gits,
    /// <summary>SGM uniform ("sgm_uniform").</summary>
    SgmUniform,
    /// <summary>Simple ("simple").</summary>
    Simple,
    /// <summary>Smoothstep ("smoothstep").</summary>
    Smoothstep,
    /// <summary>KL-optimal ("kl_optimal").</summary>
    KlOptimal,
    /// <summary>LCM ("lcm").</summary>
    Lcm,
    /// <summary>Bong tangent ("bong_tangent").</summary>
    BongTangent,
    /// <summary>LTX-2 ("ltx2").</summary>
    Ltx2,
    /// <summary>Logit-normal ("logit_normal").</summary>
    LogitNormal,
    /// <summary>FLUX.2 ("flux2").</summary>
    Flux2,
    /// <summary>Flux ("flux").</summary>
    Flux,
    /// <summary>Beta ("beta").</summary>
    Beta,
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

    /// <summary>Upstream's sampler names, indexed by <see cref="Sampler"/>.</summary>
    public static IReadOnlyList<string> SamplerNames => s_samplers;

    /// <summary>Upstream's scheduler names, indexed by <see cref="Scheduler"/>.</summary>
    public static IReadOnlyList<string> SchedulerNames => s_schedulers;

    /// <summary>Upstream's name of a sampler ("euler_a").</summary>
    /// <param name="sampler">A defined sampler.</param>
    /// <returns>The name sd-cli accepts.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sampler"/> is not a defined value.</exception>
    public static string Name(this Sampler sampler)
        => (uint)sampler < (uint)s_samplers.Length ? s_samplers[(int)sampler] : throw new ArgumentOutOfRangeException(nameof(sampler), sampler, "Unknown sampler.");

    /// <summary>Upstream's name of a scheduler ("karras").</summary>
    /// <param name="scheduler">A defined scheduler.</param>
    /// <returns>The name sd-cli accepts.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="scheduler"/> is not a defined value.</exception>
    public static string Name(this Scheduler scheduler)
        => (uint)scheduler < (uint)s_schedulers.Length ? s_schedulers[(int)scheduler] : throw new ArgumentOutOfRangeException(nameof(scheduler), scheduler, "Unknown scheduler.");

    /// <summary>Reads a sampler by upstream's name ("euler_a") or A1111's display name ("Euler a"), ignoring case.</summary>
    /// <param name="name">The name; null gives false.</param>
    /// <param name="sampler">The sampler, when known.</param>
    /// <returns>Whether the name is known.</returns>
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

    /// <summary>Reads a scheduler by upstream's name ("sgm_uniform"; spaces read as underscores), ignoring case.</summary>
    /// <param name="name">The name; null gives false.</param>
    /// <param name="scheduler">The scheduler, when known.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryParseScheduler(string? name, out Scheduler scheduler)
    {
        int i = Array.IndexOf(s_schedulers, name?.Trim().ToLowerInvariant().Replace(' ', '_'));
        scheduler = i >= 0 ? (Scheduler)i : default;
        return i >= 0;
    }
}
