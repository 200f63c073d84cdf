namespace StableDiffusion.Native.Tests.Native;

/// <summary>
/// Bad arguments are refused before native code is reached: every path into native code asks the loader for the
/// runtime first, and the loader counts those requests per thread, so the count must not move whether or not
/// another test has loaded the runtime already.
/// </summary>
[Collection(NativeEnvironmentCollection.Name)]
public sealed class NoNativeCallTests
{
    [Fact]
    public void Generator_Load_refuses_bad_options_without_touching_the_runtime()
    {
        using var temp = new TempDirectory();
        string model = Generation.ValidationTests.TinySafetensors(Path.Combine(temp.Path, "model.safetensors"));
        string missing = Path.Combine(temp.Path, "missing.safetensors");
        int before = StableDiffusion.Native.Native.NativeRuntimeLoader.LoadRequestsOnThisThread;

        var noModel = Assert.Throws<ArgumentException>(() => Generator.Load(new GeneratorOptions()));
        Assert.Equal("options", noModel.ParamName);
        var missingFile = Assert.Throws<ArgumentException>(() => Generator.Load(new GeneratorOptions { ModelPath = missing }));
        Assert.Equal("ModelPath", missingFile.ParamName);
        Assert.Contains(missing, missingFile.Message);
        var threads = Assert.Throws<ArgumentOutOfRangeException>(() => Generator.Load(new GeneratorOptions { ModelPath = model, Threads = 0 }));
        Assert.Equal("Threads", threads.ParamName);
        Assert.Throws<ArgumentNullException>(() => Generator.Load(null!));
        var async = Assert.Throws<ArgumentOutOfRangeException>(() => { _ = Generator.LoadAsync(new GeneratorOptions { ModelPath = model, Threads = -1 }); });
        Assert.Equal("Threads", async.ParamName);

        var upscaler = Assert.Throws<ArgumentException>(() => Upscaler.Load(missing));
        Assert.Equal("modelPath", upscaler.ParamName);
        Assert.Equal("threads", Assert.Throws<ArgumentOutOfRangeException>(() => Upscaler.Load(model, threads: 0)).ParamName);
        Assert.Equal("tileSize", Assert.Throws<ArgumentOutOfRangeException>(() => Upscaler.Load(model, tileSize: 8)).ParamName);

        Assert.Equal("TensorTypeRules", Assert.Throws<ArgumentException>(() => Generator.Load(new GeneratorOptions { ModelPath = model, TensorTypeRules = "x" })).ParamName);

        Assert.Equal(before, StableDiffusion.Native.Native.NativeRuntimeLoader.LoadRequestsOnThisThread);
    }

    [Fact]
    public void The_counter_moves_when_native_code_is_reached()
    {
        // Without this, the test above could pass by a counter that never counts.
        int before = StableDiffusion.Native.Native.NativeRuntimeLoader.LoadRequestsOnThisThread;
        try
        {
            NativeRuntime.Describe();
        }
        catch (NativeRuntimeException)
        {
            // No runtime on this machine: the request was still made.
        }
        Assert.Equal(before + 1, StableDiffusion.Native.Native.NativeRuntimeLoader.LoadRequestsOnThisThread);
    }
}
