using System.CommandLine;
using System.CommandLine.Parsing;

namespace StableDiffusion.Native.Cli.SdCli;

/// <summary>
/// Options spelt as sd-cli spells them. Numbers are read by the same rules as <see cref="SdCliSyntax"/>, so a bad value
/// reads "--steps: 'x' is not a whole number." rather than a .NET type name.
/// </summary>
internal static class OptionFactory
{
    /// <summary>A library default as help texts show it ("0.75", "7"): the number is read from the library, never written here.</summary>
    public static string Default(float value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>An option named <paramref name="name"/> (sd-cli's spelling) with further aliases (a short form, sdnet's older names).</summary>
    public static Option<string?> Text(string name, string description, params string[] aliases)
        => new(name, aliases) { Description = description, Arity = LastWins, AllowMultipleArgumentsPerToken = false, CustomParser = r => r.Tokens.Count == 0 ? null : r.Tokens[^1].Value };

    /// <summary>
    /// A value option given twice keeps the last value, as sd-cli does (so a pasted command line can be overridden by
    /// appending); each occurrence still takes exactly one token.
    /// </summary>
    private static readonly ArgumentArity LastWins = new(1, 100_000);

    /// <summary>A repeatable string option whose values sd-cli joins with ',' (its "concat" options).</summary>
    public static Option<string[]> Joined(string name, string description, params string[] aliases)
        => new(name, aliases) { Description = description + " (repeatable: values are joined with ',')", AllowMultipleArgumentsPerToken = false };

    /// <summary>A repeatable string option whose values are kept in order (sd-cli's <c>--ref-image</c> and the like).</summary>
    public static Option<string[]> Repeated(string name, string description, params string[] aliases)
        => new(name, aliases) { Description = description + " (repeatable)", AllowMultipleArgumentsPerToken = false };

    public static Option<bool> Switch(string name, string description, params string[] aliases)
        => new(name, aliases) { Description = description };

    public static Option<int?> Int(string name, string description, params string[] aliases)
        => new(name, aliases) { Description = description, Arity = LastWins, AllowMultipleArgumentsPerToken = false, CustomParser = r => Parse(r, static (f, t) => SdCliSyntax.Int(f, t)) };

    public static Option<long?> Long(string name, string description, params string[] aliases)
        => new(name, aliases)
        {
            Description = description,
            Arity = LastWins,
            AllowMultipleArgumentsPerToken = false,
            CustomParser = r => Parse(r, static (f, t) => long.TryParse(t.Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long v)
                ? v : throw SdCliSyntax.Bad(f, $"'{t}' is not a whole number.")),
        };

    public static Option<float?> Float(string name, string description, params string[] aliases)
        => new(name, aliases) { Description = description, Arity = LastWins, AllowMultipleArgumentsPerToken = false, CustomParser = r => Parse(r, static (f, t) => SdCliSyntax.Float(f, t)) };

    private static T? Parse<T>(ArgumentResult result, Func<string, string, T> read) where T : struct
    {
        string flag = result.Parent is OptionResult o ? o.IdentifierToken?.Value ?? o.Option.Name : "value";
        if (result.Tokens.Count == 0) return null;
        try
        {
            return read(flag, result.Tokens[^1].Value);
        }
        catch (ArgumentException e)
        {
            // The message without .NET's " (Parameter '--flag')": it already starts with the flag.
            result.AddError(e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message);
            return null;
        }
    }
}
