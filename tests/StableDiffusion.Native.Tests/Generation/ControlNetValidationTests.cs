using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.Tests.Generation;

/// <summary>
/// Upstream builds every ControlNet 320 channels wide and adds its outputs to the UNet's without a shape check:
/// another width aborts the process in a ggml assert. The widths are compared from the headers first.
/// </summary>
public sealed class ControlNetValidationTests : IDisposable
{
    private readonly TempDirectory _temp = new("sdnet-cn");

    private string Write(string name, string tensor, long channels)
    {
        string path = Path.Combine(_temp.Path, name);
        new SafetensorsWriter().Add(tensor, "F16", [channels, 4, 3, 3], new byte[channels * 4 * 9 * 2]).WriteFile(path);
        return path;
    }

    [Fact]
    public void A_controlnet_with_a_unet_of_another_width_is_refused_before_native_code()
    {
        string unet32 = Write("tiny.safetensors", "model.diffusion_model.input_blocks.0.0.weight", 32);
        string control = Write("control.safetensors", "control_model.input_blocks.0.0.weight", 320);
        bool loadedBefore = NativeRuntime.IsLoaded;

        var e = Assert.Throws<ArgumentException>(() => Generator.Load(new GeneratorOptions { ModelPath = unet32, ControlNetPath = control }));
        Assert.Equal("ControlNetPath", e.ParamName);
        Assert.Contains("320", e.Message);
        Assert.Equal(loadedBefore, NativeRuntime.IsLoaded);
    }

    [Fact]
    public void A_controlnet_file_of_another_width_than_a_320_channel_unet_is_refused()
    {
        string unet = Write("full.safetensors", "model.diffusion_model.input_blocks.0.0.weight", 320);
        string control = Write("control64.safetensors", "control_model.input_blocks.0.0.weight", 64);
        var e = Assert.Throws<ArgumentException>(() => Generator.Load(new GeneratorOptions { ModelPath = unet, ControlNetPath = control }));
        Assert.Equal("ControlNetPath", e.ParamName);
        Assert.Contains("64", e.Message);
    }

    public void Dispose() => _temp.Dispose();
}
