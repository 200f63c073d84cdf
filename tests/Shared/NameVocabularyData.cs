namespace StableDiffusion.Native.Tests.Shared;

/// <summary>
/// Every sampler and scheduler name the core's SamplingNames reads, with what each must read as. Compiled into both test
/// projects, so the CLI and server (StableDiffusion.Native.Tests) and the IImageGenerator (StableDiffusion.Native.AI.Tests)
/// are held to one list.
/// </summary>
internal static class NameVocabularyData
{
    /// <summary>Upstream's names, A1111's display names (also padded and upper-cased) and aliases, and legacy names with a schedule.</summary>
    public static TheoryData<string, Sampler, Scheduler?> SamplerNames()
    {
        var data = new TheoryData<string, Sampler, Scheduler?>();
        foreach (var sampler in Enum.GetValues<Sampler>())
        {
            data.Add(sampler.Name(), sampler, null);
            data.Add(sampler.A1111Name(), sampler, null);
            data.Add(" " + sampler.A1111Name().ToUpperInvariant() + " ", sampler, null);
            foreach (string alias in sampler.A1111Aliases()) data.Add(alias, sampler, null);
            data.Add(sampler.A1111Name() + " Karras", sampler, Scheduler.Karras);
            data.Add(sampler.A1111Name() + " exponential", sampler, Scheduler.Exponential);
            data.Add(sampler.A1111Name() + " SGM Uniform", sampler, Scheduler.SgmUniform);
        }
        return data;
    }

    /// <summary>Upstream's names (also with spaces, upper-cased), A1111's labels, and upstream's "normal".</summary>
    public static TheoryData<string, Scheduler> SchedulerNames()
    {
        var data = new TheoryData<string, Scheduler>();
        foreach (var scheduler in Enum.GetValues<Scheduler>())
        {
            data.Add(scheduler.Name(), scheduler);
            data.Add(scheduler.A1111Name(), scheduler);
            data.Add(scheduler.Name().Replace('_', ' ').ToUpperInvariant(), scheduler);
        }
        data.Add("normal", Scheduler.Discrete);
        data.Add("align_your_steps", Scheduler.Ays);
        return data;
    }
}
