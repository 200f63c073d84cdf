using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.Tests.Generation;

/// <summary>Every bad argument is refused in managed code, with the offending property as ParamName.</summary>
public sealed class ValidationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"sdnet-validation-{Guid.NewGuid():N}");

    public ValidationTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A valid (one-tensor) safetensors file: the managed model-file check must pass so the check under test is reached.</summary>
    internal static string TinySafetensors(string path)
    {
        new SafetensorsWriter().Add("w", "F32", [1], new byte[4]).WriteFile(path);
        return path;
    }

    private static readonly ImageRequest Good = new() { Prompt = "a cat", Width = 64, Height = 64, Seed = 1, Sampling = new SamplingOptions { Steps = 2 } };

    private static void Refused<TException>(ImageRequest request, string paramName) where TException : ArgumentException
    {
        var e = Assert.Throws<TException>(() => Validation.Request(request));
        Assert.Equal(paramName, e.ParamName);
    }

    [Fact]
    public void A_good_request_passes()
    {
        Validation.Request(Good);
        Validation.Request(new ImageRequest());
        Validation.Request(Good with { Width = ImageRequest.MaxDimension, Height = 1, Strength = 0, Seed = 0, Sampling = Good.Sampling with { CfgScale = 0 } });
        Validation.Request(Good with { Strength = 1, Seed = long.MaxValue, BatchCount = ImageRequest.MaxBatchCount, Sampling = Good.Sampling with { Sampler = Sampler.Lms, Scheduler = Scheduler.Beta } });
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(-64)]
    [InlineData(int.MinValue)]
    [InlineData(ImageRequest.MaxDimension + 1)]
    [InlineData(int.MaxValue)]
    public void Bad_width_or_height(int value)
    {
        Refused<ArgumentOutOfRangeException>(Good with { Width = value }, "Width");
        Refused<ArgumentOutOfRangeException>(Good with { Height = value }, "Height");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(10_001)]
    public void Bad_steps(int steps) => Refused<ArgumentOutOfRangeException>(Good with { Sampling = Good.Sampling with { Steps = steps } }, "Sampling.Steps");

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData(ImageRequest.MaxBatchCount + 1)]
    public void Bad_batch_count(int count) => Refused<ArgumentOutOfRangeException>(Good with { BatchCount = count }, "BatchCount");

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(1.1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void Bad_strength(float strength) => Refused<ArgumentOutOfRangeException>(Good with { Strength = strength }, "Strength");

    [Theory]
    [InlineData(-1f)]
    [InlineData(-0.001f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void Bad_cfg_scale(float cfg) => Refused<ArgumentOutOfRangeException>(Good with { Sampling = Good.Sampling with { CfgScale = cfg } }, "Sampling.CfgScale");

    [Theory]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Bad_guidance_eta_and_control_strength(float value)
    {
        Refused<ArgumentOutOfRangeException>(Good with { Sampling = Good.Sampling with { Guidance = value } }, "Sampling.Guidance");
        Refused<ArgumentOutOfRangeException>(Good with { Sampling = Good.Sampling with { Eta = value } }, "Sampling.Eta");
        Refused<ArgumentOutOfRangeException>(Good with { ControlStrength = value }, "ControlStrength");
    }

    [Theory]
    [InlineData(-1L)]
    [InlineData(long.MinValue)]
    public void Negative_seed(long seed) => Refused<ArgumentOutOfRangeException>(Good with { Seed = seed }, "Seed");

    [Theory]
    [InlineData(-2)]
    [InlineData(13)]
    public void Bad_clip_skip(int clipSkip) => Refused<ArgumentOutOfRangeException>(Good with { ClipSkip = clipSkip }, "ClipSkip");

    [Fact]
    public void Undefined_sampler_or_scheduler()
    {
        Refused<ArgumentOutOfRangeException>(Good with { Sampling = Good.Sampling with { Sampler = (Sampler)Enum.GetValues<Sampler>().Length } }, "Sampling.Sampler");
        Refused<ArgumentOutOfRangeException>(Good with { Sampling = Good.Sampling with { Sampler = (Sampler)(-1) } }, "Sampling.Sampler");
        Refused<ArgumentOutOfRangeException>(Good with { Sampling = Good.Sampling with { Scheduler = (Scheduler)Enum.GetValues<Scheduler>().Length } }, "Sampling.Scheduler");
    }

    [Fact]
    public void Null_prompts_and_lists()
    {
        Assert.Equal("Prompt", Assert.Throws<ArgumentNullException>(() => Validation.Request(Good with { Prompt = null! })).ParamName);
        Assert.Equal("NegativePrompt", Assert.Throws<ArgumentNullException>(() => Validation.Request(Good with { NegativePrompt = null! })).ParamName);
        Assert.Equal("Loras", Assert.Throws<ArgumentNullException>(() => Validation.Request(Good with { Loras = null! })).ParamName);
        Assert.Throws<ArgumentNullException>(() => Validation.Request(null!));
    }

    [Fact]
    public void Missing_lora_file()
    {
        string missing = Path.Combine(_dir, "no-such-lora.safetensors");
        var e = Assert.Throws<ArgumentException>(() => Validation.Request(Good with { Loras = [new LoraReference(missing)] }));
        Assert.Equal("Loras", e.ParamName);
        Assert.Contains(missing, e.Message);
        Assert.IsType<FileNotFoundException>(e.InnerException);
        Refused<ArgumentException>(Good with { Loras = [new LoraReference("")] }, "Loras");
        Refused<ArgumentException>(Good with { Loras = [null!] }, "Loras");
    }

    [Theory]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    [InlineData(float.NaN)]
    public void Non_finite_lora_multiplier(float multiplier)
    {
        string lora = TinySafetensors(Path.Combine(_dir, "lora.safetensors"));
        Refused<ArgumentOutOfRangeException>(Good with { Loras = [new LoraReference(lora, multiplier)] }, "Loras");
        Validation.Request(Good with { Loras = [new LoraReference(lora, -2.5f)] });
    }

    [Fact]
    public void Init_image_of_another_size()
    {
        var init = ImageBuffer.Filled(PixelFormat.Rgb24, 32, 64, [0, 0, 0]);
        Refused<ArgumentException>(Good with { InitImage = init }, "InitImage");
        // Unset Width/Height take the init image's size.
        Validation.Request(Good with { Width = null, Height = null, InitImage = init });
    }

    [Fact]
    public void Mask_without_init_image()
    {
        var mask = ImageBuffer.Filled(PixelFormat.Gray8, 64, 64, [0]);
        Refused<ArgumentException>(Good with { Mask = mask }, "Mask");
    }

    [Fact]
    public void Mask_of_another_size()
    {
        var init = ImageBuffer.Filled(PixelFormat.Rgb24, 64, 64, [0, 0, 0]);
        var mask = ImageBuffer.Filled(PixelFormat.Gray8, 64, 32, [0]);
        Refused<ArgumentException>(Good with { InitImage = init, Mask = mask }, "Mask");
        var goodMask = ImageBuffer.Filled(PixelFormat.Gray8, 64, 64, [0]);
        Validation.Request(Good with { InitImage = init, Mask = goodMask });
    }

    [Fact]
    public void Control_image_of_another_size()
    {
        var control = ImageBuffer.Filled(PixelFormat.Rgb24, 128, 64, [0, 0, 0]);
        Refused<ArgumentException>(Good with { ControlImage = control }, "ControlImage");
        // Without Width/Height the output is 512×512 (no init image), which the control image must match too.
        Refused<ArgumentException>(new ImageRequest { ControlImage = control }, "ControlImage");
    }

    [Fact]
    public void Bad_generator_options()
    {
        string model = TinySafetensors(Path.Combine(_dir, "model.safetensors"));
        string missing = Path.Combine(_dir, "missing.safetensors");

        Assert.Equal("options", Assert.Throws<ArgumentException>(() => Validation.Options(new GeneratorOptions())).ParamName);
        Assert.Equal("ModelPath", Assert.Throws<ArgumentException>(() => Validation.Options(new GeneratorOptions { ModelPath = missing })).ParamName);
        Assert.Equal("VaePath", Assert.Throws<ArgumentException>(() => Validation.Options(new GeneratorOptions { ModelPath = model, VaePath = missing })).ParamName);
        Assert.Equal("TaesdPath", Assert.Throws<ArgumentException>(() => Validation.Options(new GeneratorOptions { ModelPath = model, TaesdPath = missing })).ParamName);
        Assert.Equal("ControlNetPath", Assert.Throws<ArgumentException>(() => Validation.Options(new GeneratorOptions { ModelPath = model, ControlNetPath = missing })).ParamName);
        Assert.Equal("Threads", Assert.Throws<ArgumentOutOfRangeException>(() => Validation.Options(new GeneratorOptions { ModelPath = model, Threads = 0 })).ParamName);
        Assert.Equal("Threads", Assert.Throws<ArgumentOutOfRangeException>(() => Validation.Options(new GeneratorOptions { ModelPath = model, Threads = 1025 })).ParamName);
        Assert.Equal("WeightType", Assert.Throws<ArgumentOutOfRangeException>(() => Validation.Options(new GeneratorOptions { ModelPath = model, WeightType = (global::StableDiffusion.Native.ModelFiles.QuantizationType)12345 })).ParamName);
        Assert.Equal("LoraApplyMode", Assert.Throws<ArgumentOutOfRangeException>(() => Validation.Options(new GeneratorOptions { ModelPath = model, LoraApplyMode = (LoraApplyMode)9 })).ParamName);
        Assert.Equal("Embeddings", Assert.Throws<ArgumentException>(() => Validation.Options(new GeneratorOptions { ModelPath = model, Embeddings = [new Embedding(" ", model)] })).ParamName);
        Assert.Equal("Embeddings", Assert.Throws<ArgumentException>(() => Validation.Options(new GeneratorOptions { ModelPath = model, Embeddings = [new Embedding("e", missing)] })).ParamName);
        Validation.Options(new GeneratorOptions { ModelPath = model, Threads = 1 });
        Validation.Options(new GeneratorOptions { DiffusionModelPath = model });
    }
}
