using System.Buffers.Binary;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.ImageSharp;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Cli.SdCli;

/// <summary>Images as sd-cli loads them: resized to the request's size where it resizes, and folders of frames in name order.</summary>
internal static class InputImages
{
    /// <summary>
    /// An RGB image; with a size, cropped to that aspect ratio about the centre and then resized to it, as sd-cli's
    /// <c>load_image_from_file</c> does for init, end, control and mask images when the size is known.
    /// </summary>
    /// <exception cref="ArgumentException">No such file, or not an image; the message starts with <paramref name="flag"/>.</exception>
    public static ImageBuffer Rgb(string flag, string path, int? width = null, int? height = null)
        => Fit(Load(flag, path, ImageSharpLoader.LoadRgb), width, height);

    /// <summary>A mask (gray), fitted like <see cref="Rgb"/>.</summary>
    public static ImageBuffer Mask(string flag, string path, int width, int height) => Fit(Load(flag, path, ImageSharpLoader.LoadMask), width, height);

    private static ImageBuffer Load(string flag, string path, Func<string, ImageBuffer> load)
    {
        try
        {
            return load(path);
        }
        catch (ArgumentException e)
        {
            // The loader's message names the file; the flag says which input it was.
            throw new ArgumentException($"{flag}: {e.Message}", flag, e);
        }
    }

    /// <summary>
    /// The images of a folder (.jpg, .jpeg, .png, .bmp, .webp; other files skipped) in ordinal file-name order, as sd-cli's
    /// <c>load_images_from_dir</c> reads <c>--control-video</c>, <c>--ref-video</c> and <c>--pm-id-images-dir</c>;
    /// at most <paramref name="max"/> when it is above zero.
    /// </summary>
    /// <exception cref="ArgumentException">The folder does not exist.</exception>
    public static IReadOnlyList<ImageBuffer> Folder(string flag, string directory, int? width = null, int? height = null, int max = 0)
    {
        if (!Directory.Exists(directory)) throw SdCliSyntax.Bad(flag, $"'{directory}' is not a folder.");
        var files = new DirectoryInfo(directory).EnumerateFiles()
            .Where(f => f.Extension.ToLowerInvariant() is ".jpg" or ".jpeg" or ".png" or ".bmp" or ".webp")
            .OrderBy(f => f.Name, StringComparer.Ordinal);
        var images = new List<ImageBuffer>();
        foreach (var file in files)
        {
            images.Add(Rgb(flag, file.FullName, width, height));
            if (max > 0 && images.Count >= max) break;
        }
        return images;
    }

    /// <summary>Crops about the centre to the target's aspect ratio, then resizes (a triangle filter, widened when shrinking).</summary>
    public static ImageBuffer Fit(ImageBuffer image, int? width, int? height)
    {
        if (width is not int w || height is not int h || (image.Width == w && image.Height == h)) return image;
        float aspect = (float)w / h;
        int cropX = 0, cropY = 0, cropW = image.Width, cropH = image.Height;
        if ((float)image.Width / image.Height > aspect)
        {
            cropW = (int)(image.Height * aspect);
            cropX = (image.Width - cropW) / 2;
        }
        else
        {
            cropH = (int)(image.Width / aspect);
            cropY = (image.Height - cropH) / 2;
        }
        return Resize(image, cropX, cropY, Math.Max(1, cropW), Math.Max(1, cropH), w, h);
    }

    private static ImageBuffer Resize(ImageBuffer source, int x0, int y0, int sw, int sh, int dw, int dh)
    {
        int channels = source.BytesPerPixel;
        var columns = Weights(sw, dw);
        var rows = Weights(sh, dh);
        var pixels = source.Pixels.Span;
        int stride = source.Stride;
        // Horizontal pass into floats, then vertical into bytes.
        var horizontal = new float[sh * dw * channels];
        for (int y = 0; y < sh; y++)
        {
            int row = (y0 + y) * stride;
            for (int x = 0; x < dw; x++)
            {
                var (first, weights) = columns[x];
                for (int c = 0; c < channels; c++)
                {
                    float sum = 0;
                    for (int k = 0; k < weights.Length; k++) sum += weights[k] * pixels[row + (x0 + first + k) * channels + c];
                    horizontal[(y * dw + x) * channels + c] = sum;
                }
            }
        }
        return ImageBuffer.Create(source.Format, dw, dh, (horizontal, rows, dw, channels), static (span, s) =>
        {
            for (int y = 0; y < s.rows.Length; y++)
            {
                var (first, weights) = s.rows[y];
                for (int i = 0; i < s.dw * s.channels; i++)
                {
                    float sum = 0;
                    for (int k = 0; k < weights.Length; k++) sum += weights[k] * s.horizontal[(first + k) * s.dw * s.channels + i];
                    span[y * s.dw * s.channels + i] = (byte)Math.Clamp((int)MathF.Round(sum), 0, 255);
                }
            }
        });
    }

    /// <summary>For each output pixel, the first source pixel it reads and the normalised weights from there.</summary>
    private static (int First, float[] Weights)[] Weights(int source, int target)
    {
        float scale = (float)source / target;
        float support = Math.Max(1f, scale);
        var result = new (int, float[])[target];
        for (int i = 0; i < target; i++)
        {
            float center = (i + 0.5f) * scale;
            int first = Math.Max(0, (int)MathF.Floor(center - support));
            int last = Math.Min(source - 1, (int)MathF.Ceiling(center + support));
            var weights = new float[last - first + 1];
            float total = 0;
            for (int k = 0; k < weights.Length; k++)
            {
                float distance = Math.Abs(first + k + 0.5f - center) / support;
                weights[k] = Math.Max(0f, 1f - distance);
                total += weights[k];
            }
            if (total <= 0)
            {
                weights = [1f];
                first = Math.Clamp((int)center, 0, source - 1);
                total = 1;
            }
            for (int k = 0; k < weights.Length; k++) weights[k] /= total;
            result[i] = (first, weights);
        }
        return result;
    }
}

/// <summary><c>--embd-dir</c>: every embedding file of a folder, named by its file name without the extension, as sd-cli maps them.</summary>
internal static class EmbeddingFolder
{
    /// <exception cref="ArgumentException">The folder does not exist.</exception>
    public static IReadOnlyList<Embedding> Read(string directory, ILogger logger)
    {
        // sd-cli silently ignores a missing folder; a typo here would silently drop every embedding, so it is an error.
        if (!Directory.Exists(directory)) throw SdCliSyntax.Bad("--embd-dir", $"'{directory}' is not a folder.");
        var embeddings = new List<Embedding>();
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles().OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            string ext = file.Extension.ToLowerInvariant();
            if (ext is ".safetensors" or ".gguf")
                embeddings.Add(new Embedding(Path.GetFileNameWithoutExtension(file.Name), file.FullName));
            else if (ext is ".pt" or ".ckpt")
                // sd-cli loads pickles too; sdnet does not run pickle files (they can carry code).
                logger.LogWarning("--embd-dir: skipped {File}: a pickle file; convert it to .safetensors", file.Name);
        }
        return embeddings;
    }
}

/// <summary>
/// sd-cli's <c>extract_and_remove_lora</c> (with <c>--lora-model-dir</c>): each <c>&lt;lora:name:weight&gt;</c> in the
/// prompt is taken out and loaded from the folder (<c>name</c>, or <c>name</c> with .gguf/.safetensors/.pt/.ckpt);
/// a <c>|high_noise|</c> prefix picks the high-noise model; weights of one file add up.
/// </summary>
internal static partial class PromptLoras
{
    private static readonly string[] s_extensions = [".gguf", ".safetensors", ".pt", ".ckpt"];

    [GeneratedRegex("<lora:([^:>]+):([^>]+)>")]
    private static partial Regex Tag();

    public static (string Prompt, IReadOnlyList<LoraReference> Loras) Extract(string prompt, string directory, ILogger logger)
    {
        var sums = new Dictionary<(string Path, bool HighNoise), float>();
        var order = new List<(string, bool)>();
        string result = Tag().Replace(prompt, m =>
        {
            string raw = m.Groups[1].Value;
            if (!float.TryParse(m.Groups[2].Value.Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float weight))
                return "";
            bool highNoise = raw.StartsWith("|high_noise|", StringComparison.Ordinal);
            if (highNoise) raw = raw["|high_noise|".Length..];
            string path = Path.IsPathRooted(raw) ? raw : Path.Combine(directory, raw);
            if (!File.Exists(path))
            {
                string? found = s_extensions.Select(e => path + e).FirstOrDefault(File.Exists);
                if (found is null)
                {
                    logger.LogWarning("can not find lora {Path}", path);
                    return "";
                }
                path = found;
            }
            var key = (Path.GetFullPath(path), highNoise);
            if (!sums.ContainsKey(key)) order.Add(key);
            sums[key] = sums.GetValueOrDefault(key) + weight;
            return "";
        });
        return (result, order.Select(k => new LoraReference(k.Item1, sums[k]) { HighNoise = k.Item2 }).ToList());
    }
}

/// <summary>
/// WAV files for <c>--ref-audio</c> and <c>--ref-video-audio</c>: 8/16/24/32-bit integer PCM or 32/64-bit float, any
/// channel count up to <see cref="AudioBuffer.MaxChannels"/>, read into interleaved float samples.
/// </summary>
internal static class WavReader
{
    /// <exception cref="ArgumentException">Not a WAV file this reads (the message says why).</exception>
    /// <exception cref="IOException">The file could not be read.</exception>
    public static AudioBuffer Read(string flag, string path)
    {
        if (!File.Exists(path)) throw SdCliSyntax.Bad(flag, $"no file '{path}'.");
        byte[] data = File.ReadAllBytes(path);
        ReadOnlySpan<byte> d = data;
        if (d.Length < 12 || !d[..4].SequenceEqual("RIFF"u8) || !d.Slice(8, 4).SequenceEqual("WAVE"u8))
            throw SdCliSyntax.Bad(flag, $"'{path}' is not a WAV file.");
        int format = 0, channels = 0, rate = 0, bits = 0;
        ReadOnlySpan<byte> samples = default;
        bool haveData = false;
        for (int pos = 12; pos + 8 <= d.Length;)
        {
            var id = d.Slice(pos, 4);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(d.Slice(pos + 4, 4));
            int start = pos + 8;
            int length = (int)Math.Min(size, d.Length - start);
            if (id.SequenceEqual("fmt "u8) && length >= 16)
            {
                format = BinaryPrimitives.ReadUInt16LittleEndian(d.Slice(start, 2));
                channels = BinaryPrimitives.ReadUInt16LittleEndian(d.Slice(start + 2, 2));
                rate = BinaryPrimitives.ReadInt32LittleEndian(d.Slice(start + 4, 4));
                bits = BinaryPrimitives.ReadUInt16LittleEndian(d.Slice(start + 14, 2));
                // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
                if (format == 0xFFFE && length >= 26) format = BinaryPrimitives.ReadUInt16LittleEndian(d.Slice(start + 24, 2));
            }
            else if (id.SequenceEqual("data"u8))
            {
                samples = d.Slice(start, length);
                haveData = true;
            }
            pos = start + length + (length & 1);
        }
        if (!haveData || channels == 0) throw SdCliSyntax.Bad(flag, $"'{path}' has no fmt or data chunk.");
        if (channels > AudioBuffer.MaxChannels || rate <= 0 || rate > AudioBuffer.MaxSampleRate)
            throw SdCliSyntax.Bad(flag, $"'{path}': {channels} channels at {rate} Hz is not supported.");
        int bytes = bits / 8;
        if ((format != 1 || bits is not (8 or 16 or 24 or 32)) && (format != 3 || bits is not (32 or 64)))
            throw SdCliSyntax.Bad(flag, $"'{path}': format {format} with {bits} bits per sample is not integer PCM or float.");
        int count = samples.Length / bytes / channels * channels;
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            var s = samples.Slice(i * bytes, bytes);
            values[i] = (format, bits) switch
            {
                (1, 8) => (s[0] - 128) / 128f,
                (1, 16) => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768f,
                (1, 24) => ((s[0] | (s[1] << 8) | (s[2] << 16)) << 8 >> 8) / 8388608f,
                (1, _) => BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648f,
                (_, 32) => BinaryPrimitives.ReadSingleLittleEndian(s),
                _ => (float)BinaryPrimitives.ReadDoubleLittleEndian(s),
            };
        }
        return AudioBuffer.FromSamples(rate, channels, values);
    }
}
