using System.Globalization;
using System.Text;

namespace StableDiffusion.Native.ModelFiles;

/// <summary>
/// Makes text taken from a model file (metadata keys and values, tensor names, GGUF strings, shard file names) safe
/// to write to a terminal, a log line or an exception message.
/// </summary>
/// <remarks>
/// <para>A model file is untrusted input. Printed as is, a metadata key holding a line break can fake an output line
/// (<c>"x\nfamily: SDXL"</c>), an escape sequence can recolour the terminal, rewrite its title (OSC
/// <c>ESC ] 0 ; … BEL</c>) or move the cursor over earlier output, and a bidirectional override can make text read
/// differently from what it is. <see cref="Escape(string?, int)"/> turns every such character into a visible escape,
/// so the result is always one line of printable text.</para>
/// <para>The result is meant for people, not for parsing: a backslash in the input is kept as is, so a literal
/// <c>\n</c> (backslash, n) and an escaped line break look alike. That never lets the text break the line.</para>
/// </remarks>
public static class DisplayText
{
    /// <summary>The default longest result of <see cref="Escape(string?, int)"/>, in UTF-16 code units.</summary>
    public const int DefaultMaxLength = 200;

    /// <summary>The character that ends a shortened result.</summary>
    public const char Ellipsis = '…';

    /// <summary>
    /// Escapes control characters, escape sequences, bidirectional controls, line separators and invalid UTF-16 in
    /// <paramref name="text"/>, and shortens the result to <paramref name="maxLength"/>.
    /// </summary>
    /// <param name="text">The text to show; <see langword="null"/> is shown as the empty string.</param>
    /// <param name="maxLength">
    /// The longest result, in UTF-16 code units, counting the escapes and the ellipsis; at least 1.
    /// <see cref="int.MaxValue"/> never shortens.
    /// </param>
    /// <returns>
    /// One line of printable text:
    /// <list type="bullet">
    /// <item>tab, line feed and carriage return as <c>\t</c>, <c>\n</c> and <c>\r</c>;</item>
    /// <item>the other C0 controls and DEL as <c>\xHH</c> (ESC, which starts every ANSI CSI and OSC sequence, as
    /// <c>\x1b</c>; BEL as <c>\x07</c>);</item>
    /// <item>the C1 controls U+0080–U+009F (among them the one-character CSI U+009B and OSC U+009D, and NEL U+0085),
    /// the line and paragraph separators U+2028 and U+2029, the bidirectional embeddings and overrides
    /// U+202A–U+202E and the isolates U+2066–U+2069 as <c>\uHHHH</c>;</item>
    /// <item>a lone (unpaired) surrogate as <c>\uHHHH</c>;</item>
    /// <item>everything else unchanged.</item>
    /// </list>
    /// When the escaped text is longer than <paramref name="maxLength"/>, it is cut to at most
    /// <paramref name="maxLength"/> − 1 code units and <see cref="Ellipsis"/> is appended. The cut never splits a
    /// surrogate pair or an escape. Because the result holds only printable characters, escaping it again returns
    /// it unchanged (unless it is shortened further).
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is less than 1.</exception>
    public static string Escape(string? text, int maxLength = DefaultMaxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        if (text.Length <= maxLength && !NeedsEscaping(text))
        {
            return text;
        }

        // Everything up to lastFit fits with room for the ellipsis; once the result passes maxLength, the rest of
        // the (possibly huge) input cannot be shown anyway.
        var result = new StringBuilder(Math.Min(text.Length, maxLength) + 8);
        int lastFit = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                result.Append(c).Append(text[++i]);
            }
            else
            {
                AppendEscaped(result, c);
            }

            if (result.Length <= maxLength - 1)
            {
                lastFit = result.Length;
            }
            else if (result.Length > maxLength)
            {
                result.Length = lastFit;
                return result.Append(Ellipsis).ToString();
            }
        }

        return result.ToString();
    }

    private static bool NeedsEscaping(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (IsUnsafe(c))
            {
                return true;
            }
        }

        return false;
    }

    // Called only for a char that is not part of a valid surrogate pair, so any surrogate here is a lone one.
    private static bool IsUnsafe(char c)
        => c < 0x20 || c is >= '\u007f' and <= '\u009f' || c is '\u2028' or '\u2029'
        || c is >= '\u202a' and <= '\u202e' || c is >= '\u2066' and <= '\u2069' || char.IsSurrogate(c);

    private static void AppendEscaped(StringBuilder result, char c)
    {
        if (!IsUnsafe(c))
        {
            result.Append(c);
            return;
        }

        switch (c)
        {
            case '\t':
                result.Append("\\t");
                break;
            case '\n':
                result.Append("\\n");
                break;
            case '\r':
                result.Append("\\r");
                break;
            case < '\u0080':
                result.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                break;
            default:
                result.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                break;
        }
    }
}
