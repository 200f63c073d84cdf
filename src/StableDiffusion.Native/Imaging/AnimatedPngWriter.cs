using System.Buffers.Binary;

namespace StableDiffusion.Native.Imaging;

/// <summary>
/// Writes frames as an animated PNG (APNG): one file that Chromium, Firefox and Safari play natively in an
/// <c>&lt;img&gt;</c>, lossless, without a video codec. Decoders that do not know APNG show the first frame.
/// </summary>
/// <remarks>
/// Every frame covers the whole canvas and replaces the previous one (APNG <c>dispose_op</c> NONE, <c>blend_op</c>
/// SOURCE), and all frames get the same delay, written as the fraction <c>delay_num / delay_den</c> seconds nearest to
/// <c>1 / framesPerSecond</c> (exact for integer rates and for NTSC rates such as 30000/1001).
/// Browsers may hold very short frames (10 ms or less) longer, as they do with GIF, so do not count on rates above 60.
/// Frames are stored losslessly, so a long clip makes a large file; for sharing, encode a video from the frames instead.
/// </remarks>
public static class AnimatedPngWriter
{
    /// <summary>The lowest accepted frame rate: one frame every 1000 seconds.</summary>
    private const double MinFramesPerSecond = 0.001;

    /// <summary>The highest accepted frame rate.</summary>
    private const double MaxFramesPerSecond = 1000;

    /// <summary>Writes <paramref name="frames"/> as an animated PNG to a stream.</summary>
    /// <param name="frames">One or more frames of the same size and pixel format, in playing order.</param>
    /// <param name="output">A writable stream; left open.</param>
    /// <param name="framesPerSecond">Frames shown per second, 0.001 to 1000 (fractions such as 29.97 are kept).</param>
    /// <param name="plays">How many times the animation plays before it stops on the last frame; 0 (the default) loops forever.</param>
    /// <param name="text">Text chunks (keyword → text) to embed, e.g. <see cref="GenerationParameters.PngKeyword"/> with the
    /// parameters, which <see cref="GenerationParameters.Read(Stream)"/> then reads back; none when null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="frames"/> or <paramref name="output"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="frames"/> is empty, holds a null frame or frames of different
    /// sizes or formats, or a text keyword is not 1 to 79 printable Latin-1 characters.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="framesPerSecond"/> or <paramref name="plays"/> is out of range.</exception>
    /// <exception cref="IOException">The stream could not be written.</exception>
    public static void Write(IReadOnlyList<ImageBuffer> frames, Stream output, double framesPerSecond, int plays = 0,
        IEnumerable<KeyValuePair<string, string>>? text = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        var plan = Check(frames, framesPerSecond, plays, text);
        Write(frames, output, plan);
    }

    /// <summary>Writes <paramref name="frames"/> as an animated PNG file.</summary>
    /// <param name="frames">One or more frames of the same size and pixel format, in playing order.</param>
    /// <param name="path">The file to create or overwrite (conventionally <c>.png</c> or <c>.apng</c>); untouched when an argument is refused.</param>
    /// <param name="framesPerSecond">Frames shown per second, 0.001 to 1000 (fractions such as 29.97 are kept).</param>
    /// <param name="plays">How many times the animation plays before it stops on the last frame; 0 (the default) loops forever.</param>
    /// <param name="text">Text chunks (keyword → text) to embed; none when null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="frames"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty, <paramref name="frames"/> is empty, holds a null
    /// frame or frames of different sizes or formats, or a text keyword is not 1 to 79 printable Latin-1 characters.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="framesPerSecond"/> or <paramref name="plays"/> is out of range.</exception>
    /// <exception cref="IOException">The file could not be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be written.</exception>
    public static void WriteFile(IReadOnlyList<ImageBuffer> frames, string path, double framesPerSecond, int plays = 0,
        IEnumerable<KeyValuePair<string, string>>? text = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var plan = Check(frames, framesPerSecond, plays, text);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Write(frames, stream, plan);
    }

    /// <summary>
    /// The delay of one frame as APNG's 16-bit fraction of a second: the best rational approximation of
    /// <c>1 / framesPerSecond</c> whose numerator and denominator both fit (continued fractions, then the best
    /// semiconvergent), so 24 gives 1/24, 29.97 gives 100/2997 and 0.5 gives 2/1.
    /// </summary>
    internal static (ushort Numerator, ushort Denominator) Delay(double framesPerSecond)
    {
        const long max = ushort.MaxValue;
        if (framesPerSecond == Math.Floor(framesPerSecond) && framesPerSecond <= max) return (1, (ushort)framesPerSecond);
        double x = 1 / framesPerSecond;
        // Convergents p/q of x; (p0, q0) and (p1, q1) are the last two.
        long p0 = 0, q0 = 1, p1 = 1, q1 = 0;
        double rest = x;
        for (int i = 0; i < 64; i++)
        {
            double a = Math.Floor(rest);
            if (a > max) a = max + 1; // past the bound either way; keeps the arithmetic in range
            long ai = (long)a;
            long p2 = ai * p1 + p0, q2 = ai * q1 + q0;
            if (p2 > max || q2 > max)
            {
                // The next convergent does not fit: the largest semiconvergent that does may still be closer.
                long t = Math.Min(p1 == 0 ? long.MaxValue : (max - p0) / p1, q1 == 0 ? long.MaxValue : (max - q0) / q1);
                long ps = t * p1 + p0, qs = t * q1 + q0;
                if (q1 == 0 || (qs > 0 && Math.Abs(x - (double)ps / qs) < Math.Abs(x - (double)p1 / q1)))
                    (p1, q1) = (ps, qs);
                break;
            }
            (p0, q0, p1, q1) = (p1, q1, p2, q2);
            double fraction = rest - a;
            if (fraction < 1e-9) break; // exact
            rest = 1 / fraction;
        }
        return ((ushort)Math.Max(p1, 1), (ushort)Math.Max(q1, 1));
    }

    private readonly record struct Plan(ushort DelayNumerator, ushort DelayDenominator, int Plays, List<KeyValuePair<string, string>> Text);

    private static Plan Check(IReadOnlyList<ImageBuffer> frames, double framesPerSecond, int plays, IEnumerable<KeyValuePair<string, string>>? text)
    {
        ArgumentNullException.ThrowIfNull(frames);
        if (frames.Count == 0) throw new ArgumentException("An animation needs at least one frame.", nameof(frames));
        // fcTL and fdAT share one sequence of 31-bit numbers: two per frame after the first.
        if (frames.Count > int.MaxValue / 2) throw new ArgumentException($"An APNG holds at most {int.MaxValue / 2} frames.", nameof(frames));
        var first = frames[0] ?? throw new ArgumentException("Frame 0 is null.", nameof(frames));
        for (int i = 1; i < frames.Count; i++)
        {
            var frame = frames[i] ?? throw new ArgumentException($"Frame {i} is null.", nameof(frames));
            if (frame.Width != first.Width || frame.Height != first.Height || frame.Format != first.Format)
                throw new ArgumentException($"Frame {i} is {frame}, but frame 0 is {first}: all frames need the same size and pixel format.", nameof(frames));
        }
        if (!(framesPerSecond >= MinFramesPerSecond && framesPerSecond <= MaxFramesPerSecond))
            throw new ArgumentOutOfRangeException(nameof(framesPerSecond), framesPerSecond, $"Frames per second must be between {MinFramesPerSecond} and {MaxFramesPerSecond}.");
        ArgumentOutOfRangeException.ThrowIfNegative(plays);
        var (numerator, denominator) = Delay(framesPerSecond);
        return new Plan(numerator, denominator, plays, PngWriter.CheckText(text, nameof(text)));
    }

    private static void Write(IReadOnlyList<ImageBuffer> frames, Stream output, Plan plan)
    {
        var first = frames[0];
        PngWriter.WriteHeader(output, first);

        Span<byte> actl = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(actl, frames.Count);
        BinaryPrimitives.WriteInt32BigEndian(actl[4..], plan.Plays);
        PngWriter.WriteChunk(output, "acTL"u8, actl);

        foreach (var (keyword, value) in plan.Text) PngWriter.WriteText(output, keyword, value);

        // One sequence numbers fcTL and fdAT chunks together, from 0; IDAT (frame 0's data) takes none.
        int sequence = 0;
        Span<byte> fctl = stackalloc byte[26];
        Span<byte> number = stackalloc byte[4];
        for (int i = 0; i < frames.Count; i++)
        {
            var frame = frames[i];
            fctl.Clear(); // x and y offsets 0, dispose_op NONE, blend_op SOURCE: every frame replaces the whole canvas
            BinaryPrimitives.WriteInt32BigEndian(fctl, sequence++);
            BinaryPrimitives.WriteInt32BigEndian(fctl[4..], frame.Width);
            BinaryPrimitives.WriteInt32BigEndian(fctl[8..], frame.Height);
            BinaryPrimitives.WriteUInt16BigEndian(fctl[20..], plan.DelayNumerator);
            BinaryPrimitives.WriteUInt16BigEndian(fctl[22..], plan.DelayDenominator);
            PngWriter.WriteChunk(output, "fcTL"u8, fctl);

            using var data = PngWriter.Compress(frame);
            if (i == 0)
            {
                PngWriter.WriteChunk(output, "IDAT"u8, data.WrittenSpan);
            }
            else
            {
                BinaryPrimitives.WriteInt32BigEndian(number, sequence++);
                PngWriter.WriteChunk(output, "fdAT"u8, number, data.WrittenSpan);
            }
        }
        PngWriter.WriteEnd(output);
    }
}
