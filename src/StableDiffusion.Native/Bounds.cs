using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;

namespace StableDiffusion.Native;

/// <summary>
/// The accepted range of a numeric setting, declared on the setting itself so that the one check
/// (<see cref="Guard.Bounds{T}"/>), the CLI's help and docs/parameters.md all read the same numbers. A null value is
/// always accepted (it keeps upstream's default); a float must also be finite.
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false, Inherited = false)]
internal sealed class BoundsAttribute(double min, double max) : Attribute
{
    public double Min { get; } = min;

    public double Max { get; } = max;

    /// <summary>The range as people write it ("0 to 1").</summary>
    public override string ToString() => Format(Min) + " to " + Format(Max);

    internal static string Format(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}

/// <summary>The one helper that turns a record's declared bounds into <see cref="ArgumentOutOfRangeException"/>s.</summary>
internal static class Guard
{
    private static readonly ConcurrentDictionary<Type, (PropertyInfo Property, BoundsAttribute Bounds)[]> s_bounded = new();

    /// <summary>Checks every <see cref="BoundsAttribute"/> property of <paramref name="record"/>; <paramref name="path"/> prefixes the names in errors.</summary>
    public static void Bounds<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] T>(T? record, string path) where T : class
    {
        if (record is null) return;
        foreach (var (property, bounds) in s_bounded.GetOrAdd(typeof(T), static (_) => BoundedProperties<T>()))
        {
            object? value = property.GetValue(record);
            if (value is null) continue;
            double number = Convert.ToDouble(value, CultureInfo.InvariantCulture);
            if (!double.IsFinite(number) || number < bounds.Min || number > bounds.Max)
            {
                string name = path.Length == 0 ? property.Name : path + "." + property.Name;
                throw new ArgumentOutOfRangeException(name, value, $"{name} must be between {BoundsAttribute.Format(bounds.Min)} and {BoundsAttribute.Format(bounds.Max)}.");
            }
        }
    }

    /// <summary>The declared range of a property, for help texts and documentation; null when it declares none.</summary>
    public static BoundsAttribute? BoundsOf<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] T>(string property)
        => typeof(T).GetProperty(property)?.GetCustomAttribute<BoundsAttribute>();

    private static (PropertyInfo, BoundsAttribute)[] BoundedProperties<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] T>()
        => typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (p, p.GetCustomAttribute<BoundsAttribute>()))
            .Where(x => x.Item2 is not null)
            .Select(x => (x.p, x.Item2!))
            .ToArray();
}

/// <summary>
/// The accepted range of a numeric setting of the option and request records, as the library declares and checks it:
/// front ends (a CLI, a server, an <c>IImageGenerator</c>) read it to refuse a bad value under their own name for it,
/// with the same bounds the library applies.
/// </summary>
/// <param name="Min">The smallest accepted value.</param>
/// <param name="Max">The largest accepted value.</param>
public readonly record struct SettingRange(double Min, double Max)
{
    /// <summary>The declared range of <paramref name="property"/> of <typeparamref name="T"/> (say <c>SettingRange.Of&lt;SamplingOptions&gt;("Steps")</c>).</summary>
    /// <typeparam name="T">An option or request record.</typeparam>
    /// <param name="property">The name of one of its numeric properties.</param>
    /// <returns>The range the library checks.</returns>
    /// <exception cref="ArgumentException">The property does not exist or declares no range.</exception>
    public static SettingRange Of<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] T>(string property)
        => Guard.BoundsOf<T>(property) is { } bounds
            ? new SettingRange(bounds.Min, bounds.Max)
            : throw new ArgumentException($"{typeof(T).Name}.{property} declares no range.", nameof(property));

    /// <summary>Whether <paramref name="value"/> is finite and within the range.</summary>
    /// <param name="value">The value.</param>
    /// <returns>True when the library accepts it.</returns>
    public bool Contains(double value) => double.IsFinite(value) && value >= Min && value <= Max;

    /// <summary>The range as people write it ("1 to 10000").</summary>
    /// <returns>The text.</returns>
    public override string ToString() => BoundsAttribute.Format(Min) + " to " + BoundsAttribute.Format(Max);
}
