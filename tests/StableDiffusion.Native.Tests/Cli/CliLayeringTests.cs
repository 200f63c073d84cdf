using StableDiffusion.Native.Tests.Layering;
using Xunit.Abstractions;

namespace StableDiffusion.Native.Tests.Cli;

/// <summary>
/// The sdnet tool's rooms, bound with the compiler like the core's: SdCli (the sd-cli compatible generate, video and
/// upscale commands) and Serve (the HTTP server) are siblings that never use each other; both may use the tool's
/// root (shared model loading, messages, logging), which in turn only wires them into commands.
/// </summary>
public sealed class CliLayeringTests(ITestOutputHelper output)
{
    private static readonly Lazy<IReadOnlyList<TypeUse>> s_uses = new(() =>
    {
        var probe = new LayeringProbe("StableDiffusion.Native.Cli");
        Assert.Equal(["SdCli", "Serve"], probe.Folders().Order());
        return probe.Analyze(probe.TrustedReferences(), Microsoft.CodeAnalysis.OutputKind.ConsoleApplication).Uses;
    });

    [Fact]
    public void The_analysis_sees_the_tool()
    {
        var uses = s_uses.Value;
        foreach (var use in uses.Select(u => $"{u.FromRoom} -> {u.ToRoom}").Distinct().Order()) output.WriteLine(use);
        Assert.True(uses.Count > 50, $"the analysis saw only {uses.Count} cross-room uses: it is not looking");
    }

    [Fact]
    public void SdCli_and_Serve_do_not_use_each_other()
    {
        var crossing = s_uses.Value.Where(u => (u.FromRoom, u.ToRoom) is ("SdCli", "Serve") or ("Serve", "SdCli"))
            .Select(u => $"{u.FromType} uses {u.ToType} at {u.Location}").Distinct().ToList();
        Assert.True(crossing.Count == 0, string.Join("\n", crossing));
    }
}
