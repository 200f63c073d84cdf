using System.Globalization;
using System.Text;

namespace StableDiffusion.Native.Imaging;

/// <summary>
/// Writes frames as numbered PNG files named by a printf-style pattern, as sd-cli's <c>--output</c> does:
/// <c>frame_%d.png</c> gives <c>frame_0.png</c>, <c>frame_1.png</c>, …; <c>out_%03d.png</c> gives <c>out_000.png</c>, ….
/// </summary>
/// <remarks>
/// <para>A pattern holds at most one <c>%d</c>, optionally zero-padded to a width (<c>%05d</c>), and <c>%%</c> for a
/// literal percent sign; any other <c>%</c> directive is refused. Without <c>%d</c>, <c>_N</c> is put before the
/// extension (<c>out.png</c> gives <c>out_0.png</c>, <c>out_1.png</c>, … — also for a single frame, unlike sd-cli, so that
/// names do not depend on the frame count). A pattern without an extension gets <c>.png</c>; another extension is refused,
/// since the files are PNGs whatever they are called.</para>
/// <para>The number may only appear in the file name, never in a folder, so every file lands in the one folder the pattern
/// names (created when missing), whatever the index.</para>
/// </remarks>
public static class PngSequenceWriter
{
    /// <summary>The widest zero padding accepted (<c>%016d</c>); wider adds nothing an <see cref="int"/> needs.</summary>
    private const int MaxWidth = 16;

    /// <summary>Writes each frame to the file the pattern names for its index, overwriting files that exist.</summary>
    /// <param name="frames">The frames, in order; they may differ in size and format.</param>
    /// <param name="pattern">Where to write, e.g. <c>frames/frame_%03d.png</c> (see the remarks of <see cref="PngSequenceWriter"/>).</param>
    /// <param name="firstIndex">The number of the first frame (0 unless told otherwise, as in sd-cli).</param>
    /// <param name="text">Text chunks (keyword → text) written into every file, e.g. <see cref="GenerationParameters.PngKeyword"/>; none when null.</param>
    /// <returns>The paths written, one per frame in order, in the form of <paramref name="pattern"/> (relative stays relative).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="frames"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="pattern"/> is not a valid pattern, <paramref name="frames"/> holds a
    /// null frame, or a text keyword is not 1 to 79 printable Latin-1 characters.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstIndex"/> is negative, or the last index would pass <see cref="int.MaxValue"/>.</exception>
    /// <exception cref="IOException">A file or the folder could not be written.</exception>
    /// <exception cref="UnauthorizedAccessException">A file or the folder may not be written.</exception>
    public static IReadOnlyList<string> Write(IReadOnlyList<ImageBuffer> frames, string pattern, int firstIndex = 0,
        IEnumerable<KeyValuePair<string, string>>? text = null)
    {
        ArgumentNullException.ThrowIfNull(frames);
        var parsed = Pattern.Parse(pattern);
        ArgumentOutOfRangeException.ThrowIfNegative(firstIndex);
        if (frames.Count > 0) ArgumentOutOfRangeException.ThrowIfGreaterThan(firstIndex, int.MaxValue - (frames.Count - 1));
        for (int i = 0; i < frames.Count; i++)
            if (frames[i] is null) throw new ArgumentException($"Frame {i} is null.", nameof(frames));
        var chunks = PngWriter.CheckText(text, nameof(text));

        var paths = new string[frames.Count];
        for (int i = 0; i < paths.Length; i++) paths[i] = parsed.Format(firstIndex + i);
        if (paths.Length > 0 && parsed.Directory.Length > 0) Directory.CreateDirectory(parsed.Directory);
        for (int i = 0; i < paths.Length; i++)
        {
            using var stream = new FileStream(paths[i], FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            PngWriter.Write(stream, frames[i], chunks);
        }
        return paths;
    }

    /// <summary>The path the pattern names for one index, without writing anything.</summary>
    /// <param name="pattern">A pattern such as <c>out_%03d.png</c> (see the remarks of <see cref="PngSequenceWriter"/>).</param>
    /// <param name="index">The frame number, 0 or more.</param>
    /// <returns>The path, in the form of <paramref name="pattern"/>: <c>out_007.png</c> for index 7.</returns>
    /// <exception cref="ArgumentException"><paramref name="pattern"/> is not a valid pattern.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative.</exception>
    public static string GetPath(string pattern, int index)
    {
        var parsed = Pattern.Parse(pattern);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return parsed.Format(index);
    }

    /// <summary>A parsed pattern: the folder as written (with its trailing separator), the file name around the number, and the padding.</summary>
    private sealed record Pattern(string Directory, string Prefix, string Suffix, int Width)
    {
        public string Format(int index)
            => string.Concat(Directory, Prefix, index.ToString(Width > 0 ? "D" + Width.ToString(CultureInfo.InvariantCulture) : "D", CultureInfo.InvariantCulture), Suffix);

        public static Pattern Parse(string pattern)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
            // Literal text before and after the one %d (escapes resolved); "after" stays null until a %d is seen.
            var before = new StringBuilder();
            StringBuilder? after = null;
            int width = 0;
            for (int i = 0; i < pattern.Length; i++)
            {
                char c = pattern[i];
                var literal = after ?? before;
                if (c != '%')
                {
                    literal.Append(c);
                    continue;
                }
                if (i + 1 < pattern.Length && pattern[i + 1] == '%')
                {
                    literal.Append('%');
                    i++;
                    continue;
                }
                // %d, %0d, %0Nd: zero flag(s), then a width, then d.
                int start = i++;
                bool zero = false;
                while (i < pattern.Length && pattern[i] == '0')
                {
                    zero = true;
                    i++;
                }
                int digits = i;
                while (i < pattern.Length && char.IsAsciiDigit(pattern[i])) i++;
                if (i >= pattern.Length || pattern[i] != 'd')
                    throw Invalid(pattern, $"'{pattern[start..Math.Min(i + 1, pattern.Length)]}' at position {start} is not %d or %0Nd (write %% for a literal %)");
                if (i > digits && !zero)
                    throw Invalid(pattern, $"'{pattern[start..(i + 1)]}' would pad with spaces; write '%0{pattern[digits..i]}d' to pad with zeros");
                if (after is not null) throw Invalid(pattern, "it has more than one %d");
                if (i > digits && (!int.TryParse(pattern.AsSpan(digits, i - digits), NumberStyles.None, CultureInfo.InvariantCulture, out width) || width > MaxWidth))
                    throw Invalid(pattern, $"a width of {pattern[digits..i]} is more than {MaxWidth}");
                after = new StringBuilder();
            }

            // The number belongs to the file name: a separator after it would put it in a folder.
            string head = before.ToString();
            int split = LastSeparator(head) + 1;
            string directory = head[..split], prefix = head[split..];
            string suffix;
            if (after is not null)
            {
                suffix = after.ToString();
                if (LastSeparator(suffix) >= 0) throw Invalid(pattern, "%d must be in the file name, not in a folder");
                suffix = WithPngExtension(pattern, suffix);
            }
            else
            {
                if (prefix.Length == 0) throw Invalid(pattern, "it names a folder, not a file");
                string extension = Path.GetExtension(prefix);
                string stem = extension.Length > 0 ? prefix[..^extension.Length] : prefix;
                suffix = WithPngExtension(pattern, extension);
                prefix = stem + "_";
            }
            string sample = prefix + "0" + suffix;
            if (sample.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0) throw Invalid(pattern, "the file name holds a character file names may not");
            return new Pattern(directory, prefix, suffix, width);
        }

        /// <summary><paramref name="suffix"/> as it ends the file name: kept with <c>.png</c>, given <c>.png</c> without an extension, refused with another.</summary>
        private static string WithPngExtension(string pattern, string suffix)
        {
            string extension = Path.GetExtension(suffix);
            if (extension.Length == 0) return suffix + ".png";
            if (extension.Equals(".png", StringComparison.OrdinalIgnoreCase)) return suffix;
            throw Invalid(pattern, $"the files are PNGs, but it ends in '{extension}'");
        }

        private static int LastSeparator(string path)
        {
            int last = path.LastIndexOfAny([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar]);
            // "C:frame_%d.png" names the current folder of drive C:.
            if (OperatingSystem.IsWindows()) last = Math.Max(last, path.LastIndexOf(Path.VolumeSeparatorChar));
            return last;
        }

        private static ArgumentException Invalid(string pattern, string why)
            => new($"'{pattern}' is not a frame file pattern: {why}. Use e.g. 'frame_%d.png' or 'out_%03d.png'.", nameof(pattern));
    }
}
