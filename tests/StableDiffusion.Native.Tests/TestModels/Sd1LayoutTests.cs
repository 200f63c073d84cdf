using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.Tests.TestModels;

public sealed class Sd1LayoutTests
{
    [SkippableFact]
    public void Full_size_layout_equals_the_tensors_upstream_expects_for_SD1()
    {
        string? table = ReferenceData.Sd1TensorTable;
        Skip.If(table is null, ReferenceData.SkipReason("sd1-tensors.tsv"));
        var expected = ReferenceData.ReadTensorTable(table!).ToDictionary(t => t.Name, t => t.Ne);
        var ours = Sd1Layout.Checkpoint(Sd1Layout.FullUnetChannels).ToDictionary(t => t.Name, t => t.Ne);

        Assert.Equal(1130, expected.Count);
        Assert.Empty(expected.Keys.Except(ours.Keys));
        Assert.Empty(ours.Keys.Except(expected.Keys));
        foreach (var (name, ne) in expected) Assert.True(ne.SequenceEqual(ours[name]), $"{name}: ours [{string.Join(',', ours[name])}], upstream [{string.Join(',', ne)}]");
    }

    [Fact]
    public void Tiny_layout_only_narrows_the_unet()
    {
        var full = Sd1Layout.Checkpoint(320);
        var tiny = Sd1Layout.Checkpoint(32);
        Assert.Equal(full.Select(t => t.Name), tiny.Select(t => t.Name));
        Assert.All(tiny.Zip(full).Where(p => !p.First.Name.StartsWith("model.diffusion_model.", StringComparison.Ordinal)),
            p => Assert.Equal(p.Second.Shape, p.First.Shape));
        Assert.Equal([32L, 4, 3, 3], tiny.Single(t => t.Name == "model.diffusion_model.input_blocks.0.0.weight").Shape);
    }

    [Fact]
    public void A_narrow_vae_decoder_changes_only_the_decoder()
    {
        var full = Sd1Layout.Checkpoint(32);
        var narrow = Sd1Layout.Checkpoint(32, vaeDecoderChannels: 32);
        Assert.Equal(full.Select(t => t.Name), narrow.Select(t => t.Name));
        var changed = narrow.Zip(full).Where(p => !p.First.Shape.SequenceEqual(p.Second.Shape)).Select(p => p.First.Name).ToList();
        Assert.NotEmpty(changed);
        Assert.All(changed, n => Assert.StartsWith("first_stage_model.decoder.", n, StringComparison.Ordinal));
        // Upstream reads the width from here: conv_in's outputs are the width times the last multiplier (4).
        Assert.Equal([128L, 4, 3, 3], narrow.Single(t => t.Name == "first_stage_model.decoder.conv_in.weight").Shape);
    }
}
