using System.Collections.ObjectModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;

namespace StableDiffusion.Native.ModelFiles;

/// <summary>A tensor entry of a safetensors header.</summary>
public sealed class SafetensorsTensorInfo
{
    internal SafetensorsTensorInfo(string name, SafetensorsDType dtype, long[] shape, long dataOffset, long dataLength, long fileOffset)
    {
        this.Name = name;
        this.DType = dtype;
        this.Shape = Array.AsReadOnly(shape);
        this.DataOffset = dataOffset;
        this.DataLength = dataLength;
        this.FileOffset = fileOffset;
    }

    /// <summary>Gets the tensor name.</summary>
    public string Name { get; }

    /// <summary>Gets the element type.</summary>
    public SafetensorsDType DType { get; }

    /// <summary>Gets the shape, outermost dimension first (PyTorch order).</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Gets the offset of the data from the start of the data section.</summary>
    public long DataOffset { get; }

    /// <summary>Gets the byte length of the data.</summary>
    public long DataLength { get; }

    /// <summary>Gets the absolute offset of the data in the file.</summary>
    public long FileOffset { get; }

    /// <summary>Gets the number of elements (the product of <see cref="Shape"/>; 1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in this.Shape)
            {
                n *= d;
            }

            return n;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{this.Name} {this.DType} [{string.Join(", ", this.Shape)}]";
}

/// <summary>
/// A validated safetensors file. Only the 8-byte header length and the JSON header are read; tensor data is never
/// touched, but its layout is checked against the file length.
/// </summary>
/// <remarks>
/// <para>Validation follows the reference implementation's rules (the Rust <c>safetensors</c> crate, which parses the
/// header with <c>serde_json</c>): header length at most 100,000,000 bytes and inside the file; strict UTF-8 without
/// byte order mark; one JSON object, optionally preceded and followed by JSON whitespace (space, tab, line feed,
/// carriage return; writers pad the header with trailing spaces to align the data); nesting at most
/// <see cref="MaxNestingDepth"/> levels; an optional <c>__metadata__</c> map of strings, or <c>null</c>; every other
/// entry an object with <c>dtype</c>, <c>shape</c> and <c>data_offsets</c>, each exactly once, and any other fields
/// ignored (as the reference ignores them); byte lengths equal to the checked product of the shape times the element
/// bit size; data ranges contiguous from 0 without gaps or overlaps; and the data section ending exactly at the end of
/// the file.</para>
/// <para>Stricter than the reference in one respect: a key that appears twice in the header, in
/// <c>__metadata__</c> or in a tensor entry is refused (<see cref="InvalidModelFileReason.DuplicateKey"/>). The
/// reference and stable-diffusion.cpp silently keep the last of two equal tensor names, other JSON readers the first,
/// so such a file could be validated as one thing and loaded as another.</para>
/// <para>Every name quoted in an error message is escaped and shortened with <see cref="DisplayText.Escape(string?, int)"/>.</para>
/// </remarks>
public sealed class SafetensorsFile : ModelFile
{
    /// <summary>The largest header length accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>The deepest JSON nesting accepted in a header.</summary>
    public const int MaxNestingDepth = 64;

    private const string MetadataKey = "__metadata__";
    private static readonly ReadOnlyDictionary<string, string> EmptyMetadata = new(new Dictionary<string, string>());

    private readonly Dictionary<string, SafetensorsTensorInfo> byName;

    private SafetensorsFile(string? path, long headerLength, long fileLength, List<SafetensorsTensorInfo> tensors, Dictionary<string, string>? metadata)
        : base(path)
    {
        this.HeaderLength = headerLength;
        this.FileLength = fileLength;
        this.Tensors = tensors.AsReadOnly();
        this.Metadata = metadata is null ? EmptyMetadata : new ReadOnlyDictionary<string, string>(metadata);
        this.byName = new Dictionary<string, SafetensorsTensorInfo>(tensors.Count, StringComparer.Ordinal);
        foreach (SafetensorsTensorInfo t in tensors)
        {
            this.byName.Add(t.Name, t);
        }
    }

    /// <inheritdoc/>
    public override ModelFileFormat Format => ModelFileFormat.Safetensors;

    /// <summary>Gets the tensors in header order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>Gets the <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Gets the JSON header length in bytes (excluding the 8-byte length prefix).</summary>
    public long HeaderLength { get; }

    /// <summary>Gets the absolute offset of the data section (8 + <see cref="HeaderLength"/>).</summary>
    public long DataStart => 8 + this.HeaderLength;

    /// <summary>Gets the file length in bytes.</summary>
    public long FileLength { get; }

    /// <summary>Gets the number of bytes read to validate the file (8 + <see cref="HeaderLength"/>).</summary>
    public long BytesRead => 8 + this.HeaderLength;

    /// <summary>Looks a tensor up by name.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="tensor">The tensor.</param>
    /// <returns><see langword="true"/> when found.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    public bool TryGetTensor(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SafetensorsTensorInfo? tensor)
    {
        ArgumentNullException.ThrowIfNull(name);
        return this.byName.TryGetValue(name, out tensor);
    }

    /// <summary>Opens and validates a safetensors file.</summary>
    /// <param name="path">The file path.</param>
    /// <returns>The validated file.</returns>
    /// <exception cref="InvalidModelFileException">The file is malformed.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        using FileStream stream = OpenRead(fullPath);
        return Read(stream, fullPath);
    }

    /// <summary>
    /// Validates a safetensors file from a stream. The file is taken to start at the stream's current position and
    /// end at the stream's end.
    /// </summary>
    /// <param name="stream">A readable, seekable stream.</param>
    /// <param name="name">A path or display name for error messages.</param>
    /// <returns>The validated file.</returns>
    /// <exception cref="ArgumentException">The stream cannot read or seek.</exception>
    /// <exception cref="InvalidModelFileException">The file is malformed.</exception>
    public static SafetensorsFile Read(Stream stream, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead || !stream.CanSeek)
        {
            throw new ArgumentException("The stream must be readable and seekable.", nameof(stream));
        }

        long fileLength = stream.Length - stream.Position;
        Span<byte> prefix = stackalloc byte[8];
        if (ReadAtMost(stream, prefix) < 8)
        {
            throw new InvalidModelFileException(name, InvalidModelFileReason.Truncated, 0, "the file is shorter than the 8-byte header length");
        }

        ulong headerLength = ReadUInt64(prefix);
        if (headerLength > MaxHeaderLength)
        {
            throw new InvalidModelFileException(name, InvalidModelFileReason.HeaderTooLarge, 0, $"the header length {headerLength} exceeds {MaxHeaderLength}");
        }

        if ((long)headerLength > fileLength - 8)
        {
            throw new InvalidModelFileException(name, InvalidModelFileReason.HeaderOutOfBounds, 0, $"the header length {headerLength} exceeds the {fileLength - 8} bytes after the length prefix");
        }

        byte[] header = new byte[(int)headerLength];
        if (ReadAtMost(stream, header) != header.Length)
        {
            throw new InvalidModelFileException(name, InvalidModelFileReason.Truncated, 8, "the stream ended inside the header");
        }

        return Parse(name, header, fileLength);
    }

    internal static SafetensorsFile Parse(string? name, ReadOnlySpan<byte> header, long fileLength)
    {
        ValidateSyntax(name, header);
        var (tensors, metadata) = ParseStructure(name, header);
        ValidateLayout(name, tensors, header.Length, fileLength);
        return new SafetensorsFile(name, header.Length, fileLength, tensors, metadata);
    }

    internal override IEnumerable<TensorDescriptor> GetTensorDescriptors()
    {
        foreach (SafetensorsTensorInfo t in this.Tensors)
        {
            yield return ToDescriptor(t);
        }
    }

    internal static TensorDescriptor ToDescriptor(SafetensorsTensorInfo t)
    {
        // ggml order: innermost first. Upstream folds a 5-D shape's two innermost dimensions; 0-D becomes [1].
        int rank = t.Shape.Count;
        long[] ne;
        if (rank == 0)
        {
            ne = [1];
        }
        else
        {
            ne = new long[rank];
            for (int i = 0; i < rank; i++)
            {
                ne[i] = t.Shape[rank - 1 - i];
            }
        }

        return new TensorDescriptor(t.Name, ne, SafetensorsDTypes.Name(t.DType), SafetensorsDTypes.LoadType(t.DType), t.ElementCount, t.DataLength);
    }

    private static InvalidModelFileException Error(string? name, InvalidModelFileReason reason, long headerIndex, string detail)
        => new(name, reason, 8 + headerIndex, detail);

    private static void ValidateSyntax(string? name, ReadOnlySpan<byte> header)
    {
        if (header.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            throw Error(name, InvalidModelFileReason.ByteOrderMark, 0, "the header starts with a UTF-8 byte order mark");
        }

        if (!Utf8.IsValid(header))
        {
            throw Error(name, InvalidModelFileReason.InvalidUtf8, 0, "the header is not valid UTF-8");
        }

        // serde_json (the reference) and nlohmann::json (upstream) both skip JSON whitespace before the object.
        int start = header.IndexOfAnyExcept(" \t\n\r"u8);
        if (start < 0 || header[start] != (byte)'{')
        {
            throw Error(name, InvalidModelFileReason.UnexpectedStructure, Math.Max(start, 0), "the header does not start with a JSON object");
        }

        var reader = new Utf8JsonReader(header, new JsonReaderOptions { MaxDepth = MaxNestingDepth * 4, CommentHandling = JsonCommentHandling.Disallow });
        bool closed = false;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= MaxNestingDepth)
                {
                    throw Error(name, InvalidModelFileReason.NestingTooDeep, reader.TokenStartIndex, $"the JSON header nests deeper than {MaxNestingDepth} levels");
                }

                if (reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0)
                {
                    closed = true;
                }
            }
        }
        catch (JsonException ex)
        {
            long at = reader.BytesConsumed;
            throw closed
                ? Error(name, InvalidModelFileReason.TrailingHeaderBytes, at, "bytes other than whitespace follow the JSON header object")
                : Error(name, InvalidModelFileReason.InvalidJson, at, "the header is not well-formed JSON: " + ex.Message);
        }

        if (!closed)
        {
            throw Error(name, InvalidModelFileReason.InvalidJson, reader.BytesConsumed, "the JSON header object is incomplete");
        }
    }

    private static (List<SafetensorsTensorInfo> Tensors, Dictionary<string, string>? Metadata) ParseStructure(string? name, ReadOnlySpan<byte> header)
    {
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { MaxDepth = MaxNestingDepth * 4 });
        reader.Read(); // StartObject, checked by ValidateSyntax
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var tensors = new List<SafetensorsTensorInfo>();
        Dictionary<string, string>? metadata = null;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            long keyAt = reader.TokenStartIndex;
            string key = GetString(name, ref reader);
            if (!keys.Add(key))
            {
                throw Error(name, InvalidModelFileReason.DuplicateKey, keyAt, $"the header holds the key '{Show(key)}' twice; {InvalidModelFileException.DuplicateKeyWhy}");
            }

            reader.Read();
            if (key == MetadataKey)
            {
                // The reference reads __metadata__ as an optional map, so null means "no metadata".
                metadata = reader.TokenType == JsonTokenType.Null ? null : ParseMetadata(name, ref reader);
                continue;
            }

            tensors.Add(ParseTensor(name, key, ref reader));
        }

        return (tensors, metadata);
    }

    private static Dictionary<string, string> ParseMetadata(string? name, ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error(name, InvalidModelFileReason.InvalidMetadata, reader.TokenStartIndex, "'__metadata__' is neither an object nor null");
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            long keyAt = reader.TokenStartIndex;
            string key = GetString(name, ref reader);
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
            {
                throw Error(name, InvalidModelFileReason.InvalidMetadata, reader.TokenStartIndex, $"metadata value '{Show(key)}' is not a string");
            }

            if (!result.TryAdd(key, GetString(name, ref reader)))
            {
                throw Error(name, InvalidModelFileReason.DuplicateKey, keyAt, $"the metadata holds the key '{Show(key)}' twice; {InvalidModelFileException.DuplicateKeyWhy}");
            }
        }

        return result;
    }

    private static SafetensorsTensorInfo ParseTensor(string? name, string tensor, ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error(name, InvalidModelFileReason.UnexpectedStructure, reader.TokenStartIndex, $"the entry for tensor '{Show(tensor)}' is not an object");
        }

        long entryAt = reader.TokenStartIndex;
        string shown = Show(tensor);
        SafetensorsDType? dtype = null;
        long[]? shape = null;
        long[]? offsets = null;
        HashSet<string>? otherFields = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            long fieldAt = reader.TokenStartIndex;
            string field = GetString(name, ref reader);
            reader.Read();
            switch (field)
            {
                case "dtype":
                    if (dtype is not null)
                    {
                        throw Error(name, InvalidModelFileReason.DuplicateKey, fieldAt, $"tensor '{shown}' has two 'dtype' fields; {InvalidModelFileException.DuplicateKeyWhy}");
                    }

                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw Error(name, InvalidModelFileReason.InvalidTensorEntry, reader.TokenStartIndex, $"the dtype of tensor '{shown}' is not a string");
                    }

                    string dtypeName = GetString(name, ref reader);
                    dtype = SafetensorsDTypes.TryParse(dtypeName, out SafetensorsDType parsed)
                        ? parsed
                        : throw Error(name, InvalidModelFileReason.UnknownDataType, reader.TokenStartIndex, $"tensor '{shown}' has the unknown dtype '{DisplayText.Escape(dtypeName, 64)}'");
                    break;
                case "shape":
                    if (shape is not null)
                    {
                        throw Error(name, InvalidModelFileReason.DuplicateKey, fieldAt, $"tensor '{shown}' has two 'shape' fields; {InvalidModelFileException.DuplicateKeyWhy}");
                    }

                    shape = ReadIntegerArray(name, ref reader, InvalidModelFileReason.InvalidShape, $"the shape of tensor '{shown}'");
                    break;
                case "data_offsets":
                    if (offsets is not null)
                    {
                        throw Error(name, InvalidModelFileReason.DuplicateKey, fieldAt, $"tensor '{shown}' has two 'data_offsets' fields; {InvalidModelFileException.DuplicateKeyWhy}");
                    }

                    offsets = ReadIntegerArray(name, ref reader, InvalidModelFileReason.InvalidDataOffsets, $"the data offsets of tensor '{shown}'");
                    if (offsets.Length != 2)
                    {
                        throw Error(name, InvalidModelFileReason.InvalidDataOffsets, fieldAt, $"the data offsets of tensor '{shown}' are not two integers");
                    }

                    if (offsets[0] > offsets[1])
                    {
                        throw Error(name, InvalidModelFileReason.InvalidDataOffsets, fieldAt, $"the data offsets of tensor '{shown}' are reversed ({offsets[0]} > {offsets[1]})");
                    }

                    break;
                default:
                    // The reference ignores fields it does not know (serde without deny_unknown_fields), and so does
                    // upstream; only their uniqueness is checked, as for every other key.
                    if (!(otherFields ??= new HashSet<string>(StringComparer.Ordinal)).Add(field))
                    {
                        throw Error(name, InvalidModelFileReason.DuplicateKey, fieldAt, $"tensor '{shown}' has two '{DisplayText.Escape(field, 64)}' fields; {InvalidModelFileException.DuplicateKeyWhy}");
                    }

                    reader.Skip();
                    break;
            }
        }

        if (dtype is null || shape is null || offsets is null)
        {
            string missing = dtype is null ? "dtype" : shape is null ? "shape" : "data_offsets";
            throw Error(name, InvalidModelFileReason.InvalidTensorEntry, entryAt, $"tensor '{shown}' has no '{missing}' field");
        }

        long elements = 1;
        foreach (long d in shape)
        {
            if (!TryMultiply(elements, d, out elements))
            {
                throw Error(name, InvalidModelFileReason.SizeOverflow, entryAt, $"the element count of tensor '{shown}' overflows");
            }
        }

        int bits = SafetensorsDTypes.BitSize(dtype.Value);
        if (!TryMultiply(elements, bits, out long totalBits))
        {
            throw Error(name, InvalidModelFileReason.SizeOverflow, entryAt, $"the byte size of tensor '{shown}' overflows");
        }

        if (totalBits % 8 != 0)
        {
            throw Error(name, InvalidModelFileReason.SubByteMisaligned, entryAt, $"tensor '{shown}' ({elements} × {bits} bits) does not end on a byte boundary");
        }

        long bytes = totalBits / 8;
        if (offsets[1] - offsets[0] != bytes)
        {
            throw Error(name, InvalidModelFileReason.TensorSizeMismatch, entryAt, $"tensor '{shown}' spans {offsets[1] - offsets[0]} bytes but its shape and dtype need {bytes}");
        }

        return new SafetensorsTensorInfo(tensor, dtype.Value, shape, offsets[0], bytes, 0);
    }

    private static long[] ReadIntegerArray(string? name, ref Utf8JsonReader reader, InvalidModelFileReason reason, string what)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Error(name, reason, reader.TokenStartIndex, $"{what} is not an array");
        }

        var values = new List<long>(4);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || reader.ValueSpan[0] == (byte)'-' || !reader.TryGetInt64(out long value))
            {
                throw Error(name, reason, reader.TokenStartIndex, $"{what} holds something other than a non-negative 64-bit integer");
            }

            values.Add(value);
        }

        return values.ToArray();
    }

    private static void ValidateLayout(string? name, List<SafetensorsTensorInfo> tensors, long headerLength, long fileLength)
    {
        long dataStart = 8 + headerLength;
        var order = tensors.ToArray();
        Array.Sort(order, static (a, b) =>
        {
            int c = a.DataOffset.CompareTo(b.DataOffset);
            return c != 0 ? c : (a.DataOffset + a.DataLength).CompareTo(b.DataOffset + b.DataLength);
        });

        long expected = 0;
        foreach (SafetensorsTensorInfo t in order)
        {
            if (t.DataOffset != expected)
            {
                string kind = t.DataOffset > expected ? "a gap" : "an overlap";
                throw new InvalidModelFileException(name, InvalidModelFileReason.DataLayoutInvalid, dataStart + Math.Min(t.DataOffset, expected), $"tensor '{Show(t.Name)}' starts at data offset {t.DataOffset}, leaving {kind} after offset {expected}");
            }

            expected = t.DataOffset + t.DataLength;
        }

        long dataLength = fileLength - dataStart;
        if (expected != dataLength)
        {
            string what = expected < dataLength ? $"{dataLength - expected} trailing bytes follow the tensor data" : $"the tensor data needs {expected} bytes but the file has {dataLength}";
            throw new InvalidModelFileException(name, InvalidModelFileReason.DataLengthMismatch, dataStart + Math.Min(expected, dataLength), what);
        }

        for (int i = 0; i < tensors.Count; i++)
        {
            SafetensorsTensorInfo t = tensors[i];
            tensors[i] = new SafetensorsTensorInfo(t.Name, t.DType, [.. t.Shape], t.DataOffset, t.DataLength, dataStart + t.DataOffset);
        }
    }

    private static bool TryMultiply(long a, long b, out long result)
    {
        try
        {
            result = checked(a * b);
            return true;
        }
        catch (OverflowException)
        {
            result = 0;
            return false;
        }
    }

    private static string GetString(string? name, ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException ex)
        {
            // For example an escaped lone surrogate ("\ud800"), which is not a Unicode scalar value.
            throw Error(name, InvalidModelFileReason.InvalidUtf8, reader.TokenStartIndex, "a JSON string is not valid Unicode: " + ex.Message);
        }
    }

    private static string Show(string s) => DisplayText.Escape(s);
}
