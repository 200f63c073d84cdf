using System.Runtime.InteropServices;

namespace StableDiffusion.Native.Imaging;

/// <summary>
/// Immutable PCM audio: 32-bit float samples, nominally in [-1, 1], channels interleaved (for stereo: left, right,
/// left, right, …; the layout upstream's <c>sd_audio_t</c> uses). Audio-video models return it with their frames, and
/// take it as reference audio. Finite values outside [-1, 1] are kept as they are; writers that need the range, such as
/// 16-bit <see cref="WavWriter"/> output, clamp.
/// </summary>
public sealed class AudioBuffer : IEquatable<AudioBuffer>
{
    /// <summary>The highest accepted sample rate, in hertz.</summary>
    public const int MaxSampleRate = 768_000;

    /// <summary>The most accepted channels.</summary>
    public const int MaxChannels = 16;

    private readonly float[] _samples;

    private AudioBuffer(int sampleRate, int channels, float[] samples)
    {
        SampleRate = sampleRate;
        Channels = channels;
        _samples = samples;
    }

    /// <summary>Samples per second and channel, 1 to <see cref="MaxSampleRate"/>.</summary>
    public int SampleRate { get; }

    /// <summary>Interleaved channels (1 mono, 2 stereo, ...), 1 to <see cref="MaxChannels"/>.</summary>
    public int Channels { get; }

    /// <summary>Samples per channel (the length of <see cref="Samples"/> divided by <see cref="Channels"/>); 0 for audio of no length.</summary>
    public long SampleCount => _samples.Length / Channels;

    /// <summary>How long the audio plays: <see cref="SampleCount"/> / <see cref="SampleRate"/> seconds, to the tick below.</summary>
    public TimeSpan Duration => TimeSpan.FromTicks(SampleCount * TimeSpan.TicksPerSecond / SampleRate);

    /// <summary>Every sample, channels interleaved: sample <c>i</c> of channel <c>c</c> is at <c>i × <see cref="Channels"/> + c</c>.</summary>
    public ReadOnlyMemory<float> Samples => _samples;

    /// <summary>Copies interleaved samples into a new buffer.</summary>
    /// <param name="sampleRate">Samples per second, 1 to <see cref="MaxSampleRate"/>.</param>
    /// <param name="channels">Channels, 1 to <see cref="MaxChannels"/>.</param>
    /// <param name="samples">Interleaved samples; a whole number of frames (possibly none), each finite.</param>
    /// <returns>The buffer.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The rate or channel count is out of range.</exception>
    /// <exception cref="ArgumentException">The samples are not a whole number of frames, or one is not finite.</exception>
    public static AudioBuffer FromSamples(int sampleRate, int channels, ReadOnlySpan<float> samples)
    {
        Check(sampleRate, channels, samples);
        return new AudioBuffer(sampleRate, channels, samples.ToArray());
    }

    /// <summary>Whether both have the same rate, channels and samples, bit for bit (so 0 and -0 differ, as their hashes do).</summary>
    /// <param name="other">The audio to compare with.</param>
    public bool Equals(AudioBuffer? other)
        => other is not null && (ReferenceEquals(this, other) ||
           (SampleRate == other.SampleRate && Channels == other.Channels &&
            MemoryMarshal.AsBytes(_samples.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(other._samples.AsSpan()))));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as AudioBuffer);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(SampleRate);
        hash.Add(Channels);
        hash.AddBytes(MemoryMarshal.AsBytes(_samples.AsSpan()));
        return hash.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{SampleCount} samples x {Channels} ch @ {SampleRate} Hz";

    /// <summary>The sample array itself, for code of this assembly that only reads it (no copy).</summary>
    internal ReadOnlySpan<float> Span => _samples;

    /// <summary>Takes ownership of an array the caller will not touch again (no copy).</summary>
    internal static AudioBuffer Adopt(int sampleRate, int channels, float[] samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        Check(sampleRate, channels, samples);
        return new AudioBuffer(sampleRate, channels, samples);
    }

    private static void Check(int sampleRate, int channels, ReadOnlySpan<float> samples)
    {
        if (sampleRate < 1 || sampleRate > MaxSampleRate)
            throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, $"The sample rate must be between 1 and {MaxSampleRate}.");
        if (channels < 1 || channels > MaxChannels)
            throw new ArgumentOutOfRangeException(nameof(channels), channels, $"Channels must be between 1 and {MaxChannels}.");
        if (samples.Length % channels != 0)
            throw new ArgumentException($"{samples.Length} samples are not a whole number of {channels}-channel frames.", nameof(samples));
        foreach (float s in samples)
        {
            if (!float.IsFinite(s)) throw new ArgumentException("Every sample must be finite.", nameof(samples));
        }
    }
}
