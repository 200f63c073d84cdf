using System.Globalization;

namespace StableDiffusion.Native.ModelFiles;

/// <summary>
/// Machine-stable reasons why a model file was rejected. The numeric values and names are part of the public
/// contract and are never renumbered.
/// </summary>
public enum InvalidModelFileReason
{
    /// <summary>The file ends before a structure it announces.</summary>
    Truncated = 1,

    /// <summary>The file is empty or its content matches no supported format.</summary>
    UnrecognizedFormat = 2,

    /// <summary>The safetensors header length exceeds the 100,000,000-byte limit.</summary>
    HeaderTooLarge = 10,

    /// <summary>The safetensors header length points past the end of the file.</summary>
    HeaderOutOfBounds = 11,

    /// <summary>The header is not valid UTF-8.</summary>
    InvalidUtf8 = 12,

    /// <summary>The header starts with a UTF-8 byte order mark.</summary>
    ByteOrderMark = 13,

    /// <summary>The header is not well-formed JSON.</summary>
    InvalidJson = 14,

    /// <summary>The JSON header nests deeper than the allowed limit.</summary>
    NestingTooDeep = 15,

    /// <summary>Bytes other than whitespace follow the JSON header object.</summary>
    TrailingHeaderBytes = 16,

    /// <summary>The JSON is well-formed but does not have the structure the format prescribes.</summary>
    UnexpectedStructure = 17,

    /// <summary>
    /// An object holds the same key twice. JSON leaves duplicate keys undefined and readers disagree (some keep the
    /// first value, others the last), so two programs could read different tensors from one file.
    /// </summary>
    DuplicateKey = 18,

    /// <summary>The <c>__metadata__</c> entry is not a map of strings to strings.</summary>
    InvalidMetadata = 19,

    /// <summary>A tensor entry misses a required field, or its <c>dtype</c> is not a string.</summary>
    InvalidTensorEntry = 20,

    /// <summary>A tensor's data type is not known.</summary>
    UnknownDataType = 21,

    /// <summary>A tensor shape is not an array of non-negative integers, or has an unsupported rank.</summary>
    InvalidShape = 22,

    /// <summary>A tensor's data offsets are malformed or reversed.</summary>
    InvalidDataOffsets = 23,

    /// <summary>A size computation overflows 64 bits.</summary>
    SizeOverflow = 24,

    /// <summary>A tensor's byte length does not match its shape and data type.</summary>
    TensorSizeMismatch = 25,

    /// <summary>A tensor of a sub-byte data type does not end on a byte boundary.</summary>
    SubByteMisaligned = 26,

    /// <summary>The tensor data ranges leave a gap or overlap.</summary>
    DataLayoutInvalid = 27,

    /// <summary>The data section is shorter or longer than the tensors it holds.</summary>
    DataLengthMismatch = 28,

    /// <summary>
    /// A tensor's data type is valid in the format but stable-diffusion.cpp cannot load it (see
    /// <see cref="SafetensorsDTypes.IsLoadable(SafetensorsDType)"/>). Only loading refuses such a file; it can still be
    /// opened and inspected.
    /// </summary>
    UnsupportedDataType = 29,

    /// <summary>The GGUF magic is missing.</summary>
    BadMagic = 40,

    /// <summary>The GGUF version is not 2 or 3.</summary>
    UnsupportedVersion = 41,

    /// <summary>The GGUF file is big-endian.</summary>
    BigEndianNotSupported = 42,

    /// <summary>A count or length is larger than the bytes left in the file can hold.</summary>
    CountOutOfRange = 43,

    /// <summary>A string is not valid UTF-8 or is empty where a name is required.</summary>
    InvalidString = 44,

    /// <summary>A GGUF metadata value type is unknown.</summary>
    InvalidValueType = 45,

    /// <summary>A GGUF array holds arrays.</summary>
    NestedArray = 46,

    /// <summary><c>general.alignment</c> has the wrong type or is not a non-zero power of two.</summary>
    InvalidAlignment = 47,

    /// <summary>A tensor name is too long for ggml.</summary>
    TensorNameTooLong = 48,

    /// <summary>Two tensors share one name.</summary>
    DuplicateTensorName = 49,

    /// <summary>A tensor has fewer than one or more than four dimensions.</summary>
    InvalidDimensionCount = 50,

    /// <summary>A tensor dimension is zero or negative.</summary>
    InvalidDimension = 51,

    /// <summary>A tensor's ggml type is unknown.</summary>
    UnknownTensorType = 52,

    /// <summary>A tensor's first dimension is not a multiple of its type's block size.</summary>
    BlockSizeMismatch = 53,

    /// <summary>A tensor's data offset is not a multiple of the alignment.</summary>
    MisalignedTensorOffset = 54,

    /// <summary>A tensor's data lies (partly) outside the file.</summary>
    TensorDataOutOfBounds = 55,

    /// <summary>A shard index is malformed.</summary>
    InvalidIndex = 70,

    /// <summary>A shard path leaves the index's folder.</summary>
    ShardPathEscapesFolder = 71,

    /// <summary>A shard named by the index does not exist.</summary>
    ShardNotFound = 72,

    /// <summary>A tensor named in the index is not in the shard the index names.</summary>
    TensorMissingFromShard = 73,

    /// <summary>The same tensor is stored in more than one shard.</summary>
    DuplicateTensorAcrossShards = 74,

    /// <summary>The file is a pickle-based checkpoint (torch zip or legacy pickle) that is refused by default.</summary>
    UnsafeLegacyFormat = 90,
}

/// <summary>
/// The exception thrown when a model file is malformed, truncated or otherwise unsafe to hand to native code.
/// </summary>
/// <remarks>
/// The file path and the detail are passed through <see cref="DisplayText.Escape(string?, int)"/> (unshortened), so
/// <see cref="Exception.Message"/> and <see cref="Detail"/> are one line of printable text even when they quote a
/// hostile file. The readers additionally shorten every name they quote.
/// </remarks>
public class InvalidModelFileException : StableDiffusionException
{
    /// <summary>Initializes a new instance with a default message (the file and reason unknown).</summary>
    public InvalidModelFileException()
        : this(null, InvalidModelFileReason.UnrecognizedFormat, null, "the file is not a valid model file")
    {
    }

    /// <summary>Initializes a new instance with a message (the file unknown, the reason <see cref="InvalidModelFileReason.UnrecognizedFormat"/>).</summary>
    /// <param name="message">What is wrong with the file; control characters in it are escaped.</param>
    public InvalidModelFileException(string? message)
        : this(null, InvalidModelFileReason.UnrecognizedFormat, null, message ?? "the file is not a valid model file")
    {
    }

    /// <summary>Initializes a new instance with a message and the exception that caused it.</summary>
    /// <param name="message">What is wrong with the file; control characters in it are escaped.</param>
    /// <param name="innerException">The cause, or null.</param>
    public InvalidModelFileException(string? message, Exception? innerException)
        : this(null, InvalidModelFileReason.UnrecognizedFormat, null, message ?? "the file is not a valid model file", innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InvalidModelFileException"/> class.</summary>
    /// <param name="filePath">The path or display name of the file; may be <see langword="null"/>.</param>
    /// <param name="reason">The machine-stable reason.</param>
    /// <param name="offset">The byte offset at which the problem was found, if known.</param>
    /// <param name="detail">A human readable description; control characters in it are escaped.</param>
    /// <param name="innerException">The underlying exception, if any.</param>
    public InvalidModelFileException(string? filePath, InvalidModelFileReason reason, long? offset, string detail, Exception? innerException = null)
        : base(FormatMessage(filePath, reason, offset, detail), innerException)
    {
        this.FilePath = filePath;
        this.Reason = reason;
        this.Offset = offset;
        this.Detail = DisplayText.Escape(detail, int.MaxValue);
    }

    /// <summary>Gets the path or display name of the rejected file, if known.</summary>
    public string? FilePath { get; }

    /// <summary>Gets the byte offset at which the problem was found, if known.</summary>
    public long? Offset { get; }

    /// <summary>Gets the machine-stable reason.</summary>
    public InvalidModelFileReason Reason { get; }

    /// <summary>Why <see cref="InvalidModelFileReason.DuplicateKey"/> is refused, for the readers' messages.</summary>
    internal const string DuplicateKeyWhy = "readers disagree on which of two equal keys counts (some take the first, others the last), so one file could mean different things to different programs";

    /// <summary>Gets the human readable description without path, reason or offset, escaped for display.</summary>
    public string Detail { get; }

    private static string FormatMessage(string? filePath, InvalidModelFileReason reason, long? offset, string detail)
    {
        string where = offset is long o ? string.Create(CultureInfo.InvariantCulture, $" at byte {o}") : string.Empty;
        // A shard path comes from the index file, and a stream's display name from the caller: escape both.
        string file = string.IsNullOrEmpty(filePath) ? "<stream>" : DisplayText.Escape(filePath, int.MaxValue);
        return string.Create(CultureInfo.InvariantCulture, $"Invalid model file '{file}'{where}: {DisplayText.Escape(detail, int.MaxValue)} (reason: {reason}).");
    }
}

/// <summary>
/// The exception thrown when a model file uses a format that can execute code when loaded (Python pickle, including
/// PyTorch zip checkpoints) and <see cref="ModelFileOptions.AllowLegacyPickle"/> was not set.
/// </summary>
public sealed class UnsafeModelFormatException : InvalidModelFileException
{
    /// <summary>Initializes a new instance for an unnamed pickle-based file.</summary>
    public UnsafeModelFormatException()
        : this(null, ModelFileFormat.LegacyPickle)
    {
    }

    /// <summary>Initializes a new instance with a message (the file unknown).</summary>
    /// <param name="message">Why the file is refused.</param>
    public UnsafeModelFormatException(string? message)
        : this(message, (Exception?)null)
    {
    }

    /// <summary>Initializes a new instance with a message and the exception that caused it.</summary>
    /// <param name="message">Why the file is refused.</param>
    /// <param name="innerException">The cause, or null.</param>
    public UnsafeModelFormatException(string? message, Exception? innerException)
        : base(null, InvalidModelFileReason.UnsafeLegacyFormat, null, message ?? "pickle-based checkpoints are refused by default", innerException)
        => this.Format = ModelFileFormat.LegacyPickle;

    /// <summary>Initializes a new instance of the <see cref="UnsafeModelFormatException"/> class.</summary>
    /// <param name="filePath">The path of the file.</param>
    /// <param name="format">The detected format.</param>
    public UnsafeModelFormatException(string? filePath, ModelFileFormat format)
        : base(
            filePath,
            InvalidModelFileReason.UnsafeLegacyFormat,
            0,
            $"{format} checkpoints are pickle-based and are refused by default; convert the file to safetensors (or GGUF) or set ModelFileOptions.AllowLegacyPickle to load it unverified")
        => this.Format = format;

    /// <summary>Gets the detected format.</summary>
    public ModelFileFormat Format { get; }
}
