namespace StableDiffusion.Native.Cli.Serve;

/// <summary>
/// AUTOMATIC1111's names for upstream's samplers and schedulers, for <c>/sdapi/v1/samplers</c> and
/// <c>/schedulers</c> and for requests that use them. Samplers A1111 does not have keep upstream's name.
/// </summary>
internal static class A1111Names
{
    /// <summary>Display name and A1111's aliases of each sampler, indexed by <see cref="Sampler"/>.</summary>
    private static readonly (string Name, string[] Aliases)[] s_samplers = Enum.GetValues<Sampler>().Select(s => s switch
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
        // Upstream's DDIM uses trailing timesteps; A1111's is the closest it has.
        Sampler.DdimTrailing => ("DDIM", new[] { "ddim" }),
        Sampler.Tcd => ("TCD", Array.Empty<string>()),
        _ => (s.Name(), Array.Empty<string>()),
    }).Select((entry, i) => (entry.Item1, entry.Item2.Append(((Sampler)i).Name()).Distinct().Where(a => a != entry.Item1).ToArray())).ToArray();

    // A1111 before 1.9 folded the schedule into the sampler's name ("DPM++ 2M Karras"); such names still arrive.
    private static readonly (string Suffix, Scheduler Scheduler)[] s_legacySuffixes =
    [
        (" Karras", Scheduler.Karras), (" Exponential", Scheduler.Exponential), (" SGM Uniform", Scheduler.SgmUniform),
    ];

    private static readonly Dictionary<string, Scheduler> s_schedulerAliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["align_your_steps"] = Scheduler.Ays, ["Align Your Steps"] = Scheduler.Ays, ["KL Optimal"] = Scheduler.KlOptimal,
        ["SGM Uniform"] = Scheduler.SgmUniform,
    };

    public static IReadOnlyList<(Sampler Sampler, string Name, string[] Aliases)> Samplers
        => s_samplers.Select((s, i) => ((Sampler)i, s.Name, s.Aliases)).ToList();

    public static string Label(Scheduler scheduler) => scheduler switch
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

    public static string DisplayName(Sampler sampler) => s_samplers[(int)sampler].Name;

    /// <summary>A sampler by A1111's name, an alias or upstream's name; a legacy suffix gives its scheduler too.</summary>
    public static bool TryParseSampler(string name, out Sampler sampler, out Scheduler? scheduler)
    {
        string trimmed = name.Trim();
        scheduler = null;
        for (int i = 0; i < s_samplers.Length; i++)
        {
            if (string.Equals(s_samplers[i].Name, trimmed, StringComparison.OrdinalIgnoreCase)
                || s_samplers[i].Aliases.Contains(trimmed, StringComparer.OrdinalIgnoreCase))
            {
                sampler = (Sampler)i;
                return true;
            }
        }
        foreach (var (suffix, legacy) in s_legacySuffixes)
        {
            if (trimmed.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && TryParseSampler(trimmed[..^suffix.Length], out sampler, out _))
            {
                scheduler = legacy;
                return true;
            }
        }
        return SamplingNames.TryParseSampler(trimmed, out sampler);
    }

    public static bool TryParseScheduler(string name, out Scheduler scheduler)
        => s_schedulerAliases.TryGetValue(name.Trim(), out scheduler) || SamplingNames.TryParseScheduler(name, out scheduler);
}
