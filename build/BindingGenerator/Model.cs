// Language-neutral description of a C header: what HeaderParser extracts from libclang and the emitters consume.
// Types are already resolved to their C# spelling building blocks so the emitters never see libclang.
namespace StableDiffusion.Native.BindingGenerator;

public abstract record TypeRef;

/// <summary>A C# built-in or remapped type (int, byte, nuint, ...); "void" only appears as return or pointee.</summary>
public sealed record PrimitiveType(string CSharpName) : TypeRef;

/// <summary>A struct, union or enum declared in the header, by its C name.</summary>
public sealed record NamedType(string Name) : TypeRef;

public sealed record PointerType(TypeRef Pointee) : TypeRef;

/// <summary>A C function pointer, always emitted inline as delegate* unmanaged[Cdecl].</summary>
public sealed record FunctionPointerType(TypeRef Return, IReadOnlyList<TypeRef> Parameters) : TypeRef;

/// <summary>A fixed-size array (Length &gt;= 0) or an array of unknown bound (Length == -1, extern variables only).</summary>
public sealed record ArrayType(TypeRef Element, long Length) : TypeRef;

public abstract record Declaration(string Name);

public sealed record EnumConstant(string Name, long Value);

public sealed record EnumDeclaration(string Name, string CSharpUnderlying, IReadOnlyList<EnumConstant> Constants) : Declaration(Name);

public sealed record FieldDeclaration(string Name, TypeRef Type, long Offset);

/// <summary>A struct or union; Fields is empty and Opaque set for types only ever forward-declared.</summary>
public sealed record RecordDeclaration(string Name, bool IsUnion, bool Opaque, long Size, IReadOnlyList<FieldDeclaration> Fields)
    : Declaration(Name);

public sealed record Parameter(string Name, TypeRef Type);

public sealed record FunctionDeclaration(string Name, TypeRef Return, IReadOnlyList<Parameter> Parameters) : Declaration(Name);

/// <summary>An exported variable such as <c>extern SD_API const char* sample_method_to_str[];</c>.</summary>
public sealed record VariableDeclaration(string Name, TypeRef Type) : Declaration(Name);

/// <summary>An object-like #define whose body is one integer literal, e.g. <c>#define SDNET_SHIM_API_VERSION 1</c>.</summary>
public sealed record ConstantDeclaration(string Name, string CSharpType, string Value) : Declaration(Name);

/// <summary>Everything the header declares, in header order.</summary>
public sealed class HeaderModel
{
    public required string HeaderFileName { get; init; }
    public List<Declaration> Declarations { get; } = [];

    public IEnumerable<EnumDeclaration> Enums => Declarations.OfType<EnumDeclaration>();
    public IEnumerable<RecordDeclaration> Records => Declarations.OfType<RecordDeclaration>();
    public IEnumerable<RecordDeclaration> DefinedRecords => Records.Where(r => !r.Opaque);
    public IEnumerable<FunctionDeclaration> Functions => Declarations.OfType<FunctionDeclaration>();
    public IEnumerable<ConstantDeclaration> Constants => Declarations.OfType<ConstantDeclaration>();
    public IEnumerable<VariableDeclaration> Variables => Declarations.OfType<VariableDeclaration>();
}

/// <summary>Something in the header the generator cannot express faithfully; generation stops rather than guess.</summary>
public sealed class GeneratorException(string message) : Exception(message);
