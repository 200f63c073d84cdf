using Microsoft.Extensions.Logging;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Native;

namespace StableDiffusion.Native.Quantization;

/// <summary>
/// The legacy imatrix format upstream reads (int entries; per entry: int name length, name, int calls, int values,
/// float values). Upstream trusts every length in it, so a file is read through here first.
/// </summary>
internal static class ImportanceMatrixFile
{
    private const int MaxEntries = 1 << 20;
    private const int MaxNameLength = 4096;
    private const int MaxValues = 1 << 26;

    /// <exception cref="ArgumentException">No such file.</exception>
    /// <exception cref="InvalidModelFileException">The file is not a well-formed importance matrix.</exception>
    public static void Validate(string path, string name)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException($"{name}: the path is empty.", name);
        if (!File.Exists(path)) throw new ArgumentException($"{name}: no file at '{path}'.", name, new FileNotFoundException(null, path));
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var reader = new BinaryReader(stream);
        long length = stream.Length;
        InvalidModelFileException Bad(string why) => new(path, why.Contains("truncated") ? InvalidModelFileReason.Truncated : InvalidModelFileReason.UnexpectedStructure, stream.Position, why);
        int Int()
        {
            if (length - stream.Position < 4) throw Bad("the importance matrix is truncated");
            return reader.ReadInt32();
        }
        int entries = Int();
        if (entries < 1 || entries > MaxEntries) throw Bad($"the importance matrix claims {entries} entries");
        var sizes = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < entries; i++)
        {
            int nameLength = Int();
            if (nameLength < 1 || nameLength > MaxNameLength || length - stream.Position < nameLength)
                throw Bad($"entry {i} has a name length of {nameLength}");
            string tensor = System.Text.Encoding.UTF8.GetString(reader.ReadBytes(nameLength));
            int calls = Int();
            if (calls < 0) throw Bad($"entry {i} has {calls} calls");
            int values = Int();
            if (values < 1 || values > MaxValues || length - stream.Position < (long)values * 4)
                throw Bad($"entry {i} ('{DisplayText.Escape(tensor)}') claims {values} values");
            if (sizes.TryGetValue(tensor, out int previous) && previous != values)
                throw Bad($"entry {i} repeats '{DisplayText.Escape(tensor)}' with another size");
            sizes[tensor] = values;
            stream.Seek((long)values * 4, SeekOrigin.Current);
        }
    }

    /// <summary>
    /// Runs a conversion with upstream's global statistics holding exactly this matrix (or none), and empty again
    /// afterwards, so no later conversion or load quantizes with it unasked.
    /// </summary>
    public static bool ConvertWith(string? path, ILogger? logger, Func<bool> convert)
    {
        if (path is null) return convert();
        lock (s_gate)
        {
            if (ImportanceMatrixCollectorState.Open)
                throw new InvalidOperationException("An importance-matrix collector is open: its statistics would mix with the file's. Dispose it first.");
            NativeImatrix.Clear();
            try
            {
                NativeImatrix.Load(path, logger);
                return convert();
            }
            finally
            {
                NativeImatrix.Clear();
            }
        }
    }

    private static readonly object s_gate = new();
}

/// <summary>Whether an <see cref="ImportanceMatrixCollector"/> is open (upstream has one per process).</summary>
internal static class ImportanceMatrixCollectorState
{
    private static int s_open;

    public static bool Open => Volatile.Read(ref s_open) != 0;

    public static bool TryOpen() => Interlocked.CompareExchange(ref s_open, 1, 0) == 0;

    public static void Close() => Volatile.Write(ref s_open, 0);
}
