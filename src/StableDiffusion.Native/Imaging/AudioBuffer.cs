namespace StableDiffusion.Native.Imaging;

/// <summary>
/// Immutable PCM audio: 32-bit float samples, nominally in [-1, 1], channels interleaved (the layout upstream's
/// <c>sd_audio_t</c> uses). Audio-video models return it with their frames, and take it as reference audio.
/// </summary>
public sealed class AudioBuffer
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

    /// <summary>Samples per second and channel.</summary>
    public int SampleRate { get; }

    /// <summary>Interleaved channels (1 mono, 2 stereo, ...).</summary>
    public int Channels { get; }

    /// <summary>Samples per channel.</summary>
    public long SampleCount => _samples.Length / Channels;

    /// <summary>How long the audio plays.</summary>
    public TimeSpan Duration => TimeSpan.FromSeconds((double)SampleCount / SampleRate);

    /// <summary>Every sample, channels interleaved.</summary>
    public ReadOnlyMemory<float> Samples => _samples;

    /// <summary>Copies interleaved samples into a new buffer.</summary>
    /// <param name="sampleRate">Samples per second, 1 to <see cref="MaxSampleRate"/>.</param>
    /// <param name="channels">Channels, 1 to <see cref="MaxChannels"/>.</param>
    /// <param name="samples">Interleaved samples; a whole number of frames, each finite.</param>
    /// <returns>The buffer.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The rate or channel count is out of range.</exception>
    /// <exception cref="ArgumentException">The samples are not a whole number of frames, or one is not finite.</exception>
    public static AudioBuffer FromSamples(int sampleRate, int channels, ReadOnlySpan<float> samples)
    {
        Check(sampleRate, channels, samples);
        return new AudioBuffer(sampleRate, channels, samples.ToArray());
    }

    /// <summary>Takes ownership of an array the caller will not touch again (no copy).</summary>
    internal static AudioBuffer Adopt(int sampleRate, int channels, float[] samples)
    {
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

    /// <inheritdoc/>
    public override string ToString() => $"{SampleCount} samples x {Channels} ch @ {SampleRate} Hz";
}
