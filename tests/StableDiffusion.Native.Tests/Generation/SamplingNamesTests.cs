using System.Runtime.InteropServices;
using StableDiffusion.Native.Interop;
using StableDiffusion.Native.Tests.Integration;

namespace StableDiffusion.Native.Tests.Generation;

public sealed class SamplingNamesTests
{
    [Fact]
    public void Every_sampler_has_a_unique_name_that_parses_back()
    {
        var names = Enum.GetValues<Sampler>().Select(s => s.Name()).ToList();
        Assert.Equal(Enum.GetValues<Sampler>().Length, SamplingNames.SamplerNames.Count);
        Assert.Equal(names.Count, names.Distinct().Count());
        foreach (var s in Enum.GetValues<Sampler>())
        {
            Assert.False(string.IsNullOrWhiteSpace(s.Name()), s.ToString());
            Assert.True(SamplingNames.TryParseSampler(s.Name(), out var back), s.Name());
            Assert.Equal(s, back);
            Assert.True(SamplingNames.TryParseSampler(" " + s.Name().ToUpperInvariant() + " ", out back), s.Name());
            Assert.Equal(s, back);
        }
    }

    [Fact]
    public void Every_scheduler_has_a_unique_name_that_parses_back()
    {
        var names = Enum.GetValues<Scheduler>().Select(s => s.Name()).ToList();
        Assert.Equal(Enum.GetValues<Scheduler>().Length, SamplingNames.SchedulerNames.Count);
        Assert.Equal(names.Count, names.Distinct().Count());
        foreach (var s in Enum.GetValues<Scheduler>())
        {
            Assert.False(string.IsNullOrWhiteSpace(s.Name()), s.ToString());
            Assert.True(SamplingNames.TryParseScheduler(s.Name(), out var back), s.Name());
            Assert.Equal(s, back);
        }
        // A1111's display names ("SGM Uniform", "KL Optimal").
        Assert.True(SamplingNames.TryParseScheduler("SGM Uniform", out var sgm));
        Assert.Equal(Scheduler.SgmUniform, sgm);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("unknown")]
    [InlineData("euler_b")]
    public void Unknown_names_do_not_parse(string? name)
    {
        Assert.False(SamplingNames.TryParseSampler(name, out _));
        Assert.False(SamplingNames.TryParseScheduler(name, out _));
    }

    [Fact]
    public void The_enums_have_as_many_values_as_upstream_declares()
    {
        // The generated enums end with a COUNT member; ours must cover exactly the values before it.
        Assert.Equal((int)sample_method_t.SAMPLE_METHOD_COUNT, Enum.GetValues<Sampler>().Length);
        Assert.Equal((int)scheduler_t.SCHEDULER_COUNT, Enum.GetValues<Scheduler>().Length);
        Assert.Equal(Enumerable.Range(0, Enum.GetValues<Sampler>().Length), Enum.GetValues<Sampler>().Select(s => (int)s));
        Assert.Equal(Enumerable.Range(0, Enum.GetValues<Scheduler>().Length), Enum.GetValues<Scheduler>().Select(s => (int)s));
    }

    [SkippableFact]
    public unsafe void The_names_are_upstreams_own()
    {
        NativeTestEnvironment.Require();
        var mismatches = new List<string>();
        foreach (var s in Enum.GetValues<Sampler>())
        {
            string? native = Marshal.PtrToStringUTF8((nint)Sd.sd_sample_method_name((sample_method_t)(int)s));
            if (native != s.Name()) mismatches.Add($"sampler {s}: ours {s.Name()}, upstream {native}");
            Assert.True(SamplingNames.TryParseSampler(native, out var parsed) && parsed == s, $"upstream's {native} parses as {s}");
        }
        foreach (var s in Enum.GetValues<Scheduler>())
        {
            string? native = Marshal.PtrToStringUTF8((nint)Sd.sd_scheduler_name((scheduler_t)(int)s));
            if (native != s.Name()) mismatches.Add($"scheduler {s}: ours {s.Name()}, upstream {native}");
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }
}
