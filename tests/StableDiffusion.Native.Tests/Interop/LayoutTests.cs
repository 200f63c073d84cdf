using StableDiffusion.Native.Interop;
using Xunit;

namespace StableDiffusion.Native.Tests.Interop;

/// <summary>
/// The committed layout table holds sizeof/offsetof as libclang computed them from stable-diffusion.h; the C#
/// structs generated from the same header must lay out identically, or every native call would corrupt memory.
/// </summary>
public sealed class LayoutTests
{
    [Fact]
    public void ManagedLayoutMatchesClangLayout()
    {
        var facts = SdLayout.Facts;
        long[] managed = SdLayout.ManagedValues();

        Assert.Equal(facts.Length, managed.Length);
        var mismatches = facts.Zip(managed)
            .Where(p => p.First.Value != p.Second)
            .Select(p => $"{p.First.Name}: clang {p.First.Value}, C# {p.Second}")
            .ToList();
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    [Fact]
    public void FactsAreUniqueAndEachStructPrecedesItsFields()
    {
        var names = SdLayout.Facts.Select(f => f.Name).ToList();
        Assert.NotEmpty(names);
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());

        string? currentStruct = null;
        foreach (string name in names)
        {
            int dot = name.IndexOf('.');
            if (dot < 0) currentStruct = name;
            else Assert.Equal(currentStruct, name[..dot]);
        }
        Assert.All(SdLayout.Facts, f => Assert.True(f.Value >= 0, f.Name));
    }

    [Fact]
    public void KnownUpstreamStructsHaveTheirX64Layout()
    {
        var facts = SdLayout.Facts.ToDictionary(f => f.Name, f => f.Value);
        Assert.Equal(24, facts["sd_image_t"]);
        Assert.Equal(16, facts["sd_image_t.data"]);
        Assert.Equal(16, facts["sd_embedding_t"]);
        Assert.Equal(1, facts["sd_tiling_params_t.temporal_tiling"]);
    }
}
