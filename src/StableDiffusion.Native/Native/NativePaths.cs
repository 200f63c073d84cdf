using System.Runtime.InteropServices;
using System.Text;

namespace StableDiffusion.Native.Native;

/// <summary>
/// File paths as upstream can open them. stable-diffusion.cpp opens model files with <c>std::ifstream</c> and
/// <c>fopen</c> on a narrow string. On Linux and macOS those bytes are the UTF-8 we pass; on Windows the C runtime reads
/// them in the ANSI code page (Windows-1252 for most users, never UTF-8 unless the host app opts in) and within
/// MAX_PATH, so <c>C:\Users\Zoë\…</c>, any CJK folder, and any path of 260 characters or more fail to open, or open
/// another file. There a path is handed over as its 8.3 short form (plain ASCII, short) whenever it is not already
/// plain ASCII under MAX_PATH; a path that has no such form is refused with a clear error before native code sees it.
/// </summary>
internal static partial class NativePaths
{
    /// <summary>The longest path the Windows C runtime opens (MAX_PATH, terminator included).</summary>
    private const int MaxPath = 260;

    /// <summary>
    /// <paramref name="path"/> in a form upstream's file functions open on this OS: unchanged on Linux and macOS and for
    /// plain ASCII paths under MAX_PATH on Windows, else the Windows short form of the file (or, for a file not yet
    /// written, of its folder).
    /// </summary>
    /// <exception cref="ArgumentException">On Windows: the path has characters outside ASCII, or is longer than MAX_PATH, and
    /// its volume keeps no 8.3 short names (they can be turned off per volume).</exception>
    public static string? ForNativeOpen(string? path)
    {
        if (path is null || !OperatingSystem.IsWindows() || IsPlain(path)) return path;
        string full = Path.GetFullPath(path);
        if (IsPlain(full)) return full;
        string? shortened = ShortForm(full);
        if (shortened is null && Path.GetDirectoryName(full) is { } folder && ShortForm(folder) is { } shortFolder)
            shortened = Path.Combine(shortFolder, Path.GetFileName(full));
        if (shortened is not null && IsPlain(shortened)) return shortened;
        throw new ArgumentException(
            $"The native library cannot open '{full}' on Windows: its C runtime takes paths in the ANSI code page and at most " +
            $"{MaxPath - 1} characters long, this path is {(Ascii.IsValid(full) ? $"{full.Length} characters long" : "not plain ASCII")}, " +
            "and its volume keeps no 8.3 short name to stand in for it. Move the file to a shorter folder whose path is plain ASCII " +
            "(or enable short names on the volume: fsutil 8dot3name set <drive> 0).");
    }

    private static bool IsPlain(string path) => path.Length < MaxPath && Ascii.IsValid(path);

    /// <summary>The 8.3 short form of an existing file or folder, or null (missing, or no short names on its volume).</summary>
    private static string? ShortForm(string fullPath)
    {
        // The \\?\ prefix lifts MAX_PATH for the call itself; the answer carries it, and loses it again below.
        string query = fullPath.StartsWith(@"\\", StringComparison.Ordinal)
            ? (fullPath.StartsWith(@"\\?\", StringComparison.Ordinal) ? fullPath : @"\\?\UNC\" + fullPath[2..])
            : @"\\?\" + fullPath;
        var buffer = new char[Math.Max(query.Length + 1, MaxPath)];
        for (int attempt = 0; attempt < 2; attempt++)
        {
            uint n = GetShortPathNameW(query, buffer, (uint)buffer.Length);
            if (n == 0) return null;
            if (n < buffer.Length) return WithoutLongPrefix(new string(buffer, 0, (int)n));
            buffer = new char[n];
        }
        return null;
    }

    private static string WithoutLongPrefix(string path)
        => path.StartsWith(@"\\?\UNC\", StringComparison.OrdinalIgnoreCase) ? @"\\" + path[8..]
         : path.StartsWith(@"\\?\", StringComparison.Ordinal) ? path[4..]
         : path;

    [LibraryImport("kernel32.dll", StringMarshalling = StringMarshalling.Utf16, SetLastError = true)]
    private static partial uint GetShortPathNameW(string longPath, [Out] char[] shortPath, uint bufferLength);
}
