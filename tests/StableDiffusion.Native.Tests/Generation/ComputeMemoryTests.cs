using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.Tests.Generation;

/// <summary>The least working memory of a generation, read from the model's attention layers (no native code).</summary>
public sealed class ComputeMemoryTests
{
    private static AttentionProfile ProfileOf(string checkpoint) => AttentionProfile.Of(ModelFile.Open(checkpoint), null, null);

    [Fact]
    public void Sd1_attends_with_8_heads_at_the_full_latent_and_its_vae_attends_too()
    {
        // 8 heads by the 768-wide context, whatever the UNet's width (32 channels here, 320 in the real one).
        Assert.Equal(new AttentionProfile(8, 8, "UNet", true), ProfileOf(TestModelFactory.Sd1(unetChannels: 32)));
    }

    [Fact]
    public void Sdxl_first_attends_at_half_the_latent_and_sd2_at_the_full_one_with_a_head_per_64_channels()
    {
        var sdxl = ProfileOf(FamilyTestModels.Sdxl());
        Assert.Equal(16, sdxl.PixelsPerPosition);
        var sd2 = ProfileOf(FamilyTestModels.Sd2());
        Assert.Equal(8, sd2.PixelsPerPosition);
        Assert.True(sd2.VaeAttention && sdxl.VaeAttention);
        Assert.Equal("UNet", sd2.Network);
    }

    [Fact]
    public void A_separate_diffusion_model_and_vae_are_read_where_the_checkpoint_has_neither()
    {
        var profile = AttentionProfile.Of(null, ModelFile.Open(TestModelFactory.Sd1(unetChannels: 32)), null);
        Assert.Equal(8, profile.PixelsPerPosition);
        Assert.Equal(AttentionProfile.None, AttentionProfile.Of(null, null, null));
    }

    [Fact]
    public void Diffusion_transformers_attend_over_16_pixel_patches_with_heads_from_their_width()
    {
        // The synthesized Flux is 128 wide (one 128-channel head), SD3 24 wide (heads of 64: at least one), Z-Image 256 (two).
        var flux = ProfileOf(FamilyTestModels.Flux().DiffusionModel);
        Assert.Equal(new AttentionProfile(16, 1, "diffusion transformer", false), flux);
        Assert.Equal(16, ProfileOf(FamilyTestModels.Sd3().DiffusionModel).PixelsPerPosition);
        var zimage = ProfileOf(FamilyTestModels.ZImage().DiffusionModel);
        Assert.Equal((16, 2), (zimage.PixelsPerPosition, zimage.Heads));
        Assert.Equal(16, ProfileOf(FamilyTestModels.QwenImage().DiffusionModel).PixelsPerPosition);
        // Flux at 2048×2048 with its real 24 heads: 16,384 image positions, 25.8 GB of scores.
        var real = new AttentionProfile(16, 24, "diffusion transformer", false);
        Assert.Equal(4.0 * 16_384 * 16_384 * 24, ComputeMemory.LowerBound(real, new GeneratorOptions { DiffusionModelPath = "x" }, 2048, 2048, vaeTiled: false).Bytes);
    }

    [Fact]
    public void Sd1_at_1280_needs_the_21_GB_score_matrix_that_killed_the_process_and_at_512_half_a_GB()
    {
        var sd1 = new AttentionProfile(8, 8, "UNet", true);
        var options = new GeneratorOptions { ModelPath = "x" };
        // 160×160 = 25,600 positions, 8 heads, 4 bytes each.
        Assert.Equal(4.0 * 25_600 * 25_600 * 8, ComputeMemory.LowerBound(sd1, options, 1280, 1280, vaeTiled: false).Bytes);
        Assert.Equal(4.0 * 4096 * 4096 * 8, ComputeMemory.LowerBound(sd1, options, 512, 512, vaeTiled: false).Bytes);
        var sdxl = new AttentionProfile(16, 10, "UNet", true);
        // SDXL's first attention sees a quarter of the positions: at 1024×1024 the VAE's one head over 16,384 is larger.
        var (bytes, what) = ComputeMemory.LowerBound(sdxl, options, 1024, 1024, vaeTiled: false);
        Assert.Equal(4.0 * 16_384 * 16_384, bytes);
        Assert.StartsWith("the VAE", what);
    }

    [Fact]
    public void Flash_attention_tiling_and_a_taesd_decode_each_take_their_matrix_out()
    {
        var sd1 = new AttentionProfile(8, 8, "UNet", true);
        var plain = new GeneratorOptions { ModelPath = "x" };
        double vae = 4.0 * 16_384 * 16_384;
        Assert.Equal(vae, ComputeMemory.LowerBound(sd1, plain with { DiffusionFlashAttention = true }, 1024, 1024, vaeTiled: false).Bytes);
        Assert.Equal(0, ComputeMemory.LowerBound(sd1, plain with { FlashAttention = true }, 1024, 1024, vaeTiled: false).Bytes);
        Assert.Equal(0, ComputeMemory.LowerBound(sd1, plain with { DiffusionFlashAttention = true }, 1024, 1024, vaeTiled: true).Bytes);
        Assert.Equal(0, ComputeMemory.LowerBound(sd1, plain with { DiffusionFlashAttention = true, TaesdPath = "t" }, 1024, 1024, vaeTiled: false).Bytes);
        Assert.Equal(vae, ComputeMemory.LowerBound(sd1, plain with { DiffusionFlashAttention = true, TaesdPath = "t", TaePreviewOnly = true }, 1024, 1024, vaeTiled: false).Bytes);
    }

    [Fact]
    public void What_the_process_can_get_is_positive_and_within_the_machine()
    {
        long available = AvailableMemory.Bytes();
        Assert.InRange(available, 1, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes + (1L << 40));
    }

    [Fact]
    public void A_generation_past_what_the_process_can_get_is_refused_naming_the_need_and_the_remedies()
    {
        var sd1 = new AttentionProfile(8, 8, "UNet", true);
        var e = Assert.Throws<GenerationTooLargeException>(() => ComputeMemory.EnsureFits(sd1, new GeneratorOptions { ModelPath = "x" }, 8192, 8192, vaeTiled: false));
        Assert.Equal((long)(4.0 * 1_048_576 * 1_048_576 * 8), e.RequiredBytes);
        Assert.True(e.AvailableBytes < e.RequiredBytes);
        Assert.Contains("8192x8192", e.Message);
        Assert.Contains("UNet", e.Message);
        Assert.Contains("DiffusionFlashAttention", e.Message);
        // What fits is let through.
        ComputeMemory.EnsureFits(sd1, new GeneratorOptions { ModelPath = "x" }, 64, 64, vaeTiled: false);
    }
}
