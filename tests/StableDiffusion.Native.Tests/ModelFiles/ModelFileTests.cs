using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.TestModels;
using Xunit;
using static StableDiffusion.Native.Tests.ModelFiles.RawModelBytes;

namespace StableDiffusion.Native.Tests.ModelFiles;

public sealed class ModelFileTests : IDisposable
{
    private readonly TempDirectory temp = new("sdn-mf");

    public void Dispose() => this.temp.Dispose();

    public static TheoryData<string, byte[], ModelFileFormat> PickleCases => new()
    {
        { "model.ckpt", [.. "PK\x03\x04"u8, .. new byte[60]], ModelFileFormat.TorchZip },
        { "model.safetensors", [.. "PK\x03\x04"u8, .. new byte[60]], ModelFileFormat.TorchZip },
        { "weights.pt", [0x80, 0x02, 0x8A, 0x0A, .. new byte[20]], ModelFileFormat.LegacyPickle },
        { "no-extension", [0x80, 0x04, 0x95, .. new byte[20]], ModelFileFormat.LegacyPickle },
        { "old.pth", "(dp0\nS'state_dict'\n"u8.ToArray(), ModelFileFormat.LegacyPickle },
        { "pytorch_model.bin", "}q\0(X"u8.ToArray(), ModelFileFormat.LegacyPickle },
        { "empty-zip.ckpt", [.. "PK\x05\x06"u8, .. new byte[18]], ModelFileFormat.TorchZip },
    };

    [Theory]
    [MemberData(nameof(PickleCases))]
    public void PickleFilesAreRefusedByDefault(string name, byte[] bytes, ModelFileFormat format)
    {
        string path = this.temp.Put(name, bytes);
        var ex = Assert.Throws<UnsafeModelFormatException>(() => ModelFile.Open(path));
        Assert.Equal(InvalidModelFileReason.UnsafeLegacyFormat, ex.Reason);
        Assert.Equal(format, ex.Format);
        Assert.Contains("safetensors", ex.Message);
        Assert.IsAssignableFrom<InvalidModelFileException>(ex);
        Assert.Throws<UnsafeModelFormatException>(() => ModelInfo.FromFile(path));
    }

    [Theory]
    [MemberData(nameof(PickleCases))]
    public void PickleFilesAreDescribedUninspectedWhenAllowed(string name, byte[] bytes, ModelFileFormat format)
    {
        string path = this.temp.Put(name, bytes);
        var options = new ModelFileOptions { AllowLegacyPickle = true };
        var file = Assert.IsType<LegacyModelFile>(ModelFile.Open(path, options));
        Assert.Equal(format, file.Format);
        Assert.False(file.IsInspected);
        Assert.Equal(bytes.Length, file.FileLength);
        ModelInfo info = ModelInfo.FromFile(path, options);
        Assert.False(info.IsInspected);
        Assert.Equal(ModelKind.Unknown, info.Kind);
        Assert.Equal(0, info.TensorCount);
    }

    [Fact]
    public void DispatcherSniffsContentNotExtension()
    {
        string gguf = this.temp.Put("model.safetensors", Gguf(3, 0, 0, _ => { }));
        Assert.IsType<GgufFile>(ModelFile.Open(gguf));
        string st = this.temp.Put("model.gguf", ValidSafetensors());
        Assert.IsType<SafetensorsFile>(ModelFile.Open(st));
        string noExt = this.temp.Put("model", ValidSafetensors());
        Assert.IsType<SafetensorsFile>(ModelFile.Open(noExt));
    }

    [Fact]
    public void DispatcherRecognizesAHeaderAfterWhitespace()
    {
        const string Tensor = "{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
        string noExt = this.temp.Put("spaced", Safetensors(" \r\n\t" + Tensor, 1));
        Assert.Single(Assert.IsType<SafetensorsFile>(ModelFile.Open(noExt)).Tensors);

        // A run longer than the sniffed head is still recognized by a safetensors name, and nothing else.
        string longRun = new(' ', ModelFile.SniffLength * 2);
        string named = this.temp.Put("far.safetensors", Safetensors(longRun + Tensor, 1));
        Assert.Single(Assert.IsType<SafetensorsFile>(ModelFile.Open(named)).Tensors);
        var ex = Assert.Throws<InvalidModelFileException>(() => ModelFile.Open(this.temp.Put("far", Safetensors(longRun + Tensor, 1))));
        Assert.Equal(InvalidModelFileReason.UnrecognizedFormat, ex.Reason);
    }

    [Fact]
    public void IndexErrorsEscapeTensorAndShardNames()
    {
        this.Shard("a.safetensors", "x");
        var ex = Assert.Throws<InvalidModelFileException>(() => SafetensorsIndex.Open(this.Index("""{"weight_map":{"x":"a\nfamily: SDXL\u001b]0;pwned\u0007.safetensors"}}""")));
        Assert.Equal(InvalidModelFileReason.ShardPathEscapesFolder, ex.Reason); // for its ':'
        Assert.Contains(@"shard 'a\nfamily: SDXL\x1b]0;pwned\x07.safetensors'", ex.Message);

        ex = Assert.Throws<InvalidModelFileException>(() => SafetensorsIndex.Open(this.Index("""{"weight_map":{"x":"a\n\u001b[2Jb.safetensors"}}""")));
        Assert.Equal(InvalidModelFileReason.ShardNotFound, ex.Reason);
        Assert.Contains(@"shard 'a\n\x1b[2Jb.safetensors' does not exist", ex.Message);

        ex = Assert.Throws<InvalidModelFileException>(() => SafetensorsIndex.Open(this.Index("""{"weight_map":{"y\u202e\r":"a.safetensors"}}""")));
        Assert.Equal(InvalidModelFileReason.TensorMissingFromShard, ex.Reason);
        Assert.Contains(@"tensor 'y\u202e\r'", ex.Message);

        ex = Assert.Throws<InvalidModelFileException>(() => SafetensorsIndex.Open(this.Index("""{"weight_map":{"x":"a.safetensors","x":"a.safetensors"}}""")));
        Assert.Equal(InvalidModelFileReason.DuplicateKey, ex.Reason);
        Assert.Contains("some take the first, others the last", ex.Message);
    }

    [Fact]
    public void FnuzFileIsInspectableButNotLoadable()
    {
        var w = new SafetensorsWriter();
        w.Add("model.diffusion_model.input_blocks.0.0.weight", "F16", [8, 4, 3, 3], new byte[8 * 4 * 9 * 2]);
        w.Add("model.diffusion_model.out.2.weight", "F8_E4M3FNUZ", [4, 8], new byte[32]);
        w.Add("model.diffusion_model.out.2.bias", "F8_E5M2FNUZ", [4], new byte[4]);
        string path = Path.Combine(this.temp.Path, "fnuz.safetensors");
        w.WriteFile(path);

        var file = Assert.IsType<SafetensorsFile>(ModelFile.Open(path));
        Assert.Equal(SafetensorsDType.F8_E4M3FNUZ, file.Tensors[1].DType);
        ModelInfo info = ModelInfo.FromFile(path);
        Assert.Equal(3, info.TensorCount);
        Assert.Equal(1, info.DTypeHistogram["F8_E4M3FNUZ"]);
        Assert.Equal(1, info.DTypeHistogram["F8_E5M2FNUZ"]);
        Assert.Equal(["F8_E4M3FNUZ", "F8_E5M2FNUZ"], info.UnloadableTypes);
        Assert.Equal(ModelKind.DiffusionModel, info.Kind);
        Assert.True(info.EstimateMemory().TotalBytes > 0); // the loadable F16 tensor still counts

        var ex = Assert.Throws<InvalidModelFileException>(() => ModelFile.OpenForLoading(path));
        Assert.Equal(InvalidModelFileReason.UnsupportedDataType, ex.Reason);
        Assert.Equal(path, ex.FilePath);
        Assert.Contains("tensor 'model.diffusion_model.out.2.weight' has dtype F8_E4M3FNUZ", ex.Message);
        Assert.Contains("stable-diffusion.cpp cannot load", ex.Message);
        Assert.Equal(InvalidModelFileReason.UnsupportedDataType, Assert.Throws<InvalidModelFileException>(() => Validation.ModelFileOrNull(path)).Reason);
        Assert.Equal(InvalidModelFileReason.UnsupportedDataType, Assert.Throws<InvalidModelFileException>(() => Validation.Options(new GeneratorOptions { DiffusionModelPath = path })).Reason);
    }

    [Fact]
    public void LoadingRefusesAnIndexWithAnFnuzShard()
    {
        this.Shard("a.safetensors", "x");
        new SafetensorsWriter().Add("y", "F8_E5M2FNUZ", [2], new byte[2]).WriteFile(Path.Combine(this.temp.Path, "b.safetensors"));
        string index = this.Index("""{"weight_map":{"x":"a.safetensors","y":"b.safetensors"}}""");
        Assert.Equal(["F8_E5M2FNUZ"], ModelInfo.FromFile(index).UnloadableTypes);
        var ex = Assert.Throws<InvalidModelFileException>(() => ModelFile.OpenForLoading(index));
        Assert.Equal(InvalidModelFileReason.UnsupportedDataType, ex.Reason);
        Assert.Equal(Path.Combine(this.temp.Path, "b.safetensors"), ex.FilePath);
        Assert.Contains("tensor 'y' has dtype F8_E5M2FNUZ", ex.Message);
    }

    [Fact]
    public void LoadingAcceptsWhatUpstreamLoads()
    {
        var w = new SafetensorsWriter();
        foreach (string dtype in new[] { "F16", "BF16", "F32", "F64", "F8_E4M3", "F8_E5M2", "I8", "I32", "I64", "U8" })
        {
            w.Add("t." + dtype, dtype, [2], new byte[2 * SafetensorsWriter.BytesPerElement(dtype)]);
        }

        string path = Path.Combine(this.temp.Path, "loadable.safetensors");
        w.WriteFile(path);
        Assert.IsType<SafetensorsFile>(ModelFile.OpenForLoading(path));
        Assert.Empty(ModelInfo.FromFile(path).UnloadableTypes);
        Assert.IsType<GgufFile>(ModelFile.OpenForLoading(this.temp.Put("m.gguf", GgufOneTensor([4]))));
    }

    [Fact]
    public void TheLoadableDTypesAreExactlyUpstreams()
    {
        // Upstream's safetensors_dtype_to_ggml_type table, plus U8, which it skips instead of refusing.
        SafetensorsDType[] loadable =
        [
            SafetensorsDType.F16, SafetensorsDType.BF16, SafetensorsDType.F32, SafetensorsDType.F64, SafetensorsDType.F8_E4M3,
            SafetensorsDType.F8_E5M2, SafetensorsDType.I8, SafetensorsDType.I32, SafetensorsDType.I64, SafetensorsDType.U8,
        ];
        foreach (SafetensorsDType d in Enum.GetValues<SafetensorsDType>())
        {
            Assert.Equal(loadable.Contains(d), SafetensorsDTypes.IsLoadable(d));
        }

        Assert.False(SafetensorsDTypes.IsLoadable(SafetensorsDType.F8_E4M3FNUZ));
        Assert.False(SafetensorsDTypes.IsLoadable(SafetensorsDType.F8_E5M2FNUZ));
    }

    [Fact]
    public void UnknownAndEmptyFilesAreRejected()
    {
        var ex = Assert.Throws<InvalidModelFileException>(() => ModelFile.Open(this.temp.Put("notes.txt", "hello world, not a model"u8.ToArray())));
        Assert.Equal(InvalidModelFileReason.UnrecognizedFormat, ex.Reason);
        ex = Assert.Throws<InvalidModelFileException>(() => ModelFile.Open(this.temp.Put("empty.safetensors", [])));
        Assert.Equal(InvalidModelFileReason.Truncated, ex.Reason);
        ex = Assert.Throws<InvalidModelFileException>(() => ModelFile.Open(this.temp.Put("bad.safetensors", "xxxxxxxxxxxxxxxxxxxx"u8.ToArray())));
        Assert.Equal(InvalidModelFileReason.HeaderTooLarge, ex.Reason);
        Assert.Throws<FileNotFoundException>(() => ModelFile.Open(Path.Combine(this.temp.Path, "missing.safetensors")));
    }

    private string Shard(string name, params string[] tensors)
    {
        var w = new SafetensorsWriter();
        foreach (string t in tensors)
        {
            w.Add(t, "F16", [2], new byte[4]);
        }

        string path = Path.Combine(this.temp.Path, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        w.WriteFile(path);
        return path;
    }

    private string Index(string json) => this.temp.Put("model.safetensors.index.json", System.Text.Encoding.UTF8.GetBytes(json));

    [Fact]
    public void ShardedIndexUnionsShards()
    {
        this.Shard("a.safetensors", "x", "y");
        this.Shard("sub/b.safetensors", "z");
        string index = this.Index("""{"metadata":{"total_size":12},"weight_map":{"x":"a.safetensors","y":"a.safetensors","z":"sub/b.safetensors"}}""");
        var file = Assert.IsType<SafetensorsIndex>(ModelFile.Open(index));
        Assert.Equal(2, file.Shards.Count);
        Assert.Equal(3, file.TensorsByName.Count);
        Assert.Equal(3, ModelInfo.From(file).TensorCount);
    }

    public static TheoryData<string, InvalidModelFileReason> IndexCases => new()
    {
        { """{"weight_map":{"x":"/etc/passwd"}}""", InvalidModelFileReason.ShardPathEscapesFolder },
        { """{"weight_map":{"x":"../a.safetensors"}}""", InvalidModelFileReason.ShardPathEscapesFolder },
        { """{"weight_map":{"x":"sub/../../a.safetensors"}}""", InvalidModelFileReason.ShardPathEscapesFolder },
        { """{"weight_map":{"x":"C:\\a.safetensors"}}""", InvalidModelFileReason.ShardPathEscapesFolder },
        { """{"weight_map":{"x":"missing.safetensors"}}""", InvalidModelFileReason.ShardNotFound },
        { """{"weight_map":{"nope":"a.safetensors"}}""", InvalidModelFileReason.TensorMissingFromShard },
        { """{"weight_map":{"x":"a.safetensors","d":"dup.safetensors"}}""", InvalidModelFileReason.DuplicateTensorAcrossShards },
        { """{"weight_map":[]}""", InvalidModelFileReason.InvalidIndex },
        { """{"weight_map":{"x":1}}""", InvalidModelFileReason.InvalidIndex },
        { """{"weight_map":{}}""", InvalidModelFileReason.InvalidIndex },
        { """{"metadata":{}}""", InvalidModelFileReason.InvalidIndex },
        { """[]""", InvalidModelFileReason.InvalidIndex },
        { """{"weight_map":{"x":"a.safetensors"}""", InvalidModelFileReason.InvalidJson },
        { """{"weight_map":{"x":"a.safetensors","x":"a.safetensors"}}""", InvalidModelFileReason.DuplicateKey },
        { """{"weight_map":{"x":"bad.safetensors"}}""", InvalidModelFileReason.DataLengthMismatch },
    };

    [Theory]
    [MemberData(nameof(IndexCases))]
    public void MalformedIndexIsRejected(string json, InvalidModelFileReason reason)
    {
        this.Shard("a.safetensors", "x", "y");
        this.Shard("dup.safetensors", "x", "d");
        this.temp.Put("bad.safetensors", OneTensor("F16", "[2]", "[0,4]", 3));
        var ex = Assert.ThrowsAny<InvalidModelFileException>(() => SafetensorsIndex.Open(this.Index(json)));
        Assert.Equal(reason, ex.Reason);
    }

    [SkippableFact]
    public void SymlinkedShardLeavingTheFolderIsRejected()
    {
        Skip.If(OperatingSystem.IsWindows(), "creating symbolic links needs privileges on Windows");
        string outside = Directory.CreateTempSubdirectory("sdn-out-").FullName;
        try
        {
            var w = new SafetensorsWriter().Add("x", "F16", [2], new byte[4]);
            w.WriteFile(Path.Combine(outside, "o.safetensors"));
            File.CreateSymbolicLink(Path.Combine(this.temp.Path, "link.safetensors"), Path.Combine(outside, "o.safetensors"));
            Directory.CreateSymbolicLink(Path.Combine(this.temp.Path, "linkdir"), outside);
            var ex = Assert.Throws<InvalidModelFileException>(() => SafetensorsIndex.Open(this.Index("""{"weight_map":{"x":"link.safetensors"}}""")));
            Assert.Equal(InvalidModelFileReason.ShardPathEscapesFolder, ex.Reason);
            ex = Assert.Throws<InvalidModelFileException>(() => SafetensorsIndex.Open(this.Index("""{"weight_map":{"x":"linkdir/o.safetensors"}}""")));
            Assert.Equal(InvalidModelFileReason.ShardPathEscapesFolder, ex.Reason);

            this.Shard("real.safetensors", "x");
            File.CreateSymbolicLink(Path.Combine(this.temp.Path, "inside.safetensors"), Path.Combine(this.temp.Path, "real.safetensors"));
            Assert.Single(SafetensorsIndex.Open(this.Index("""{"weight_map":{"x":"inside.safetensors"}}""")).Shards);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }
}
