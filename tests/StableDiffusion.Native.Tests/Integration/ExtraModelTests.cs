using StableDiffusion.Native.Quantization;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.Tests.Integration;

/// <summary>
/// Auxiliary models end to end, with synthesized random-weight files: ControlNet (load-time and hot-swapped),
/// the ESRGAN upscaler, the TAESD decoder, and load-time q8_0 quantization.
/// </summary>
[Collection(NativeCollection.Name)]
public sealed class ExtraModelTests
{
    /// <summary>A vertical-stripes control image (an edge map, as a canny ControlNet would see it).</summary>
    private static ImageBuffer Stripes(int size = 64)
        => ImageBuffer.Create(PixelFormat.Rgb24, size, size, size, static (p, size) =>
        {
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                    p.Slice((y * size + x) * 3, 3).Fill(x % 8 < 2 ? (byte)255 : (byte)0);
        });

    private static ImageRequest OneStep(long seed = 5) => NativeTestEnvironment.Small(seed, steps: 1);

    [SkippableFact]
    public void ControlNet_from_the_options_steers_the_image()
    {
        NativeTestEnvironment.Require();
        string model = ExtraTestModels.Sd1ForControlNet();
        string controlNet = ExtraTestModels.Sd1ControlNet();
        var control = Stripes();
        using var generator = Generator.Load(new GeneratorOptions { ModelPath = model, ControlNetPath = controlNet, Threads = NativeTestEnvironment.Threads });
        Assert.True(generator.HasControlNet);

        var steered = generator.TextToImage(OneStep() with { ControlImage = control })[0];
        var free = generator.TextToImage(OneStep())[0];
        var again = generator.TextToImage(OneStep() with { ControlImage = control })[0];

        Assert.Equal((64, 64), (steered.Width, steered.Height));
        Assert.Equal((64, 64), (free.Width, free.Height));
        PixelAssert.Different(steered.Image, free.Image);
        PixelAssert.Identical(steered.Image, again.Image);
    }

    [SkippableFact]
    public void ControlNet_loads_and_unloads_on_a_live_generator()
    {
        NativeTestEnvironment.Require();
        string model = ExtraTestModels.Sd1ForControlNet();
        string controlNet = ExtraTestModels.Sd1ControlNet();
        var control = Stripes();
        using var generator = Generator.Load(new GeneratorOptions { ModelPath = model, Threads = NativeTestEnvironment.Threads });
        Assert.False(generator.HasControlNet);
        var before = generator.TextToImage(OneStep())[0];

        generator.LoadControlNet(controlNet);
        Assert.True(generator.HasControlNet);
        var steered = generator.TextToImage(OneStep() with { ControlImage = control })[0];
        PixelAssert.Different(before.Image, steered.Image);

        // Loading again replaces it (no leak, same result).
        generator.LoadControlNet(controlNet);
        Assert.True(generator.HasControlNet);
        var steeredAgain = generator.TextToImage(OneStep() with { ControlImage = control })[0];
        PixelAssert.Identical(steered.Image, steeredAgain.Image);

        generator.UnloadControlNet();
        Assert.False(generator.HasControlNet);
        // Without a ControlNet the control image is ignored: back to the plain image.
        var after = generator.TextToImage(OneStep() with { ControlImage = control })[0];
        PixelAssert.Identical(before.Image, after.Image);
        generator.UnloadControlNet(); // unloading twice is harmless
        Assert.False(generator.HasControlNet);

        Assert.Equal("path", Assert.Throws<ArgumentException>(() => generator.LoadControlNet(Path.Combine(Path.GetTempPath(), "no-such-controlnet.safetensors"))).ParamName);
    }

    [SkippableFact]
    public void A_file_that_is_not_a_ControlNet_is_refused_with_upstreams_reason()
    {
        NativeTestEnvironment.Require();
        using var generator = Generator.Load(new GeneratorOptions { ModelPath = ExtraTestModels.Sd1ForControlNet(), Threads = NativeTestEnvironment.Threads });
        var e = Assert.Throws<GenerationException>(() => generator.LoadControlNet(ExtraTestModels.Esrgan()));
        Assert.NotEmpty(e.NativeLog);
        Assert.False(generator.HasControlNet);
    }

    [SkippableTheory]
    [InlineData(4)]
    [InlineData(2)]
    public void Esrgan_upscales_by_the_models_factor(int scale)
    {
        NativeTestEnvironment.Require();
        using var upscaler = Upscaler.Load(ExtraTestModels.Esrgan(blocks: 1, scale: scale), threads: 2);
        Assert.Equal(scale, upscaler.Factor);
        var input = Stripes();

        var output = upscaler.Upscale(input);

        Assert.Equal((64 * scale, 64 * scale), (output.Width, output.Height));
        Assert.True(PixelAssert.Bytes(output).Distinct().Count() > 8, "the network produced an image, not a constant");
        var again = upscaler.Upscale(input);
        PixelAssert.Identical(output, again);
    }

    [SkippableFact]
    public void Esrgan_refuses_bad_factors_before_calling_native_code()
    {
        NativeTestEnvironment.Require();
        using var upscaler = Upscaler.Load(ExtraTestModels.Esrgan(), threads: 2);
        var input = Stripes(8);
        Assert.Equal("factor", Assert.Throws<ArgumentOutOfRangeException>(() => upscaler.Upscale(input, 0)).ParamName);
        Assert.Equal("factor", Assert.Throws<ArgumentOutOfRangeException>(() => upscaler.Upscale(input, 17)).ParamName);
        // Upstream ignores any factor but the model's, so another one is refused rather than silently not applied.
        Assert.Equal("factor", Assert.Throws<ArgumentOutOfRangeException>(() => upscaler.Upscale(input, upscaler.Factor == 2 ? 4 : 2)).ParamName);
        // A result wider than an ImageBuffer can hold is refused before upstream spends minutes on it.
        var wide = ImageBuffer.Filled(PixelFormat.Rgb24, ImageBuffer.MaxDimension / upscaler.Factor + 1, 1, [0, 0, 0]);
        Assert.Equal("image", Assert.Throws<ArgumentOutOfRangeException>(() => upscaler.Upscale(wide)).ParamName);
        upscaler.Dispose();
        Assert.Throws<ObjectDisposedException>(() => upscaler.Upscale(input));
    }

    [SkippableFact]
    public void Taesd_decodes_instead_of_the_vae()
    {
        NativeTestEnvironment.Require();
        string taesd = ExtraTestModels.Taesd();
        using var tiny = Generator.Load(NativeTestEnvironment.TinyOptions with { TaesdPath = taesd });
        var withTaesd = tiny.TextToImage(OneStep())[0];
        var again = tiny.TextToImage(OneStep())[0];

        Assert.Equal((64, 64), (withTaesd.Width, withTaesd.Height));
        Assert.True(PixelAssert.Bytes(withTaesd.Image).Distinct().Count() > 8);
        PixelAssert.Identical(withTaesd.Image, again.Image);

        using var plain = Generator.Load(NativeTestEnvironment.TinyOptions);
        var withVae = plain.TextToImage(OneStep())[0];
        PixelAssert.Different(withVae.Image, withTaesd.Image);
    }

    [SkippableFact]
    public void Q8_0_weight_type_loads_and_generates()
    {
        NativeTestEnvironment.Require();
        // Upstream's own conversion while loading (the quantize-once cache is tested on its own).
        using var generator = Generator.Load(NativeTestEnvironment.TinyOptions with
        {
            WeightType = QuantizationType.Q8_0,
            QuantizationCache = QuantizationCacheMode.Off,
        });
        var image = generator.TextToImage(OneStep())[0];
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.True(PixelAssert.Bytes(image.Image).Distinct().Count() > 8);
    }
}
