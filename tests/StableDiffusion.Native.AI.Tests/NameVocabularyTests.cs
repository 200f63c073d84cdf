using Microsoft.Extensions.AI;
using StableDiffusion.Native.Tests.Shared;

namespace StableDiffusion.Native.AI.Tests;

/// <summary>
/// The IImageGenerator's "sampler" / "sampler_name" and "scheduler" options read every name the core's SamplingNames
/// reads, as the CLI and the server do (StableDiffusion.Native.Tests, Cli/NameVocabularyTests).
/// </summary>
public sealed class NameVocabularyTests
{
    [Theory]
    [MemberData(nameof(NameVocabularyData.SamplerNames), MemberType = typeof(NameVocabularyData))]
    public void Every_sampler_name_reads_as_in_the_core_with_a_legacy_names_schedule(string name, Sampler sampler, Scheduler? schedule)
    {
        var request = AdditionalProperties.Apply(new ImageRequest(), new AdditionalPropertiesDictionary { ["sampler_name"] = name });
        Assert.Equal(sampler, request.Sampling.Sampler);
        Assert.Equal(schedule, request.Sampling.Scheduler);
    }

    [Fact]
    public void An_explicit_scheduler_wins_over_a_legacy_names_schedule_in_either_order()
    {
        var first = AdditionalProperties.Apply(new ImageRequest(), new AdditionalPropertiesDictionary { ["scheduler"] = "exponential", ["sampler"] = "DPM++ 2M Karras" });
        var last = AdditionalProperties.Apply(new ImageRequest(), new AdditionalPropertiesDictionary { ["sampler"] = "DPM++ 2M Karras", ["scheduler"] = "exponential" });
        Assert.Equal((Sampler.DpmPlusPlus2M, Scheduler.Exponential), (first.Sampling.Sampler!.Value, first.Sampling.Scheduler!.Value));
        Assert.Equal((Sampler.DpmPlusPlus2M, Scheduler.Exponential), (last.Sampling.Sampler!.Value, last.Sampling.Scheduler!.Value));
    }

    [Theory]
    [MemberData(nameof(NameVocabularyData.SchedulerNames), MemberType = typeof(NameVocabularyData))]
    public void Every_scheduler_name_reads_as_in_the_core(string name, Scheduler scheduler)
        => Assert.Equal(scheduler, AdditionalProperties.Apply(new ImageRequest(), new AdditionalPropertiesDictionary { ["scheduler"] = name }).Sampling.Scheduler);

    [Fact]
    public void Automatic_is_the_models_default()
        => Assert.Null(AdditionalProperties.Apply(new ImageRequest { Sampling = new SamplingOptions { Scheduler = Scheduler.Karras } }, new AdditionalPropertiesDictionary { ["scheduler"] = "Automatic" }).Sampling.Scheduler);
}
