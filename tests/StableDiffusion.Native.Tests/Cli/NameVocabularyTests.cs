using StableDiffusion.Native.Cli;
using StableDiffusion.Native.Cli.SdCli;
using StableDiffusion.Native.Cli.Serve;
using StableDiffusion.Native.Tests.Shared;

namespace StableDiffusion.Native.Tests.Cli;

/// <summary>
/// One name vocabulary (SamplingNames, in the core): every sampler and scheduler name it reads, the CLI's flags and the
/// server's A1111 and OpenAI routes read alike (CommonFields: both routes). The IImageGenerator's options read the same list
/// (StableDiffusion.Native.AI.Tests, NameVocabularyTests).
/// </summary>
public sealed class NameVocabularyTests
{
    [Theory]
    [MemberData(nameof(NameVocabularyData.SamplerNames), MemberType = typeof(NameVocabularyData))]
    public void The_cli_and_the_server_read_every_sampler_name_alike(string name, Sampler sampler, Scheduler? schedule)
    {
        Assert.True(SamplingNames.TryParseSampler(name, out var core, out var coreSchedule));
        Assert.Equal((sampler, schedule), (core, coreSchedule));
        Assert.Equal(((Sampler?)sampler, schedule), CommonFields.SamplerAndSchedule(name));
        Assert.Equal((sampler, schedule), SdCliSyntax.SamplerOf("--sampling-method", name));
    }

    [Theory]
    [MemberData(nameof(NameVocabularyData.SchedulerNames), MemberType = typeof(NameVocabularyData))]
    public void The_cli_and_the_server_read_every_scheduler_name_alike(string name, Scheduler scheduler)
    {
        Assert.True(SamplingNames.TryParseScheduler(name, out var core));
        Assert.Equal(scheduler, core);
        Assert.Equal(scheduler, CommonFields.Scheduler(name));
        Assert.Equal(scheduler, SdCliSyntax.SchedulerOf("--scheduler", name));
    }

    [Fact]
    public void Display_names_are_unique_and_unknown_names_are_refused_everywhere()
    {
        Assert.Equal(Enum.GetValues<Sampler>().Length, Enum.GetValues<Sampler>().Select(s => s.A1111Name()).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Equal(Enum.GetValues<Scheduler>().Length, Enum.GetValues<Scheduler>().Select(s => s.A1111Name()).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.False(SamplingNames.TryParseSampler("Bogus", out _, out _));
        Assert.False(SamplingNames.TryParseSampler("Karras", out _, out _));
        Assert.ThrowsAny<Exception>(() => CommonFields.SamplerAndSchedule("Bogus Karras"));
        Assert.ThrowsAny<ArgumentException>(() => SdCliSyntax.SamplerOf("--sampling-method", "Bogus"));
        Assert.ThrowsAny<Exception>(() => CommonFields.Scheduler("Bogus"));
        Assert.ThrowsAny<ArgumentException>(() => SdCliSyntax.SchedulerOf("--scheduler", "Bogus"));
    }
}
