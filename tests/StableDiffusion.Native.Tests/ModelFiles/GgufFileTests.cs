using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.TestModels;
using Xunit;
using static StableDiffusion.Native.Tests.ModelFiles.RawModelBytes;

namespace StableDiffusion.Native.Tests.ModelFiles;

public class GgufFileTests
{
    private static readonly Dictionary<string, (Func<byte[]> Build, InvalidModelFileReason Reason)> Cases = new()
    {
        ["too-short"] = (() => "GGU"u8.ToArray(), InvalidModelFileReason.Truncated),
        ["bad-magic"] = (() => "GGML\x03\0\0\0"u8.ToArray(), InvalidModelFileReason.BadMagic),
        ["version-1"] = (() => Gguf(1, 0, 0, _ => { }), InvalidModelFileReason.UnsupportedVersion),
        ["version-4"] = (() => Gguf(4, 0, 0, _ => { }), InvalidModelFileReason.UnsupportedVersion),
        ["big-endian"] = (() => Gguf(0x03000000, 0, 0, _ => { }), InvalidModelFileReason.BigEndianNotSupported),
        ["truncated-counts"] = (() => "GGUF\x03\0\0\0\0\0"u8.ToArray(), InvalidModelFileReason.Truncated),
        ["tensor-count-huge"] = (() => Gguf(3, ulong.MaxValue, 0, _ => { }), InvalidModelFileReason.CountOutOfRange),
        ["tensor-count-too-many"] = (() => Gguf(3, 10, 0, _ => { }, 100), InvalidModelFileReason.CountOutOfRange),
        ["kv-count-huge"] = (() => Gguf(3, 0, 1UL << 62, _ => { }), InvalidModelFileReason.CountOutOfRange),
        ["key-length-huge"] = (() => Gguf(3, 0, 1, w => { w.Write(ulong.MaxValue); w.Write(new byte[16]); }), InvalidModelFileReason.CountOutOfRange),
        ["empty-key"] = (() => Gguf(3, 0, 1, w => { Str(w, ""); w.Write(4u); w.Write(1u); }), InvalidModelFileReason.InvalidString),
        ["key-invalid-utf8"] = (() => Gguf(3, 0, 1, w => { w.Write(2UL); w.Write(new byte[] { 0xC3, 0x28 }); w.Write(4u); w.Write(1u); }), InvalidModelFileReason.InvalidString),
        ["duplicate-key"] = (() => Gguf(3, 0, 2, w => { Str(w, "a"); w.Write(4u); w.Write(1u); Str(w, "a"); w.Write(4u); w.Write(2u); }), InvalidModelFileReason.DuplicateKey),
        ["value-type-13"] = (() => Gguf(3, 0, 1, w => { Str(w, "a"); w.Write(13u); w.Write(0UL); }), InvalidModelFileReason.InvalidValueType),
        ["value-type-huge"] = (() => Gguf(3, 0, 1, w => { Str(w, "a"); w.Write(uint.MaxValue); w.Write(0UL); }), InvalidModelFileReason.InvalidValueType),
        ["array-of-arrays"] = (() => Gguf(3, 0, 1, w => { Str(w, "a"); w.Write(9u); w.Write(9u); w.Write(1UL); w.Write(4u); w.Write(0UL); }), InvalidModelFileReason.NestedArray),
        ["array-element-type-invalid"] = (() => Gguf(3, 0, 1, w => { Str(w, "a"); w.Write(9u); w.Write(77u); w.Write(1UL); w.Write(0UL); }), InvalidModelFileReason.InvalidValueType),
        ["array-count-huge"] = (() => Gguf(3, 0, 1, w => { Str(w, "a"); w.Write(9u); w.Write(4u); w.Write(1UL << 60); w.Write(0UL); }), InvalidModelFileReason.CountOutOfRange),
        ["string-array-count-huge"] = (() => Gguf(3, 0, 1, w => { Str(w, "a"); w.Write(9u); w.Write(8u); w.Write(1000UL); w.Write(0UL); }), InvalidModelFileReason.CountOutOfRange),
        ["string-value-length-huge"] = (() => Gguf(3, 0, 1, w => { Str(w, "a"); w.Write(8u); w.Write(1UL << 40); w.Write(0UL); }), InvalidModelFileReason.CountOutOfRange),
        ["truncated-value"] = (() => Gguf(3, 0, 1, w => { Str(w, "a"); w.Write(10u); w.Write((byte)1); }), InvalidModelFileReason.Truncated),
        ["alignment-uint64"] = (() => Gguf(3, 0, 1, w => { Str(w, "general.alignment"); w.Write(10u); w.Write(32UL); }), InvalidModelFileReason.InvalidAlignment),
        ["alignment-string"] = (() => Gguf(3, 0, 1, w => { Str(w, "general.alignment"); w.Write(8u); Str(w, "32"); }), InvalidModelFileReason.InvalidAlignment),
        ["alignment-int32"] = (() => Gguf(3, 0, 1, w => { Str(w, "general.alignment"); w.Write(5u); w.Write(32); }), InvalidModelFileReason.InvalidAlignment),
        ["alignment-zero"] = (() => Gguf(3, 0, 1, w => { Str(w, "general.alignment"); w.Write(4u); w.Write(0u); }), InvalidModelFileReason.InvalidAlignment),
        ["alignment-48"] = (() => Gguf(3, 0, 1, w => { Str(w, "general.alignment"); w.Write(4u); w.Write(48u); }), InvalidModelFileReason.InvalidAlignment),
        ["name-160"] = (() => GgufOneTensor([4], name: new string('n', 160)), InvalidModelFileReason.TensorNameTooLong),
        ["name-empty"] = (() => GgufOneTensor([4], name: ""), InvalidModelFileReason.InvalidString),
        ["name-length-huge"] = (() => Gguf(3, 1, 0, w => { w.Write(ulong.MaxValue); w.Write(new byte[40]); }), InvalidModelFileReason.TensorNameTooLong),
        ["duplicate-tensor"] = (() => Gguf(3, 2, 0, w => { TensorInfo(w, "t", [4], 0, 0); TensorInfo(w, "t", [4], 0, 32); }, 128), InvalidModelFileReason.DuplicateTensorName),
        ["zero-dims"] = (() => GgufOneTensor([]), InvalidModelFileReason.InvalidDimensionCount),
        ["five-dims"] = (() => GgufOneTensor([1, 1, 1, 1, 1]), InvalidModelFileReason.InvalidDimensionCount),
        ["dims-huge"] = (() => Gguf(3, 1, 0, w => { Str(w, "t"); w.Write(uint.MaxValue); w.Write(new byte[64]); }), InvalidModelFileReason.InvalidDimensionCount),
        ["zero-dim"] = (() => GgufOneTensor([4, 0]), InvalidModelFileReason.InvalidDimension),
        ["negative-dim"] = (() => GgufOneTensor([-4], dataBytes: 0), InvalidModelFileReason.InvalidDimension),
        ["removed-type-4"] = (() => GgufOneTensor([32], type: 4), InvalidModelFileReason.UnknownTensorType),
        ["unknown-type-43"] = (() => GgufOneTensor([32], type: 43), InvalidModelFileReason.UnknownTensorType),
        ["unknown-type-huge"] = (() => GgufOneTensor([32], type: uint.MaxValue), InvalidModelFileReason.UnknownTensorType),
        ["block-mismatch"] = (() => GgufOneTensor([16], type: 8), InvalidModelFileReason.BlockSizeMismatch),
        ["kquant-block-mismatch"] = (() => GgufOneTensor([128], type: 12), InvalidModelFileReason.BlockSizeMismatch),
        ["elements-overflow"] = (() => GgufOneTensor([1L << 40, 1L << 40], dataBytes: 0), InvalidModelFileReason.SizeOverflow),
        ["bytes-overflow"] = (() => GgufOneTensor([1L << 62], dataBytes: 0), InvalidModelFileReason.SizeOverflow),
        ["misaligned-offset"] = (() => GgufOneTensor([4], offset: 4), InvalidModelFileReason.MisalignedTensorOffset),
        ["data-truncated"] = (() => GgufOneTensor([4], dataBytes: 15), InvalidModelFileReason.TensorDataOutOfBounds),
        ["data-missing"] = (() => GgufOneTensor([1024], dataBytes: 0), InvalidModelFileReason.TensorDataOutOfBounds),
        ["offset-huge"] = (() => GgufOneTensor([4], offset: ulong.MaxValue - 31, dataBytes: 0), InvalidModelFileReason.TensorDataOutOfBounds),
        ["overlap"] = (() => Gguf(3, 2, 0, w => { TensorInfo(w, "a", [16], 0, 0); TensorInfo(w, "b", [16], 0, 32); }, 200), InvalidModelFileReason.DataLayoutInvalid),
        ["truncated-tensor-info"] = (() => Gguf(3, 1, 0, w => { Str(w, "abcdefghijklmnopqrstuvwxyz"); w.Write(1u); w.Write(16L); }), InvalidModelFileReason.Truncated),
    };

    public static TheoryData<string> CaseIds => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void MalformedFileIsRejectedWithReason(string id)
    {
        var (build, reason) = Cases[id];
        var ex = Assert.ThrowsAny<InvalidModelFileException>(() => GgufFile.Read(new MemoryStream(build()), id));
        Assert.Equal(reason, ex.Reason);
        Assert.Equal(id, ex.FilePath);
        Assert.Contains(reason.ToString(), ex.Message);
    }

    [Fact]
    public void NamesFromTheFileAreEscapedInErrors()
    {
        byte[] bytes = Gguf(3, 0, 2, w => { Str(w, "k\nfamily: SDXL\u001b]0;pwned\u0007"); w.Write(4u); w.Write(1u); Str(w, "k\nfamily: SDXL\u001b]0;pwned\u0007"); w.Write(4u); w.Write(2u); });
        var ex = Assert.Throws<InvalidModelFileException>(() => GgufFile.Read(new MemoryStream(bytes)));
        Assert.Equal(InvalidModelFileReason.DuplicateKey, ex.Reason);
        Assert.Contains(@"'k\nfamily: SDXL\x1b]0;pwned\x07' appears twice", ex.Message);
        Assert.Contains("some take the first, others the last", ex.Message);

        ex = Assert.Throws<InvalidModelFileException>(() => GgufFile.Read(new MemoryStream(GgufOneTensor([4], dataBytes: 8, name: "t\u001b[2J\u202e"))));
        Assert.Equal(InvalidModelFileReason.TensorDataOutOfBounds, ex.Reason);
        Assert.Contains(@"tensor 't\x1b[2J\u202e'", ex.Message);
        Assert.DoesNotContain(ex.Message, c => char.IsControl(c) || c == '\u202e');
    }

    [Fact]
    public void CorpusIsLarge() => Assert.True(Cases.Count >= 40, $"{Cases.Count} cases");

    [Fact]
    public void BigEndianMessageSaysSo()
    {
        var ex = Assert.Throws<InvalidModelFileException>(() => GgufFile.Read(new MemoryStream(Gguf(0x02000000, 0, 0, _ => { }))));
        Assert.Contains("big-endian GGUF is not supported", ex.Message);
        Assert.Equal(4, ex.Offset);
    }

    [Fact]
    public void WriterOutputReadsBackIdentically()
    {
        var writer = new GgufWriter { Alignment = 64, WriteAlignmentKey = true };
        writer.AddString("general.architecture", "sd1")
            .AddUInt32("general.quantization_version", 2)
            .AddFloat32("f", 1.5f)
            .AddBool("b", true)
            .AddStringArray("tokens", ["a", "ü", ""])
            .AddInt32Array("ints", [1, -2, 3]);
        writer.AddF32("model.diffusion_model.out.2.bias", [4], 1f);
        writer.AddTensor("q", [64, 2], 8, 32, 34); // q8_0: 4 blocks of 34 bytes
        writer.AddTensor("k", [256], 12, 256, 144); // q4_K
        writer.AddTensor("nv", [64], 40, 64, 36); // nvfp4
        writer.AddTensor("q1", [128], 41, 128, 18); // q1_0
        writer.AddTensor("q2", [64], 42, 64, 18); // q2_0 (ggml only)
        byte[] bytes = writer.ToArray();

        GgufFile file = GgufFile.Read(new MemoryStream(bytes), "w");
        Assert.Equal(3u, file.Version);
        Assert.Equal(64u, file.Alignment);
        Assert.Equal("sd1", file.Metadata["general.architecture"].Value);
        Assert.Equal(2u, file.Metadata["general.quantization_version"].Value);
        Assert.Equal(1.5f, file.Metadata["f"].Value);
        Assert.Equal(true, file.Metadata["b"].Value);
        Assert.Equal(new[] { "a", "ü", "" }, (string[])file.Metadata["tokens"].Value);
        Assert.Equal(GgufValueType.String, file.Metadata["tokens"].ElementType);
        Assert.Equal(new[] { 1, -2, 3 }, (int[])file.Metadata["ints"].Value);
        Assert.Equal(6, file.Tensors.Count);
        Assert.Equal(new long[] { 4 }, file.Tensors[0].Dimensions);
        Assert.Equal(QuantizationType.F32, file.Tensors[0].Type);
        Assert.Equal(QuantizationType.Q8_0, file.Tensors[1].Type);
        Assert.Equal(4 * 34, file.Tensors[1].DataLength);
        Assert.Equal("q4_K", file.Tensors[2].TypeName);
        Assert.Equal("q2_0", file.Tensors[5].TypeName);
        Assert.All(file.Tensors, t => Assert.Equal(0, t.FileOffset % 64));
        Assert.Equal(0, file.DataStart % 64);
        Assert.True(file.BytesRead < bytes.Length);
        Assert.Equal(file.DataStart, file.Tensors[0].FileOffset);
        Assert.Equal(1f, BitConverter.ToSingle(bytes, (int)file.Tensors[0].FileOffset));
    }

    [Fact]
    public void NameOf159BytesIsAccepted()
    {
        GgufFile file = GgufFile.Read(new MemoryStream(GgufOneTensor([4], name: new string('n', 159))));
        Assert.Equal(159, file.Tensors[0].Name.Length);
    }

    [Fact]
    public void VersionTwoAndEmptyFilesAreAccepted()
    {
        GgufFile file = GgufFile.Read(new MemoryStream(Gguf(2, 0, 0, _ => { })));
        Assert.Equal(2u, file.Version);
        Assert.Empty(file.Tensors);
        Assert.Equal(32u, file.Alignment);
    }

    [Fact]
    public void TypeTableMatchesGgmlGeometry()
    {
        // Block and type sizes derived from ggml's block layouts.
        var expected = new (QuantizationType Type, int Block, int Size)[]
        {
            (QuantizationType.F32, 1, 4), (QuantizationType.F16, 1, 2), (QuantizationType.Q4_0, 32, 18), (QuantizationType.Q4_1, 32, 20),
            (QuantizationType.Q5_0, 32, 22), (QuantizationType.Q5_1, 32, 24), (QuantizationType.Q8_0, 32, 34), (QuantizationType.Q8_1, 32, 36),
            (QuantizationType.Q2_K, 256, 84), (QuantizationType.Q3_K, 256, 110), (QuantizationType.Q4_K, 256, 144), (QuantizationType.Q5_K, 256, 176),
            (QuantizationType.Q6_K, 256, 210), (QuantizationType.Q8_K, 256, 292), (QuantizationType.IQ2_XXS, 256, 66), (QuantizationType.IQ2_XS, 256, 74),
            (QuantizationType.IQ3_XXS, 256, 98), (QuantizationType.IQ1_S, 256, 50), (QuantizationType.IQ4_NL, 32, 18), (QuantizationType.IQ3_S, 256, 110),
            (QuantizationType.IQ2_S, 256, 82), (QuantizationType.IQ4_XS, 256, 136), (QuantizationType.I8, 1, 1), (QuantizationType.I16, 1, 2),
            (QuantizationType.I32, 1, 4), (QuantizationType.I64, 1, 8), (QuantizationType.F64, 1, 8), (QuantizationType.IQ1_M, 256, 56),
            (QuantizationType.BF16, 1, 2), (QuantizationType.TQ1_0, 256, 54), (QuantizationType.TQ2_0, 256, 66), (QuantizationType.MXFP4, 32, 17),
            (QuantizationType.NVFP4, 64, 36), (QuantizationType.Q1_0, 128, 18),
        };
        Assert.Equal(expected.Length, QuantizationTypes.All.Count);
        foreach (var (type, block, size) in expected)
        {
            Assert.Equal(block, QuantizationTypes.BlockSize(type));
            Assert.Equal(size, QuantizationTypes.TypeSize(type));
        }
    }
}
