using System.Globalization;
using System.Text;

namespace StableDiffusion.Native.Cli.SdCli;

/// <summary>
/// The file names sd-cli's <c>save_results</c> gives: <c>-o</c> with printf-style <c>%d</c> (<c>%03d</c>, <c>%%</c> for a
/// literal %) numbers every result from <c>--output-begin-idx</c> (default 0); without it a single result takes the path
/// itself and several get <c>_N</c> before the extension. A name without an extension gets <c>.png</c>.
/// </summary>
internal sealed class OutputNames
{
    private readonly string _pattern;
    private readonly bool _numbered;
    private readonly string _stem;
    private readonly string _extension;

    private OutputNames(string pattern, bool numbered, string stem, string extension)
    {
        _pattern = pattern;
        _numbered = numbered;
        _stem = stem;
        _extension = extension;
    }

    /// <summary>The first number (<c>--output-begin-idx</c>; negative means sd-cli's default, 0).</summary>
    public int BeginIndex { get; private init; }

    /// <summary>Whether <c>-o</c> holds a <c>%d</c> specifier.</summary>
    public bool IsNumbered => _numbered;

    /// <summary>The path as given.</summary>
    public string Pattern => _pattern;

    /// <summary>The video container a video's one file goes in (<c>-o clip.avi</c>, <c>-o clip.webp</c>), as sd-cli picks it; null: an animated PNG.</summary>
    public VideoContainer? Container { get; private init; }

    /// <summary>
    /// Reads <c>-o</c>. sdnet writes PNG images, so where sd-cli would pick JPEG or WebP from the extension, this
    /// refuses the name instead of writing PNG bytes under it; a video may also go to a VP8 <c>.webm</c>, an MJPG
    /// <c>.avi</c> or an animated <c>.webp</c>, as sd-cli writes them.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or ends in another image or video extension.</exception>
    public static OutputNames Parse(string path, int beginIndex, string flag = "--output", bool video = false)
    {
        if (string.IsNullOrWhiteSpace(path)) throw SdCliSyntax.Bad(flag, "an output path is required.");
        string extension = Path.GetExtension(path);
        string lower = extension.ToLowerInvariant();
        if (video && VideoContainers.FromExtension(path) is { } container && !HasSpecifier(path))
            return new OutputNames(path, false, path[..^extension.Length], extension) { BeginIndex = Math.Max(0, beginIndex), Container = container };
        if (lower is ".jpg" or ".jpeg" or ".webp" or ".avi" or ".webm" or ".bmp" or ".gif")
            throw SdCliSyntax.Bad(flag, video
                ? $"sdnet writes a video as .webm (VP8), .avi (MJPG), .webp (animated) or .png (animated PNG, or numbered PNGs with %d); '{extension}' is not one."
                : $"sdnet writes PNG files; '{extension}' is not one (use a .png name).");
        bool numbered = HasSpecifier(path);
        // sd-cli strips only a known image extension; any other stays part of the name and .png is added.
        string stem = lower == ".png" ? path[..^extension.Length] : path;
        return new OutputNames(path, numbered, stem, lower == ".png" ? extension : ".png") { BeginIndex = Math.Max(0, beginIndex) };
    }

    /// <summary>The path of result <paramref name="index"/> (0-based) of <paramref name="count"/>.</summary>
    public string PathOf(int index, int count)
    {
        int n = BeginIndex + index;
        if (_numbered) return Format(_stem + _extension, n);
        return count > 1 ? _stem + "_" + n.ToString(CultureInfo.InvariantCulture) + _extension : _stem + _extension;
    }

    /// <summary>The path with its number and extension taken out, for a file that goes beside the results (a .wav).</summary>
    public string Beside(string extension)
    {
        if (!_numbered) return _stem + extension;
        // "frames/out_%03d" gives "frames/out"; a pattern that is only the number gives "frames/output".
        string withoutNumber = Format(_stem, -1);
        string directory = Path.GetDirectoryName(withoutNumber) ?? "";
        string name = Path.GetFileName(withoutNumber).TrimEnd('_', '-', '.', ' ');
        return Path.Combine(directory, name.Length == 0 ? "output" : name) + extension;
    }

    /// <summary>
    /// sd-cli's <c>format_frame_idx</c>: each unescaped <c>%[0][width]d</c> (up to three digits) becomes the number,
    /// <c>%%</c> becomes <c>%</c>, and any other <c>%</c> stays. A negative number removes the specifiers.
    /// </summary>
    private static string Format(string pattern, int number)
    {
        var text = new StringBuilder();
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '%' && i + 1 < pattern.Length && pattern[i + 1] == '%')
            {
                text.Append('%');
                i++;
            }
            else if (c == '%' && Specifier(pattern, i) is int end)
            {
                string spec = pattern[(i + 1)..end];
                if (number >= 0)
                {
                    int width = spec.Length == 0 ? 0 : int.Parse(spec, CultureInfo.InvariantCulture);
                    text.Append(number.ToString(CultureInfo.InvariantCulture).PadLeft(width, spec.StartsWith('0') ? '0' : ' '));
                }
                i = end;
            }
            else
            {
                text.Append(c);
            }
        }
        return text.ToString();
    }

    /// <summary>Where the <c>d</c> of a specifier starting at <paramref name="percent"/> is, or null when none starts there.</summary>
    private static int? Specifier(string path, int percent)
    {
        int j = percent + 1;
        while (j < path.Length && j - percent - 1 < 3 && char.IsAsciiDigit(path[j])) j++;
        return j < path.Length && path[j] == 'd' ? j : null;
    }

    /// <summary>Whether the path holds an unescaped <c>%d</c> (sd-cli's <c>format_specifier_regex</c>).</summary>
    private static bool HasSpecifier(string path)
    {
        for (int i = 0; i < path.Length; i++)
        {
            if (path[i] != '%') continue;
            if (i + 1 < path.Length && path[i + 1] == '%') i++;
            else if (Specifier(path, i) is not null) return true;
        }
        return false;
    }
}
