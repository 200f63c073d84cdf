namespace StableDiffusion.Native.ModelFiles;

/// <summary>One file in a <see cref="ModelsFolder"/>.</summary>
/// <param name="Name">The file name without its extension: what <see cref="ModelsFolder.Resolve"/> accepts.</param>
/// <param name="Path">The full path.</param>
/// <param name="Size">The file length in bytes.</param>
/// <param name="Info">What the file holds, or <see langword="null"/> when it could not be read (see <paramref name="Error"/>).</param>
/// <param name="Error">Why the file is unusable (malformed, pickle, unreadable), or <see langword="null"/>.</param>
public sealed record ModelsFolderEntry(string Name, string Path, long Size, ModelInfo? Info, string? Error)
{
    /// <summary>Whether the file validated.</summary>
    public bool IsValid => this.Info is not null;
}

/// <summary>
/// A folder of model files that can be named instead of given by path (<c>sdnet generate -m my-model</c>).
/// </summary>
/// <remarks>
/// The folder is, in order: the constructor argument; <c>$SDNET_MODELS_DIR</c>; the per-user data folder —
/// <c>%LOCALAPPDATA%\stable-diffusion-native\models</c> on Windows,
/// <c>~/Library/Application Support/stable-diffusion-native/models</c> on macOS, and
/// <c>$XDG_DATA_HOME/stable-diffusion-native/models</c> (default <c>~/.local/share/...</c>) elsewhere.
/// Only files directly in the folder with a model extension (<c>.safetensors</c>, <c>.sft</c>, <c>.gguf</c>,
/// <c>.ckpt</c>, <c>.pt</c>, <c>.pth</c>) are models; a model's name is its file name without the extension,
/// compared case-insensitively on Windows only.
/// </remarks>
public sealed class ModelsFolder
{
    /// <summary>Environment variable that overrides <see cref="DefaultDirectory"/>.</summary>
    public const string DirectoryVariable = "SDNET_MODELS_DIR";

    private static readonly string[] Extensions = [".safetensors", ".sft", ".gguf", ".ckpt", ".pt", ".pth"];

    /// <summary>Opens <paramref name="directory"/>, or <see cref="DefaultDirectory"/>. The folder need not exist.</summary>
    public ModelsFolder(string? directory = null)
    {
        this.Directory = System.IO.Path.GetFullPath(string.IsNullOrWhiteSpace(directory) ? DefaultDirectory : directory);
    }

    /// <summary>The folder's full path.</summary>
    public string Directory { get; }

    /// <summary>The default folder (see the class remarks).</summary>
    public static string DefaultDirectory =>
        UserDirectories.FromEnvironment(DirectoryVariable, System.IO.Path.Combine(UserDirectories.DataRoot, "models"));

    private static StringComparison NameComparison => OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>The model files in the folder, sorted by name; empty when the folder does not exist.</summary>
    public IReadOnlyList<string> Files()
    {
        if (!System.IO.Directory.Exists(this.Directory))
        {
            return [];
        }

        return System.IO.Directory.EnumerateFiles(this.Directory)
            .Where(f => Extensions.Any(e => f.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// Inspects every model file. A bad file is listed with its <see cref="ModelsFolderEntry.Error"/>; it never makes
    /// the listing fail.
    /// </summary>
    /// <param name="options">How to open files; <see langword="null"/> refuses pickles (listed as errors).</param>
    public IReadOnlyList<ModelsFolderEntry> List(ModelFileOptions? options = null)
    {
        var entries = new List<ModelsFolderEntry>();
        foreach (string path in this.Files())
        {
            string name = System.IO.Path.GetFileNameWithoutExtension(path);
            long size = 0;
            try
            {
                size = new FileInfo(path).Length;
                entries.Add(new ModelsFolderEntry(name, path, size, ModelInfo.FromFile(path, options), null));
            }
            catch (Exception e) when (e is InvalidModelFileException or IOException or UnauthorizedAccessException)
            {
                entries.Add(new ModelsFolderEntry(name, path, size, null, e.Message));
            }
        }

        return entries;
    }

    /// <summary>
    /// An existing file path as given (made full), the manifest <c>NAME.model.json</c> of a model made of several files
    /// (see <see cref="ModelManifest"/>), or the unique model of that name in the folder. A name may also be given with
    /// its extension.
    /// </summary>
    /// <param name="nameOrPath">A path, or a model's name in this folder.</param>
    /// <returns>The full path of the file.</returns>
    /// <exception cref="ArgumentException">No such file and no model of that name (the message lists close names), or several models share the name.</exception>
    public string Resolve(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrPath);
        if (File.Exists(nameOrPath))
        {
            return System.IO.Path.GetFullPath(nameOrPath);
        }

        // A manifest names a model made of several files; it wins over a file of the same name.
        if (!nameOrPath.Contains(System.IO.Path.DirectorySeparatorChar) && !nameOrPath.Contains(System.IO.Path.AltDirectorySeparatorChar)
            && System.IO.Path.Combine(this.Directory, nameOrPath + ModelManifest.Extension) is var manifest && File.Exists(manifest))
        {
            return manifest;
        }

        var files = this.Files();
        var matches = files.Where(f => string.Equals(System.IO.Path.GetFileNameWithoutExtension(f), nameOrPath, NameComparison)
                                       || string.Equals(System.IO.Path.GetFileName(f), nameOrPath, NameComparison)).ToList();
        if (matches.Count == 1)
        {
            return matches[0];
        }

        if (matches.Count > 1)
        {
            throw new ArgumentException(
                $"'{nameOrPath}' is ambiguous in {this.Directory}: {string.Join(", ", matches.Select(System.IO.Path.GetFileName))}; give the file name or a path.",
                nameof(nameOrPath));
        }

        if (!System.IO.Directory.Exists(this.Directory))
        {
            throw new ArgumentException(
                $"No file '{nameOrPath}', and the models folder {this.Directory} does not exist (set {DirectoryVariable} or pass --dir).",
                nameof(nameOrPath));
        }

        var manifests = System.IO.Directory.EnumerateFiles(this.Directory, "*" + ModelManifest.Extension)
            .Select(f => System.IO.Path.GetFileName(f)[..^ModelManifest.Extension.Length]);
        var close = Close(nameOrPath, files.Select(System.IO.Path.GetFileNameWithoutExtension).OfType<string>().Concat(manifests));
        string hint = close.Count > 0 ? " Did you mean: " + string.Join(", ", close) + "?" : files.Count == 0 && !manifests.Any() ? " The folder has no models." : string.Empty;
        throw new ArgumentException($"No file '{nameOrPath}', and no model of that name in {this.Directory}.{hint}", nameof(nameOrPath));
    }

    /// <summary>Up to five names that contain the query (case-insensitively) or are a few edits away, closest first.</summary>
    internal static List<string> Close(string query, IEnumerable<string> names)
    {
        string q = query.ToLowerInvariant();
        int limit = Math.Max(2, q.Length / 3);
        return names
            .Select(n => (Name: n, Distance: n.Contains(q, StringComparison.OrdinalIgnoreCase) || q.Contains(n.ToLowerInvariant(), StringComparison.Ordinal) ? 0 : Distance(q, n.ToLowerInvariant())))
            .Where(x => x.Distance <= limit)
            .OrderBy(x => x.Distance)
            .ThenBy(x => x.Name, StringComparer.Ordinal)
            .Select(x => x.Name)
            .Distinct()
            .Take(5)
            .ToList();
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
