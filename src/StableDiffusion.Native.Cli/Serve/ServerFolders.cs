namespace StableDiffusion.Native.Cli.Serve;

/// <summary>A LoRA a client may name: its display name (the file's stem) and its path under the LoRA folder, with '/'.</summary>
internal sealed record LoraFile(string Name, string Path, string FullPath);

/// <summary>An upscaler model a client may name by its stem (sd-server's <c>--hires-upscalers-dir</c>, top level only).</summary>
internal sealed record UpscalerFile(string Name, string FileName, string FullPath);

/// <summary>
/// The folders sd-server lists for clients: LoRAs (<c>--lora-model-dir</c>, searched recursively) and hires upscaler
/// models (<c>--hires-upscalers-dir</c>, top level). Read on each request, as sd-server does, so files added while the
/// server runs appear. A client names a file only by what these lists hold, so no path it sends reaches the file system:
/// "../x", absolute paths and links that lead out of the folder are never in a list.
/// </summary>
internal static class ServerFolders
{
    /// <summary>Bounds a hostile or huge folder tree: enough for any real LoRA collection.</summary>
    public const int MaxEntries = 10_000;

    private const int MaxDepth = 16;

    private static readonly string[] s_extensions = [".gguf", ".pt", ".pth", ".safetensors"];

    private static bool IsModelFile(string path) => s_extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    /// <summary>The LoRAs under <paramref name="root"/>, sorted by path; empty without a folder.</summary>
    public static IReadOnlyList<LoraFile> Loras(string? root)
    {
        if (root is null || !Directory.Exists(root)) return [];
        string full = Path.GetFullPath(root);
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            MaxRecursionDepth = MaxDepth,
            IgnoreInaccessible = true,
            AttributesToSkip = FileAttributes.ReparsePoint, // no links: a link could lead out of the folder
        };
        var found = new List<LoraFile>();
        foreach (string file in Directory.EnumerateFiles(full, "*", options))
        {
            if (!IsModelFile(file)) continue;
            string relative = Path.GetRelativePath(full, file).Replace('\\', '/');
            found.Add(new LoraFile(Path.GetFileNameWithoutExtension(file), relative, file));
            if (found.Count >= MaxEntries) break;
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return found;
    }

    /// <summary>sd-server's LoRA list, <c>[{"name": stem, "path": path under the folder}]</c>: what <c>lora[].path</c> takes.</summary>
    public static void WriteLoras(System.Text.Json.Utf8JsonWriter w, string? root)
    {
        w.WriteStartArray();
        foreach (var lora in Loras(root))
        {
            w.WriteStartObject();
            w.WriteString("name", lora.Name);
            w.WriteString("path", lora.Path);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>The upscaler models at the top of <paramref name="root"/>, sorted by name; empty without a folder.</summary>
    public static IReadOnlyList<UpscalerFile> Upscalers(string? root)
    {
        if (root is null || !Directory.Exists(root)) return [];
        string full = Path.GetFullPath(root);
        var options = new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        var found = Directory.EnumerateFiles(full, "*", options).Where(IsModelFile).Take(MaxEntries)
            .Select(f => new UpscalerFile(Path.GetFileNameWithoutExtension(f), Path.GetFileName(f), f)).ToList();
        found.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return found;
    }

    /// <summary>
    /// sd-server's structured <c>lora</c> field: <c>[{"path": "style/ink.safetensors", "multiplier": 0.8, "is_high_noise": false}]</c>,
    /// each path one of <see cref="Loras"/>; the same file named twice adds its multipliers, as sd-server's map does.
    /// </summary>
    /// <exception cref="BadRequestException">An entry without a path, or a path not in the LoRA folder.</exception>
    public static IReadOnlyList<LoraReference> ReadLoras(JsonInput json, string? root)
    {
        var entries = json.Objects("lora");
        if (entries.Count == 0) return [];
        var available = Loras(root);
        var sums = new Dictionary<(string Path, bool HighNoise), float>();
        var order = new List<(string Path, bool HighNoise)>();
        foreach (var entry in entries)
        {
            string path = entry.String("path") ?? "";
            if (path.Length == 0) throw new BadRequestException("lora.path required", "lora");
            var file = available.FirstOrDefault(l => string.Equals(l.Path, path, StringComparison.Ordinal))
                ?? throw new BadRequestException(root is null
                    ? "This server has no LoRA folder: start it with --lora-model-dir DIR."
                    : $"invalid lora path: {ModelFiles.DisplayText.Escape(path, 120)} (GET /sdapi/v1/loras lists them)", "lora");
            float multiplier = entry.Float("multiplier", -100, 100) ?? 1f;
            var key = (file.FullPath, entry.Bool("is_high_noise") == true);
            if (!sums.TryGetValue(key, out float sum)) order.Add(key);
            sums[key] = sum + multiplier;
        }
        return order.Select(k => new LoraReference(k.Path, sums[k]) { HighNoise = k.HighNoise }).ToList();
    }
}
