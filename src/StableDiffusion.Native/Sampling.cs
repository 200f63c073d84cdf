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

    // AUTOMATIC1111/Forge display names and the aliases A1111 accepts (k-diffusion's k_* names), by sampler. The one table
    // behind sd-cli flags, the server's A1111 and OpenAI routes, IImageGenerator options and PNG parameters read back.
    // Samplers A1111 does not have are shown by upstream's name.
    private static readonly (string Display, string[] Aliases)[] s_a1111 = Enum.GetValues<Sampler>().Select(s => s switch
    {
        Sampler.Euler => ("Euler", new[] { "k_euler" }),
        Sampler.EulerAncestral => ("Euler a", new[] { "k_euler_a", "k_euler_ancestral" }),
        Sampler.Heun => ("Heun", new[] { "k_heun" }),
        Sampler.Dpm2 => ("DPM2", new[] { "k_dpm_2" }),
        Sampler.DpmPlusPlus2SAncestral => ("DPM++ 2S a", new[] { "k_dpmpp_2s_a" }),
        Sampler.DpmPlusPlus2M => ("DPM++ 2M", new[] { "k_dpmpp_2m" }),
        Sampler.DpmPlusPlus2MSde => ("DPM++ 2M SDE", new[] { "k_dpmpp_2m_sde" }),
        Sampler.Lms => ("LMS", new[] { "k_lms" }),
        Sampler.Lcm => ("LCM", new[] { "k_lcm" }),
        // Upstream's DDIM uses trailing timesteps; A1111's DDIM is the closest it has.
        Sampler.DdimTrailing => ("DDIM", new[] { "ddim" }),
        Sampler.Tcd => ("TCD", Array.Empty<string>()),
        _ => (s.Name(), Array.Empty<string>()),
    }).Select((entry, i) => (entry.Item1, entry.Item2.Append(((Sampler)i).Name()).Distinct().Where(a => a != entry.Item1).ToArray())).ToArray();

    // A1111 before 1.9 folded the schedule into the sampler's name ("DPM++ 2M Karras"); such names still arrive.
    private static readonly (string Suffix, Scheduler Scheduler)[] s_legacySuffixes =
    [
        (" Karras", Scheduler.Karras), (" Exponential", Scheduler.Exponential), (" SGM Uniform", Scheduler.SgmUniform),
    ];

    // Scheduler names besides upstream's own ("sgm_uniform", also read with spaces): A1111's labels that differ from
    // them, and upstream's "normal" (its alias of discrete, which A1111 also calls Normal).
    private static readonly Dictionary<string, Scheduler> s_schedulerAliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["normal"] = Scheduler.Discrete, ["align_your_steps"] = Scheduler.Ays, ["Align Your Steps"] = Scheduler.Ays,
        ["LTX-2"] = Scheduler.Ltx2, ["FLUX.2"] = Scheduler.Flux2,
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

    /// <summary>AUTOMATIC1111's display name of a sampler ("Euler a"), or upstream's name where A1111 has none.</summary>
    /// <param name="sampler">A defined sampler.</param>
    /// <returns>The name A1111 shows and writes into PNG parameters.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sampler"/> is not a defined value.</exception>
    public static string A1111Name(this Sampler sampler)
        => (uint)sampler < (uint)s_a1111.Length ? s_a1111[(int)sampler].Display : throw new ArgumentOutOfRangeException(nameof(sampler), sampler, "Unknown sampler.");

    /// <summary>The other names a sampler is read by: A1111's aliases ("k_euler_a") and upstream's name.</summary>
    /// <param name="sampler">A defined sampler.</param>
    /// <returns>The aliases, without the display name.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sampler"/> is not a defined value.</exception>
    public static IReadOnlyList<string> A1111Aliases(this Sampler sampler)
        => (uint)sampler < (uint)s_a1111.Length ? s_a1111[(int)sampler].Aliases : throw new ArgumentOutOfRangeException(nameof(sampler), sampler, "Unknown sampler.");

    /// <summary>AUTOMATIC1111's label of a scheduler ("Align Your Steps", "SGM Uniform", "Karras").</summary>
    /// <param name="scheduler">A defined scheduler.</param>
    /// <returns>The label, which <see cref="TryParseScheduler"/> reads back.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="scheduler"/> is not a defined value.</exception>
    public static string A1111Name(this Scheduler scheduler) => scheduler switch
    {
        Scheduler.Ays => "Align Your Steps",
        Scheduler.SgmUniform => "SGM Uniform",
        Scheduler.KlOptimal => "KL Optimal",
        Scheduler.Lcm => "LCM",
        Scheduler.Ltx2 => "LTX-2",
        Scheduler.Flux2 => "FLUX.2",
        Scheduler.Gits => "GITS",
        _ => System.Globalization.CultureInfo.InvariantCulture.TextInfo.ToTitleCase(scheduler.Name().Replace('_', ' ')),
    };

    /// <summary>
    /// Reads a sampler by any of its names, ignoring case: upstream's ("euler_a"), A1111's display name ("Euler a") or
    /// alias ("k_euler_a"). A legacy A1111 name with the schedule folded in ("DPM++ 2M Karras") is not read here: use the
    /// overload that returns the schedule too.
    /// </summary>
    /// <param name="name">The name; null gives false.</param>
    /// <param name="sampler">The sampler, when known.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryParseSampler(string? name, out Sampler sampler)
    {
        string trimmed = name?.Trim() ?? "";
        int i = Array.IndexOf(s_samplers, trimmed.ToLowerInvariant());
        if (i < 0)
        {
            i = Array.FindIndex(s_a1111, e => string.Equals(e.Display, trimmed, StringComparison.OrdinalIgnoreCase)
                                               || e.Aliases.Contains(trimmed, StringComparer.OrdinalIgnoreCase));
        }
        sampler = i >= 0 ? (Sampler)i : default;
        return i >= 0;
    }

    /// <summary>
    /// Reads a sampler by any of its names (see <see cref="TryParseSampler(string?, out Sampler)"/>), and also A1111's
    /// legacy names that carry a schedule ("DPM++ 2M Karras", "Euler a Exponential"), returning that schedule.
    /// </summary>
    /// <param name="name">The name; null gives false.</param>
    /// <param name="sampler">The sampler, when known.</param>
    /// <param name="scheduler">The schedule a legacy name carries, else null.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryParseSampler(string? name, out Sampler sampler, out Scheduler? scheduler)
    {
        scheduler = null;
        if (TryParseSampler(name, out sampler)) return true;
        string trimmed = name?.Trim() ?? "";
        foreach (var (suffix, legacy) in s_legacySuffixes)
        {
            if (trimmed.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && TryParseSampler(trimmed[..^suffix.Length], out sampler))
            {
                scheduler = legacy;
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Reads a scheduler by upstream's name ("sgm_uniform"; spaces read as underscores), A1111's label ("Align Your
    /// Steps", "SGM Uniform") or upstream's "normal" (discrete), ignoring case. A1111's "Automatic" is not a scheduler:
    /// it means the model's default, which callers express as no scheduler.
    /// </summary>
    /// <param name="name">The name; null gives false.</param>
    /// <param name="scheduler">The scheduler, when known.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryParseScheduler(string? name, out Scheduler scheduler)
    {
        string trimmed = name?.Trim() ?? "";
        if (s_schedulerAliases.TryGetValue(trimmed, out scheduler)) return true;
        int i = Array.IndexOf(s_schedulers, trimmed.ToLowerInvariant().Replace(' ', '_'));
        scheduler = i >= 0 ? (Scheduler)i : default;
        return i >= 0;
    }
}
