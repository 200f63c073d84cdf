using StableDiffusion.Native.Quantization;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Tests.Native;
using static StableDiffusion.Native.Tests.ModelFiles.RawModelBytes;

namespace StableDiffusion.Native.Tests.ModelFiles;

/// <summary>The default folders and their environment overrides (process-wide state: run alone).</summary>
[Collection(NativeEnvironmentCollection.Name)]
public sealed class DefaultFolderTests : IDisposable
{
    private readonly TempDirectory temp = new("sdn-folders");

    public void Dispose() => this.temp.Dispose();

    [Fact]
    public void The_model_cache_folder_follows_its_environment_variable()
    {
        using var env = new EnvironmentScope().Set(QuantizedModelCache.DirectoryVariable, this.temp.Path);
        Assert.Equal(this.temp.Path, new QuantizedModelCache().Directory);
        env.Set(QuantizedModelCache.DirectoryVariable, null);
        Assert.EndsWith(Path.Combine("stable-diffusion-native", "models"), QuantizedModelCache.DefaultDirectory);
    }

    [Fact]
    public void The_models_folder_follows_its_environment_variable_and_resolves_names_there()
    {
        using var env = new EnvironmentScope().Set(ModelsFolder.DirectoryVariable, this.temp.Path);
        Assert.Equal(this.temp.Path, new ModelsFolder().Directory);
        string model = this.temp.Put("m.safetensors", ValidSafetensors());
        Assert.Equal(model, GeneratorOptions.FromModel("m").ModelPath);
        env.Set(ModelsFolder.DirectoryVariable, null);
        Assert.EndsWith(Path.Combine("stable-diffusion-native", "models"), ModelsFolder.DefaultDirectory);
        Assert.Equal(this.temp.Path, new ModelsFolder(this.temp.Path).Directory);
    }

    [Fact]
    public void User_models_and_cached_conversions_never_share_a_folder()
    {
        using var env = new EnvironmentScope()
            .Set(QuantizedModelCache.DirectoryVariable, null)
            .Set(ModelsFolder.DirectoryVariable, null)
            .Set(StableDiffusion.Native.Native.NativeLocator.CacheVariable, null);
        string models = ModelsFolder.DefaultDirectory, cache = QuantizedModelCache.DefaultDirectory, runtimes = StableDiffusion.Native.Native.NativeLocator.CacheRoot();
        Assert.NotEqual(models, cache);
        Assert.False(cache.StartsWith(models + Path.DirectorySeparatorChar, StringComparison.Ordinal));
        Assert.StartsWith(runtimes + Path.DirectorySeparatorChar, cache); // converted models are cache, beside the runtimes
    }
}
