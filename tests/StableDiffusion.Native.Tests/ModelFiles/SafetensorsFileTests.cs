using System.Text;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.TestModels;
using Xunit;
using static StableDiffusion.Native.Tests.ModelFiles.RawModelBytes;

namespace StableDiffusion.Native.Tests.ModelFiles;

public class SafetensorsFileTests
{
    private static readonly Dictionary<string, (Func<byte[]> Build, InvalidModelFileReason Reason)> Cases = new()
    {
        ["empty"] = (() => [], InvalidModelFileReason.Truncated),
        ["short-prefix"] = (() => [1, 0, 0], InvalidModelFileReason.Truncated),
        ["header-too-large"] = (() => Safetensors("{}"u8.ToArray(), 0, 100_000_001), InvalidModelFileReason.HeaderTooLarge),
        ["header-length-max"] = (() => Safetensors("{}"u8.ToArray(), 0, ulong.MaxValue), InvalidModelFileReason.HeaderTooLarge),
        ["header-past-eof"] = (() => Safetensors("{}"u8.ToArray(), 0, 50), InvalidModelFileReason.HeaderOutOfBounds),
        ["bom"] = (() => Safetensors([0xEF, 0xBB, 0xBF, .. "{}"u8], 0), InvalidModelFileReason.ByteOrderMark),
        ["invalid-utf8"] = (() => Safetensors([.. "{\"a"u8, 0xFF, .. "\":1}"u8], 0), InvalidModelFileReason.InvalidUtf8),
        ["overlong-utf8"] = (() => Safetensors([.. "{\"a"u8, 0xC0, 0xAF, .. "\":1}"u8], 0), InvalidModelFileReason.InvalidUtf8),
        ["lone-surrogate-escape"] = (() => Safetensors("""{"\ud800":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}""", 4), InvalidModelFileReason.InvalidUtf8),
        ["array-root"] = (() => Safetensors("[]", 0), InvalidModelFileReason.UnexpectedStructure),
        ["string-root"] = (() => Safetensors("\"x\"", 0), InvalidModelFileReason.UnexpectedStructure),
        ["empty-header"] = (() => Safetensors("", 0), InvalidModelFileReason.UnexpectedStructure),
        ["only-whitespace"] = (() => Safetensors(" \t\r\n  ", 0), InvalidModelFileReason.UnexpectedStructure),
        ["leading-form-feed"] = (() => Safetensors("\f{}", 0), InvalidModelFileReason.UnexpectedStructure),
        ["leading-vertical-tab"] = (() => Safetensors("\v{}", 0), InvalidModelFileReason.UnexpectedStructure),
        ["leading-nbsp"] = (() => Safetensors("\u00a0{}", 0), InvalidModelFileReason.UnexpectedStructure),
        ["leading-nul"] = (() => Safetensors("\0{}", 0), InvalidModelFileReason.UnexpectedStructure),
        ["leading-space-then-array"] = (() => Safetensors("  []", 0), InvalidModelFileReason.UnexpectedStructure),
        ["unclosed"] = (() => Safetensors("{", 0), InvalidModelFileReason.InvalidJson),
        ["trailing-comma"] = (() => Safetensors("""{"__metadata__":{"a":"b"},}""", 0), InvalidModelFileReason.InvalidJson),
        ["comment"] = (() => Safetensors("{/* x */}", 0), InvalidModelFileReason.InvalidJson),
        ["trailing-garbage"] = (() => Safetensors("{}x", 0), InvalidModelFileReason.TrailingHeaderBytes),
        ["two-objects"] = (() => Safetensors("{}{}", 0), InvalidModelFileReason.TrailingHeaderBytes),
        ["trailing-nul"] = (() => Safetensors("{}\0", 0), InvalidModelFileReason.TrailingHeaderBytes),
        ["trailing-form-feed"] = (() => Safetensors("{}  \f", 0), InvalidModelFileReason.TrailingHeaderBytes),
        ["trailing-nbsp"] = (() => Safetensors("{}\u00a0", 0), InvalidModelFileReason.TrailingHeaderBytes),
        ["deep-65"] = (() => Safetensors("{\"__metadata__\":" + new string('[', 64) + new string(']', 64) + "}", 0), InvalidModelFileReason.NestingTooDeep),
        ["deep-100000"] = (() => Safetensors("{\"a\":" + new string('[', 100_000) + new string(']', 100_000) + "}", 0), InvalidModelFileReason.NestingTooDeep),
        ["tensor-is-number"] = (() => Safetensors("""{"t":1}""", 0), InvalidModelFileReason.UnexpectedStructure),
        ["tensor-is-array"] = (() => Safetensors("""{"t":[]}""", 0), InvalidModelFileReason.UnexpectedStructure),
        ["tensor-is-null"] = (() => Safetensors("""{"t":null}""", 0), InvalidModelFileReason.UnexpectedStructure),
        ["duplicate-tensor"] = (() => Safetensors("""{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}""", 2), InvalidModelFileReason.DuplicateKey),
        ["duplicate-escaped"] = (() => Safetensors("""{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\u0074":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}""", 2), InvalidModelFileReason.DuplicateKey),
        ["duplicate-metadata-key"] = (() => Safetensors("""{"__metadata__":{"a":"1","a":"2"}}""", 0), InvalidModelFileReason.DuplicateKey),
        ["duplicate-metadata"] = (() => Safetensors("""{"__metadata__":{},"__metadata__":{}}""", 0), InvalidModelFileReason.DuplicateKey),
        ["duplicate-dtype-field"] = (() => Safetensors("""{"t":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}""", 1), InvalidModelFileReason.DuplicateKey),
        ["duplicate-shape-field"] = (() => Safetensors("""{"t":{"dtype":"U8","shape":[1],"shape":[1],"data_offsets":[0,1]}}""", 1), InvalidModelFileReason.DuplicateKey),
        ["duplicate-offsets-field"] = (() => Safetensors("""{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"data_offsets":[0,1]}}""", 1), InvalidModelFileReason.DuplicateKey),
        ["duplicate-unknown-field"] = (() => Safetensors("""{"t":{"dtype":"U8","x":1,"shape":[1],"x":2,"data_offsets":[0,1]}}""", 1), InvalidModelFileReason.DuplicateKey),
        ["duplicate-null-metadata"] = (() => Safetensors("""{"__metadata__":null,"__metadata__":{}}""", 0), InvalidModelFileReason.DuplicateKey),
        ["metadata-array"] = (() => Safetensors("""{"__metadata__":[]}""", 0), InvalidModelFileReason.InvalidMetadata),
        ["metadata-number-value"] = (() => Safetensors("""{"__metadata__":{"a":1}}""", 0), InvalidModelFileReason.InvalidMetadata),
        ["metadata-nested"] = (() => Safetensors("""{"__metadata__":{"a":{"b":"c"}}}""", 0), InvalidModelFileReason.InvalidMetadata),
        ["metadata-string"] = (() => Safetensors("""{"__metadata__":"x"}""", 0), InvalidModelFileReason.InvalidMetadata),
        ["metadata-false"] = (() => Safetensors("""{"__metadata__":false}""", 0), InvalidModelFileReason.InvalidMetadata),
        ["metadata-null-value"] = (() => Safetensors("""{"__metadata__":{"a":null}}""", 0), InvalidModelFileReason.InvalidMetadata),
        ["missing-dtype"] = (() => Safetensors("""{"t":{"shape":[1],"data_offsets":[0,1]}}""", 1), InvalidModelFileReason.InvalidTensorEntry),
        ["missing-shape"] = (() => Safetensors("""{"t":{"dtype":"U8","data_offsets":[0,1]}}""", 1), InvalidModelFileReason.InvalidTensorEntry),
        ["missing-offsets"] = (() => Safetensors("""{"t":{"dtype":"U8","shape":[1]}}""", 1), InvalidModelFileReason.InvalidTensorEntry),
        ["extra-field-deep"] = (() => Safetensors("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":" + new string('[', 63) + new string(']', 63) + "}}", 1), InvalidModelFileReason.NestingTooDeep),
        ["extra-field-bad-json"] = (() => Safetensors("""{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":[1,]}}""", 1), InvalidModelFileReason.InvalidJson),
        ["extra-field-lone-surrogate"] = (() => Safetensors("""{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"\ud800":0}}""", 1), InvalidModelFileReason.InvalidUtf8),
        ["extra-field-without-dtype"] = (() => Safetensors("""{"t":{"type":"U8","shape":[1],"data_offsets":[0,1]}}""", 1), InvalidModelFileReason.InvalidTensorEntry),
        ["dtype-number"] = (() => OneTensor("U8", "[1]", "[0,1]", 1).Replace("\"U8\"", "  7 "), InvalidModelFileReason.InvalidTensorEntry),
        ["dtype-lowercase"] = (() => OneTensor("f16", "[1]", "[0,2]", 2), InvalidModelFileReason.UnknownDataType),
        ["dtype-unknown"] = (() => OneTensor("Q4_0", "[1]", "[0,2]", 2), InvalidModelFileReason.UnknownDataType),
        ["dtype-padded"] = (() => OneTensor("F16 ", "[1]", "[0,2]", 2), InvalidModelFileReason.UnknownDataType),
        ["dtype-fnuz-lowercase"] = (() => OneTensor("F8_E4M3fnuz", "[1]", "[0,1]", 1), InvalidModelFileReason.UnknownDataType),
        ["dtype-fn"] = (() => OneTensor("F8_E4M3FN", "[1]", "[0,1]", 1), InvalidModelFileReason.UnknownDataType),
        ["fnuz-size-mismatch"] = (() => OneTensor("F8_E5M2FNUZ", "[4]", "[0,8]", 8), InvalidModelFileReason.TensorSizeMismatch),
        ["shape-negative"] = (() => OneTensor("U8", "[-1]", "[0,0]", 0), InvalidModelFileReason.InvalidShape),
        ["shape-float"] = (() => OneTensor("U8", "[2.0]", "[0,2]", 2), InvalidModelFileReason.InvalidShape),
        ["shape-exponent"] = (() => OneTensor("U8", "[2e0]", "[0,2]", 2), InvalidModelFileReason.InvalidShape),
        ["shape-huge-number"] = (() => OneTensor("U8", "[1e400]", "[0,2]", 2), InvalidModelFileReason.InvalidShape),
        ["shape-beyond-int64"] = (() => OneTensor("U8", "[9223372036854775808]", "[0,2]", 2), InvalidModelFileReason.InvalidShape),
        ["shape-string"] = (() => OneTensor("U8", "[\"2\"]", "[0,2]", 2), InvalidModelFileReason.InvalidShape),
        ["shape-not-array"] = (() => OneTensor("U8", "2", "[0,2]", 2), InvalidModelFileReason.InvalidShape),
        ["shape-nested"] = (() => OneTensor("U8", "[[2]]", "[0,2]", 2), InvalidModelFileReason.InvalidShape),
        ["offsets-three"] = (() => OneTensor("U8", "[2]", "[0,2,4]", 2), InvalidModelFileReason.InvalidDataOffsets),
        ["offsets-one"] = (() => OneTensor("U8", "[2]", "[2]", 2), InvalidModelFileReason.InvalidDataOffsets),
        ["offsets-reversed"] = (() => OneTensor("U8", "[2]", "[2,0]", 2), InvalidModelFileReason.InvalidDataOffsets),
        ["offsets-negative"] = (() => OneTensor("U8", "[2]", "[-2,0]", 2), InvalidModelFileReason.InvalidDataOffsets),
        ["offsets-object"] = (() => OneTensor("U8", "[2]", "{}", 2), InvalidModelFileReason.InvalidDataOffsets),
        ["elements-overflow"] = (() => OneTensor("U8", "[4294967296,4294967296]", "[0,2]", 2), InvalidModelFileReason.SizeOverflow),
        ["bits-overflow"] = (() => OneTensor("F64", "[4611686018427387904]", "[0,2]", 2), InvalidModelFileReason.SizeOverflow),
        ["size-mismatch"] = (() => OneTensor("F32", "[2]", "[0,4]", 4), InvalidModelFileReason.TensorSizeMismatch),
        ["size-mismatch-scalar"] = (() => OneTensor("F32", "[]", "[0,8]", 8), InvalidModelFileReason.TensorSizeMismatch),
        ["f4-odd"] = (() => OneTensor("F4", "[3]", "[0,2]", 2), InvalidModelFileReason.SubByteMisaligned),
        ["f6-three"] = (() => OneTensor("F6_E2M3", "[3]", "[0,3]", 3), InvalidModelFileReason.SubByteMisaligned),
        ["gap"] = (() => Safetensors("""{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}""", 3), InvalidModelFileReason.DataLayoutInvalid),
        ["overlap"] = (() => Safetensors("""{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}""", 3), InvalidModelFileReason.DataLayoutInvalid),
        ["not-from-zero"] = (() => OneTensor("U8", "[2]", "[1,3]", 3), InvalidModelFileReason.DataLayoutInvalid),
        ["trailing-data"] = (() => OneTensor("U8", "[2]", "[0,2]", 3), InvalidModelFileReason.DataLengthMismatch),
        ["missing-data"] = (() => OneTensor("F32", "[4]", "[0,16]", 15), InvalidModelFileReason.DataLengthMismatch),
        ["no-tensors-trailing-data"] = (() => Safetensors("{}", 1), InvalidModelFileReason.DataLengthMismatch),
    };

    public static TheoryData<string> CaseIds => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void MalformedFileIsRejectedWithReason(string id)
    {
        var (build, reason) = Cases[id];
        byte[] bytes = build();
        var ex = Assert.ThrowsAny<InvalidModelFileException>(() => SafetensorsFile.Read(new MemoryStream(bytes), id));
        Assert.Equal(reason, ex.Reason);
        Assert.Equal(id, ex.FilePath);
        Assert.Contains(reason.ToString(), ex.Message);
        Assert.Contains(id, ex.Message);
    }

    [Fact]
    public void CorpusIsLarge() => Assert.True(Cases.Count >= 40, $"{Cases.Count} cases");

    [Fact]
    public void TrailingWhitespacePaddingIsAccepted()
    {
        byte[] bytes = Safetensors("{\"t\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}  \t\r\n", 4);
        SafetensorsFile file = SafetensorsFile.Read(new MemoryStream(bytes));
        Assert.Single(file.Tensors);
        Assert.Equal(8 + file.HeaderLength + 0, file.Tensors[0].FileOffset);
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("\t")]
    [InlineData("\r\n")]
    [InlineData(" \t\r\n \n\n")]
    public void LeadingWhitespaceIsAccepted(string lead)
    {
        // serde_json, which the reference reader uses, skips space, tab, CR and LF before the object, as it does after.
        string header = lead + "{\"t\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}  ";
        SafetensorsFile file = SafetensorsFile.Read(new MemoryStream(Safetensors(header, 4)));
        SafetensorsTensorInfo t = Assert.Single(file.Tensors);
        Assert.Equal("t", t.Name);
        Assert.Equal(Encoding.UTF8.GetByteCount(header), file.HeaderLength);
        Assert.Equal(file.DataStart, t.FileOffset);
    }

    [Fact]
    public void UnknownTensorFieldsAreIgnored()
    {
        byte[] bytes = Safetensors(
            """{"a":{"note":"x","dtype":"F32","extra":{"k":[1,{"a":null,"a":true}],"\u00e9":-1.5e3},"shape":[2],"n":null,"data_offsets":[0,8],"t":false},"b":{"dtype":"U8","shape":[2],"data_offsets":[8,10],"deep":""" + new string('[', 62) + new string(']', 62) + "}}",
            10);
        SafetensorsFile file = SafetensorsFile.Read(new MemoryStream(bytes));
        Assert.Equal(["a", "b"], file.Tensors.Select(t => t.Name));
        Assert.True(file.TryGetTensor("a", out var a));
        Assert.Equal(SafetensorsDType.F32, a.DType);
        Assert.Equal([2L], a.Shape);
        Assert.Equal(8, a.DataLength);
        Assert.True(file.TryGetTensor("b", out var b));
        Assert.Equal(8, b.DataOffset);
    }

    [Fact]
    public void NullMetadataMeansNoMetadata()
    {
        SafetensorsFile file = SafetensorsFile.Read(new MemoryStream(Safetensors("""{"__metadata__":null,"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}""", 1)));
        Assert.Empty(file.Metadata);
        Assert.Single(file.Tensors);
        Assert.Empty(SafetensorsFile.Read(new MemoryStream(Safetensors("""{"__metadata__" : null}""", 0))).Metadata);
    }

    [Theory]
    [InlineData("""{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}""", "the header holds the key 't' twice")]
    [InlineData("""{"__metadata__":{"a":"1","a":"2"}}""", "the metadata holds the key 'a' twice")]
    [InlineData("""{"t":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}""", "tensor 't' has two 'dtype' fields")]
    [InlineData("""{"t":{"dtype":"U8","x":1,"shape":[1],"x":2,"data_offsets":[0,1]}}""", "tensor 't' has two 'x' fields")]
    public void DuplicateKeysAreRefusedSayingWhy(string header, string what)
    {
        var ex = Assert.Throws<InvalidModelFileException>(() => SafetensorsFile.Read(new MemoryStream(Safetensors(header, 2))));
        Assert.Equal(InvalidModelFileReason.DuplicateKey, ex.Reason);
        Assert.Contains(what, ex.Message);
        Assert.Contains("some take the first, others the last", ex.Message);
        Assert.Contains("some take the first, others the last", ex.Detail);
    }

    [Fact]
    public void FnuzDTypesAreAcceptedWithOneBytePerElement()
    {
        byte[] bytes = Safetensors("""{"a":{"dtype":"F8_E4M3FNUZ","shape":[2,3],"data_offsets":[0,6]},"b":{"dtype":"F8_E5M2FNUZ","shape":[5],"data_offsets":[6,11]}}""", 11);
        SafetensorsFile file = SafetensorsFile.Read(new MemoryStream(bytes));
        Assert.Equal([SafetensorsDType.F8_E4M3FNUZ, SafetensorsDType.F8_E5M2FNUZ], file.Tensors.Select(t => t.DType));
        Assert.Equal([6L, 5L], file.Tensors.Select(t => t.DataLength));
        Assert.Equal("F8_E4M3FNUZ", SafetensorsDTypes.Name(SafetensorsDType.F8_E4M3FNUZ));
        Assert.Equal(8, SafetensorsDTypes.BitSize(SafetensorsDType.F8_E5M2FNUZ));
    }

    [Fact]
    public void DTypeNumbersNeverChange()
    {
        // Public contract: new dtypes are appended, so earlier values keep their numbers.
        Assert.Equal(0, (int)SafetensorsDType.BOOL);
        Assert.Equal(7, (int)SafetensorsDType.F8_E4M3);
        Assert.Equal(19, (int)SafetensorsDType.U64);
        Assert.Equal(20, (int)SafetensorsDType.F8_E4M3FNUZ);
        Assert.Equal(21, (int)SafetensorsDType.F8_E5M2FNUZ);
    }

    [Fact]
    public void NamesFromTheFileAreEscapedInErrors()
    {
        // A tensor name that would fake a second line and set the terminal title if printed raw.
        byte[] bytes = Safetensors("""{"x\nfamily: SDXL\u001b]0;pwned\u0007\u202e":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 4);
        var ex = Assert.Throws<InvalidModelFileException>(() => SafetensorsFile.Read(new MemoryStream(bytes), "evil\n.safetensors"));
        Assert.Equal(InvalidModelFileReason.TensorSizeMismatch, ex.Reason);
        Assert.Contains(@"tensor 'x\nfamily: SDXL\x1b]0;pwned\x07\u202e'", ex.Message);
        Assert.Contains(@"'evil\n.safetensors'", ex.Message);
        Assert.Equal("evil\n.safetensors", ex.FilePath);
        Assert.DoesNotContain(ex.Message, c => char.IsControl(c) || c == '\u202e');

        string longName = new('n', 500);
        ex = Assert.Throws<InvalidModelFileException>(() => SafetensorsFile.Read(new MemoryStream(Safetensors("{\"" + longName + "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4))));
        Assert.Contains("'" + new string('n', DisplayText.DefaultMaxLength - 1) + "…'", ex.Message);
    }

    [Fact]
    public void EmptyHeaderObjectIsAValidEmptyFile()
    {
        SafetensorsFile file = SafetensorsFile.Read(new MemoryStream(Safetensors("{}", 0)));
        Assert.Empty(file.Tensors);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void SubByteTypesAndZeroSizedTensorsAreAccepted()
    {
        byte[] bytes = Safetensors("""{"a":{"dtype":"F4","shape":[2,3],"data_offsets":[0,3]},"b":{"dtype":"F6_E3M2","shape":[4],"data_offsets":[3,6]},"z":{"dtype":"F32","shape":[0,5],"data_offsets":[6,6]},"s":{"dtype":"BOOL","shape":[],"data_offsets":[6,7]}}""", 7);
        SafetensorsFile file = SafetensorsFile.Read(new MemoryStream(bytes));
        Assert.Equal(4, file.Tensors.Count);
        Assert.True(file.TryGetTensor("z", out var z));
        Assert.Equal(0, z.DataLength);
        Assert.Equal(0, z.ElementCount);
    }

    [Fact]
    public void WriterOutputReadsBackIdentically()
    {
        var writer = new SafetensorsWriter();
        writer.Metadata["modelspec.title"] = "tiny";
        writer.Metadata["ünïcode"] = "värde";
        writer.Add("model.diffusion_model.input_blocks.0.0.weight", "F16", [8, 4, 3, 3], new byte[8 * 4 * 9 * 2]);
        writer.Add("model.diffusion_model.input_blocks.0.0.bias", "F32", [8], new byte[32]);
        writer.Add("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", "BF16", [10, 768], new byte[10 * 768 * 2]);
        writer.Add("scalar", "I64", [], new byte[8]);
        using var ms = new MemoryStream();
        writer.Write(ms);
        ms.Position = 0;

        SafetensorsFile file = SafetensorsFile.Read(ms, "w");
        Assert.Equal(writer.Entries.Count, file.Tensors.Count);
        long expectedOffset = 0;
        for (int i = 0; i < writer.Entries.Count; i++)
        {
            var e = writer.Entries[i];
            var t = file.Tensors[i];
            Assert.Equal(e.Name, t.Name);
            Assert.Equal(e.DType, SafetensorsDTypes.Name(t.DType));
            Assert.Equal(e.Shape, t.Shape);
            Assert.Equal(e.Length, t.DataLength);
            Assert.Equal(expectedOffset, t.DataOffset);
            Assert.Equal(file.DataStart + expectedOffset, t.FileOffset);
            expectedOffset += e.Length;
        }

        Assert.Equal(writer.Metadata, file.Metadata);
        Assert.Equal(ms.Length, file.FileLength);
        Assert.Equal(8 + writer.BuildHeader().Length, file.BytesRead);
    }

    [Fact]
    public void OpenReadsOnlyTheHeaderOfAHugeSparseFile()
    {
        byte[] header = Encoding.UTF8.GetBytes("""{"big":{"dtype":"U8","shape":[2147483648],"data_offsets":[0,2147483648]}}""");
        byte[] prefix = Safetensors(header, 0);
        var stream = new CountingStream(new SparseStream(prefix, prefix.Length + 2147483648L));
        SafetensorsFile file = SafetensorsFile.Read(stream);
        Assert.Equal(2147483648L, file.Tensors[0].DataLength);
        Assert.Equal(8 + header.Length, file.BytesRead);
        Assert.Equal(8 + header.Length, stream.BytesRead);
    }

    [Fact]
    public void OpenFromDiskMatchesRead()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sdn-st-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, ValidSafetensors());
            SafetensorsFile file = SafetensorsFile.Open(path);
            Assert.Equal(Path.GetFullPath(path), file.FilePath);
            Assert.Equal("pt", file.Metadata["format"]);
            Assert.Equal(2, file.Tensors.Count);

            File.WriteAllBytes(path, OneTensor("F32", "[4]", "[0,16]", 12));
            var ex = Assert.Throws<InvalidModelFileException>(() => SafetensorsFile.Open(path));
            Assert.Equal(Path.GetFullPath(path), ex.FilePath);
            Assert.Equal(InvalidModelFileReason.DataLengthMismatch, ex.Reason);
            Assert.NotNull(ex.Offset);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void DTypeNamesRoundTripWithBitSizes()
    {
        foreach (SafetensorsDType d in Enum.GetValues<SafetensorsDType>())
        {
            Assert.True(SafetensorsDTypes.TryParse(SafetensorsDTypes.Name(d), out var parsed));
            Assert.Equal(d, parsed);
            Assert.True(SafetensorsDTypes.BitSize(d) is 4 or 6 or 8 or 16 or 32 or 64);
        }

        Assert.Equal(4, SafetensorsDTypes.BitSize(SafetensorsDType.F4));
        Assert.Equal(64, SafetensorsDTypes.BitSize(SafetensorsDType.C64));
        Assert.False(SafetensorsDTypes.TryParse("bf16", out _));
    }

    [Fact]
    public void NonSeekableStreamIsAnArgumentError()
        => Assert.Throws<ArgumentException>(() => SafetensorsFile.Read(new NonSeekable()));

    private sealed class NonSeekable : MemoryStream
    {
        public override bool CanSeek => false;
    }
}

internal static class ByteArrayExtensions
{
    public static byte[] Replace(this byte[] bytes, string from, string to)
    {
        string s = Encoding.Latin1.GetString(bytes);
        return Encoding.Latin1.GetBytes(s.Replace(from, to, StringComparison.Ordinal));
    }
}

internal sealed class CountingStream(Stream inner) : Stream
{
    public long BytesRead { get; private set; }

    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => inner.CanSeek;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position { get => inner.Position; set => inner.Position = value; }

    public override int Read(byte[] buffer, int offset, int count) => this.Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        this.BytesRead += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
