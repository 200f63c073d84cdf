using System.Buffers.Binary;
using System.Text;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Tests.Generation;

public sealed class WavWriterTests
{
    /// <summary>The fields of a canonical WAV header, read back from the bytes.</summary>
    private sealed record Wav(uint RiffSize, int FmtSize, int FormatTag, int Channels, int SampleRate, int ByteRate, int BlockAlign,
        int BitsPerSample, int? CbSize, uint? FactSamples, uint DataSize, int DataOffset, string[] ChunkOrder);

    private static Wav Parse(ReadOnlySpan<byte> file)
    {
        Assert.Equal("RIFF", Encoding.ASCII.GetString(file[..4]));
        Assert.Equal("WAVE", Encoding.ASCII.GetString(file[8..12]));
        uint riff = BinaryPrimitives.ReadUInt32LittleEndian(file[4..]);
        var order = new List<string>();
        int at = 12, fmtSize = 0, tag = 0, channels = 0, rate = 0, byteRate = 0, align = 0, bits = 0;
        int? cb = null;
        uint? fact = null;
        while (true)
        {
            string id = Encoding.ASCII.GetString(file.Slice(at, 4));
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(file[(at + 4)..]);
            order.Add(id);
            var body = file[(at + 8)..];
            switch (id)
            {
                case "fmt ":
                    fmtSize = (int)size;
                    tag = BinaryPrimitives.ReadUInt16LittleEndian(body);
                    channels = BinaryPrimitives.ReadUInt16LittleEndian(body[2..]);
                    rate = (int)BinaryPrimitives.ReadUInt32LittleEndian(body[4..]);
                    byteRate = (int)BinaryPrimitives.ReadUInt32LittleEndian(body[8..]);
                    align = BinaryPrimitives.ReadUInt16LittleEndian(body[12..]);
                    bits = BinaryPrimitives.ReadUInt16LittleEndian(body[14..]);
                    if (size >= 18) cb = BinaryPrimitives.ReadUInt16LittleEndian(body[16..]);
                    break;
                case "fact":
                    Assert.Equal(4u, size);
                    fact = BinaryPrimitives.ReadUInt32LittleEndian(body);
                    break;
                case "data":
                    return new Wav(riff, fmtSize, tag, channels, rate, byteRate, align, bits, cb, fact, size, at + 8, [.. order]);
                default:
                    throw new InvalidDataException($"unexpected chunk '{id}'");
            }
            at += 8 + (int)size + (int)(size & 1);
        }
    }

    private static byte[] Encode(AudioBuffer audio, WavSampleFormat format = WavSampleFormat.Pcm16)
    {
        using var stream = new MemoryStream();
        WavWriter.Write(audio, stream, format);
        return stream.ToArray();
    }

    [Fact]
    public void Pcm16_header_fields_and_clamped_rounded_samples_read_back()
    {
        // Interleaved stereo: 6 samples per channel, chosen to hit clamping and rounding ties.
        float[] samples = [0f, 1f, -1f, 0.5f, -0.5f, 2f, -3f, 1.0001f, -1.5f, 0.75f, 1e-6f, 0.25f];
        short[] expected = [0, 32767, -32767, 16384, -16384, 32767, -32767, 32767, -32767, 24575, 0, 8192];
        byte[] file = Encode(AudioBuffer.FromSamples(44100, 2, samples));

        var wav = Parse(file);
        Assert.Equal(new[] { "fmt ", "data" }, wav.ChunkOrder);
        Assert.Equal((uint)file.Length - 8, wav.RiffSize);
        Assert.Equal(44, wav.DataOffset);
        Assert.Equal(16, wav.FmtSize);
        Assert.Equal(1, wav.FormatTag);
        Assert.Equal(2, wav.Channels);
        Assert.Equal(44100, wav.SampleRate);
        Assert.Equal(44100 * 4, wav.ByteRate);
        Assert.Equal(4, wav.BlockAlign);
        Assert.Equal(16, wav.BitsPerSample);
        Assert.Null(wav.FactSamples);
        Assert.Equal(24u, wav.DataSize);
        Assert.Equal(44 + 24, file.Length);
        var back = Enumerable.Range(0, samples.Length).Select(i => BinaryPrimitives.ReadInt16LittleEndian(file.AsSpan(44 + 2 * i))).ToArray();
        Assert.Equal(expected, back);
    }

    [Fact]
    public void Float32_keeps_every_sample_bit_for_bit_and_writes_the_fact_chunk()
    {
        float[] samples = [0f, 1f, -1f, 1.5f, -2.25f, float.Epsilon, -0f, 0.123456789f, -1e30f];
        byte[] file = Encode(AudioBuffer.FromSamples(22050, 3, samples), WavSampleFormat.Float32);

        var wav = Parse(file);
        Assert.Equal(new[] { "fmt ", "fact", "data" }, wav.ChunkOrder);
        Assert.Equal((uint)file.Length - 8, wav.RiffSize);
        Assert.Equal(58, wav.DataOffset);
        Assert.Equal(18, wav.FmtSize);
        Assert.Equal(3, wav.FormatTag); // WAVE_FORMAT_IEEE_FLOAT
        Assert.Equal(0, wav.CbSize);
        Assert.Equal(3, wav.Channels);
        Assert.Equal(22050, wav.SampleRate);
        Assert.Equal(22050 * 12, wav.ByteRate);
        Assert.Equal(12, wav.BlockAlign);
        Assert.Equal(32, wav.BitsPerSample);
        Assert.Equal(3u, wav.FactSamples); // samples per channel
        Assert.Equal(36u, wav.DataSize);
        for (int i = 0; i < samples.Length; i++)
            Assert.Equal(BitConverter.SingleToInt32Bits(samples[i]), BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(58 + 4 * i)));
    }

    [Theory]
    [InlineData(WavSampleFormat.Pcm16)]
    [InlineData(WavSampleFormat.Float32)]
    public void Long_audio_is_written_whole_to_a_stream_that_cannot_seek(WavSampleFormat format)
    {
        // More samples than one conversion block, and an odd count per channel.
        var random = new Random(3);
        float[] samples = Enumerable.Range(0, 2 * 70_001).Select(_ => (float)(random.NextDouble() * 2.4 - 1.2)).ToArray();
        var audio = AudioBuffer.FromSamples(48000, 2, samples);
        using var sink = new ForwardOnlyStream();
        WavWriter.Write(audio, sink, format);
        byte[] file = sink.Written.ToArray();

        var wav = Parse(file);
        int bytes = format == WavSampleFormat.Pcm16 ? 2 : 4;
        Assert.Equal((uint)(samples.Length * bytes), wav.DataSize);
        Assert.Equal(wav.DataOffset + samples.Length * bytes, file.Length);
        Assert.Equal((uint)file.Length - 8, wav.RiffSize);
        for (int i = 0; i < samples.Length; i++)
        {
            if (format == WavSampleFormat.Float32)
            {
                Assert.Equal(samples[i], BinaryPrimitives.ReadSingleLittleEndian(file.AsSpan(wav.DataOffset + 4 * i)));
            }
            else
            {
                // Scaled in single precision and rounded half to even, as stable-diffusion.cpp's lrint(x * 32767.0f).
                int expected = (int)MathF.Round(Math.Clamp(samples[i], -1f, 1f) * 32767f, MidpointRounding.ToEven);
                Assert.Equal(expected, BinaryPrimitives.ReadInt16LittleEndian(file.AsSpan(wav.DataOffset + 2 * i)));
            }
        }
    }

    [Fact]
    public void Files_between_2_and_4_GiB_get_their_true_unsigned_sizes_and_larger_ones_are_refused()
    {
        var header = new byte[WavWriter.MaxHeaderSize];
        // The largest float mono file: 50 + 4n bytes after "RIFF" and its size may not pass 2^32 - 1.
        const long maxFloat = 1_073_741_811;
        Assert.Equal(58, WavWriter.WriteHeader(header, 48000, 1, maxFloat, WavSampleFormat.Float32));
        var wav = Parse(header);
        Assert.Equal(4_294_967_294u, wav.RiffSize);
        Assert.Equal(4_294_967_244u, wav.DataSize);
        Assert.Equal((uint)maxFloat, wav.FactSamples);
        var refused = Assert.Throws<ArgumentException>(() => WavWriter.WriteHeader(header, 48000, 1, maxFloat + 1, WavSampleFormat.Float32));
        Assert.Equal("audio", refused.ParamName);
        Assert.Contains("4 GiB", refused.Message, StringComparison.Ordinal);

        // 16-bit stereo at 3 GiB of data: past int.MaxValue, so only unsigned fields hold it.
        const long stereo3GiB = 3L * 1024 * 1024 * 1024 / 4;
        Assert.Equal(44, WavWriter.WriteHeader(header, 44100, 2, stereo3GiB, WavSampleFormat.Pcm16));
        wav = Parse(header);
        Assert.Equal(3u * 1024 * 1024 * 1024, wav.DataSize);
        Assert.Equal(3u * 1024 * 1024 * 1024 + 36, wav.RiffSize);
        Assert.Throws<ArgumentException>(() => WavWriter.WriteHeader(header, 44100, 2, (uint.MaxValue - 36L) / 4 + 1, WavSampleFormat.Pcm16));
        Assert.Equal(44, WavWriter.WriteHeader(header, 44100, 2, (uint.MaxValue - 36L) / 4, WavSampleFormat.Pcm16));
    }

    [Fact]
    public void WriteFile_writes_the_same_bytes_and_bad_arguments_leave_no_file()
    {
        var audio = AudioBuffer.FromSamples(16000, 1, [0.1f, -0.2f, 0.3f]);
        string dir = Directory.CreateTempSubdirectory("sdnet-wav-").FullName;
        try
        {
            string path = Path.Combine(dir, "a.wav");
            WavWriter.WriteFile(audio, path);
            Assert.Equal(Encode(audio), File.ReadAllBytes(path));
            WavWriter.WriteFile(audio, path, WavSampleFormat.Float32);
            Assert.Equal(Encode(audio, WavSampleFormat.Float32), File.ReadAllBytes(path));

            string other = Path.Combine(dir, "b.wav");
            Assert.Throws<ArgumentOutOfRangeException>(() => WavWriter.WriteFile(audio, other, (WavSampleFormat)7));
            Assert.False(File.Exists(other));
            Assert.Throws<ArgumentNullException>(() => WavWriter.WriteFile(null!, other));
            Assert.Throws<ArgumentException>(() => WavWriter.WriteFile(audio, " "));
            Assert.Throws<ArgumentNullException>(() => WavWriter.Write(audio, null!));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Empty_audio_is_a_valid_file_with_no_data()
    {
        var wav = Parse(Encode(AudioBuffer.FromSamples(8000, 2, [])));
        Assert.Equal(0u, wav.DataSize);
        Assert.Equal(36u, wav.RiffSize);
    }

    [Fact]
    public void AudioBuffer_validates_and_owns_a_copy()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AudioBuffer.FromSamples(0, 1, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => AudioBuffer.FromSamples(AudioBuffer.MaxSampleRate + 1, 1, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => AudioBuffer.FromSamples(48000, 0, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => AudioBuffer.FromSamples(48000, AudioBuffer.MaxChannels + 1, []));
        var odd = Assert.Throws<ArgumentException>(() => AudioBuffer.FromSamples(48000, 2, [1f, 2f, 3f]));
        Assert.Equal("samples", odd.ParamName);
        Assert.NotNull(AudioBuffer.FromSamples(AudioBuffer.MaxSampleRate, AudioBuffer.MaxChannels, new float[32]));

        float[] source = [0.1f, 0.2f, 0.3f, 0.4f];
        var copied = AudioBuffer.FromSamples(48000, 2, source);
        source[0] = 9;
        Assert.Equal(0.1f, copied.Samples.Span[0]);
        var adopted = AudioBuffer.Adopt(48000, 2, source);
        source[1] = 8;
        Assert.Equal(8f, adopted.Samples.Span[1]);
        Assert.Throws<ArgumentException>(() => AudioBuffer.Adopt(48000, 3, source));
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            Assert.Equal("samples", Assert.Throws<ArgumentException>(() => AudioBuffer.FromSamples(48000, 1, [0f, bad])).ParamName);
    }

    [Theory]
    [InlineData(float.NaN, 0)]
    [InlineData(float.PositiveInfinity, 32767)]
    [InlineData(float.NegativeInfinity, -32767)]
    [InlineData(0.5f, 16384)]
    [InlineData(-0.5f, -16384)]
    [InlineData(2.5f / 32767, 2)] // scales to exactly 2.5: the tie goes to even, as lrint does (away from zero would give 3)
    public void A_sample_becomes_16_bit_clamped_and_rounded_half_to_even(float sample, short expected)
        => Assert.Equal(expected, WavWriter.ToPcm16(sample));

    [Fact]
    public void AudioBuffer_counts_samples_per_channel_and_its_duration()
    {
        var audio = AudioBuffer.FromSamples(48000, 2, new float[72000]);
        Assert.Equal(36000L, audio.SampleCount);
        Assert.Equal(TimeSpan.FromMilliseconds(750), audio.Duration);
        Assert.Equal(TimeSpan.Zero, AudioBuffer.FromSamples(48000, 2, []).Duration);
        Assert.Equal(TimeSpan.FromTicks(3_333_333), AudioBuffer.FromSamples(3, 1, [0f]).Duration); // a third of a second, to the tick below
        Assert.Equal("36000 samples x 2 ch @ 48000 Hz", audio.ToString());
    }

    [Fact]
    public void AudioBuffer_equality_is_by_value_bit_for_bit()
    {
        var a = AudioBuffer.FromSamples(8000, 1, [0.5f, 1f]);
        var b = AudioBuffer.FromSamples(8000, 1, [0.5f, 1f]);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, AudioBuffer.FromSamples(8000, 1, [0.5f, -1f]));
        Assert.NotEqual(a, AudioBuffer.FromSamples(8000, 2, [0.5f, 1f]));
        Assert.NotEqual(a, AudioBuffer.FromSamples(16000, 1, [0.5f, 1f]));
        Assert.NotEqual(AudioBuffer.FromSamples(8000, 1, [0f]), AudioBuffer.FromSamples(8000, 1, [-0f]));
    }

    /// <summary>A sink that refuses seeking, as a network or pipe stream does.</summary>
    private sealed class ForwardOnlyStream : Stream
    {
        public MemoryStream Written { get; } = new();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => Written.Write(buffer);
    }
}
