using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Text;

namespace StableDiffusion.Native.ModelFiles;

/// <summary>GGUF metadata value types (the numeric values are the format's).</summary>
public enum GgufValueType : uint
{
    /// <summary>Unsigned 8-bit integer.</summary>
    UInt8 = 0,

    /// <summary>Signed 8-bit integer.</summary>
    Int8 = 1,

    /// <summary>Unsigned 16-bit integer.</summary>
    UInt16 = 2,

    /// <summary>Signed 16-bit integer.</summary>
    Int16 = 3,

    /// <summary>Unsigned 32-bit integer.</summary>
    UInt32 = 4,

    /// <summary>Signed 32-bit integer.</summary>
    Int32 = 5,

    /// <summary>32-bit float.</summary>
    Float32 = 6,

    /// <summary>Boolean (one byte).</summary>
    Bool = 7,

    /// <summary>Length-prefixed UTF-8 string.</summary>
    String = 8,

    /// <summary>Array of one of the other types (never of arrays).</summary>
    Array = 9,

    /// <summary>Unsigned 64-bit integer.</summary>
    UInt64 = 10,

    /// <summary>Signed 64-bit integer.</summary>
    Int64 = 11,

    /// <summary>64-bit float.</summary>
    Float64 = 12,
}

/// <summary>A GGUF metadata value.</summary>
public sealed class GgufMetadataValue
{
    internal GgufMetadataValue(GgufValueType type, GgufValueType? elementType, object value)
    {
        this.Type = type;
        this.ElementType = elementType;
        this.Value = value;
    }

    /// <summary>Gets the value type.</summary>
    public GgufValueType Type { get; }

    /// <summary>Gets the element type when <see cref="Type"/> is <see cref="GgufValueType.Array"/>.</summary>
    public GgufValueType? ElementType { get; }

    /// <summary>
    /// Gets the value: <see cref="byte"/>, <see cref="sbyte"/>, <see cref="ushort"/>, <see cref="short"/>,
    /// <see cref="uint"/>, <see cref="int"/>, <see cref="float"/>, <see cref="bool"/>, <see cref="string"/>,
    /// <see cref="ulong"/>, <see cref="long"/> or <see cref="double"/>; for arrays, an array of one of those.
    /// </summary>
    public object Value { get; }

    /// <inheritdoc/>
    public override string ToString() => this.Value is Array a ? $"{this.ElementType}[{a.Length}]" : this.Value.ToString() ?? string.Empty;
}

/// <summary>A tensor described by a GGUF header.</summary>
public sealed class GgufTensorInfo
{
    internal GgufTensorInfo(string name, long[] dimensions, uint typeId, string typeName, ulong dataOffset, long dataLength, long fileOffset)
    {
        this.Name = name;
        this.Dimensions = Array.AsReadOnly(dimensions);
        this.TypeId = typeId;
        this.TypeName = typeName;
        this.DataOffset = dataOffset;
        this.DataLength = dataLength;
        this.FileOffset = fileOffset;
    }

    /// <summary>Gets the tensor name.</summary>
    public string Name { get; }

    /// <summary>Gets the dimensions in ggml order (<c>ne[0]</c>, the innermost, first).</summary>
    public IReadOnlyList<long> Dimensions { get; }

    /// <summary>Gets the ggml type id.</summary>
    public uint TypeId { get; }

    /// <summary>
    /// Gets the storage type. Every ggml type id except 42 (<c>q2_0</c>, which has no <c>sd_type_t</c> counterpart) is a
    /// defined <see cref="QuantizationType"/> member.
    /// </summary>
    public QuantizationType Type => (QuantizationType)this.TypeId;

    /// <summary>Gets ggml's name of the type, for example <c>"q8_0"</c>.</summary>
    public string TypeName { get; }

    /// <summary>Gets the offset of the data from the start of the data section.</summary>
    public ulong DataOffset { get; }

    /// <summary>Gets the byte length of the data.</summary>
    public long DataLength { get; }

    /// <summary>Gets the absolute offset of the data in the file.</summary>
    public long FileOffset { get; }

    /// <summary>Gets the number of elements.</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in this.Dimensions)
            {
                n *= d;
            }

            return n;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{this.Name} {this.TypeName} [{string.Join(", ", this.Dimensions)}]";
}

/// <summary>
/// A validated GGUF file header (metadata and tensor infos). Tensor data is never read, but every tensor's data is
/// checked to lie inside the file.
/// </summary>
/// <remarks>
/// Rules: magic <c>GGUF</c>; version 2 or 3 (little-endian only); tensor and key counts, string lengths and array
/// lengths bounded by the bytes left in the file; value types 0–12 and no arrays of arrays; unique, non-empty, UTF-8
/// keys; <c>general.alignment</c>, when present, a UINT32 non-zero power of two (default 32); tensor names unique,
/// UTF-8 and shorter than 160 bytes (upstream builds ggml with <c>GGML_MAX_NAME=160</c>); 1–4 dimensions, none zero or
/// negative; a known ggml type; <c>ne[0]</c> a multiple of the type's block size; overflow-checked byte sizes; data
/// offsets aligned, not overlapping, and ending inside the file (the data section starts at the aligned end of the
/// header). ggml's own reader additionally expects tensors to be stored contiguously in header order;
/// stable-diffusion.cpp falls back to a more lenient reader when that fails, so contiguity is not required here.
/// Keys and tensor names quoted in error messages are escaped with <see cref="DisplayText.Escape(string?, int)"/>;
/// string values are returned as stored, so escape them before showing them.
/// </remarks>
public sealed class GgufFile : ModelFile
{
    /// <summary>The default data alignment.</summary>
    public const uint DefaultAlignment = 32;

    /// <summary>The longest tensor name ggml accepts, in bytes (<c>GGML_MAX_NAME - 1</c>).</summary>
    public const int MaxTensorNameLength = 159;

    /// <summary>The largest number of dimensions.</summary>
    public const int MaxDimensions = 4;

    private GgufFile(string? path, uint version, uint alignment, long dataStart, long headerBytes, long fileLength, List<GgufTensorInfo> tensors, Dictionary<string, GgufMetadataValue> metadata)
        : base(path)
    {
        this.Version = version;
        this.Alignment = alignment;
        this.DataStart = dataStart;
        this.BytesRead = headerBytes;
        this.FileLength = fileLength;
        this.Tensors = tensors.AsReadOnly();
        this.Metadata = new ReadOnlyDictionary<string, GgufMetadataValue>(metadata);
    }

    /// <inheritdoc/>
    public override ModelFileFormat Format => ModelFileFormat.Gguf;

    /// <summary>Gets the format version (2 or 3).</summary>
    public uint Version { get; }

    /// <summary>Gets the data alignment.</summary>
    public uint Alignment { get; }

    /// <summary>Gets the absolute offset of the data section.</summary>
    public long DataStart { get; }

    /// <summary>Gets the number of header bytes read.</summary>
    public long BytesRead { get; }

    /// <summary>Gets the file length.</summary>
    public long FileLength { get; }

    /// <summary>Gets the tensors in header order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>Gets the metadata key/value pairs.</summary>
    public IReadOnlyDictionary<string, GgufMetadataValue> Metadata { get; }

    /// <summary>Opens and validates a GGUF file.</summary>
    /// <param name="path">The file path.</param>
    /// <returns>The validated file.</returns>
    /// <exception cref="InvalidModelFileException">The file is malformed.</exception>
    public static GgufFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        using FileStream stream = OpenRead(fullPath);
        return Read(stream, fullPath);
    }

    /// <summary>Validates a GGUF file from a stream, from its current position to its end.</summary>
    /// <param name="stream">A readable, seekable stream.</param>
    /// <param name="name">A path or display name for error messages.</param>
    /// <returns>The validated file.</returns>
    /// <exception cref="ArgumentException">The stream cannot read or seek.</exception>
    /// <exception cref="InvalidModelFileException">The file is malformed.</exception>
    public static GgufFile Read(Stream stream, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead || !stream.CanSeek)
        {
            throw new ArgumentException("The stream must be readable and seekable.", nameof(stream));
        }

        var r = new Reader(stream, name);
        return Parse(ref r, name);
    }

    internal override IEnumerable<TensorDescriptor> GetTensorDescriptors()
    {
        foreach (GgufTensorInfo t in this.Tensors)
        {
            QuantizationType? load = QuantizationTypes.IsKnown(t.Type) && t.TypeId != 42 ? t.Type : null;
            yield return new TensorDescriptor(t.Name, [.. t.Dimensions], t.TypeName, load, t.ElementCount, t.DataLength);
        }
    }

    private static GgufFile Parse(ref Reader r, string? name)
    {
        if (r.Remaining < 4)
        {
            throw r.Fail(InvalidModelFileReason.Truncated, "the file is shorter than the GGUF magic");
        }

        if (r.ReadUInt32() != 0x46554747)
        {
            throw new InvalidModelFileException(name, InvalidModelFileReason.BadMagic, 0, "the file does not start with 'GGUF'");
        }

        long versionAt = r.Position;
        uint version = r.ReadUInt32();
        if (version is not (2 or 3))
        {
            throw (version & 0xFFFF) == 0 && version != 0
                ? new InvalidModelFileException(name, InvalidModelFileReason.BigEndianNotSupported, versionAt, "big-endian GGUF is not supported")
                : new InvalidModelFileException(name, InvalidModelFileReason.UnsupportedVersion, versionAt, $"GGUF version {version} is not supported (2 and 3 are)");
        }

        long tensorCountAt = r.Position;
        ulong tensorCount = r.ReadUInt64();
        long kvCountAt = r.Position;
        ulong kvCount = r.ReadUInt64();

        // Smallest encodings: a tensor info takes 8 + 1 + 4 + 8 + 4 + 8 bytes, a key/value 8 + 1 + 4 + 1 bytes.
        if (tensorCount > (ulong)r.Remaining / 33)
        {
            throw new InvalidModelFileException(name, InvalidModelFileReason.CountOutOfRange, tensorCountAt, $"the tensor count {tensorCount} cannot fit in the {r.Remaining} bytes left");
        }

        if (kvCount > (ulong)r.Remaining / 14)
        {
            throw new InvalidModelFileException(name, InvalidModelFileReason.CountOutOfRange, kvCountAt, $"the key/value count {kvCount} cannot fit in the {r.Remaining} bytes left");
        }

        var metadata = new Dictionary<string, GgufMetadataValue>((int)kvCount, StringComparer.Ordinal);
        uint alignment = DefaultAlignment;
        for (ulong i = 0; i < kvCount; i++)
        {
            long keyAt = r.Position;
            string key = r.ReadString(strict: true, "key");
            if (key.Length == 0)
            {
                throw new InvalidModelFileException(name, InvalidModelFileReason.InvalidString, keyAt, "a metadata key is empty");
            }

            if (metadata.ContainsKey(key))
            {
                throw new InvalidModelFileException(name, InvalidModelFileReason.DuplicateKey, keyAt, $"the metadata key '{DisplayText.Escape(key)}' appears twice; {InvalidModelFileException.DuplicateKeyWhy}");
            }

            long typeAt = r.Position;
            GgufValueType type = ReadValueType(ref r);
            GgufMetadataValue value = ReadValue(ref r, type, typeAt);
            if (key == "general.alignment")
            {
                if (type != GgufValueType.UInt32)
                {
                    throw new InvalidModelFileException(name, InvalidModelFileReason.InvalidAlignment, typeAt, $"general.alignment has type {type}, not UInt32");
                }

                alignment = (uint)value.Value;
                if (alignment == 0 || (alignment & (alignment - 1)) != 0)
                {
                    throw new InvalidModelFileException(name, InvalidModelFileReason.InvalidAlignment, typeAt, $"general.alignment {alignment} is not a non-zero power of two");
                }
            }

            metadata.Add(key, value);
        }

        var tensors = new List<GgufTensorInfo>((int)Math.Min(tensorCount, 1 << 16));
        var names = new HashSet<string>(StringComparer.Ordinal);
        var raw = new List<(string Name, long[] Ne, uint Type, string TypeName, ulong Offset, long Bytes, long At)>();
        for (ulong i = 0; i < tensorCount; i++)
        {
            long at = r.Position;
            long nameLength = r.PeekStringLength();
            if (nameLength > MaxTensorNameLength)
            {
                throw new InvalidModelFileException(name, InvalidModelFileReason.TensorNameTooLong, at, $"a tensor name is {nameLength} bytes long; ggml allows at most {MaxTensorNameLength}");
            }

            string tensorName = r.ReadString(strict: true, "tensor name");
            if (tensorName.Length == 0)
            {
                throw new InvalidModelFileException(name, InvalidModelFileReason.InvalidString, at, "a tensor name is empty");
            }

            string shownName = DisplayText.Escape(tensorName);
            if (!names.Add(tensorName))
            {
                throw new InvalidModelFileException(name, InvalidModelFileReason.DuplicateTensorName, at, $"the tensor name '{shownName}' appears twice");
            }

            uint nDims = r.ReadUInt32();
            if (nDims is < 1 or > MaxDimensions)
            {
                throw new InvalidModelFileException(name, InvalidModelFileReason.InvalidDimensionCount, at, $"tensor '{shownName}' has {nDims} dimensions; 1 to {MaxDimensions} are allowed");
            }

            long[] ne = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++)
            {
                long dimAt = r.Position;
                ne[d] = (long)r.ReadUInt64();
                if (ne[d] <= 0)
                {
                    throw new InvalidModelFileException(name, InvalidModelFileReason.InvalidDimension, dimAt, $"dimension {d} of tensor '{shownName}' is {ne[d]}");
                }

                if (elements > long.MaxValue / ne[d])
                {
                    throw new InvalidModelFileException(name, InvalidModelFileReason.SizeOverflow, dimAt, $"the element count of tensor '{shownName}' overflows");
                }

                elements *= ne[d];
            }

            long typeAt = r.Position;
            uint typeId = r.ReadUInt32();
            if (!QuantizationTypes.TryGetTraits(typeId, out string typeName, out int blockSize, out int typeSize))
            {
                throw new InvalidModelFileException(name, InvalidModelFileReason.UnknownTensorType, typeAt, $"tensor '{shownName}' has the unknown ggml type {typeId}");
            }

            if (ne[0] % blockSize != 0)
            {
                throw new InvalidModelFileException(name, InvalidModelFileReason.BlockSizeMismatch, typeAt, $"tensor '{shownName}' has ne[0] = {ne[0]}, not a multiple of the {typeName} block size {blockSize}");
            }

            long bytes;
            try
            {
                bytes = checked(elements / blockSize * typeSize);
            }
            catch (OverflowException)
            {
                throw new InvalidModelFileException(name, InvalidModelFileReason.SizeOverflow, typeAt, $"the byte size of tensor '{shownName}' overflows");
            }

            long offsetAt = r.Position;
            ulong offset = r.ReadUInt64();
            if (offset % alignment != 0)
            {
                throw new InvalidModelFileException(name, InvalidModelFileReason.MisalignedTensorOffset, offsetAt, $"tensor '{shownName}' has data offset {offset}, not a multiple of the alignment {alignment}");
            }

            raw.Add((tensorName, ne, typeId, typeName, offset, bytes, offsetAt));
        }

        long headerEnd = r.Position;
        long dataStart = (long)(((ulong)headerEnd + alignment - 1) / alignment * alignment);
        long fileLength = r.Length;
        foreach (var t in raw)
        {
            // All in unsigned arithmetic: the offset is arbitrary, the rest is bounded by the file length.
            ulong start = (ulong)dataStart + t.Offset;
            if (t.Offset > (ulong)fileLength || start > (ulong)fileLength || (ulong)t.Bytes > (ulong)fileLength - start)
            {
                throw new InvalidModelFileException(name, InvalidModelFileReason.TensorDataOutOfBounds, t.At, $"the data of tensor '{DisplayText.Escape(t.Name)}' ({t.Bytes} bytes at data offset {t.Offset}) extends past the end of the {fileLength}-byte file");
            }

            tensors.Add(new GgufTensorInfo(t.Name, t.Ne, t.Type, t.TypeName, t.Offset, t.Bytes, (long)start));
        }

        var sorted = tensors.ToArray();
        Array.Sort(sorted, static (a, b) => a.FileOffset.CompareTo(b.FileOffset));
        for (int i = 1; i < sorted.Length; i++)
        {
            GgufTensorInfo prev = sorted[i - 1];
            if (sorted[i].FileOffset < prev.FileOffset + prev.DataLength)
            {
                throw new InvalidModelFileException(name, InvalidModelFileReason.DataLayoutInvalid, sorted[i].FileOffset, $"the data of tensors '{DisplayText.Escape(prev.Name)}' and '{DisplayText.Escape(sorted[i].Name)}' overlap");
            }
        }

        return new GgufFile(name, version, alignment, dataStart, headerEnd, fileLength, tensors, metadata);
    }

    private static GgufValueType ReadValueType(ref Reader r)
    {
        long at = r.Position;
        uint type = r.ReadUInt32();
        if (type > (uint)GgufValueType.Float64)
        {
            throw new InvalidModelFileException(r.Name, InvalidModelFileReason.InvalidValueType, at, $"the metadata value type {type} is unknown");
        }

        return (GgufValueType)type;
    }

    private static GgufMetadataValue ReadValue(ref Reader r, GgufValueType type, long typeAt)
    {
        if (type != GgufValueType.Array)
        {
            return new GgufMetadataValue(type, null, ReadScalar(ref r, type));
        }

        long elementTypeAt = r.Position;
        GgufValueType elementType = ReadValueType(ref r);
        if (elementType == GgufValueType.Array)
        {
            throw new InvalidModelFileException(r.Name, InvalidModelFileReason.NestedArray, elementTypeAt, "arrays of arrays are not supported");
        }

        long countAt = r.Position;
        ulong count = r.ReadUInt64();
        int minSize = elementType switch
        {
            GgufValueType.String => 8,
            _ => ScalarSize(elementType),
        };
        if (count > (ulong)r.Remaining / (ulong)minSize)
        {
            throw new InvalidModelFileException(r.Name, InvalidModelFileReason.CountOutOfRange, countAt, $"the array length {count} cannot fit in the {r.Remaining} bytes left");
        }

        int n = (int)count; // bounded by the file length / minSize, and arrays of over 2^31 elements are not supported
        if (count > int.MaxValue)
        {
            throw new InvalidModelFileException(r.Name, InvalidModelFileReason.CountOutOfRange, countAt, $"the array length {count} is too large");
        }

        Array values = elementType switch
        {
            GgufValueType.UInt8 => new byte[n],
            GgufValueType.Int8 => new sbyte[n],
            GgufValueType.UInt16 => new ushort[n],
            GgufValueType.Int16 => new short[n],
            GgufValueType.UInt32 => new uint[n],
            GgufValueType.Int32 => new int[n],
            GgufValueType.Float32 => new float[n],
            GgufValueType.Bool => new bool[n],
            GgufValueType.String => new string[n],
            GgufValueType.UInt64 => new ulong[n],
            GgufValueType.Int64 => new long[n],
            _ => new double[n],
        };

        for (int i = 0; i < n; i++)
        {
            values.SetValue(ReadScalar(ref r, elementType), i);
        }

        return new GgufMetadataValue(GgufValueType.Array, elementType, values);
    }

    private static int ScalarSize(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        _ => 8,
    };

    private static object ReadScalar(ref Reader r, GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => r.ReadByte(),
        GgufValueType.Int8 => (sbyte)r.ReadByte(),
        GgufValueType.UInt16 => r.ReadUInt16(),
        GgufValueType.Int16 => (short)r.ReadUInt16(),
        GgufValueType.UInt32 => r.ReadUInt32(),
        GgufValueType.Int32 => (int)r.ReadUInt32(),
        GgufValueType.Float32 => BitConverter.UInt32BitsToSingle(r.ReadUInt32()),
        GgufValueType.Bool => r.ReadByte() != 0,
        GgufValueType.String => r.ReadString(strict: false, "string value"),
        GgufValueType.UInt64 => r.ReadUInt64(),
        GgufValueType.Int64 => (long)r.ReadUInt64(),
        GgufValueType.Float64 => BitConverter.UInt64BitsToDouble(r.ReadUInt64()),
        _ => throw new InvalidOperationException("unreachable"),
    };

    /// <summary>A bounds-checked little-endian reader over a buffered stream.</summary>
    private struct Reader
    {
        private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        private readonly Stream stream;
        private readonly long origin;
        private readonly byte[] buffer;
        private int bufferPos;
        private int bufferLength;
        private long bufferStart;

        public Reader(Stream stream, string? name)
        {
            this.stream = stream;
            this.Name = name;
            this.origin = stream.Position;
            this.Length = stream.Length - this.origin;
            this.buffer = new byte[64 * 1024];
            this.bufferPos = this.bufferLength = 0;
            this.bufferStart = 0;
        }

        public string? Name { get; }

        public long Length { get; }

        public readonly long Position => this.bufferStart + this.bufferPos;

        public readonly long Remaining => this.Length - this.Position;

        public readonly InvalidModelFileException Fail(InvalidModelFileReason reason, string detail)
            => new(this.Name, reason, this.Position, detail);

        public byte ReadByte()
        {
            Span<byte> b = stackalloc byte[1];
            this.ReadExactly(b);
            return b[0];
        }

        public ushort ReadUInt16()
        {
            Span<byte> b = stackalloc byte[2];
            this.ReadExactly(b);
            return BinaryPrimitives.ReadUInt16LittleEndian(b);
        }

        public uint ReadUInt32()
        {
            Span<byte> b = stackalloc byte[4];
            this.ReadExactly(b);
            return BinaryPrimitives.ReadUInt32LittleEndian(b);
        }

        public ulong ReadUInt64()
        {
            Span<byte> b = stackalloc byte[8];
            this.ReadExactly(b);
            return BinaryPrimitives.ReadUInt64LittleEndian(b);
        }

        public long PeekStringLength()
        {
            long at = this.Position;
            ulong length = this.ReadUInt64();
            this.Seek(at);
            return length > long.MaxValue ? long.MaxValue : (long)length;
        }

        public string ReadString(bool strict, string what)
        {
            long at = this.Position;
            ulong length = this.ReadUInt64();
            if (length > (ulong)this.Remaining)
            {
                throw new InvalidModelFileException(this.Name, InvalidModelFileReason.CountOutOfRange, at, $"a {what} length {length} exceeds the {this.Remaining} bytes left");
            }

            byte[] bytes = new byte[(int)Math.Min(length, int.MaxValue)];
            if ((ulong)bytes.Length != length)
            {
                throw new InvalidModelFileException(this.Name, InvalidModelFileReason.CountOutOfRange, at, $"a {what} length {length} is too large");
            }

            this.ReadExactly(bytes);
            if (!strict)
            {
                return Encoding.UTF8.GetString(bytes);
            }

            try
            {
                return StrictUtf8.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw new InvalidModelFileException(this.Name, InvalidModelFileReason.InvalidString, at, $"a {what} is not valid UTF-8");
            }
        }

        private void Seek(long position)
        {
            if (position >= this.bufferStart && position <= this.bufferStart + this.bufferLength)
            {
                this.bufferPos = (int)(position - this.bufferStart);
                return;
            }

            this.bufferStart = position;
            this.bufferPos = this.bufferLength = 0;
            this.stream.Position = this.origin + position;
        }

        private void ReadExactly(Span<byte> destination)
        {
            if (destination.Length > this.Remaining)
            {
                throw this.Fail(InvalidModelFileReason.Truncated, $"the file ends {destination.Length - this.Remaining} bytes early");
            }

            while (!destination.IsEmpty)
            {
                if (this.bufferPos == this.bufferLength)
                {
                    this.bufferStart += this.bufferLength;
                    this.bufferPos = 0;
                    this.bufferLength = this.stream.Read(this.buffer, 0, this.buffer.Length);
                    if (this.bufferLength == 0)
                    {
                        throw this.Fail(InvalidModelFileReason.Truncated, "the stream ended early");
                    }
                }

                int n = Math.Min(destination.Length, this.bufferLength - this.bufferPos);
                this.buffer.AsSpan(this.bufferPos, n).CopyTo(destination);
                this.bufferPos += n;
                destination = destination[n..];
            }
        }
    }
}
