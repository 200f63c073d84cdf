using System.Globalization;
using System.Text;

namespace StableDiffusion.Native.Imaging;

/// <summary>
/// How an image was made, as the A1111 <c>parameters</c> PNG text chunk records it (the format sd-cli writes
/// too, so its PNGs read back here). Everything needed to reproduce the image from the same model.
/// </summary>
public sealed record GenerationParameters
{
    /// <summary>The PNG text keyword A1111, sd-cli and this library store the parameters under.</summary>
    public const string PngKeyword = "parameters";

    /// <summary>The prompt.</summary>
    public string Prompt { get; init; } = "";
    /// <summary>The negative prompt (empty for none).</summary>
    public string NegativePrompt { get; init; } = "";
    /// <summary>Sampling steps.</summary>
    public int Steps { get; init; }
    /// <summary>Classifier-free guidance scale.</summary>
    public float CfgScale { get; init; }
    /// <summary>Distilled guidance (Flux), when set.</summary>
    public float? Guidance { get; init; }
    /// <summary>Sampler eta, when set.</summary>
    public float? Eta { get; init; }
    /// <summary>The seed of this image.</summary>
    public long Seed { get; init; }
    /// <summary>Width in pixels.</summary>
    public int Width { get; init; }
    /// <summary>Height in pixels.</summary>
    public int Height { get; init; }
    /// <summary>The sampler, when known.</summary>
    public Sampler? Sampler { get; init; }
    /// <summary>The scheduler, when known.</summary>
    public Scheduler? Scheduler { get; init; }
    /// <summary>The model's file name, when known.</summary>
    public string? Model { get; init; }
    /// <summary>Denoising strength, for image-to-image and inpainting.</summary>
    public float? Strength { get; init; }
    /// <summary>CLIP layers skipped, when set.</summary>
    public int? ClipSkip { get; init; }
    /// <summary>Key/value pairs this type does not model, kept so a round trip loses nothing.</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

    /// <summary>The A1111 text: prompt, "Negative prompt: …" and one line of "Key: value" settings.</summary>
    /// <returns>The text <see cref="Parse"/> reads back.</returns>
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(Prompt).Append('\n');
        if (NegativePrompt.Length > 0) sb.Append("Negative prompt: ").Append(NegativePrompt).Append('\n');
        sb.Append("Steps: ").Append(Steps.ToString(c));
        sb.Append(", CFG scale: ").Append(CfgScale.ToString("R", c));
        if (Guidance is float g) sb.Append(", Guidance: ").Append(g.ToString("R", c));
        if (Eta is float e) sb.Append(", Eta: ").Append(e.ToString("R", c));
        sb.Append(", Seed: ").Append(Seed.ToString(c));
        sb.Append(", Size: ").Append(Width.ToString(c)).Append('x').Append(Height.ToString(c));
        if (!string.IsNullOrEmpty(Model)) sb.Append(", Model: ").Append(Model);
        if (Sampler is { } s)
        {
            sb.Append(", Sampler: ").Append(s.Name());
            if (Scheduler is { } sch) sb.Append(' ').Append(sch.Name());
        }
        if (Strength is float st) sb.Append(", Denoising strength: ").Append(st.ToString("R", c));
        if (ClipSkip is int cs) sb.Append(", Clip skip: ").Append(cs.ToString(c));
        foreach (var (k, v) in Extra) sb.Append(", ").Append(k).Append(": ").Append(v);
        return sb.ToString();
    }

    /// <summary>Parses the text of a <c>parameters</c> chunk (ours, sd-cli's or A1111's).</summary>
    /// <param name="text">The chunk's text.</param>
    /// <returns>The parameters; keys this type does not model land in <see cref="Extra"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="FormatException">The text has no "Steps:" line, or a known key has an invalid value.</exception>
    public static GenerationParameters Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] lines = text.Replace("\r\n", "\n").Split('\n');
        int settingsLine = Array.FindLastIndex(lines, l => l.StartsWith("Steps: ", StringComparison.Ordinal));
        if (settingsLine < 0) throw new FormatException("Not generation parameters: no line starts with \"Steps: \".");

        var prompt = new List<string>();
        var negative = new List<string>();
        bool inNegative = false;
        for (int i = 0; i < settingsLine; i++)
        {
            string l = lines[i];
            if (l.StartsWith("Negative prompt: ", StringComparison.Ordinal))
            {
                inNegative = true;
                negative.Add(l["Negative prompt: ".Length..]);
            }
            else (inNegative ? negative : prompt).Add(l);
        }

        var p = new GenerationParameters { Prompt = string.Join('\n', prompt), NegativePrompt = string.Join('\n', negative) };
        var extra = new Dictionary<string, string>();
        foreach (var (key, value) in SplitSettings(string.Join(", ", lines[settingsLine..].Where(l => l.Length > 0))))
        {
            try
            {
                p = Apply(p, key, value, extra);
            }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                throw new FormatException($"Generation parameters: '{key}: {value}' is not valid.", e);
            }
        }
        return p with { Extra = extra };
    }

    private static GenerationParameters Apply(GenerationParameters p, string key, string value, Dictionary<string, string> extra)
    {
        var c = CultureInfo.InvariantCulture;
        switch (key)
        {
            case "Steps": p = p with { Steps = int.Parse(value, c) }; break;
            case "CFG scale": p = p with { CfgScale = float.Parse(value, c) }; break;
            case "Guidance": p = p with { Guidance = float.Parse(value, c) }; break;
            case "Eta": p = p with { Eta = float.Parse(value, c) }; break;
            case "Seed": p = p with { Seed = long.Parse(value, c) }; break;
            case "Size":
                string[] wh = value.Split('x');
                if (wh.Length != 2) throw new FormatException("Size must be WIDTHxHEIGHT.");
                p = p with { Width = int.Parse(wh[0], c), Height = int.Parse(wh[1], c) };
                break;
            case "Model": p = p with { Model = value }; break;
            case "Denoising strength": p = p with { Strength = float.Parse(value, c) }; break;
            case "Clip skip": p = p with { ClipSkip = int.Parse(value, c) }; break;
            case "Sampler":
                // sd-cli writes "euler_a karras"; A1111 writes "Euler a" and a separate "Schedule type".
                if (SamplingNames.TryParseSampler(value, out var whole)) p = p with { Sampler = whole };
                else
                {
                    int sp = value.LastIndexOf(' ');
                    if (sp > 0 && SamplingNames.TryParseSampler(value[..sp], out var s) && SamplingNames.TryParseScheduler(value[(sp + 1)..], out var sch))
                        p = p with { Sampler = s, Scheduler = sch };
                    else extra[key] = value;
                }
                break;
            case "Schedule type" when SamplingNames.TryParseScheduler(value, out var st):
                p = p with { Scheduler = st };
                break;
            default: extra[key] = value; break;
        }
        return p;
    }

    /// <summary>Reads the parameters stored in a PNG; null when it has none. Only the text chunks before the pixels are read.</summary>
    /// <param name="path">A PNG file.</param>
    /// <returns>The parameters, or null.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not a PNG, or a text chunk is malformed.</exception>
    /// <exception cref="FormatException">The chunk's text is not generation parameters.</exception>
    public static GenerationParameters? Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var stream = File.OpenRead(path);
        return Read(stream);
    }

    /// <summary>Reads the parameters stored in a PNG stream; null when it has none.</summary>
    /// <param name="stream">A PNG, read from its current position.</param>
    /// <returns>The parameters, or null.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="InvalidDataException">The stream is not a PNG, or a text chunk is malformed.</exception>
    /// <exception cref="FormatException">The chunk's text is not generation parameters.</exception>
    public static GenerationParameters? Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return PngTextReader.Find(stream, PngKeyword) is { } text ? Parse(text) : null;
    }

    /// <summary>Splits "k: v, k: [a, b], k: v" respecting brackets and quotes.</summary>
    private static IEnumerable<(string Key, string Value)> SplitSettings(string s)
    {
        int depth = 0, start = 0;
        bool quoted = false;
        for (int i = 0; i <= s.Length; i++)
        {
            char ch = i < s.Length ? s[i] : ',';
            if (ch == '"') quoted = !quoted;
            else if (!quoted && (ch == '[' || ch == '{')) depth++;
            else if (!quoted && (ch == ']' || ch == '}')) depth--;
            else if (ch == ',' && depth == 0 && !quoted)
            {
                string part = s[start..i].Trim();
                start = i + 1;
                int colon = part.IndexOf(": ", StringComparison.Ordinal);
                if (colon > 0) yield return (part[..colon], part[(colon + 2)..]);
            }
        }
    }
}
