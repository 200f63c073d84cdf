namespace StableDiffusion.Native.Tests.Generation;

/// <summary>The phase inference from upstream's log lines, in the order upstream writes them.</summary>
public sealed class GenerationPhaseTrackerTests
{
    [Fact]
    public void A_batch_goes_loading_sampling_decoding_per_image()
    {
        var t = new GenerationPhaseTracker();
        Assert.Equal((GenerationPhase.Loading, 0), (t.Phase, t.Image));
        t.Observe("generating image: 1/2 - seed 42");
        Assert.Equal((GenerationPhase.Sampling, 0), (t.Phase, t.Image));
        t.Observe("sampling completed, taking 1.00s");
        Assert.Equal(GenerationPhase.Sampling, t.Phase);
        t.Observe("generating image: 2/2 - seed 43");
        Assert.Equal((GenerationPhase.Sampling, 1), (t.Phase, t.Image));
        t.Observe("decoding 2 latents");
        Assert.Equal((GenerationPhase.Decoding, 1), (t.Phase, t.Image));
    }

    [Fact]
    public void Lazy_loading_inside_a_phase_reports_loading_then_resumes_it()
    {
        var t = new GenerationPhaseTracker();
        t.Observe("generating image: 1/1 - seed 1");
        t.Observe("loading 1130 tensors from model.safetensors");
        Assert.Equal(GenerationPhase.Loading, t.Phase);
        t.Observe("loading tensors completed, taking 0.50s");
        Assert.Equal(GenerationPhase.Sampling, t.Phase);
        t.Observe("decoding 1 latents");
        t.Observe("loading 248 tensors from vae.safetensors");
        Assert.Equal(GenerationPhase.Loading, t.Phase);
        t.Observe("loading tensors completed, taking 0.10s");
        Assert.Equal(GenerationPhase.Decoding, t.Phase);
    }

    [Fact]
    public void A_video_goes_loading_sampling_per_stage_then_decoding()
    {
        var t = new GenerationPhaseTracker();
        t.Observe("generate_video 32x32x5");
        Assert.Equal(GenerationPhase.Loading, t.Phase);
        t.Observe("sample(high noise) 4x4x2");
        Assert.Equal(GenerationPhase.Sampling, t.Phase);
        t.Observe("loading 825 tensors from wan.gguf");
        Assert.Equal(GenerationPhase.Loading, t.Phase);
        t.Observe("loading tensors completed, taking 0.80s");
        Assert.Equal(GenerationPhase.Sampling, t.Phase);
        t.Observe("sampling(high noise) completed, taking 12.98s");
        t.Observe("sample 4x4x2");
        Assert.Equal(GenerationPhase.Sampling, t.Phase);
        t.Observe("sampling completed, taking 35.11s");
        t.Observe("decode_video_outputs latent 4x4x2x16");
        Assert.Equal((GenerationPhase.Decoding, 0), (t.Phase, t.Image));
    }

    [Theory]
    [InlineData("sample_method: euler")]
    [InlineData("sampling using Euler method")]
    [InlineData("decode_video_outputs decoded 32x32x5x3")]
    public void Lines_that_only_look_like_video_phases_change_nothing(string line)
    {
        var t = new GenerationPhaseTracker();
        t.Observe(line);
        Assert.Equal(GenerationPhase.Loading, t.Phase);
    }

    [Theory]
    [InlineData("generating image: x/2 - seed 1")]
    [InlineData("generating image: /2")]
    [InlineData("generating image: 0/2")]
    [InlineData("generating image: ")]
    public void A_malformed_image_counter_changes_the_phase_but_not_the_image(string line)
    {
        var t = new GenerationPhaseTracker();
        t.Observe("generating image: 3/4 - seed 1");
        t.Observe(line);
        Assert.Equal((GenerationPhase.Sampling, 2), (t.Phase, t.Image));
    }

    [Theory]
    [InlineData("loading model from 'x'")]
    [InlineData("decoded")]
    [InlineData("")]
    public void Other_lines_change_nothing(string line)
    {
        var t = new GenerationPhaseTracker();
        t.Observe("generating image: 1/1 - seed 1");
        t.Observe(line);
        Assert.Equal(GenerationPhase.Sampling, t.Phase);
    }
}
