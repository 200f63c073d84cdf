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
/// invalid one, and silently ignores unknown type names; this builder rejects both up front. libstdc++'s matcher
/// backtracks and recurses per character, so patterns are held to a subset both engines read alike and that cannot
/// backtrack without end: ASCII literals, <c>.</c>, <c>^</c>, <c>$</c>, <c>\b</c>, the class escapes <c>\d \w \s</c>
/// (and negations), escaped punctuation, bracket classes, groups (<c>(…)</c>, <c>(?:…)</c>) with <c>|</c>, and the
/// quantifiers <c>* + ? {n} {n,} {n,m}</c> (n, m ≤ 100, optionally lazy) — at most two unbounded ones, and none on a group
/// that itself repeats or alternates. Back-references, look-arounds, named groups and other escapes are refused.
/// At most <see cref="MaxRules"/> rules of <see cref="MaxPatternLength"/> characters.
/// </remarks>
public sealed class TensorTypeRules : IReadOnlyList<TensorTypeRule>
{
    /// <summary>The longest accepted pattern, in characters (tensor names are at most 160 bytes at the pin).</summary>
    public const int MaxPatternLength = 256;

    /// <summary>The most rules one list holds (upstream compiles every rule again for every tensor).</summary>
    public const int MaxRules = 64;

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

        if (this.rules.Count == MaxRules)
        {
            throw new ArgumentException($"At most {MaxRules} tensor type rules are accepted.", nameof(pattern));
        }

        if (RegexSubset.Check(pattern) is { } problem)
        {
            throw new ArgumentException($"Tensor type rule pattern '{DisplayText.Escape(pattern, 80)}' is refused: {problem}.", nameof(pattern));
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

/// <summary>
/// The regular-expression subset tensor type rules may use (see <see cref="TensorTypeRules"/>): one left-to-right pass
/// over at most <see cref="TensorTypeRules.MaxPatternLength"/> characters, with an explicit stack for groups.
/// </summary>
internal static class RegexSubset
{
    private const int MaxUnbounded = 2;
    private const int MaxCount = 100;
    private const string Syntax = @"\^$.|?*+()[]{}/-";

    /// <summary>Null when <paramref name="pattern"/> is in the subset; else what is wrong with it.</summary>
    public static string? Check(string pattern)
    {
        if (pattern.Length == 0) return "it is empty";
        if (pattern.Length > TensorTypeRules.MaxPatternLength) return $"it is longer than {TensorTypeRules.MaxPatternLength} characters";
        foreach (char c in pattern)
        {
            if (c < 0x20 || c > 0x7E) return "only printable ASCII characters may be used";
        }

        // Per open group: whether it (so far) contains a quantifier or an alternation.
        var groups = new Stack<bool>();
        bool lastGroupRepeats = false;
        int unbounded = 0;
        // What the next quantifier would apply to: none (start, '|', '(' or an assertion), an atom, or a group just closed.
        var target = Target.None;
        int i = 0;
        while (i < pattern.Length)
        {
            char c = pattern[i];
            switch (c)
            {
                case '\\':
                    if (i + 1 >= pattern.Length) return "it ends in a lone backslash";
                    char e = pattern[i + 1];
                    if (e is 'b' or 'B') target = Target.None;
                    else if (e is 'd' or 'D' or 'w' or 'W' or 's' or 'S' || Syntax.Contains(e)) target = Target.Atom;
                    else return $"the escape '\\{e}' is not in the subset (use \\d \\w \\s, their negations, \\b, or an escaped punctuation mark)";
                    i += 2;
                    continue;
                case '[':
                    if (Class(pattern, ref i) is { } problem) return problem;
                    target = Target.Atom;
                    continue;
                case '(':
                    if (i + 1 < pattern.Length && pattern[i + 1] == '?')
                    {
                        if (i + 2 < pattern.Length && pattern[i + 2] == ':') i += 3;
                        else return "look-arounds and named groups are not in the subset (only (…) and (?:…))";
                    }
                    else i++;
                    groups.Push(false);
                    target = Target.None;
                    continue;
                case ')':
                    if (groups.Count == 0) return "it has an unmatched ')'";
                    lastGroupRepeats = groups.Pop();
                    if (lastGroupRepeats && groups.Count > 0) Mark(groups);
                    target = Target.Group;
                    i++;
                    continue;
                case '|':
                    if (groups.Count > 0) Mark(groups);
                    target = Target.None;
                    i++;
                    continue;
                case '^' or '$':
                    target = Target.None;
                    i++;
                    continue;
                case '*' or '+' or '?' or '{':
                    if (target == Target.None) return $"'{c}' at {i} repeats nothing";
                    if (target == Target.Group && lastGroupRepeats) return "a group that repeats or alternates is repeated again, which can backtrack without end";
                    bool isUnbounded;
                    if (c == '{')
                    {
                        if (Count(pattern, ref i, out isUnbounded) is { } countProblem) return countProblem;
                    }
                    else
                    {
                        isUnbounded = c != '?';
                        i++;
                    }
                    if (i < pattern.Length && pattern[i] == '?') i++; // lazy
                    if (isUnbounded && ++unbounded > MaxUnbounded) return $"it has more than {MaxUnbounded} unbounded repetitions (*, +, {{n,}}), whose backtracking grows with each";
                    if (groups.Count > 0) Mark(groups);
                    target = Target.None;
                    continue;
                case ']' or '}':
                    return $"it has an unmatched '{c}'";
                default:
                    target = Target.Atom;
                    i++;
                    continue;
            }
        }
        return groups.Count > 0 ? "it has an unclosed '('" : null;
    }

    private enum Target
    {
        None,
        Atom,
        Group,
    }

    private static void Mark(Stack<bool> groups)
    {
        groups.Pop();
        groups.Push(true);
    }

    /// <summary>A bracket class from <paramref name="i"/> (at '['); leaves <paramref name="i"/> after its ']'.</summary>
    private static string? Class(string pattern, ref int i)
    {
        int start = i;
        i++;
        if (i < pattern.Length && pattern[i] == '^') i++;
        if (i < pattern.Length && pattern[i] == ']') return "an empty bracket class, or one starting with ']', is not in the subset (escape it as \\])";
        // Items: a single character (true) or a class escape (false); a range needs single characters on both sides.
        var items = new List<bool>();
        bool rangePending = false;
        while (i < pattern.Length && pattern[i] != ']')
        {
            char c = pattern[i];
            if (c == '[') return "a '[' inside a bracket class (POSIX classes and nesting) is not in the subset";
            bool single = true;
            if (c == '\\')
            {
                if (i + 1 >= pattern.Length) return "it ends in a lone backslash";
                char e = pattern[i + 1];
                if (e is 'd' or 'D' or 'w' or 'W' or 's' or 'S') single = false;
                else if (!Syntax.Contains(e)) return $"the escape '\\{e}' inside a bracket class is not in the subset";
                i += 2;
            }
            else if (c == '-' && items.Count > 0 && !rangePending && i + 1 < pattern.Length && pattern[i + 1] != ']')
            {
                if (!items[^1]) return "a range inside a bracket class must run between two single characters";
                rangePending = true;
                i++;
                continue;
            }
            else i++;
            if (rangePending && !single) return "a range inside a bracket class must run between two single characters";
            rangePending = false;
            items.Add(single);
        }
        if (i >= pattern.Length) return $"the bracket class at {start} is not closed";
        i++;
        return null;
    }

    /// <summary>A counted repetition from <paramref name="i"/> (at '{'); leaves <paramref name="i"/> after its '}'.</summary>
    private static string? Count(string pattern, ref int i, out bool isUnbounded)
    {
        isUnbounded = false;
        int close = pattern.IndexOf('}', i);
        if (close < 0) return "a '{' is not closed (write \\{ for a literal brace)";
        string body = pattern[(i + 1)..close];
        string[] parts = body.Split(',');
        if (parts.Length > 2 || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int min))
            return $"'{{{body}}}' is not a repetition count";
        int max = min;
        if (parts.Length == 2)
        {
            if (parts[1].Length == 0) isUnbounded = true;
            else if (!int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out max) || max < min)
                return $"'{{{body}}}' is not a repetition count";
        }
        if (min > MaxCount || max > MaxCount) return $"repetition counts above {MaxCount} are not in the subset";
        i = close + 1;
        return null;
    }
}
