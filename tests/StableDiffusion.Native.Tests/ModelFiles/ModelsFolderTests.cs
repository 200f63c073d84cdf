using StableDiffusion.Native.ModelFiles;
using static StableDiffusion.Native.Tests.ModelFiles.RawModelBytes;

namespace StableDiffusion.Native.Tests.ModelFiles;

public sealed class ModelsFolderTests : IDisposable
{
    private readonly TempDirectory temp = new("sdn-models");

    public void Dispose() => this.temp.Dispose();

    [Fact]
    public void List_reports_good_and_bad_files_without_throwing_and_skips_other_files()
    {
        this.temp.Put("good.safetensors", ValidSafetensors());
        this.temp.Put("broken.safetensors", Safetensors("{\"t\":", 0));
        this.temp.Put("old.ckpt", [.. "PK\x03\x04"u8, .. new byte[60]]);
        this.temp.Put("notes.txt", "hello"u8.ToArray());
        this.temp.Put("sub/nested.safetensors", ValidSafetensors());

        var entries = new ModelsFolder(this.temp.Path).List();

        Assert.Equal(["broken", "good", "old"], entries.Select(e => e.Name).Order(StringComparer.Ordinal));
        var good = entries.Single(e => e.Name == "good");
        Assert.True(good.IsValid);
        Assert.Null(good.Error);
        Assert.Equal(new FileInfo(good.Path).Length, good.Size);
        Assert.Equal(2, good.Info!.TensorCount);
        var broken = entries.Single(e => e.Name == "broken");
        Assert.False(broken.IsValid);
        Assert.Contains("broken.safetensors", broken.Error);
        Assert.NotNull(entries.Single(e => e.Name == "old").Error);
    }

    [Fact]
    public void A_missing_folder_lists_nothing()
        => Assert.Empty(new ModelsFolder(Path.Combine(this.temp.Path, "nope")).List());

    [Fact]
    public void Resolve_prefers_an_existing_path_then_a_unique_name()
    {
        string model = this.temp.Put("dreamy.safetensors", ValidSafetensors());
        var folder = new ModelsFolder(this.temp.Path);
        Assert.Equal(model, folder.Resolve(model));
        Assert.Equal(model, folder.Resolve("dreamy"));
        Assert.Equal(model, folder.Resolve("dreamy.safetensors"));

        // A file in the working directory with the name wins over the folder.
        string local = Path.GetRelativePath(Environment.CurrentDirectory, model);
        Assert.Equal(model, folder.Resolve(local));
    }

    [Fact]
    public void Resolve_names_are_case_sensitive_except_on_windows()
    {
        string model = this.temp.Put("Dreamy.safetensors", ValidSafetensors());
        var folder = new ModelsFolder(this.temp.Path);
        if (OperatingSystem.IsWindows())
        {
            Assert.Equal(model, folder.Resolve("dreamy"));
        }
        else
        {
            var ex = Assert.Throws<ArgumentException>(() => folder.Resolve("dreamy"));
            Assert.Contains("Dreamy", ex.Message); // offered as a close candidate
        }
    }

    [Fact]
    public void Resolve_reports_ambiguous_names_and_close_candidates()
    {
        this.temp.Put("sd15.safetensors", ValidSafetensors());
        this.temp.Put("sd15.gguf", ValidSafetensors());
        this.temp.Put("sdxl-base.safetensors", ValidSafetensors());
        var folder = new ModelsFolder(this.temp.Path);

        var ambiguous = Assert.Throws<ArgumentException>(() => folder.Resolve("sd15"));
        Assert.Contains("ambiguous", ambiguous.Message);
        Assert.Contains("sd15.gguf", ambiguous.Message);
        Assert.Contains("sd15.safetensors", ambiguous.Message);

        var missing = Assert.Throws<ArgumentException>(() => folder.Resolve("sdxl"));
        Assert.Contains("sdxl-base", missing.Message);
        Assert.Contains(this.temp.Path, missing.Message);

        var none = Assert.Throws<ArgumentException>(() => new ModelsFolder(Path.Combine(this.temp.Path, "nope")).Resolve("x"));
        Assert.Contains("does not exist", none.Message);
    }

}
