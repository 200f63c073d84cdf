using System.Collections;
using System.Text;
using System.Text.RegularExpressions;

namespace StableDiffusion.Native.ModelFiles;

/// <summary>One tensor type rule: tensors whose name matches <see cref="Pattern"/> are stored as <see cref="Type"/>.</summary>
/// <param name="Pattern">An ECMAScript regular expression searched for (not anchored) in the tensor name.</param>
/// <param name="Type">The storage type for matching tensors.</param>
public readonly record struct TensorTypeRule(string Pattern, QuantizationType Type);

/// <summary>
/// A validated, ordered list of per-tensor type overrides, in upstream's <c>tensor_type_rules</c> string format
/// (<c>pattern=type,pattern=type</c>). The first rule whose pattern is found in a tensor name wins.
/// </summary>
/// <remarks>
/// Upstream compiles each pattern with C++ <c>std::regex</c> (ECMAScript grammar) and terminates the process on an
/// invalid one, and silently ignores unknown type names; this builder rejects both up front. Patterns are compiled
/// with <see cref="RegexOptions.ECMAScript"/>, which is close to, but not identical with, <c>std::regex</c>.
/// </remarks>
public sealed class TensorTypeRules : IReadOnlyList<TensorTypeRule>
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);
    private readonly List<TensorTypeRule> rules = [];
    private readonly List<Regex> compiled = [];

    /// <summary>Gets the number of rules.</summary>
    public int Count => this.rules.Count;

    /// <summary>Gets the rule at <paramref name="index"/>.</summary>
    /// <param name="index">The index.</param>
    public TensorTypeRule this[int index] => this.rules[index];

    /// <summary>Appends a rule.</summary>
    /// <param name="pattern">An ECMAScript regular expression, without <c>,</c> or <c>=</c>.</param>
    /// <param name="type">The storage type; must be one upstream accepts in rules (F32 or a type ggml can dequantize).</param>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pattern"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The pattern contains <c>,</c> or <c>=</c>, or is not a valid regular expression.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> cannot be used in a rule.</exception>
    public TensorTypeRules Add(string pattern, QuantizationType type)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (pattern.AsSpan().IndexOfAny(',', '=') >= 0)
        {
            throw new ArgumentException($"Tensor type rule pattern '{pattern}' must not contain ',' or '=' (upstream's rule separators).", nameof(pattern));
        }

        if (!IsRuleType(type))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Upstream accepts only f32 or a type it can dequantize in tensor type rules.");
        }

        Regex regex;
        try
        {
            regex = new Regex(pattern, RegexOptions.ECMAScript | RegexOptions.CultureInvariant, MatchTimeout);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"Tensor type rule pattern '{pattern}' is not a valid ECMAScript regular expression: {ex.Message}", nameof(pattern), ex);
        }

        this.rules.Add(new TensorTypeRule(pattern, type));
        this.compiled.Add(regex);
        return this;
    }

    /// <summary>Finds the type the first matching rule assigns to a tensor.</summary>
    /// <param name="tensorName">The tensor name.</param>
    /// <param name="type">The rule's type.</param>
    /// <returns><see langword="true"/> when a rule matches.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="tensorName"/> is null.</exception>
    public bool TryMatch(string tensorName, out QuantizationType type)
    {
        ArgumentNullException.ThrowIfNull(tensorName);
        for (int i = 0; i < this.compiled.Count; i++)
        {
            if (this.compiled[i].IsMatch(tensorName))
            {
                type = this.rules[i].Type;
                return true;
            }
        }

        type = default;
        return false;
    }

    /// <summary>Formats the rules in upstream's format, <c>pattern=type,pattern=type</c>.</summary>
    /// <returns>The rule string (empty when there are no rules).</returns>
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (TensorTypeRule rule in this.rules)
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            sb.Append(rule.Pattern).Append('=').Append(QuantizationTypes.Name(rule.Type));
        }

        return sb.ToString();
    }

    /// <summary>Parses upstream's format. Empty items (for example a trailing comma) are skipped, as upstream does.</summary>
    /// <param name="value">The rule string.</param>
    /// <returns>The rules.</returns>
    /// <exception cref="FormatException">An item lacks <c>=</c> or names an unknown type, or a pattern is invalid.</exception>
    public static TensorTypeRules Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var result = new TensorTypeRules();
        foreach (string item in value.Split(','))
        {
            if (item.Length == 0)
            {
                continue;
            }

            int eq = item.IndexOf('=');
            if (eq < 0)
            {
                throw new FormatException($"Tensor type rule '{item}' has no '='.");
            }

            string pattern = item[..eq];
            string typeName = item[(eq + 1)..];
            if (!QuantizationTypes.TryParse(typeName, out QuantizationType type) || !IsRuleType(type))
            {
                throw new FormatException($"Tensor type rule '{item}' names an unknown or unusable type '{typeName}'.");
            }

            try
            {
                result.Add(pattern, type);
            }
            catch (ArgumentException ex)
            {
                throw new FormatException(ex.Message, ex);
            }
        }

        return result;
    }

    /// <inheritdoc/>
    public IEnumerator<TensorTypeRule> GetEnumerator() => this.rules.GetEnumerator();

    /// <inheritdoc/>
    IEnumerator IEnumerable.GetEnumerator() => this.GetEnumerator();

    /// <summary>Whether upstream accepts <paramref name="type"/> in a rule: f32, or a type ggml can convert to float.</summary>
    internal static bool IsRuleType(QuantizationType type)
        => QuantizationTypes.IsKnown(type) && type switch
        {
            QuantizationType.I8 or QuantizationType.I16 or QuantizationType.I32 or QuantizationType.I64
                or QuantizationType.F64 or QuantizationType.Q8_1 or QuantizationType.Q8_K => false,
            _ => true,
        };
}
