using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace StableDiffusion.Native.Imaging;

/// <summary>How <see cref="WavWriter"/> stores each sample.</summary>
public enum WavSampleFormat
{
    /// <summary>16-bit signed integer PCM (<c>WAVE_FORMAT_PCM</c>): plays everywhere. Samples are clamped to [−1, 1],
    /// scaled by 32767 and rounded to the nearest integer (ties to even), as stable-diffusion.cpp's own writer does.</summary>
    Pcm16 = 0,

    /// <summary>32-bit IEEE float (<c>WAVE_FORMAT_IEEE_FLOAT</c>, with the <c>fact</c> chunk that format requires):
    /// the samples exactly as generated, values outside [−1, 1] included, for further processing.</summary>
    Float32 = 1,
}

/// <summary>
/// Writes <see cref="AudioBuffer"/>s as RIFF WAVE files: a canonical header (<c>fmt </c>, for float also <c>fact</c>,
/// then <c>data</c>) and the interleaved samples, little-endian. The sizes in the header are 32-bit, so a file holds at
/// most 4 GiB; longer audio is refused before anything is written rather than written with a wrapped size.
/// </summary>
/// <remarks>
/// More than two channels are written with the plain format tags (not <c>WAVE_FORMAT_EXTENSIBLE</c>), which carry no
/// speaker positions; common decoders (FFmpeg, browsers, libsndfile) read them.
/// </remarks>
public static class WavWriter
{
    /// <summary>The largest RIFF size field, and so the largest file less its first 8 bytes.</summary>
    private const long MaxRiffSize = uint.MaxValue;

    /// <summary>Samples converted per write: 64 KiB of 16-bit output at a time.</summary>
    private const int BlockSamples = 32 * 1024;

    /// <summary>Writes <paramref name="audio"/> as a WAV file to a stream.</summary>
    /// <param name="audio">The audio to write.</param>
    /// <param name="output">A writable stream; left open. It need not be seekable: every size is known up front.</param>
    /// <param name="format">How samples are stored; 16-bit PCM unless told otherwise.</param>
    /// <exception cref="ArgumentNullException"><paramref name="audio"/> or <paramref name="output"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="format"/> is not a <see cref="WavSampleFormat"/>.</exception>
    /// <exception cref="ArgumentException">The file would be larger than 4 GiB, which WAV cannot describe.</exception>
    /// <exception cref="IOException">The stream could not be written.</exception>
    public static void Write(AudioBuffer audio, Stream output, WavSampleFormat format = WavSampleFormat.Pcm16)
    {
        ArgumentNullException.ThrowIfNull(audio);
        ArgumentNullException.ThrowIfNull(output);
        Span<byte> header = stackalloc byte[MaxHeaderSize];
        int length = WriteHeader(header, audio.SampleRate, audio.Channels, audio.SampleCount, format);
        output.Write(header[..length]);
        WriteSamples(audio.Span, output, format);
    }

    /// <summary>Writes <paramref name="audio"/> as a WAV file.</summary>
    /// <param name="audio">The audio to write.</param>
    /// <param name="path">The file to create or overwrite (conventionally <c>.wav</c>); untouched when an argument is refused.</param>
    /// <param name="format">How samples are stored; 16-bit PCM unless told otherwise.</param>
    /// <exception cref="ArgumentNullException"><paramref name="audio"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="format"/> is not a <see cref="WavSampleFormat"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty, or the file would be larger than 4 GiB.</exception>
    /// <exception cref="IOException">The file could not be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be written.</exception>
    public static void WriteFile(AudioBuffer audio, string path, WavSampleFormat format = WavSampleFormat.Pcm16)
    {
        ArgumentNullException.ThrowIfNull(audio);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Span<byte> header = stackalloc byte[MaxHeaderSize];
        int length = WriteHeader(header, audio.SampleRate, audio.Channels, audio.SampleCount, format);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        stream.Write(header[..length]);
        WriteSamples(audio.Span, stream, format);
    }

    /// <summary>The longest header written (float: RIFF 12, fmt 26, fact 12, data 8).</summary>
    internal const int MaxHeaderSize = 58;

    /// <summary>
    /// Writes the header of a WAV file with <paramref name="sampleCount"/> samples per channel into
    /// <paramref name="destination"/> and returns its length. Sizes are computed in 64 bits and written as unsigned
    /// 32-bit fields, so files between 2 and 4 GiB get their true sizes; beyond that it throws.
    /// </summary>
    /// <exception cref="ArgumentException">The file would be larger than 4 GiB.</exception>
    internal static int WriteHeader(Span<byte> destination, int sampleRate, int channels, long sampleCount, WavSampleFormat format)
    {
        bool isFloat = format switch
        {
            WavSampleFormat.Pcm16 => false,
            WavSampleFormat.Float32 => true,
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "The WAV sample format must be Pcm16 or Float32."),
        };
        int bytesPerSample = isFloat ? 4 : 2;
        long dataSize = sampleCount * channels * bytesPerSample;
        int headerSize = isFloat ? MaxHeaderSize : 44;
        long riffSize = headerSize - 8 + dataSize;
        if (riffSize > MaxRiffSize)
            throw new ArgumentException(
                $"{sampleCount} samples x {channels} channel(s) as {format} make {dataSize} bytes of audio; a WAV file holds at most 4 GiB " +
                $"(its sizes are 32-bit). Write {(isFloat ? "16-bit PCM (half the size) or " : "")}shorter pieces.", "audio");

        var d = destination[..headerSize];
        "RIFF"u8.CopyTo(d);
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], (uint)riffSize);
        "WAVE"u8.CopyTo(d[8..]);
        "fmt "u8.CopyTo(d[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(d[16..], isFloat ? 18u : 16u); // float carries cbSize, as non-PCM formats must
        BinaryPrimitives.WriteUInt16LittleEndian(d[20..], isFloat ? (ushort)3 : (ushort)1); // WAVE_FORMAT_IEEE_FLOAT / WAVE_FORMAT_PCM
        BinaryPrimitives.WriteUInt16LittleEndian(d[22..], (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(d[24..], (uint)sampleRate);
        int blockAlign = channels * bytesPerSample;
        BinaryPrimitives.WriteUInt32LittleEndian(d[28..], (uint)(sampleRate * blockAlign)); // byte rate
        BinaryPrimitives.WriteUInt16LittleEndian(d[32..], (ushort)blockAlign);
        BinaryPrimitives.WriteUInt16LittleEndian(d[34..], (ushort)(bytesPerSample * 8));
        int at = 36;
        if (isFloat)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(d[36..], 0); // cbSize: no extension
            "fact"u8.CopyTo(d[38..]);
            BinaryPrimitives.WriteUInt32LittleEndian(d[42..], 4);
            BinaryPrimitives.WriteUInt32LittleEndian(d[46..], (uint)sampleCount); // samples per channel
            at = 50;
        }
        "data"u8.CopyTo(d[at..]);
        BinaryPrimitives.WriteUInt32LittleEndian(d[(at + 4)..], (uint)dataSize);
        return headerSize;
    }

    /// <summary>One sample as 16-bit PCM: NaN is silence, the rest is clamped to [−1, 1], scaled by 32767 and rounded half to even.</summary>
    internal static short ToPcm16(float sample)
        => float.IsNaN(sample) ? (short)0 : (short)MathF.Round(Math.Clamp(sample, -1f, 1f) * 32767f);

    private static void WriteSamples(ReadOnlySpan<float> samples, Stream output, WavSampleFormat format)
    {
        if (format == WavSampleFormat.Float32 && BitConverter.IsLittleEndian)
        {
            // The samples already are the file's bytes.
            output.Write(MemoryMarshal.AsBytes(samples));
            return;
        }
        int bytesPerSample = format == WavSampleFormat.Float32 ? 4 : 2;
        byte[] block = ArrayPool<byte>.Shared.Rent(BlockSamples * bytesPerSample);
        try
        {
            while (!samples.IsEmpty)
            {
                var chunk = samples[..Math.Min(samples.Length, BlockSamples)];
                var bytes = block.AsSpan(0, chunk.Length * bytesPerSample);
                if (bytesPerSample == 2)
                {
                    for (int i = 0; i < chunk.Length; i++) BinaryPrimitives.WriteInt16LittleEndian(bytes[(2 * i)..], ToPcm16(chunk[i]));
                }
                else
                {
                    for (int i = 0; i < chunk.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes[(4 * i)..], chunk[i]);
                }
                output.Write(bytes);
                samples = samples[chunk.Length..];
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }
}
