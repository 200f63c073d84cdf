using System.Collections.ObjectModel;
using System.Text.Json;
using System.Text.Unicode;

namespace StableDiffusion.Native.ModelFiles;

/// <summary>
/// A validated sharded safetensors checkpoint (<c>*.safetensors.index.json</c>): the index's <c>weight_map</c>
/// names, for each tensor, the shard holding it.
/// </summary>
/// <remarks>
/// Every shard must be a relative path inside the index's folder: rooted paths, <c>..</c> segments, and symbolic
/// links (of the shard or of a folder on its way) that lead outside the folder are refused. Every shard is validated
/// as a <see cref="SafetensorsFile"/>, every tensor the index names must be in the shard it names, and no tensor may
/// be stored in two shards. Tensor and shard names quoted in error messages are escaped with
/// <see cref="DisplayText.Escape(string?, int)"/>.
/// </remarks>
public sealed class SafetensorsIndex : ModelFile
{
    /// <summary>The largest index file accepted, in bytes.</summary>
    public const long MaxIndexLength = 100_000_000;

    private SafetensorsIndex(string path, IReadOnlyDictionary<string, string> weightMap, List<SafetensorsFile> shards, Dictionary<string, (SafetensorsFile Shard, SafetensorsTensorInfo Tensor)> tensors)
        : base(path)
    {
        this.WeightMap = weightMap;
        this.Shards = shards.AsReadOnly();
        this.TensorsByName = new ReadOnlyDictionary<string, (SafetensorsFile Shard, SafetensorsTensorInfo Tensor)>(tensors);
    }

    /// <inheritdoc/>
    public override ModelFileFormat Format => ModelFileFormat.SafetensorsIndex;

    /// <summary>Gets the index's tensor name → shard file name map, as written.</summary>
    public IReadOnlyDictionary<string, string> WeightMap { get; }

    /// <summary>Gets the validated shards, in order of first mention.</summary>
    public IReadOnlyList<SafetensorsFile> Shards { get; }

    /// <summary>Gets every tensor of every shard, with the shard that holds it.</summary>
    public IReadOnlyDictionary<string, (SafetensorsFile Shard, SafetensorsTensorInfo Tensor)> TensorsByName { get; }

    /// <summary>Gets the total number of bytes read to validate the index and its shards.</summary>
    public long BytesRead { get; private set; }

    /// <summary>Opens and validates an index file and all its shards.</summary>
    /// <param name="path">The index path.</param>
    /// <returns>The validated index.</returns>
    /// <exception cref="InvalidModelFileException">The index or a shard is malformed, or a shard escapes the folder.</exception>
    public static SafetensorsIndex Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        byte[] json;
        using (FileStream stream = OpenRead(fullPath))
        {
            if (stream.Length > MaxIndexLength)
            {
                throw new InvalidModelFileException(fullPath, InvalidModelFileReason.HeaderTooLarge, 0, $"the index is larger than {MaxIndexLength} bytes");
            }

            json = new byte[stream.Length];
            if (ReadAtMost(stream, json) != json.Length)
            {
                throw new InvalidModelFileException(fullPath, InvalidModelFileReason.Truncated, 0, "the index could not be read completely");
            }
        }

        Dictionary<string, string> weightMap = ParseWeightMap(fullPath, json);
        string folder = Path.GetDirectoryName(fullPath)!;
        var shardsByFile = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        var shards = new List<SafetensorsFile>();
        long bytesRead = json.Length;
        foreach ((string tensor, string file) in weightMap)
        {
            if (!shardsByFile.TryGetValue(file, out SafetensorsFile? shard))
            {
                string shardPath = ResolveShard(fullPath, folder, file);
                shard = SafetensorsFile.Open(shardPath);
                shardsByFile.Add(file, shard);
                shards.Add(shard);
                bytesRead += shard.BytesRead;
            }

            if (!shard.TryGetTensor(tensor, out _))
            {
                throw new InvalidModelFileException(fullPath, InvalidModelFileReason.TensorMissingFromShard, null, $"tensor '{DisplayText.Escape(tensor)}' is not in shard '{DisplayText.Escape(file)}'");
            }
        }

        var tensors = new Dictionary<string, (SafetensorsFile, SafetensorsTensorInfo)>(StringComparer.Ordinal);
        foreach (SafetensorsFile shard in shards)
        {
            foreach (SafetensorsTensorInfo t in shard.Tensors)
            {
                if (!tensors.TryAdd(t.Name, (shard, t)))
                {
                    throw new InvalidModelFileException(fullPath, InvalidModelFileReason.DuplicateTensorAcrossShards, null, $"tensor '{DisplayText.Escape(t.Name)}' is stored in '{DisplayText.Escape(Path.GetFileName(tensors[t.Name].Item1.FilePath))}' and '{DisplayText.Escape(Path.GetFileName(shard.FilePath))}'");
                }
            }
        }

        return new SafetensorsIndex(fullPath, new ReadOnlyDictionary<string, string>(weightMap), shards, tensors) { BytesRead = bytesRead };
    }

    internal override IEnumerable<TensorDescriptor> GetTensorDescriptors()
    {
        foreach (SafetensorsFile shard in this.Shards)
        {
            foreach (SafetensorsTensorInfo t in shard.Tensors)
            {
                yield return SafetensorsFile.ToDescriptor(t);
            }
        }
    }

    private static Dictionary<string, string> ParseWeightMap(string path, byte[] json)
    {
        ReadOnlySpan<byte> span = json;
        if (span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            span = span[3..]; // JSON files written by tools sometimes carry a BOM; harmless here.
        }

        if (!Utf8.IsValid(span))
        {
            throw new InvalidModelFileException(path, InvalidModelFileReason.InvalidUtf8, 0, "the index is not valid UTF-8");
        }

        Dictionary<string, string>? map = null;
        var reader = new Utf8JsonReader(span, new JsonReaderOptions { MaxDepth = SafetensorsFile.MaxNestingDepth });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InvalidModelFileException(path, InvalidModelFileReason.InvalidIndex, 0, "the index is not a JSON object");
            }

            var keys = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string key = reader.GetString()!;
                if (!keys.Add(key))
                {
                    throw new InvalidModelFileException(path, InvalidModelFileReason.DuplicateKey, reader.TokenStartIndex, $"the index holds the key '{DisplayText.Escape(key)}' twice; {InvalidModelFileException.DuplicateKeyWhy}");
                }

                reader.Read();
                if (key != "weight_map")
                {
                    reader.Skip();
                    continue;
                }

                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    throw new InvalidModelFileException(path, InvalidModelFileReason.InvalidIndex, reader.TokenStartIndex, "'weight_map' is not an object");
                }

                map = new Dictionary<string, string>(StringComparer.Ordinal);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    long at = reader.TokenStartIndex;
                    string tensor = reader.GetString()!;
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw new InvalidModelFileException(path, InvalidModelFileReason.InvalidIndex, reader.TokenStartIndex, $"the shard of tensor '{DisplayText.Escape(tensor)}' is not a string");
                    }

                    if (!map.TryAdd(tensor, reader.GetString()!))
                    {
                        throw new InvalidModelFileException(path, InvalidModelFileReason.DuplicateKey, at, $"'weight_map' names tensor '{DisplayText.Escape(tensor)}' twice; {InvalidModelFileException.DuplicateKeyWhy}");
                    }
                }
            }

            while (reader.Read())
            {
                // Consume to the end so trailing garbage is reported.
            }
        }
        catch (JsonException ex)
        {
            throw new InvalidModelFileException(path, InvalidModelFileReason.InvalidJson, reader.BytesConsumed, "the index is not well-formed JSON: " + ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidModelFileException(path, InvalidModelFileReason.InvalidUtf8, reader.BytesConsumed, "a JSON string is not valid Unicode: " + ex.Message);
        }

        if (map is null || map.Count == 0)
        {
            throw new InvalidModelFileException(path, InvalidModelFileReason.InvalidIndex, null, "the index has no (or an empty) 'weight_map'");
        }

        return map;
    }

    private static string ResolveShard(string indexPath, string folder, string file)
    {
        InvalidModelFileException Escape(string why)
            => new(indexPath, InvalidModelFileReason.ShardPathEscapesFolder, null, $"shard '{DisplayText.Escape(file)}' {why}");

        if (file.Length == 0 || file.Contains('\0') || Path.IsPathRooted(file) || file.Contains(':'))
        {
            throw Escape("is not a relative path");
        }

        string[] segments = file.Split('/', '\\');
        if (segments.Any(s => s is ".." or "." || s.Length == 0))
        {
            throw Escape("contains '.', '..' or empty path segments");
        }

        string folderFull = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        string candidate = Path.GetFullPath(Path.Combine(folderFull, Path.Combine(segments)));
        if (!IsUnder(candidate, folderFull))
        {
            throw Escape("resolves outside the index's folder");
        }

        // Follow symbolic links of the shard and the folders between it and the index's folder.
        string realFolder = RealPath(folderFull);
        string current = folderFull;
        foreach (string segment in segments)
        {
            current = Path.Combine(current, segment);
            FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
            if (info.LinkTarget is not null)
            {
                FileSystemInfo? target = info.ResolveLinkTarget(returnFinalTarget: true);
                if (target is null || !IsUnder(RealPath(target.FullName), realFolder))
                {
                    throw Escape("is a symbolic link that leads outside the index's folder");
                }
            }
        }

        if (!File.Exists(candidate))
        {
            throw new InvalidModelFileException(indexPath, InvalidModelFileReason.ShardNotFound, null, $"shard '{DisplayText.Escape(file)}' does not exist");
        }

        return candidate;
    }

    private static string RealPath(string path)
    {
        FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
        return info.LinkTarget is not null && info.ResolveLinkTarget(true) is FileSystemInfo t ? Path.TrimEndingDirectorySeparator(t.FullName) : Path.TrimEndingDirectorySeparator(info.FullName);
    }

    private static bool IsUnder(string path, string folder)
    {
        StringComparison cmp = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return path.Length > folder.Length
            && path.StartsWith(folder, cmp)
            && (path[folder.Length] == Path.DirectorySeparatorChar || path[folder.Length] == Path.AltDirectorySeparatorChar);
    }
}
