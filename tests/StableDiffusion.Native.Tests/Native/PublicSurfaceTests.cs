using System.Reflection;
using System.Runtime.InteropServices;

using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Tests.Native;

/// <summary>
/// The public API never leaks the generated interop layer: no public type lives in the Interop namespace, no
/// public or protected member mentions one of its types, a pointer or a function pointer, and native handles
/// (SafeHandle subclasses) stay internal.
/// </summary>
public sealed class PublicSurfaceTests
{
    private const string InteropNamespace = "StableDiffusion.Native.Interop";
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Assembly Library = typeof(Generator).Assembly;

    private static IEnumerable<Type> PublicTypes() => Library.GetExportedTypes();

    [Fact]
    public void The_library_has_a_public_surface_to_check()
    {
        Assert.Contains(typeof(Generator), PublicTypes());
        Assert.Contains(typeof(NativeRuntime), PublicTypes());
        // And an interop layer that must stay behind it.
        Assert.Contains(Library.GetTypes(), t => t.Namespace == InteropNamespace);
    }

    [Fact]
    public void No_public_type_is_in_the_interop_namespace()
    {
        var leaked = PublicTypes().Where(t => t.Namespace is { } ns && (ns == InteropNamespace || ns.StartsWith(InteropNamespace + ".", StringComparison.Ordinal)));
        Assert.Empty(leaked.Select(t => t.FullName));
    }

    [Fact]
    public void No_public_type_derives_from_SafeHandle()
    {
        Assert.Empty(PublicTypes().Where(t => typeof(SafeHandle).IsAssignableFrom(t)).Select(t => t.FullName));
        // The handles exist, and are internal.
        var handles = Library.GetTypes().Where(t => typeof(SafeHandle).IsAssignableFrom(t)).ToList();
        Assert.NotEmpty(handles);
        Assert.All(handles, h => Assert.False(h.IsVisible, h.FullName));
    }

    [Fact]
    public void No_public_or_protected_member_exposes_an_interop_type_or_a_pointer()
    {
        var problems = new List<string>();
        foreach (var type in PublicTypes())
        {
            void Check(Type? t, string where)
            {
                if (t is not null && Offending(t) is { } why) problems.Add($"{type.FullName}: {where} ({why})");
            }

            if (type.BaseType is { } baseType) Check(baseType, "base type");
            foreach (var i in type.GetInterfaces()) Check(i, "interface " + i.Name);
            if (type.IsGenericTypeDefinition)
                foreach (var g in type.GetGenericArguments())
                    foreach (var c in g.GetGenericParameterConstraints()) Check(c, $"constraint on {g.Name}");
            if (type.IsEnum) Check(Enum.GetUnderlyingType(type), "underlying type");

            foreach (var member in type.GetMembers(Declared))
            {
                switch (member)
                {
                    case ConstructorInfo c when Visible(c):
                        foreach (var p in c.GetParameters()) Check(p.ParameterType, $"constructor parameter {p.Name}");
                        break;
                    case MethodInfo m when Visible(m):
                        Check(m.ReturnType, $"{m.Name} return");
                        foreach (var p in m.GetParameters()) Check(p.ParameterType, $"{m.Name} parameter {p.Name}");
                        if (m.IsGenericMethodDefinition)
                            foreach (var g in m.GetGenericArguments())
                                foreach (var c in g.GetGenericParameterConstraints()) Check(c, $"{m.Name} constraint on {g.Name}");
                        break;
                    case PropertyInfo p when (p.GetMethod is { } get && Visible(get)) || (p.SetMethod is { } set && Visible(set)):
                        Check(p.PropertyType, $"property {p.Name}");
                        foreach (var i in p.GetIndexParameters()) Check(i.ParameterType, $"indexer {p.Name} parameter {i.Name}");
                        break;
                    case FieldInfo f when f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly:
                        Check(f.FieldType, $"field {f.Name}");
                        break;
                    case EventInfo e when e.AddMethod is { } add && Visible(add):
                        Check(e.EventHandlerType, $"event {e.Name}");
                        break;
                    case Type nested when nested.IsNestedPublic || nested.IsNestedFamily || nested.IsNestedFamORAssem:
                        // Public nested types are in GetExportedTypes and checked on their own; protected ones are checked here.
                        if (!nested.IsNestedPublic) Check(nested, "nested type");
                        break;
                }
            }
        }
        Assert.True(problems.Count == 0, "The public surface exposes interop details:\n" + string.Join("\n", problems));
    }

    [Fact]
    public unsafe void The_checker_itself_flags_pointers_function_pointers_and_interop_types()
    {
        Assert.NotNull(Offending(typeof(int*)));
        Assert.NotNull(Offending(typeof(byte**).MakeArrayType()));
        Assert.NotNull(Offending(typeof(int*).MakeByRefType()));
        Assert.NotNull(Offending(typeof(delegate* unmanaged[Cdecl]<int, void>)));
        Assert.NotNull(Offending(typeof(List<>).MakeGenericType(typeof(StableDiffusion.Native.Interop.sdnet_abi_fact_t))));
        Assert.NotNull(Offending(typeof(StableDiffusion.Native.Interop.Sd)));
        Assert.Null(Offending(typeof(nint)));
        Assert.Null(Offending(typeof(IReadOnlyList<NativeProbe>)));
        Assert.Null(Offending(typeof(Task<IReadOnlyList<GeneratedImage>>)));
    }

    private static bool Visible(MethodBase m) => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly;

    /// <summary>Why <paramref name="t"/> must not appear in the public API, or null when it may.</summary>
    private static string? Offending(Type t)
    {
        if (t.IsFunctionPointer || t.IsUnmanagedFunctionPointer) return "function pointer";
        if (t.IsPointer) return "pointer";
        if (t.HasElementType) return Offending(t.GetElementType()!);
        if (t.IsGenericParameter) return null;
        if (t.Namespace is { } ns && (ns == InteropNamespace || ns.StartsWith(InteropNamespace + ".", StringComparison.Ordinal))) return "interop type " + t.Name;
        if (typeof(SafeHandle).IsAssignableFrom(t) && t.Assembly == Library) return "native handle " + t.Name;
        if (t.IsGenericType)
            foreach (var a in t.GetGenericArguments())
                if (Offending(a) is { } why) return why;
        return null;
    }
}
