using Microsoft.Extensions.AI;

namespace StableDiffusion.Native.AI.Tests;

/// <summary>
/// The IImageGenerator's "sampler" / "sampler_name" and "scheduler" options read every name the core's SamplingNames
/// reads, as the CLI and the server do (StableDiffusion.Native.Tests, Cli/NameVocabularyTests).
/// </summary>
public sealed class NameVocabularyTests
{
    public static TheoryData<string, Sampler, Scheduler?> SamplerNames()
    {
        var data = new TheoryData<string, Sampler, Scheduler?>();
        foreach (var sampler in Enum.GetValues<Sampler>())
        {
            data.Add(sampler.Name(), sampler, null);
            data.Add(sampler.A1111Name(), sampler, null);
            foreach (string alias in sampler.A1111Aliases()) data.Add(alias, sampler, null);
            data.Add(sampler.A1111Name() + " Karras", sampler, Scheduler.Karras);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(SamplerNames))]
    public void Every_sampler_name_reads_as_in_the_core_with_a_legacy_names_schedule(string name, Sampler sampler, Scheduler? schedule)
    {
        var request = AdditionalProperties.Apply(new ImageRequest(), new AdditionalPropertiesDictionary { ["sampler_name"] = name });
        Assert.Equal(sampler, request.Sampler);
        Assert.Equal(schedule, request.Scheduler);
    }

    [Fact]
    public void An_explicit_scheduler_wins_over_a_legacy_names_schedule_in_either_order()
    {
        var first = AdditionalProperties.Apply(new ImageRequest(), new AdditionalPropertiesDictionary { ["scheduler"] = "exponential", ["sampler"] = "DPM++ 2M Karras" });
        var last = AdditionalProperties.Apply(new ImageRequest(), new AdditionalPropertiesDictionary { ["sampler"] = "DPM++ 2M Karras", ["scheduler"] = "exponential" });
        Assert.Equal((Sampler.DpmPlusPlus2M, Scheduler.Exponential), (first.Sampler!.Value, first.Scheduler!.Value));
        Assert.Equal((Sampler.DpmPlusPlus2M, Scheduler.Exponential), (last.Sampler!.Value, last.Scheduler!.Value));
    }

    [Fact]
    public void Every_scheduler_name_reads_as_in_the_core_and_automatic_is_the_models_default()
    {
        foreach (var scheduler in Enum.GetValues<Scheduler>())
        {
            foreach (string name in new[] { scheduler.Name(), scheduler.A1111Name() })
                Assert.Equal(scheduler, AdditionalProperties.Apply(new ImageRequest(), new AdditionalPropertiesDictionary { ["scheduler"] = name }).Scheduler);
        }
        Assert.Equal(Scheduler.Discrete, AdditionalProperties.Apply(new ImageRequest(), new AdditionalPropertiesDictionary { ["scheduler"] = "normal" }).Scheduler);
        Assert.Null(AdditionalProperties.Apply(new ImageRequest { Scheduler = Scheduler.Karras }, new AdditionalPropertiesDictionary { ["scheduler"] = "Automatic" }).Scheduler);
    }
}
