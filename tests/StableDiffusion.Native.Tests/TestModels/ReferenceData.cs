using System.Globalization;

namespace StableDiffusion.Native.Tests.TestModels;

/// <summary>
/// Reference tables read off upstream at the pin (not part of the repository): found through SDNET_REFERENCE_DIR
/// or in the shared/reference folder beside the checkout, as the project's machines lay it out.
/// </summary>
internal static class ReferenceData
{
    public static string? Sd1TensorTable => Find("sd1-tensors.tsv");

    /// <summary>Any table by file name, or null when it is not there.</summary>
    public static string? Table(string file) => Find(file);

    public static string SkipReason(string file) =>
        $"reference table {file} not found (set SDNET_REFERENCE_DIR, or keep shared/reference/ beside the checkout)";

    /// <summary>(name, ne) per tensor, as upstream's table lists them.</summary>
    public static List<(string Name, long[] Ne)> ReadTensorTable(string path) =>
        File.ReadLines(path)
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('\t'))
            .Select(f => (f[0], Enumerable.Range(1, int.Parse(f[5], CultureInfo.InvariantCulture)).Select(i => long.Parse(f[i], CultureInfo.InvariantCulture)).ToArray()))
            .ToList();

    private static string? Find(string file)
    {
        string? env = Environment.GetEnvironmentVariable("SDNET_REFERENCE_DIR");
        if (!string.IsNullOrEmpty(env) && File.Exists(Path.Combine(env, file))) return Path.Combine(env, file);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "StableDiffusion.Native.sln"))) continue;
            string candidate = Path.Combine(dir.FullName, "..", "shared", "reference", file);
            return File.Exists(candidate) ? Path.GetFullPath(candidate) : null;
        }
        return null;
    }
}
