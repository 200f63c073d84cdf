using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.Tests.Integration;

[Collection(NativeCollection.Name)]
public sealed class GenerationTests(TinyGeneratorFixture fixture)
{
    [SkippableFact]
    public void TextToImage_gives_an_rgb_image_of_the_requested_size_with_its_parameters()
    {
        var images = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 42));
        var image = Assert.Single(images);
        Assert.Equal(64, image.Width);
        Assert.Equal(64, image.Height);
        Assert.Equal(42, image.Seed);
        Assert.Equal(Sampler.Euler, image.Parameters.Sampler);
        Assert.NotNull(image.Parameters.Scheduler);
        Assert.Equal(Path.GetFileName(NativeTestEnvironment.TinySd1), image.Parameters.Model);
        // Random weights still give a non-constant image: the pipeline ran end to end.
        Assert.True(PixelAssert.Bytes(image.Image).Distinct().Count() > 8);
    }

    [SkippableFact]
    public void Same_seed_gives_identical_pixels_and_different_seeds_differ()
    {
        var a = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 7))[0];
        var b = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 7))[0];
        var c = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 8))[0];
        PixelAssert.Identical(a.Image, b.Image);
        PixelAssert.Different(a.Image, c.Image);
    }

    [SkippableFact]
    public void Unset_seed_is_chosen_in_managed_code_and_reported()
    {
        var request = NativeTestEnvironment.Small() with { Seed = null };
        var first = fixture.Generator.TextToImage(request)[0];
        var again = fixture.Generator.TextToImage(request with { Seed = first.Seed })[0];
        Assert.InRange(first.Seed, 0, (1L << 32) - 1);
        PixelAssert.Identical(first.Image, again.Image);
    }

    [SkippableFact]
    public void Batch_of_three_reports_consecutive_seeds_and_each_image_reproduces_alone()
    {
        var batch = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 100) with { BatchCount = 3 });
        Assert.Equal(3, batch.Count);
        Assert.Equal(new long[] { 100, 101, 102 }, batch.Select(i => i.Seed));
        var single = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 101))[0];
        PixelAssert.Identical(batch[1].Image, single.Image);
        PixelAssert.Different(batch[0].Image, batch[1].Image);
    }

    [SkippableFact]
    public void An_image_reproduces_from_the_parameters_read_back_from_its_png()
    {
        var original = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 1234).WithSampling(s => s with { CfgScale = 5.5f }) with { NegativePrompt = "fog, blur" })[0];
        string path = Path.Combine(Path.GetTempPath(), $"sdnet-roundtrip-{Guid.NewGuid():N}.png");
        try
        {
            original.SaveAsPng(path);
            var p = GenerationParameters.Read(path)!;
            Assert.Equal(original.Parameters with { Extra = p.Extra }, p);
            var again = fixture.Generator.TextToImage(new ImageRequest
            {
                Prompt = p.Prompt, NegativePrompt = p.NegativePrompt, Width = p.Width, Height = p.Height, Seed = p.Seed, ClipSkip = p.ClipSkip,
                Sampling = new SamplingOptions { Steps = p.Steps, CfgScale = p.CfgScale, Sampler = p.Sampler, Scheduler = p.Scheduler },
            })[0];
            PixelAssert.Identical(original.Image, again.Image);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableFact]
    public void Sizes_are_rounded_up_by_upstream_and_the_result_reports_the_real_size()
    {
        var image = fixture.Generator.TextToImage(NativeTestEnvironment.Small() with { Width = 70, Height = 64 })[0];
        Assert.Equal(image.Image.Width, image.Parameters.Width);
        Assert.Equal(128, image.Width); // SD1 works in multiples of 64: 70 rounds up
    }

    [SkippableFact]
    public void ImageToImage_and_Inpaint_keep_the_size_and_differ_from_text_to_image()
    {
        var baseline = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 5))[0];
        var init = ImageBuffer.Filled(PixelFormat.Rgb24, 64, 64, [100, 149, 237]);
        var img2img = fixture.Generator.ImageToImage(NativeTestEnvironment.Small(seed: 5) with { InitImage = init, Strength = 0.6f })[0];
        Assert.Equal(64, img2img.Width);
        Assert.Equal(0.6f, img2img.Parameters.Strength);
        PixelAssert.Different(baseline.Image, img2img.Image);

        var mask = ImageBuffer.Create(PixelFormat.Gray8, 64, 64, 0, static (m, _) =>
        {
            for (int y = 16; y < 48; y++) m.Slice(y * 64 + 16, 32).Fill(255);
        });
        var inpainted = fixture.Generator.Inpaint(NativeTestEnvironment.Small(seed: 5) with { InitImage = init, Mask = mask, Strength = 1f })[0];
        Assert.Equal(64, inpainted.Height);
        PixelAssert.Different(baseline.Image, inpainted.Image);
        PixelAssert.Different(img2img.Image, inpainted.Image);
    }

    [SkippableFact]
    public void Previews_arrive_per_step_for_the_requesting_call_only()
    {
        var frames = new List<PreviewFrame>();
        var image = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 4, steps: 3) with { Preview = new SyncPreview(frames.Add) })[0];
        Assert.Equal(3, frames.Count);
        Assert.All(frames, f => Assert.Equal(64 / 8, f.Image.Width));
        Assert.Equal(frames.Select(f => f.Step).Order(), frames.Select(f => f.Step));

        // A second call without a preview sink: the callback is uninstalled again, no frame of it reaches the first
        // call's sink, and the result is unchanged by previews.
        var again = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 4, steps: 3))[0];
        Assert.Equal(3, frames.Count);
        PixelAssert.Identical(image.Image, again.Image);
    }

    [SkippableFact]
    public void Hires_fix_generates_at_the_scaled_size()
    {
        var image = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 21) with { Hires = new HiresFix(Scale: 2f, Steps: 1) })[0];
        Assert.Equal(128, image.Width);
        Assert.Equal(128, image.Height);
        Assert.Equal(128, image.Parameters.Width);
    }

    [SkippableFact]
    public void A_lora_changes_the_image()
    {
        NativeTestEnvironment.Require();
        string lora = TestModelFactory.Sd1Lora(unetChannels: 32);
        var baseline = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 9))[0];
        var withLora = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 9) with { Loras = [new LoraReference(lora, 1f)] })[0];
        var again = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 9))[0];
        PixelAssert.Different(baseline.Image, withLora.Image);
        // Per request: the next call without the LoRA is back to the baseline.
        PixelAssert.Identical(baseline.Image, again.Image);
    }

    [SkippableFact]
    public async Task Progress_reports_every_sampling_step_in_order_on_the_generating_thread_before_the_call_returns()
    {
        var reports = new List<GenerationProgress>();
        var threads = new HashSet<int>();
        // The public way to keep that order (README's quick start): InlineProgress, not Progress<T>.
        var progress = new InlineProgress<GenerationProgress>(r =>
        {
            lock (reports)
            {
                reports.Add(r);
                threads.Add(Environment.CurrentManagedThreadId);
            }
        });
        var image = (await fixture.Generator.TextToImageAsync(NativeTestEnvironment.Small(steps: 4), progress))[0];
        Assert.Single(threads);
        var sampling = reports.Where(r => r.Phase == GenerationPhase.Sampling).Select(r => r.Step).ToList();
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, sampling);
        Assert.All(reports.Where(r => r.Phase == GenerationPhase.Sampling), r => Assert.Equal(4, r.Steps));
        Assert.True(reports.Select(r => r.Elapsed).SequenceEqual(reports.Select(r => r.Elapsed).Order()));
    }

    [SkippableFact]
    public void Use_after_dispose_throws_and_dispose_twice_is_safe()
    {
        NativeTestEnvironment.Require();
        var generator = Generator.Load(NativeTestEnvironment.TinyOptions);
        generator.Dispose();
        generator.Dispose();
        Assert.Throws<ObjectDisposedException>(() => generator.TextToImage(NativeTestEnvironment.Small()));
        Assert.Throws<ObjectDisposedException>(() => generator.UnloadControlNet());
    }

    [SkippableFact]
    public void A_missing_model_fails_before_native_code_and_a_non_model_fails_with_the_native_error()
    {
        NativeTestEnvironment.Require();
        var missing = Assert.Throws<ArgumentException>(() => Generator.Load(new GeneratorOptions { ModelPath = "/nonexistent/model.safetensors" }));
        Assert.Equal("ModelPath", missing.ParamName);

        // A valid safetensors file that holds no diffusion model: upstream refuses it, and says why.
        string path = Path.Combine(Path.GetTempPath(), $"sdnet-not-a-model-{Guid.NewGuid():N}.safetensors");
        try
        {
            new SafetensorsWriter().Add("just.a.tensor", "F32", [4], new byte[16]).WriteFile(path);
            var failure = Assert.Throws<GenerationException>(() => Generator.Load(new GeneratorOptions { ModelPath = path }));
            Assert.NotEmpty(failure.NativeLog);
            Assert.Contains(failure.NativeLog, l => l.StartsWith("error:", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

internal sealed class SyncPreview(Action<PreviewFrame> onReport) : IProgress<PreviewFrame>
{
    public void Report(PreviewFrame value) => onReport(value);
}

/// <summary>Reports on the calling thread, in order (System.Progress posts to the thread pool).</summary>
internal sealed class SyncProgress(Action<GenerationProgress> onReport) : IProgress<GenerationProgress>
{
    public void Report(GenerationProgress value) => onReport(value);
}
