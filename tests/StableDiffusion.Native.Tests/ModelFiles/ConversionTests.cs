using StableDiffusion.Native.Quantization;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Tests.Integration;
using static StableDiffusion.Native.Tests.ModelFiles.RawModelBytes;

namespace StableDiffusion.Native.Tests.ModelFiles;

/// <summary>Argument and file checks of <see cref="ModelConverter"/> and <see cref="QuantizedModelCache"/>: no native runtime needed.</summary>
public sealed class ConversionArgumentTests : IDisposable
{
    private readonly TempDirectory temp = new("sdn-conv");

    public void Dispose() => this.temp.Dispose();

    [Fact]
    public void A_malformed_input_is_refused_before_any_native_call()
    {
        string bad = this.temp.Put("bad.safetensors", Safetensors("{\"t\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,999]}}", 8));
        Assert.ThrowsAny<InvalidModelFileException>(() => ModelConverter.Convert(bad, Path.Combine(this.temp.Path, "out.gguf"), QuantizationType.Q8_0));
        Assert.False(File.Exists(Path.Combine(this.temp.Path, "out.gguf")));
    }

    [Fact]
    public void A_pickle_input_is_refused_by_default()
    {
        string pickle = this.temp.Put("model.ckpt", [.. "PK\x03\x04"u8, .. new byte[60]]);
        Assert.Throws<UnsafeModelFormatException>(() => ModelConverter.Convert(pickle, Path.Combine(this.temp.Path, "out.gguf"), QuantizationType.Q8_0));
    }

    [Fact]
    public void The_output_must_not_be_the_input_and_its_folder_must_exist()
    {
        string good = this.temp.Put("good.safetensors", ValidSafetensors());
        var same = Assert.Throws<ArgumentException>(() => ModelConverter.Convert(good, good, QuantizationType.Q8_0));
        Assert.Contains("input", same.Message);
        Assert.Throws<ArgumentException>(() => ModelConverter.Convert(good, Path.Combine(this.temp.Path, "missing", "out.gguf"), QuantizationType.Q8_0));
        Assert.Throws<ArgumentException>(() => ModelConverter.Convert(Path.Combine(this.temp.Path, "nope.safetensors"), Path.Combine(this.temp.Path, "o.gguf"), QuantizationType.Q8_0));
    }

    [Fact]
    public void Existing_output_without_overwrite_bad_rules_and_unusable_types_are_refused()
    {
        string good = this.temp.Put("good.safetensors", ValidSafetensors());
        string existing = this.temp.Put("exists.gguf", [1, 2, 3]);
        Assert.Throws<ArgumentException>(() => ModelConverter.Convert(good, existing, QuantizationType.Q8_0, new ConvertOptions { Overwrite = false }));
        Assert.Throws<ArgumentException>(() => ModelConverter.Convert(good, Path.Combine(this.temp.Path, "o.gguf"), QuantizationType.Q8_0, new ConvertOptions { TensorTypeRules = "no-equals-sign" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelConverter.Convert(good, Path.Combine(this.temp.Path, "o.gguf"), QuantizationType.I32));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(existing));
    }

    [Fact]
    public void Cache_keys_differ_by_type_and_rules_and_change_when_the_source_is_touched()
    {
        string source = this.temp.Put("model.safetensors", ValidSafetensors());
        string q8 = QuantizedModelCache.ComputeKey(source, QuantizationType.Q8_0, null);
        Assert.Equal(64, q8.Length);
        Assert.Equal(q8, QuantizedModelCache.ComputeKey(source, QuantizationType.Q8_0, null));
        Assert.NotEqual(q8, QuantizedModelCache.ComputeKey(source, QuantizationType.Q4_0, null));
        Assert.NotEqual(q8, QuantizedModelCache.ComputeKey(source, QuantizationType.Q8_0, "vae=f16"));

        File.SetLastWriteTimeUtc(source, File.GetLastWriteTimeUtc(source).AddSeconds(5));
        Assert.NotEqual(q8, QuantizedModelCache.ComputeKey(source, QuantizationType.Q8_0, null));

        var cache = new QuantizedModelCache(Path.Combine(this.temp.Path, "cache"));
        string entry = cache.PathFor(source, QuantizationType.Q8_0, null);
        Assert.StartsWith(cache.Directory, entry);
        Assert.EndsWith(".gguf", entry);
        Assert.Contains("q8_0", Path.GetFileName(entry));
        Assert.False(cache.TryGet(source, QuantizationType.Q8_0, null, out _));
    }

    [Fact]
    public void A_corrupt_cache_entry_is_not_used()
    {
        string source = this.temp.Put("model.safetensors", ValidSafetensors());
        var cache = new QuantizedModelCache(Path.Combine(this.temp.Path, "cache"));
        string entry = cache.PathFor(source, QuantizationType.Q8_0, null);
        Directory.CreateDirectory(cache.Directory);
        File.WriteAllBytes(entry, "GGUF not really"u8.ToArray());
        Assert.False(cache.TryGet(source, QuantizationType.Q8_0, null, out _));
        Assert.False(File.Exists(entry));
    }

}

/// <summary>Generator.Load validates every weight file with the managed readers before any native call.</summary>
public sealed class ModelFileValidationTests : IDisposable
{
    private readonly TempDirectory temp = new("sdn-val");

    public void Dispose() => this.temp.Dispose();

    // Must pass where no native runtime exists: validation runs before NativeRuntime is touched.
    [Fact]
    public void A_crafted_safetensors_model_throws_InvalidModelFileException_from_Load()
    {
        string bad = this.temp.Put("evil.safetensors", Safetensors("{\"t\":{\"dtype\":\"F16\",\"shape\":[1000000000,1000000000],\"data_offsets\":[0,8]}}", 8));
        var ex = Assert.ThrowsAny<InvalidModelFileException>(() => Generator.Load(new GeneratorOptions { ModelPath = bad }));
        Assert.Equal(bad, ex.FilePath);
        Assert.ThrowsAny<InvalidModelFileException>(() => Generator.LoadAsync(new GeneratorOptions { ModelPath = bad }).GetAwaiter().GetResult());
    }

    [Fact]
    public void Every_weight_path_is_validated()
    {
        string good = this.temp.Put("good.safetensors", ValidSafetensors());
        string bad = this.temp.Put("bad.safetensors", Safetensors("{\"t\":", 0));
        var cases = new Func<GeneratorOptions, GeneratorOptions>[]
        {
            o => o with { DiffusionModelPath = bad },
            o => o with { ClipLPath = bad },
            o => o with { ClipGPath = bad },
            o => o with { T5xxlPath = bad },
            o => o with { VaePath = bad },
            o => o with { TaesdPath = bad },
            o => o with { ControlNetPath = bad },
            o => o with { Embeddings = [new Embedding("x", bad)] },
        };
        foreach (var make in cases)
            Assert.ThrowsAny<InvalidModelFileException>(() => Validation.Options(make(new GeneratorOptions { ModelPath = good })));
        Validation.Options(new GeneratorOptions { ModelPath = good });
    }

    [Fact]
    public void Pickles_are_refused_unless_allowed()
    {
        string pickle = this.temp.Put("model.ckpt", [.. "PK\x03\x04"u8, .. new byte[60]]);
        Assert.Throws<UnsafeModelFormatException>(() => Validation.Options(new GeneratorOptions { ModelPath = pickle }));
        Validation.Options(new GeneratorOptions { ModelPath = pickle, AllowLegacyPickle = true });
    }

    [Fact]
    public void A_bad_lora_fails_request_validation()
    {
        string bad = this.temp.Put("lora.safetensors", Safetensors("{\"t\":", 0));
        Assert.ThrowsAny<InvalidModelFileException>(() => Validation.Request(new ImageRequest { Prompt = "x", Loras = [new LoraReference(bad)] }));
    }
}
