using System.Globalization;
using System.Text.Json;

namespace StableDiffusion.Native.Cli.Serve;

/// <summary>A request the server refuses with 400: the message says which field is wrong and what it accepts.</summary>
internal sealed class BadRequestException(string message, string? param = null, string code = BadRequestException.InvalidRequest) : Exception(message)
{
    public const string InvalidRequest = "invalid_request", InvalidJson = "invalid_json";

    /// <summary>The request field at fault, when there is one (OpenAI's error <c>param</c>).</summary>
    public string? Param { get; } = param;

    /// <summary>The error's code: <see cref="InvalidJson"/> when the body is not JSON at all, else <see cref="InvalidRequest"/>.</summary>
    public string Code { get; } = code;
}

/// <summary>
/// Typed reads of a JSON request body. Fields are looked up by name and unknown ones are ignored, as A1111's
/// and OpenAI's own servers do (clients send whole payloads of options a local model has no use for); a known
/// field of the wrong type or out of range is a <see cref="BadRequestException"/> naming it. Numbers given as
/// strings are read as numbers, as A1111's request models coerce them.
/// </summary>
internal readonly struct JsonInput
{
    private readonly JsonElement _root;

    private JsonInput(JsonElement root) => _root = root;

    /// <summary>Reads an object already parsed (the JSON of a prompt's <c>sd_cpp_extra_args</c>).</summary>
    public static JsonInput Of(JsonElement root) => new(root);

    /// <summary>Parses a body that must be one JSON object.</summary>
    public static async Task<(JsonDocument Document, JsonInput Input)> ReadAsync(Stream body, CancellationToken cancellationToken)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(body, new JsonDocumentOptions { MaxDepth = 32 }, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw new BadRequestException("The body is not valid JSON: " + e.Message, null, BadRequestException.InvalidJson);
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new BadRequestException("The body must be a JSON object.");
        }
        return (document, new JsonInput(document.RootElement));
    }

    /// <summary>A nested object's fields (A1111's <c>override_settings</c>); an absent or null one reads as empty.</summary>
    public JsonInput Object(string name)
    {
        if (!TryGet(name, out var value)) return default;
        if (value.ValueKind != JsonValueKind.Object) throw new BadRequestException($"'{name}' must be an object.", name);
        return new JsonInput(value);
    }

    public bool Has(string name) => TryGet(name, out _);

    /// <summary>An array of finite numbers (sigmas, layer indices), at most <paramref name="max"/>; absent reads as empty.</summary>
    public IReadOnlyList<double> Numbers(string name, int max)
    {
        if (!TryGet(name, out var value)) return [];
        if (value.ValueKind != JsonValueKind.Array) throw new BadRequestException($"'{name}' must be an array of numbers.", name);
        if (value.GetArrayLength() > max) throw new BadRequestException($"'{name}' may hold at most {max} numbers.", name);
        var list = new List<double>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !double.IsFinite(item.GetDouble()) || Math.Abs(item.GetDouble()) > 1e6)
                throw new BadRequestException($"'{name}' must be an array of numbers (each within ±1e6).", name);
            list.Add(item.GetDouble());
        }
        return list;
    }

    /// <summary>An array of objects (sd-server's <c>lora</c> list), at most <paramref name="max"/>; absent reads as empty.</summary>
    public IReadOnlyList<JsonInput> Objects(string name, int max = 64)
    {
        if (!TryGet(name, out var value)) return [];
        if (value.ValueKind != JsonValueKind.Array) throw new BadRequestException($"'{name}' must be an array of objects.", name);
        if (value.GetArrayLength() > max) throw new BadRequestException($"'{name}' may hold at most {max} entries.", name);
        var list = new List<JsonInput>();
        foreach (var item in value.EnumerateArray())
            list.Add(item.ValueKind == JsonValueKind.Object ? new JsonInput(item) : throw new BadRequestException($"'{name}' must be an array of objects.", name));
        return list;
    }

    private bool TryGet(string name, out JsonElement value)
    {
        if (_root.ValueKind == JsonValueKind.Object && _root.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null)
            return true;
        value = default;
        return false;
    }

    /// <summary>A JSON string's text; an escaped unpaired surrogate (<c>"\ud800"</c>), which .NET cannot turn into a string, is the client's error.</summary>
    private static string Text(JsonElement value, string name)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new BadRequestException($"'{name}' is not valid Unicode text: it escapes an unpaired surrogate.", name);
        }
    }

    public string? String(string name)
    {
        if (!TryGet(name, out var value)) return null;
        return value.ValueKind == JsonValueKind.String ? Text(value, name) : throw new BadRequestException($"'{name}' must be a string.", name);
    }

    public IReadOnlyList<string> Strings(string name)
    {
        if (!TryGet(name, out var value)) return [];
        if (value.ValueKind != JsonValueKind.Array) throw new BadRequestException($"'{name}' must be an array of strings.", name);
        var list = new List<string>();
        foreach (var item in value.EnumerateArray())
            list.Add(item.ValueKind == JsonValueKind.String ? Text(item, name) : throw new BadRequestException($"'{name}' must be an array of strings.", name));
        return list;
    }

    public long? Long(string name, long min, long max)
    {
        if (!TryGet(name, out var value)) return null;
        long result = value.ValueKind switch
        {
            JsonValueKind.Number when value.TryGetInt64(out long l) => l,
            JsonValueKind.Number when value.TryGetDouble(out double d) && d == Math.Floor(d) && d is >= long.MinValue and <= long.MaxValue => (long)d,
            JsonValueKind.String when long.TryParse(Text(value, name), NumberStyles.Integer, CultureInfo.InvariantCulture, out long s) => s,
            _ => throw new BadRequestException($"'{name}' must be an integer.", name),
        };
        if (result < min || result > max)
            throw new BadRequestException(string.Create(CultureInfo.InvariantCulture, $"'{name}' must be {min} to {max}; it is {result}."), name);
        return result;
    }

    public int? Int(string name, int min, int max) => (int?)Long(name, min, max);

    /// <summary>An integer in the library's own range for the setting (one set of bounds for every front end).</summary>
    public int? Int(string name, SettingRange range) => Int(name, (int)range.Min, (int)range.Max);

    /// <summary>A number in the library's own range for the setting.</summary>
    public float? Float(string name, SettingRange range) => Float(name, (float)range.Min, (float)range.Max);

    public float? Float(string name, float min, float max)
    {
        if (!TryGet(name, out var value)) return null;
        double result = value.ValueKind switch
        {
            JsonValueKind.Number => value.GetDouble(),
            JsonValueKind.String when double.TryParse(Text(value, name), NumberStyles.Float, CultureInfo.InvariantCulture, out double s) => s,
            _ => throw new BadRequestException($"'{name}' must be a number.", name),
        };
        if (!double.IsFinite(result) || result < min || result > max)
            throw new BadRequestException(string.Create(CultureInfo.InvariantCulture, $"'{name}' must be {min} to {max}; it is {result}."), name);
        return (float)result;
    }

    public bool? Bool(string name)
    {
        if (!TryGet(name, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number when value.TryGetInt32(out int i) && i is 0 or 1 => i == 1,
            _ => throw new BadRequestException($"'{name}' must be true or false.", name),
        };
    }
}
