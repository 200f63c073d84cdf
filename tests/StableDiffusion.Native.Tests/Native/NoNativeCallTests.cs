namespace StableDiffusion.Native.Tests.Native;

/// <summary>
/// Bad arguments are refused before the runtime is even loaded: in a process where nothing loaded it yet
/// (CI without a runtime, or this collection running first), it stays unloaded.
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
        bool loadedBefore = NativeRuntime.IsLoaded;

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

        Assert.Equal(loadedBefore, NativeRuntime.IsLoaded);
    }
}
