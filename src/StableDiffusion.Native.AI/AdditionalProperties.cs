using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace StableDiffusion.Native.AI;

/// <summary>
/// Reads <see cref="ImageGenerationOptions.AdditionalProperties"/> by A1111's parameter names. Values may be .NET
/// numbers, strings or <see cref="JsonElement"/>s (what a deserialized request carries); one is accepted only when it
/// converts exactly, and anything else is refused with the key and what it accepts.
/// </summary>
internal static class AdditionalProperties
{
    public const string SeedKey = "seed";
    public const string StepsKey = "steps";
    public const string CfgScaleKey = "cfg_scale";
    public const string NegativePromptKey = "negative_prompt";
    public const string SamplerKey = "sampler";
    public const string SchedulerKey = "scheduler";
    public const string StrengthKey = "strength";

    /// <summary>Accepted keys (ignoring case) → the parameter they set; A1111's API spells two of them differently.</summary>
    private static readonly Dictionary<string, string> s_keys = new(StringComparer.OrdinalIgnoreCase)
    {
        [SeedKey] = SeedKey,
        [StepsKey] = StepsKey,
        [CfgScaleKey] = CfgScaleKey,
        [NegativePromptKey] = NegativePromptKey,
        [SamplerKey] = SamplerKey,
        ["sampler_name"] = SamplerKey,
        [SchedulerKey] = SchedulerKey,
        [StrengthKey] = StrengthKey,
        ["denoising_strength"] = StrengthKey,
    };

    private const string AcceptedKeys =
        "seed, steps, cfg_scale, negative_prompt, sampler (or sampler_name), scheduler, strength (or denoising_strength)";

    public static ImageRequest Apply(ImageRequest request, AdditionalPropertiesDictionary? properties)
    {
        if (properties is null) return request;
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        Scheduler? legacySchedule = null;
        foreach (var (key, value) in properties)
        {
            if (key is null || !s_keys.TryGetValue(key, out string? parameter))
                throw new ArgumentException($"AdditionalProperties: unknown key '{Messages.Shorten(key)}'; accepted keys: {AcceptedKeys}.", nameof(ImageGenerationOptions.AdditionalProperties));
            if (seen.TryGetValue(parameter, out string? other))
                throw new ArgumentException($"AdditionalProperties: '{other}' and '{key}' both set {parameter}; give one.", nameof(ImageGenerationOptions.AdditionalProperties));
            seen.Add(parameter, key);
            if (value is null || value is JsonElement { ValueKind: JsonValueKind.Null }) continue;
            request = parameter switch
            {
                SeedKey => request with { Seed = ReadSeed(key, value) },
                // The ranges are the library's own (one set of bounds for every front end), refused here under the key's name.
                StepsKey => request with { Sampling = request.Sampling with { Steps = (int)ReadInteger(key, value, s_steps, "an integer") } },
                CfgScaleKey => request with { Sampling = request.Sampling with { CfgScale = ReadFloat(key, value, s_cfgScale, "a number") } },
                NegativePromptKey => request with { NegativePrompt = ReadString(key, value, "text") },
                SamplerKey => WithSampler(request, ReadSampler(key, value), ref legacySchedule),
                SchedulerKey => request with { Sampling = request.Sampling with { Scheduler = ReadScheduler(key, value) } },
                _ => request with { Strength = ReadFloat(key, value, s_strength, "a number") },
            };
        }
        // A legacy sampler name's schedule ("DPM++ 2M Karras"), unless the scheduler was given as well.
        if (legacySchedule is { } schedule && !seen.ContainsKey(SchedulerKey)) request = request with { Sampling = request.Sampling with { Scheduler = schedule } };
        return request;
    }

    private static ImageRequest WithSampler(ImageRequest request, (Sampler Sampler, Scheduler? Schedule) read, ref Scheduler? legacySchedule)
    {
        legacySchedule = read.Schedule;
        return request with { Sampling = request.Sampling with { Sampler = read.Sampler } };
    }

    /// <summary>A seed ≥ 0, or A1111's -1 for a random one (null).</summary>
    private static long? ReadSeed(string key, object value)
    {
        const string accepted = "an integer ≥ 0, or -1 for a random seed";
        if (!TryInteger(value, out long seed) || seed < -1) throw Bad(key, value, accepted);
        return seed == -1 ? null : seed;
    }

    private static readonly SettingRange s_steps = SettingRange.Of<SamplingOptions>(nameof(SamplingOptions.Steps));
    private static readonly SettingRange s_cfgScale = SettingRange.Of<SamplingOptions>(nameof(SamplingOptions.CfgScale));
    private static readonly SettingRange s_strength = SettingRange.Of<ImageRequest>(nameof(ImageRequest.Strength));

    private static long ReadInteger(string key, object value, SettingRange range, string kind)
        => TryInteger(value, out long result) && range.Contains(result) ? result : throw Bad(key, value, $"{kind} from {range}");

    private static float ReadFloat(string key, object value, SettingRange range, string kind)
        => TryNumber(value, out double result) && range.Contains(result) ? (float)result : throw Bad(key, value, $"{kind} from {range}");

    private static string ReadString(string key, object value, string accepted) => value switch
    {
        string s => s,
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!,
        _ => throw Bad(key, value, accepted),
    };

    /// <summary>A sampler by any name SamplingNames reads, and the schedule of a legacy A1111 name ("DPM++ 2M Karras").</summary>
    private static (Sampler Sampler, Scheduler? Schedule) ReadSampler(string key, object value)
    {
        const string accepted = "a sampler: upstream's name (euler, euler_a, heun, dpm2, dpm++2s_a, dpm++2m, lcm, ...), A1111's (Euler a, DPM++ 2M, k_euler_a, DPM++ 2M Karras, ...) or a Sampler value";
        if (value is Sampler sampler) return Enum.IsDefined(sampler) ? (sampler, null) : throw Bad(key, value, accepted);
        return value is string or JsonElement { ValueKind: JsonValueKind.String } && SamplingNames.TryParseSampler(ReadString(key, value, accepted), out sampler, out var schedule)
            ? (sampler, schedule)
            : throw Bad(key, value, accepted);
    }

    /// <summary>A scheduler; A1111's "automatic" (null) leaves it to the model.</summary>
    private static Scheduler? ReadScheduler(string key, object value)
    {
        const string accepted = "a scheduler: upstream's name (discrete, karras, exponential, ays, sgm_uniform, simple, ...), A1111's (Karras, SGM Uniform, Align Your Steps, Automatic, ...) or a Scheduler value";
        if (value is Scheduler scheduler) return Enum.IsDefined(scheduler) ? scheduler : throw Bad(key, value, accepted);
        if (value is not (string or JsonElement { ValueKind: JsonValueKind.String })) throw Bad(key, value, accepted);
        string name = ReadString(key, value, accepted).Trim();
        if (string.Equals(name, "automatic", StringComparison.OrdinalIgnoreCase)) return null;
        return SamplingNames.TryParseScheduler(name, out scheduler) ? scheduler : throw Bad(key, value, accepted);
    }

    /// <summary>An integer, from any numeric type, a string or a JSON number or string, when the value is one exactly.</summary>
    internal static bool TryInteger(object value, out long result)
    {
        switch (value)
        {
            case long l: result = l; return true;
            case int i: result = i; return true;
            case short s: result = s; return true;
            case sbyte sb: result = sb; return true;
            case byte b: result = b; return true;
            case ushort us: result = us; return true;
            case uint ui: result = ui; return true;
            case ulong ul when ul <= long.MaxValue: result = (long)ul; return true;
            case double d: return Integral(d, out result);
            case float f: return Integral(f, out result);
            case decimal m: return Integral(m, out result);
            case string text:
                result = 0;
                return decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && Integral(parsed, out result);
            case JsonElement { ValueKind: JsonValueKind.Number } e:
                if (e.TryGetInt64(out result)) return true;
                result = 0;
                return e.TryGetDecimal(out var number) && Integral(number, out result);
            case JsonElement { ValueKind: JsonValueKind.String } e:
                return TryInteger(e.GetString()!, out result);
            default:
                result = 0;
                return false;
        }
    }

    /// <summary>A number, from any numeric type, a string or a JSON number or string.</summary>
    internal static bool TryNumber(object value, out double result)
    {
        switch (value)
        {
            case double d: result = d; return true;
            case float f: result = f; return true;
            case decimal m: result = (double)m; return true;
            case long or int or short or sbyte or byte or ushort or uint or ulong:
                result = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                return true;
            case string text:
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out result);
            case JsonElement { ValueKind: JsonValueKind.Number } e:
                return e.TryGetDouble(out result);
            case JsonElement { ValueKind: JsonValueKind.String } e:
                return TryNumber(e.GetString()!, out result);
            default:
                result = 0;
                return false;
        }
    }

    private static bool Integral(double value, out long result)
    {
        // 2^63 is exactly representable; long.MaxValue is not, so the upper bound is exclusive.
        bool ok = double.IsFinite(value) && value == Math.Truncate(value) && value >= long.MinValue && value < 9223372036854775808.0;
        result = ok ? (long)value : 0;
        return ok;
    }

    private static bool Integral(decimal value, out long result)
    {
        bool ok = value == decimal.Truncate(value) && value >= long.MinValue && value <= long.MaxValue;
        result = ok ? (long)value : 0;
        return ok;
    }

    private static ArgumentException Bad(string key, object value, string accepted)
        => new($"AdditionalProperties['{key}']: {Describe(value)} is not accepted; expected {accepted}.", nameof(ImageGenerationOptions.AdditionalProperties));

    private static string Describe(object value) => value switch
    {
        string s => $"'{Messages.Shorten(s)}'",
        JsonElement e => $"JSON {e.ValueKind.ToString().ToLowerInvariant()} {Messages.Shorten(e.GetRawText())}",
        _ => $"{value.GetType().Name} {Messages.Shorten(Convert.ToString(value, CultureInfo.InvariantCulture))}",
    };
}
