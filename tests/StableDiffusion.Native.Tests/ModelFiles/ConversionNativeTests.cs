using StableDiffusion.Native.Quantization;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Tests.Integration;
using static StableDiffusion.Native.Tests.ModelFiles.RawModelBytes;

namespace StableDiffusion.Native.Tests.ModelFiles;

/// <summary>Conversions and the quantize-once cache through the real runtime.</summary>
[Collection(NativeToolCollection.Name)]
public sealed class ConversionNativeTests : IDisposable
{
    private readonly TempDirectory temp = new("sdn-convn");

    public void Dispose() => this.temp.Dispose();

    [SkippableFact]
    public void Convert_writes_a_valid_q8_0_gguf_and_leaves_no_temporary_file()
    {
        NativeTestEnvironment.Require();
        string output = Path.Combine(this.temp.Path, "tiny.q8_0.gguf");
        var reports = new List<ConversionProgress>();
        var result = ModelConverter.Convert(NativeTestEnvironment.TinySd1, output, QuantizationType.Q8_0, new ConvertOptions { Threads = NativeTestEnvironment.Threads }, new InlineProgress(reports.Add), CancellationToken.None);

        Assert.Equal(output, result.OutputPath);
        Assert.Equal(new FileInfo(output).Length, result.OutputBytes);
        var gguf = GgufFile.Open(output);
        Assert.Equal(result.TensorCount, gguf.Tensors.Count);
        Assert.Contains(gguf.Tensors, t => t.Type == QuantizationType.Q8_0);
        Assert.Equal(ModelFamily.SD1, ModelInfo.From(gguf).Family);
        Assert.Equal([Path.GetFileName(output)], Directory.GetFiles(this.temp.Path).Select(Path.GetFileName));
        Assert.Equal(ConversionStage.Completed, reports[^1].Stage);
        Assert.True(result.OutputBytes < new FileInfo(NativeTestEnvironment.TinySd1).Length);
    }

    [SkippableFact]
    public void Convert_writes_safetensors_when_the_name_says_so()
    {
        NativeTestEnvironment.Require();
        // Upstream converts any tensor file: a 5 MB TAESD says what the name decides as well as the 340 MB SD1 would.
        string input = global::StableDiffusion.Native.TestModels.ExtraTestModels.Taesd();
        string output = Path.Combine(this.temp.Path, "taesd.f16.safetensors");
        var result = ModelConverter.Convert(input, output, QuantizationType.F16, new ConvertOptions { Threads = NativeTestEnvironment.Threads });
        Assert.Equal(ModelFileFormat.Safetensors, ModelFile.Open(output).Format);
        Assert.Equal(SafetensorsFile.Open(input).Tensors.Count, SafetensorsFile.Open(output).Tensors.Count);
        Assert.Equal(result.TensorCount, SafetensorsFile.Open(output).Tensors.Count);
    }

    [SkippableFact]
    public async Task A_cancelled_conversion_throws_and_leaves_nothing()
    {
        NativeTestEnvironment.Require();
        string output = Path.Combine(this.temp.Path, "cancelled.gguf");
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ModelConverter.ConvertAsync(NativeTestEnvironment.TinySd1, output, QuantizationType.Q8_0, null, null, cts.Token));
        Assert.Empty(Directory.GetFiles(this.temp.Path));
    }

    [SkippableFact]
    public void The_second_load_reuses_the_cached_conversion_and_generates()
    {
        NativeTestEnvironment.Require();
        // A private copy, so touching it cannot disturb other tests' shared model.
        string source = Path.Combine(this.temp.Path, "tiny.safetensors");
        File.Copy(NativeTestEnvironment.TinySd1, source);
        string cacheDir = Path.Combine(this.temp.Path, "cache");
        var options = NativeTestEnvironment.TinyOptions with { ModelPath = source, WeightType = QuantizationType.Q8_0, QuantizationCacheDirectory = cacheDir };

        using (var first = Generator.Load(options))
        {
            Assert.Equal(source, first.Options.ModelPath); // the caller's options, not the cache's
        }

        string cached = Assert.Single(Directory.GetFiles(cacheDir));
        var cache = new QuantizedModelCache(cacheDir);
        Assert.True(cache.TryGet(source, QuantizationType.Q8_0, null, out string found));
        Assert.Equal(cached, found);
        DateTime written = File.GetLastWriteTimeUtc(cached);

        using (var second = Generator.Load(options))
        {
            var image = Assert.Single(second.TextToImage(NativeTestEnvironment.Small()));
            Assert.Equal(64, image.Width);
            Assert.Equal(64, image.Height);
        }

        Assert.Equal([cached], Directory.GetFiles(cacheDir));
        Assert.Equal(written, File.GetLastWriteTimeUtc(cached)); // reused, not rewritten

        // Touching the source invalidates the entry: the next load converts again into a new file.
        File.SetLastWriteTimeUtc(source, DateTime.UtcNow.AddMinutes(1));
        Assert.False(cache.TryGet(source, QuantizationType.Q8_0, null, out _));
        using (Generator.Load(options))
        {
        }

        Assert.Equal(2, Directory.GetFiles(cacheDir).Length);
    }

    private sealed class InlineProgress(Action<ConversionProgress> report) : IProgress<ConversionProgress>
    {
        private readonly object gate = new();

        public void Report(ConversionProgress value)
        {
            lock (this.gate) report(value);
        }
    }
}
