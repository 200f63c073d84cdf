using System.Buffers.Binary;

namespace StableDiffusion.Native.ModelFiles;

/// <summary>The container formats <see cref="ModelFile.Open(string, ModelFileOptions?)"/> recognizes.</summary>
public enum ModelFileFormat
{
    /// <summary>A single safetensors file.</summary>
    Safetensors,

    /// <summary>A sharded safetensors checkpoint described by a <c>*.safetensors.index.json</c> file.</summary>
    SafetensorsIndex,

    /// <summary>A GGUF file.</summary>
    Gguf,

    /// <summary>A PyTorch zip checkpoint (a zip archive holding a pickle).</summary>
    TorchZip,

    /// <summary>A raw Python pickle (legacy PyTorch <c>.ckpt</c>/<c>.pt</c>/<c>.pth</c>/<c>.bin</c>).</summary>
    LegacyPickle,
}

/// <summary>
/// Options for <see cref="ModelFile.Open(string, ModelFileOptions?)"/>. Immutable: a security switch such as
/// <see cref="AllowLegacyPickle"/> is chosen per call, never flipped for a whole process.
/// </summary>
public sealed record ModelFileOptions
{
    /// <summary>The default options: pickle-based formats refused.</summary>
    public static ModelFileOptions Default { get; } = new();

    /// <summary>
    /// Whether pickle-based checkpoints (<see cref="ModelFileFormat.TorchZip"/> and
    /// <see cref="ModelFileFormat.LegacyPickle"/>) are returned as a <see cref="LegacyModelFile"/> descriptor
    /// instead of being refused with <see cref="UnsafeModelFormatException"/>. Their content is never inspected,
    /// unpickled or executed by this library either way. Off by default.
    /// </summary>
    public bool AllowLegacyPickle { get; init; }
}

/// <summary>
/// A validated model file. Use <see cref="Open(string, ModelFileOptions?)"/> to detect the format from the file's
/// content, or the format-specific <c>Open</c> methods.
/// </summary>
public abstract class ModelFile
{
    /// <summary>How many leading bytes <see cref="Sniff"/> looks at.</summary>
    internal const int SniffLength = 64;

    /// <summary>The extensions of pickle-based checkpoints (refused unless allowed; also before a download).</summary>
    internal static readonly string[] PickleExtensions = [".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle"];

    private static readonly string LoadableNames = string.Join(", ", Enum.GetValues<SafetensorsDType>().Where(SafetensorsDTypes.IsLoadable).Select(SafetensorsDTypes.Name));

    private protected ModelFile(string? filePath) => this.FilePath = filePath;

    /// <summary>Gets the full path of the file, or the display name given for a stream.</summary>
    public string? FilePath { get; }

    /// <summary>Gets the container format.</summary>
    public abstract ModelFileFormat Format { get; }

    /// <summary>
    /// Opens and validates a model file, detecting its format from its content (GGUF magic, zip and pickle
    /// signatures, the safetensors header shape) and, where the content is ambiguous, its name.
    /// </summary>
    /// <param name="path">The file path.</param>
    /// <param name="options">Options; <see langword="null"/> for <see cref="ModelFileOptions.Default"/>.</param>
    /// <returns>A <see cref="SafetensorsFile"/>, <see cref="SafetensorsIndex"/>, <see cref="GgufFile"/> or <see cref="LegacyModelFile"/>.</returns>
    /// <exception cref="UnsafeModelFormatException">The file is pickle-based and <see cref="ModelFileOptions.AllowLegacyPickle"/> is off.</exception>
    /// <exception cref="InvalidModelFileException">The file is malformed or of an unknown format.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static ModelFile Open(string path, ModelFileOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= ModelFileOptions.Default;
        string fullPath = Path.GetFullPath(path);
        if (fullPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            return SafetensorsIndex.Open(fullPath);
        }

        using FileStream stream = OpenRead(fullPath);
        Span<byte> head = stackalloc byte[SniffLength];
        int n = ReadAtMost(stream, head);
        head = head[..n];
        stream.Position = 0;

        ModelFileFormat? format = Sniff(head, fullPath);
        switch (format)
        {
            case ModelFileFormat.Gguf:
                return GgufFile.Read(stream, fullPath);
            case ModelFileFormat.Safetensors:
                return SafetensorsFile.Read(stream, fullPath);
            case ModelFileFormat.TorchZip:
            case ModelFileFormat.LegacyPickle:
                return options.AllowLegacyPickle
                    ? new LegacyModelFile(fullPath, format.Value, stream.Length)
                    : throw new UnsafeModelFormatException(fullPath, format.Value);
            default:
                throw new InvalidModelFileException(
                    fullPath,
                    n == 0 ? InvalidModelFileReason.Truncated : InvalidModelFileReason.UnrecognizedFormat,
                    0,
                    n == 0 ? "the file is empty" : "the content matches no supported model format (safetensors, GGUF)");
        }
    }

    /// <summary>
    /// Opens and validates a model file that is about to be handed to stable-diffusion.cpp: <see cref="Open"/>,
    /// then refuses what is valid but upstream cannot load, so the failure names the tensor instead of surfacing as
    /// a native load error. Inspection uses <see cref="Open"/> and still describes such files.
    /// </summary>
    /// <exception cref="InvalidModelFileException">
    /// The file is malformed, or (<see cref="InvalidModelFileReason.UnsupportedDataType"/>) a safetensors tensor has
    /// a type for which <see cref="SafetensorsDTypes.IsLoadable(SafetensorsDType)"/> is false.
    /// </exception>
    internal static ModelFile OpenForLoading(string path, ModelFileOptions? options = null)
    {
        ModelFile file = Open(path, options);
        IEnumerable<SafetensorsFile> parts = file switch
        {
            SafetensorsFile single => [single],
            SafetensorsIndex index => index.Shards,
            _ => [],
        };
        foreach (SafetensorsFile part in parts)
        {
            foreach (SafetensorsTensorInfo t in part.Tensors)
            {
                if (!SafetensorsDTypes.IsLoadable(t.DType))
                {
                    throw new InvalidModelFileException(
                        part.FilePath,
                        InvalidModelFileReason.UnsupportedDataType,
                        null,
                        $"tensor '{DisplayText.Escape(t.Name)}' has dtype {SafetensorsDTypes.Name(t.DType)}, which stable-diffusion.cpp cannot load (it loads {LoadableNames}); the file can still be inspected");
                }
            }
        }

        return file;
    }

    /// <summary>Detects a format from the first <see cref="SniffLength"/> bytes of a file (fewer when it is shorter).</summary>
    internal static ModelFileFormat? Sniff(ReadOnlySpan<byte> head, string? path)
    {
        if (head.StartsWith("GGUF"u8))
        {
            return ModelFileFormat.Gguf;
        }

        if (head.StartsWith("PK\x03\x04"u8) || head.StartsWith("PK\x05\x06"u8))
        {
            return ModelFileFormat.TorchZip;
        }

        // Pickle protocol 2+ starts with PROTO (0x80) and the protocol number.
        if (head.Length >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5)
        {
            return ModelFileFormat.LegacyPickle;
        }

        // The header object may follow JSON whitespace (see SafetensorsFile); a longer run than the head holds is
        // still recognized by the file name below.
        if (head.Length >= 9)
        {
            int first = head[8..].IndexOfAnyExcept(" \t\n\r"u8);
            if (first >= 0 && head[8 + first] == (byte)'{')
            {
                return ModelFileFormat.Safetensors;
            }
        }

        string ext = path is null ? string.Empty : Path.GetExtension(path);
        if (ext.Equals(".safetensors", StringComparison.OrdinalIgnoreCase) || ext.Equals(".sft", StringComparison.OrdinalIgnoreCase))
        {
            return head.Length == 0 ? null : ModelFileFormat.Safetensors; // the parser reports what is wrong
        }

        foreach (string pickleExt in PickleExtensions)
        {
            if (ext.Equals(pickleExt, StringComparison.OrdinalIgnoreCase) && head.Length > 0)
            {
                // Older pickle protocols have no signature; refuse anything unverifiable under a pickle name.
                return ModelFileFormat.LegacyPickle;
            }
        }

        return null;
    }

    internal static FileStream OpenRead(string fullPath)
        => new(fullPath, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read, BufferSize = 0 });

    internal static int ReadAtMost(Stream stream, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int read = stream.Read(buffer[total..]);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    internal static ulong ReadUInt64(ReadOnlySpan<byte> span) => BinaryPrimitives.ReadUInt64LittleEndian(span);

    /// <summary>Gets the tensors in a format-neutral form for <see cref="ModelInfo"/>.</summary>
    internal abstract IEnumerable<TensorDescriptor> GetTensorDescriptors();
}

/// <summary>A tensor as <see cref="ModelInfo"/> sees it: ggml dimension order (ne[0] innermost).</summary>
internal readonly record struct TensorDescriptor(string Name, long[] Ne, string FileTypeName, QuantizationType? LoadType, long Elements, long FileBytes);

/// <summary>
/// A pickle-based checkpoint returned only when <see cref="ModelFileOptions.AllowLegacyPickle"/> is set. Its content
/// was <b>not inspected</b>: nothing is known about its tensors, and stable-diffusion.cpp's own pickle reader will
/// parse it when it is loaded.
/// </summary>
public sealed class LegacyModelFile : ModelFile
{
    internal LegacyModelFile(string filePath, ModelFileFormat format, long length)
        : base(filePath)
    {
        this.Format = format;
        this.FileLength = length;
    }

    /// <inheritdoc/>
    public override ModelFileFormat Format { get; }

    /// <summary>Gets the file length in bytes.</summary>
    public long FileLength { get; }

    /// <summary>Gets a value indicating whether the content was inspected; always <see langword="false"/>.</summary>
    public bool IsInspected { get; }

    internal override IEnumerable<TensorDescriptor> GetTensorDescriptors() => [];
}
