// Hand-written interop to the subset of libclang's stable C API (clang-c/Index.h) the generator uses.
// All signatures are blittable, so the assembly runs with DisableRuntimeMarshalling and no stubs are needed.
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

[assembly: DisableRuntimeMarshalling]

namespace StableDiffusion.Native.BindingGenerator;

[StructLayout(LayoutKind.Sequential)]
public unsafe struct CXString
{
    public void* Data;
    public uint PrivateFlags;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct CXCursor
{
    public CXCursorKind Kind;
    public int XData;
    public void* Data0, Data1, Data2;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct CXType
{
    public CXTypeKind Kind;
    public void* Data0, Data1;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct CXSourceLocation
{
    public void* Ptr0, Ptr1;
    public uint IntData;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct CXSourceRange
{
    public void* Ptr0, Ptr1;
    public uint BeginIntData, EndIntData;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct CXToken
{
    public uint Int0, Int1, Int2, Int3;
    public void* PtrData;
}

// Only the values the generator inspects; numbering is fixed by libclang's ABI.
public enum CXCursorKind
{
    StructDecl = 2,
    UnionDecl = 3,
    EnumDecl = 5,
    FieldDecl = 6,
    EnumConstantDecl = 7,
    FunctionDecl = 8,
    VarDecl = 9,
    ParmDecl = 10,
    TypedefDecl = 20,
    TranslationUnit = 350,
    MacroDefinition = 501,
    VisibilityAttr = 417,
    DllExport = 418,
    DllImport = 419,
}

public enum CXTypeKind
{
    Invalid = 0,
    Unexposed = 1,
    Void = 2,
    Bool = 3,
    Char_U = 4,
    UChar = 5,
    Char16 = 6,
    Char32 = 7,
    UShort = 8,
    UInt = 9,
    ULong = 10,
    ULongLong = 11,
    UInt128 = 12,
    Char_S = 13,
    SChar = 14,
    WChar = 15,
    Short = 16,
    Int = 17,
    Long = 18,
    LongLong = 19,
    Int128 = 20,
    Float = 21,
    Double = 22,
    LongDouble = 23,
    Pointer = 101,
    Record = 105,
    Enum = 106,
    Typedef = 107,
    FunctionNoProto = 110,
    FunctionProto = 111,
    ConstantArray = 112,
    IncompleteArray = 114,
    Elaborated = 119,
    Attributed = 163,
}

public enum CXDiagnosticSeverity
{
    Ignored = 0,
    Note = 1,
    Warning = 2,
    Error = 3,
    Fatal = 4,
}

internal static unsafe partial class Libclang
{
    private const string Lib = "libclang";

    // CXTranslationUnit_SkipFunctionBodies: a header's inline bodies never affect the bindings.
    public const uint SkipFunctionBodies = 0x40;

    // CXTranslationUnit_DetailedPreprocessingRecord: exposes #define cursors (integer macros become constants).
    public const uint DetailedPreprocessingRecord = 0x01;

    public const int ChildVisitBreak = 0, ChildVisitContinue = 1;

    [LibraryImport(Lib)] public static partial nint clang_createIndex(int excludeDeclarationsFromPch, int displayDiagnostics);
    [LibraryImport(Lib)] public static partial void clang_disposeIndex(nint index);
    [LibraryImport(Lib)]
    public static partial int clang_parseTranslationUnit2(nint index, sbyte* sourceFilename, sbyte** commandLineArgs, int numCommandLineArgs,
        void* unsavedFiles, uint numUnsavedFiles, uint options, nint* outTu);
    [LibraryImport(Lib)] public static partial void clang_disposeTranslationUnit(nint tu);

    [LibraryImport(Lib)] public static partial uint clang_getNumDiagnostics(nint tu);
    [LibraryImport(Lib)] public static partial nint clang_getDiagnostic(nint tu, uint index);
    [LibraryImport(Lib)] public static partial CXDiagnosticSeverity clang_getDiagnosticSeverity(nint diagnostic);
    [LibraryImport(Lib)] public static partial CXString clang_formatDiagnostic(nint diagnostic, uint options);
    [LibraryImport(Lib)] public static partial uint clang_defaultDiagnosticDisplayOptions();
    [LibraryImport(Lib)] public static partial void clang_disposeDiagnostic(nint diagnostic);

    [LibraryImport(Lib)] public static partial sbyte* clang_getCString(CXString str);
    [LibraryImport(Lib)] public static partial void clang_disposeString(CXString str);

    [LibraryImport(Lib)] public static partial CXCursor clang_getTranslationUnitCursor(nint tu);
    [LibraryImport(Lib)]
    public static partial uint clang_visitChildren(CXCursor parent, delegate* unmanaged<CXCursor, CXCursor, nint, int> visitor, nint clientData);
    [LibraryImport(Lib)] public static partial CXString clang_getCursorSpelling(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXString clang_getCursorUSR(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXString clang_getCursorKindSpelling(CXCursorKind kind);
    [LibraryImport(Lib)] public static partial CXType clang_getCursorType(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXType clang_getCursorResultType(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXCursor clang_getCursorDefinition(CXCursor cursor);
    [LibraryImport(Lib)] public static partial uint clang_isCursorDefinition(CXCursor cursor);
    [LibraryImport(Lib)] public static partial uint clang_Cursor_isNull(CXCursor cursor);
    [LibraryImport(Lib)] public static partial uint clang_Cursor_isAnonymous(CXCursor cursor);
    [LibraryImport(Lib)] public static partial uint clang_Cursor_isBitField(CXCursor cursor);
    [LibraryImport(Lib)] public static partial int clang_Cursor_getStorageClass(CXCursor cursor);
    [LibraryImport(Lib)] public static partial int clang_Cursor_getNumArguments(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXCursor clang_Cursor_getArgument(CXCursor cursor, uint index);
    [LibraryImport(Lib)] public static partial long clang_Cursor_getOffsetOfField(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXType clang_getTypedefDeclUnderlyingType(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXType clang_getEnumDeclIntegerType(CXCursor cursor);
    [LibraryImport(Lib)] public static partial long clang_getEnumConstantDeclValue(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXSourceLocation clang_getCursorLocation(CXCursor cursor);
    [LibraryImport(Lib)] public static partial int clang_Location_isFromMainFile(CXSourceLocation location);
    [LibraryImport(Lib)] public static partial CXSourceRange clang_getCursorExtent(CXCursor cursor);
    [LibraryImport(Lib)] public static partial uint clang_Cursor_isMacroFunctionLike(CXCursor cursor);
    [LibraryImport(Lib)] public static partial void clang_tokenize(nint tu, CXSourceRange range, CXToken** tokens, uint* numTokens);
    [LibraryImport(Lib)] public static partial CXString clang_getTokenSpelling(nint tu, CXToken token);
    [LibraryImport(Lib)] public static partial void clang_disposeTokens(nint tu, CXToken* tokens, uint numTokens);

    [LibraryImport(Lib)] public static partial CXString clang_getTypeSpelling(CXType type);
    [LibraryImport(Lib)] public static partial CXString clang_getTypedefName(CXType type);
    [LibraryImport(Lib)] public static partial CXType clang_getCanonicalType(CXType type);
    [LibraryImport(Lib)] public static partial CXType clang_getPointeeType(CXType type);
    [LibraryImport(Lib)] public static partial CXType clang_getResultType(CXType type);
    [LibraryImport(Lib)] public static partial int clang_getNumArgTypes(CXType type);
    [LibraryImport(Lib)] public static partial CXType clang_getArgType(CXType type, uint index);
    [LibraryImport(Lib)] public static partial uint clang_isFunctionTypeVariadic(CXType type);
    [LibraryImport(Lib)] public static partial CXType clang_getArrayElementType(CXType type);
    [LibraryImport(Lib)] public static partial long clang_getArraySize(CXType type);
    [LibraryImport(Lib)] public static partial CXType clang_Type_getNamedType(CXType type);
    [LibraryImport(Lib)] public static partial CXType clang_Type_getModifiedType(CXType type);
    [LibraryImport(Lib)] public static partial CXCursor clang_getTypeDeclaration(CXType type);
    [LibraryImport(Lib)] public static partial long clang_Type_getSizeOf(CXType type);
    [LibraryImport(Lib)] public static partial long clang_Type_getAlignOf(CXType type);

    // ---- managed conveniences ----

    public static string ToManaged(CXString s)
    {
        try
        {
            sbyte* p = clang_getCString(s);
            return p == null ? "" : new string(p, 0, strlen(p), System.Text.Encoding.UTF8);
        }
        finally
        {
            clang_disposeString(s);
        }

        static int strlen(sbyte* p)
        {
            int n = 0;
            while (p[n] != 0) n++;
            return n;
        }
    }

    public static string Spelling(this CXCursor c) => ToManaged(clang_getCursorSpelling(c));
    public static string Usr(this CXCursor c) => ToManaged(clang_getCursorUSR(c));
    public static string Spelling(this CXType t) => ToManaged(clang_getTypeSpelling(t));
    public static bool IsNull(this CXCursor c) => clang_Cursor_isNull(c) != 0;

    /// <summary>Direct children of a cursor, collected eagerly so callers can use plain loops instead of callbacks.</summary>
    public static List<CXCursor> Children(this CXCursor parent)
    {
        var list = new List<CXCursor>();
        var handle = GCHandle.Alloc(list);
        try
        {
            // Non-zero only when the visitor asked to break, which Visit never does.
            _ = clang_visitChildren(parent, &Visit, GCHandle.ToIntPtr(handle));
        }
        finally
        {
            handle.Free();
        }
        return list;
    }

    [UnmanagedCallersOnly]
    private static int Visit(CXCursor cursor, CXCursor parent, nint clientData)
    {
        ((List<CXCursor>)GCHandle.FromIntPtr(clientData).Target!).Add(cursor);
        return ChildVisitContinue;
    }
}

/// <summary>
/// Finds libclang.so from the libclang.runtime.linux-x64 package when the host's probing did not (e.g. when the
/// generator's code runs inside another app whose deps.json lacks the runtime asset), or from LIBCLANG_PATH.
/// </summary>
internal static class LibclangResolver
{
    [ModuleInitializer]
    internal static void Register() => NativeLibrary.SetDllImportResolver(typeof(LibclangResolver).Assembly, Resolve);

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != "libclang") return 0;
        if (NativeLibrary.TryLoad(name, assembly, searchPath, out var handle)) return handle;
        foreach (var candidate in Candidates())
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out handle)) return handle;
        return 0;
    }

    private static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable("LIBCLANG_PATH") is { Length: > 0 } env) yield return env;
        yield return Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libclang.so");
        yield return Path.Combine(AppContext.BaseDirectory, "libclang.so");
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        yield return Path.Combine(packages, "libclang.runtime.linux-x64", Program.LibclangVersion, "runtimes", "linux-x64", "native", "libclang.so");
    }
}
