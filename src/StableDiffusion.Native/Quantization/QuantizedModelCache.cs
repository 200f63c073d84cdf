using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Native;

namespace StableDiffusion.Native.Quantization;

/// <summary>
/// Quantize-once cache: a model loaded with a <see cref="GeneratorOptions.WeightType"/> is converted once with
/// <see cref="ModelConverter"/> into a GGUF file in a cache folder, and later loads read that file directly.
/// </summary>
/// <remarks>
/// An entry's key is a SHA-256 over the source's full path, length and last-write time (UTC ticks), the weight
/// type, the tensor type rules and the pinned upstream commit: touching or replacing the source, changing the type
/// or rules, or upgrading the native runtime all give a new entry. Stale entries are not deleted automatically;
/// the folder can be emptied at any time. The default folder is <see cref="DefaultDirectory"/>.
/// </remarks>
public sealed class QuantizedModelCache
{
    /// <summary>Environment variable that overrides <see cref="DefaultDirectory"/>.</summary>
    public const string DirectoryVariable = "SDNET_MODEL_CACHE";

    private static readonly ConcurrentDictionary<string, object> s_keyLocks = new(StringComparer.Ordinal);

    /// <summary>Creates a cache over <paramref name="directory"/> (created on first write), or <see cref="DefaultDirectory"/>.</summary>
    public QuantizedModelCache(string? directory = null)
    {
        Directory = Path.GetFullPath(string.IsNullOrWhiteSpace(directory) ? DefaultDirectory : directory);
    }

    /// <summary>The folder holding the cached files.</summary>
    public string Directory { get; }

    /// <summary>
    /// <c>$SDNET_MODEL_CACHE</c> when set; otherwise <c>models</c> in the per-user cache folder:
    /// <c>%LOCALAPPDATA%\stable-diffusion-native\cache\models</c> on Windows,
    /// <c>~/Library/Caches/stable-diffusion-native/models</c> on macOS, and
    /// <c>$XDG_CACHE_HOME/stable-diffusion-native/models</c> (default <c>~/.cache/...</c>) elsewhere.
    /// </summary>
    public static string DefaultDirectory =>
        UserDirectories.FromEnvironment(DirectoryVariable, Path.Combine(UserDirectories.CacheRoot, "models"));

    /// <summary>The cache key (64 hex digits) of converting <paramref name="sourcePath"/> to <paramref name="type"/> with <paramref name="rules"/>.</summary>
    /// <exception cref="ArgumentException">The source does not exist.</exception>
    public static string ComputeKey(string sourcePath, QuantizationType type, string? rules)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sourcePath);
        var file = new FileInfo(Path.GetFullPath(sourcePath));
        if (!file.Exists) throw new ArgumentException($"No file at '{sourcePath}'.", nameof(sourcePath));
        string text = string.Join(
            '\n',
            "sdnet-quantized-v1",
            file.FullName,
            file.Length.ToString(CultureInfo.InvariantCulture),
            file.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture),
            QuantizationTypes.Name(type),
            rules ?? string.Empty,
            NativeRuntimeLoader.UpstreamCommit);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();
    }

    /// <summary>Where the entry for these inputs lives (whether or not it exists).</summary>
    /// <param name="sourcePath">The checkpoint to convert.</param>
    /// <param name="type">The weight type.</param>
    /// <param name="rules">Tensor type rules, or null.</param>
    /// <returns>The path of the cached GGUF.</returns>
    /// <exception cref="ArgumentException">The source does not exist.</exception>
    public string PathFor(string sourcePath, QuantizationType type, string? rules)
    {
        string key = ComputeKey(sourcePath, type, rules);
        string stem = Path.GetFileNameWithoutExtension(sourcePath);
        if (stem.Length > 64) stem = stem[..64];
        return Path.Combine(Directory, $"{stem}.{QuantizationTypes.Name(type)}.{key[..16]}.gguf");
    }

    /// <summary>The cached file for these inputs when it exists and validates; a corrupt entry is deleted.</summary>
    /// <param name="sourcePath">The checkpoint to convert.</param>
    /// <param name="type">The weight type.</param>
    /// <param name="rules">Tensor type rules, or null.</param>
    /// <param name="cachedPath">The entry's path, whether or not it exists.</param>
    /// <returns>Whether a valid entry exists.</returns>
    /// <exception cref="ArgumentException">The source does not exist.</exception>
    public bool TryGet(string sourcePath, QuantizationType type, string? rules, out string cachedPath)
    {
        cachedPath = PathFor(sourcePath, type, rules);
        return IsValid(cachedPath);
    }

    /// <summary>
    /// The cached file for these inputs, converting <paramref name="sourcePath"/> first when there is none. Concurrent
    /// callers in this process wait for one conversion; across processes the last rename wins (the files are equal).
    /// </summary>
    /// <param name="sourcePath">The checkpoint to convert.</param>
    /// <param name="type">The weight type.</param>
    /// <param name="rules">Tensor type rules, or null.</param>
    /// <param name="logger">Receives the converter's native log.</param>
    /// <param name="allowLegacyPickle">Accept a pickle-based source (parsed by upstream, not validated here).</param>
    /// <param name="threads">Converter threads; null for upstream's choice.</param>
    /// <param name="progress">Receives stage reports of a conversion.</param>
    /// <param name="cancellationToken">Observed before and after the native conversion.</param>
    /// <returns>The path of the cached GGUF.</returns>
    /// <exception cref="ArgumentException">The source does not exist, or a rule is invalid.</exception>
    /// <exception cref="InvalidModelFileException">The source is malformed or refused.</exception>
    /// <exception cref="NativeRuntimeException">No usable native runtime was found.</exception>
    /// <exception cref="GenerationException">Upstream failed to convert.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="IOException">The cache folder could not be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The cache folder may not be written.</exception>
    public string GetOrCreate(
        string sourcePath,
        QuantizationType type,
        string? rules,
        ILogger? logger = null,
        bool allowLegacyPickle = false,
        int? threads = null,
        IProgress<ConversionProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        string path = PathFor(sourcePath, type, rules);
        lock (s_keyLocks.GetOrAdd(path, _ => new object()))
        {
            if (IsValid(path)) return path;
            // Private: another account must not be able to plant the converted weights this user loads.
            UserDirectories.CreatePrivate(Directory);
            var options = new ConvertOptions { TensorTypeRules = rules, Logger = logger, AllowLegacyPickle = allowLegacyPickle, Overwrite = true, Threads = threads };
            ModelConverter.Convert(sourcePath, path, type, options, progress, cancellationToken);
            return path;
        }
    }

    private static bool IsValid(string path)
    {
        if (!File.Exists(path)) return false;
        try
        {
            return GgufFile.Open(path).Tensors.Count > 0;
        }
        catch (InvalidModelFileException)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }

            return false;
        }
    }
}
