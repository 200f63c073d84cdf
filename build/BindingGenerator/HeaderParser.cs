// Walks libclang's AST of one header and builds a HeaderModel. Only declarations spelled in the header itself
// (the main file) are bound; system headers only contribute types such as int64_t.
using System.Runtime.InteropServices;
using static StableDiffusion.Native.BindingGenerator.Libclang;

namespace StableDiffusion.Native.BindingGenerator;

public sealed unsafe class HeaderParser
{
    // Fixed-width typedefs map by name, before clang desugars them to target-dependent builtins
    // (int64_t is `long` on LP64 but `long long` on LLP64; the C# type must not depend on that).
    private static readonly Dictionary<string, string> KnownTypedefs = new(StringComparer.Ordinal)
    {
        ["int8_t"] = "sbyte", ["uint8_t"] = "byte",
        ["int16_t"] = "short", ["uint16_t"] = "ushort",
        ["int32_t"] = "int", ["uint32_t"] = "uint",
        ["int64_t"] = "long", ["uint64_t"] = "ulong",
        ["intptr_t"] = "nint", ["uintptr_t"] = "nuint",
        ["size_t"] = "nuint", ["ssize_t"] = "nint", ["ptrdiff_t"] = "nint",
    };

    private readonly Settings _settings;
    private readonly Dictionary<string, string> _anonymousNames = new(StringComparer.Ordinal); // record/enum USR -> typedef name
    private readonly HashSet<string> _emitted = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CXCursor> _referencedRecords = new(StringComparer.Ordinal);
    private HeaderModel _model = null!;
    private nint _tu;

    public List<string> Warnings { get; } = [];

    public HeaderParser(Settings settings) => _settings = settings;

    public IReadOnlyList<string> ClangArguments(IEnumerable<string> includeDirs)
    {
        var args = new List<string> { "-x", "c", $"-std={_settings.Standard}", $"--target={_settings.Target}" };
        foreach (string dir in includeDirs) args.AddRange(["-isystem", dir]);
        foreach (string define in _settings.Defines) args.Add($"-D{define}");
        return args;
    }

    public HeaderModel Parse(string headerPath)
    {
        if (!File.Exists(headerPath)) throw new GeneratorException($"header not found: {headerPath}");
        var includeDirs = _settings.IncludeDirs.Select(_settings.InRepo).ToList();
        if (!includeDirs.Any(d => File.Exists(Path.Combine(d, "stddef.h"))))
        {
            // The libclang NuGet package ships no resource dir, so clang's own stddef.h/stdbool.h are missing.
            includeDirs.Add(DetectBuiltinIncludeDir()
                ?? throw new GeneratorException("no compiler builtin headers (stddef.h) found; pass --include-dir, e.g. /usr/lib/gcc/x86_64-linux-gnu/12/include"));
        }

        var args = ClangArguments(includeDirs);
        nint index = clang_createIndex(0, 0);
        var native = args.Select(a => Marshal.StringToCoTaskMemUTF8(a)).ToArray();
        nint file = Marshal.StringToCoTaskMemUTF8(headerPath);
        nint tu = 0;
        try
        {
            fixed (nint* argv = native)
            {
                int rc = clang_parseTranslationUnit2(index, (sbyte*)file, (sbyte**)argv, argv is null ? 0 : native.Length, null, 0, SkipFunctionBodies | DetailedPreprocessingRecord, &tu);
                if (rc != 0 || tu == 0) throw new GeneratorException($"libclang could not parse {headerPath} (CXErrorCode {rc})");
            }
            CheckDiagnostics(tu);
            _model = new HeaderModel { HeaderFileName = Path.GetFileName(headerPath) };
            _tu = tu;
            Walk(clang_getTranslationUnitCursor(tu));
            return _model;
        }
        finally
        {
            if (tu != 0) clang_disposeTranslationUnit(tu);
            clang_disposeIndex(index);
            Marshal.FreeCoTaskMem(file);
            foreach (nint p in native) Marshal.FreeCoTaskMem(p);
        }
    }

    public static string? DetectBuiltinIncludeDir()
    {
        // Prefer a clang resource dir (its headers match clang's expectations); gcc's work for the C subset we parse.
        string[][] patterns =
        [
            ["/usr/lib/clang", "/usr/local/lib/clang"],
            Directory.Exists("/usr/lib") ? Directory.GetDirectories("/usr/lib", "llvm-*").Select(d => Path.Combine(d, "lib", "clang")).ToArray() : [],
            ["/usr/lib/gcc/x86_64-linux-gnu", "/usr/lib/gcc/x86_64-pc-linux-gnu", "/usr/lib/gcc/x86_64-redhat-linux"],
        ];
        foreach (string[] roots in patterns)
        {
            var found = roots.Where(Directory.Exists)
                .SelectMany(Directory.GetDirectories)
                .Select(d => Path.Combine(d, "include"))
                .Where(d => File.Exists(Path.Combine(d, "stddef.h")))
                .OrderByDescending(d => VersionKey(Path.GetFileName(Path.GetDirectoryName(d))!))
                .ThenByDescending(d => d, StringComparer.Ordinal)
                .FirstOrDefault();
            if (found is not null) return found;
        }
        return null;

        static long VersionKey(string name) => long.TryParse(name.Split('.')[0], out long major) ? major : -1;
    }

    private void CheckDiagnostics(nint tu)
    {
        var errors = new List<string>();
        uint count = clang_getNumDiagnostics(tu);
        for (uint i = 0; i < count; i++)
        {
            nint diag = clang_getDiagnostic(tu, i);
            try
            {
                var severity = clang_getDiagnosticSeverity(diag);
                string text = ToManaged(clang_formatDiagnostic(diag, clang_defaultDiagnosticDisplayOptions()));
                if (severity >= CXDiagnosticSeverity.Error) errors.Add(text);
                else if (severity == CXDiagnosticSeverity.Warning) Warnings.Add(text);
            }
            finally
            {
                clang_disposeDiagnostic(diag);
            }
        }
        if (errors.Count > 0) throw new GeneratorException("clang reported errors:\n" + string.Join("\n", errors));
    }

    private static bool InMainFile(CXCursor c) => clang_Location_isFromMainFile(clang_getCursorLocation(c)) != 0;

    private void Walk(CXCursor tuCursor)
    {
        var top = tuCursor.Children().Where(InMainFile).ToList();

        // Pass 1: `typedef struct { ... } name;` gives the anonymous record the typedef's name (ClangSharp does the same).
        foreach (var c in top.Where(c => c.Kind == CXCursorKind.TypedefDecl))
        {
            var decl = clang_getTypeDeclaration(Desugar(clang_getTypedefDeclUnderlyingType(c)));
            if (decl.Kind is CXCursorKind.StructDecl or CXCursorKind.UnionDecl or CXCursorKind.EnumDecl && clang_Cursor_isAnonymous(decl) != 0)
                _anonymousNames.TryAdd(decl.Usr(), c.Spelling());
        }

        // Pass 2: declarations in header order.
        foreach (var c in top)
        {
            switch (c.Kind)
            {
                case CXCursorKind.EnumDecl when clang_isCursorDefinition(c) != 0:
                    AddEnum(c);
                    break;
                case CXCursorKind.StructDecl or CXCursorKind.UnionDecl:
                    if (clang_isCursorDefinition(c) != 0) AddRecord(c);
                    else if (clang_getCursorDefinition(c).IsNull()) AddOpaque(RecordName(c));
                    break;
                case CXCursorKind.TypedefDecl:
                    {
                        // `typedef struct sd_ctx_t sd_ctx_t;` with no definition anywhere: an opaque handle type.
                        var decl = clang_getTypeDeclaration(Desugar(clang_getTypedefDeclUnderlyingType(c)));
                        if (decl.Kind is CXCursorKind.StructDecl or CXCursorKind.UnionDecl && clang_getCursorDefinition(decl).IsNull())
                            AddOpaque(RecordName(decl));
                        break;
                    }
                case CXCursorKind.FunctionDecl when IsExported(c):
                    AddFunction(c);
                    break;
                case CXCursorKind.MacroDefinition:
                    AddMacro(c);
                    break;
                case CXCursorKind.VarDecl when IsExported(c):
                    if (_emitted.Add("var:" + c.Spelling()))
                        _model.Declarations.Add(new VariableDeclaration(c.Spelling(), Map(clang_getCursorType(c))));
                    break;
            }
        }

        // Records only named inside prototypes (e.g. `struct ggml_tensor*` in a callback) still need a C# type.
        foreach (var (name, decl) in _referencedRecords)
        {
            if (_emitted.Contains(name)) continue;
            if (!clang_getCursorDefinition(decl).IsNull())
                throw new GeneratorException($"'{name}' is defined outside {_model.HeaderFileName}; remap it with --remap {name}=<C# type>");
            AddOpaque(name);
        }
    }

    /// <summary>SD_API and similar macros expand to a visibility or dllexport attribute; unmarked declarations are internal.</summary>
    private static bool IsExported(CXCursor c) =>
        c.Children().Any(a => a.Kind is CXCursorKind.DllExport or CXCursorKind.DllImport
            || (a.Kind == CXCursorKind.VisibilityAttr && a.Spelling() is not ("hidden" or "internal")));

    /// <summary>
    /// Binds `#define NAME 123` (decimal or hex, optional sign, parentheses and integer suffix) as a C# constant, the way
    /// ClangSharp's macro bindings do; include guards, export macros and anything with an expression are skipped.
    /// </summary>
    private void AddMacro(CXCursor c)
    {
        if (clang_Cursor_isMacroFunctionLike(c) != 0) return;
        var tokens = new List<string>();
        CXToken* list = null;
        uint count = 0;
        clang_tokenize(_tu, clang_getCursorExtent(c), &list, &count);
        try
        {
            for (uint i = 0; i < count; i++) tokens.Add(ToManaged(clang_getTokenSpelling(_tu, list[i])));
        }
        finally
        {
            if (list != null) clang_disposeTokens(_tu, list, count);
        }
        if (tokens.Count < 2) return;
        string name = tokens[0];
        var body = tokens.Skip(1).ToList();
        while (body.Count >= 3 && body[0] == "(" && body[^1] == ")") body = body.GetRange(1, body.Count - 2);
        bool negative = body.Count == 2 && body[0] == "-";
        if (negative) body.RemoveAt(0);
        if (body.Count != 1 || !TryParseInteger(body[0], out ulong value, out bool unsigned, out bool wide)) return;
        if (!_emitted.Add("macro:" + name)) return;

        // C's rules in miniature: the smallest of int/uint/long/ulong that holds the value and honours the suffix.
        ulong intLimit = negative ? 1UL << 31 : int.MaxValue, longLimit = negative ? 1UL << 63 : long.MaxValue;
        string type =
            !unsigned && !wide && value <= intLimit ? "int"
            : unsigned && !wide && !negative && value <= uint.MaxValue ? "uint"
            : !unsigned && value <= longLimit ? "long"
            : !negative ? "ulong"
            : throw new GeneratorException($"#define {name}: value does not fit a C# integer");
        string literal = !negative ? value.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : value == 1UL << 31 && type == "int" ? "int.MinValue"
            : value == 1UL << 63 ? "long.MinValue"
            : "-" + value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _model.Declarations.Add(new ConstantDeclaration(name, type, literal));
    }

    private static bool TryParseInteger(string token, out ulong value, out bool unsigned, out bool wide)
    {
        string digits = token.TrimEnd('u', 'U', 'l', 'L');
        string suffix = token[digits.Length..].ToUpperInvariant();
        unsigned = suffix.Contains('U');
        wide = suffix.Contains('L');
        value = 0;
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return ulong.TryParse(digits[2..], System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out value);
        if (digits.Length > 1 && digits[0] == '0') return false; // octal: not worth the ambiguity
        return digits.Length > 0 && digits.All(char.IsAsciiDigit) && ulong.TryParse(digits, System.Globalization.CultureInfo.InvariantCulture, out value);
    }

    private void AddEnum(CXCursor c)
    {
        string name = clang_Cursor_isAnonymous(c) != 0 ? _anonymousNames.GetValueOrDefault(c.Usr(), "") : c.Spelling();
        if (name.Length > 0 && !_emitted.Add(name)) return;
        var constants = c.Children().Where(k => k.Kind == CXCursorKind.EnumConstantDecl)
            .Select(k => new EnumConstant(k.Spelling(), clang_getEnumConstantDeclValue(k))).ToList();
        // C enumerators are ints; clang may pick `unsigned int` as the compatible type when no value is negative,
        // which has the same size, so int keeps negative members and casts simple unless a value needs more.
        string underlying = constants.All(k => k.Value is >= int.MinValue and <= int.MaxValue)
            ? "int"
            : Primitive(clang_getEnumDeclIntegerType(c), name);
        _model.Declarations.Add(new EnumDeclaration(name, underlying, constants));
    }

    private void AddRecord(CXCursor c)
    {
        string name = RecordName(c);
        if (!_emitted.Add(name)) return;
        var type = clang_getCursorType(c);
        var fields = new List<FieldDeclaration>();
        foreach (var f in c.Children().Where(k => k.Kind == CXCursorKind.FieldDecl))
        {
            string fieldName = f.Spelling();
            if (clang_Cursor_isBitField(f) != 0) throw new GeneratorException($"{name}.{fieldName}: bit-fields are not supported");
            if (fieldName.Length == 0) throw new GeneratorException($"{name}: anonymous members are not supported");
            long offsetBits = clang_Cursor_getOffsetOfField(f);
            if (offsetBits < 0 || offsetBits % 8 != 0) throw new GeneratorException($"{name}.{fieldName}: libclang gave no byte offset ({offsetBits})");
            fields.Add(new FieldDeclaration(fieldName, Map(clang_getCursorType(f)), offsetBits / 8));
        }
        long size = clang_Type_getSizeOf(type);
        if (size < 0) throw new GeneratorException($"{name}: libclang gave no size ({size})");
        _model.Declarations.Add(new RecordDeclaration(name, c.Kind == CXCursorKind.UnionDecl, Opaque: false, size, fields));
    }

    private void AddOpaque(string name)
    {
        if (name.Length == 0 || !_emitted.Add(name)) return;
        _model.Declarations.Add(new RecordDeclaration(name, IsUnion: false, Opaque: true, Size: -1, []));
    }

    private void AddFunction(CXCursor c)
    {
        string name = c.Spelling();
        if (!_emitted.Add("fn:" + name)) return;
        // `f()` has no prototype in C11 (clang reports it as variadic); the definitions take no arguments, so bind ().
        var type = clang_getCursorType(c);
        if (type.Kind == CXTypeKind.FunctionProto && clang_isFunctionTypeVariadic(type) != 0) throw new GeneratorException($"{name}: variadic functions are not supported");
        var parameters = new List<Parameter>();
        int count = clang_Cursor_getNumArguments(c);
        for (uint i = 0; i < Math.Max(count, 0); i++)
        {
            var p = clang_Cursor_getArgument(c, i);
            string pName = p.Spelling();
            parameters.Add(new Parameter(pName.Length > 0 ? pName : $"param{i}", Decay(Map(clang_getCursorType(p)))));
        }
        _model.Declarations.Add(new FunctionDeclaration(name, Map(clang_getCursorResultType(c)), parameters));
    }

    private static TypeRef Decay(TypeRef t) => t is ArrayType a ? new PointerType(a.Element) : t;

    /// <summary>Strips elaboration (`enum x`, `struct y`) and attributes, keeping typedef sugar.</summary>
    private static CXType Desugar(CXType t)
    {
        while (true)
        {
            switch (t.Kind)
            {
                case CXTypeKind.Elaborated: t = clang_Type_getNamedType(t); break;
                case CXTypeKind.Attributed: t = clang_Type_getModifiedType(t); break;
                default: return t;
            }
        }
    }

    private static bool IsFunction(CXType t) => clang_getCanonicalType(t).Kind is CXTypeKind.FunctionProto or CXTypeKind.FunctionNoProto;

    private string RecordName(CXCursor decl)
    {
        if (clang_Cursor_isAnonymous(decl) == 0) return decl.Spelling();
        return _anonymousNames.TryGetValue(decl.Usr(), out string? name)
            ? name
            : throw new GeneratorException($"anonymous record without a typedef name ({decl.Usr()}) is not supported");
    }

    private TypeRef Map(CXType t)
    {
        t = Desugar(t);
        switch (t.Kind)
        {
            case CXTypeKind.Typedef:
                {
                    string name = ToManaged(clang_getTypedefName(t));
                    if (_settings.Remaps.TryGetValue(name, out string? remapped)) return new PrimitiveType(remapped);
                    if (KnownTypedefs.TryGetValue(name, out string? known)) return new PrimitiveType(known);
                    return Map(clang_getTypedefDeclUnderlyingType(clang_getTypeDeclaration(t)));
                }
            case CXTypeKind.Pointer:
                {
                    var pointee = clang_getPointeeType(t);
                    return IsFunction(pointee) ? MapFunction(pointee) : new PointerType(Map(pointee));
                }
            case CXTypeKind.Record:
                {
                    var decl = clang_getTypeDeclaration(t);
                    string name = RecordName(decl);
                    if (_settings.Remaps.TryGetValue(name, out string? remapped)) return new PrimitiveType(remapped);
                    _referencedRecords.TryAdd(name, decl);
                    return new NamedType(name);
                }
            case CXTypeKind.Enum:
                {
                    var decl = clang_getTypeDeclaration(t);
                    string name = clang_Cursor_isAnonymous(decl) != 0 ? _anonymousNames.GetValueOrDefault(decl.Usr(), "") : decl.Spelling();
                    if (_settings.Remaps.TryGetValue(name, out string? remapped)) return new PrimitiveType(remapped);
                    return name.Length > 0 ? new NamedType(name) : new PrimitiveType("int");
                }
            case CXTypeKind.ConstantArray:
                return new ArrayType(Map(clang_getArrayElementType(t)), clang_getArraySize(t));
            case CXTypeKind.IncompleteArray:
                return new ArrayType(Map(clang_getArrayElementType(t)), -1);
            case CXTypeKind.FunctionProto or CXTypeKind.FunctionNoProto:
                throw new GeneratorException($"bare function type '{t.Spelling()}' is not supported");
            case CXTypeKind.Unexposed:
                {
                    // Sugar libclang does not expose (e.g. a parenthesised function type): decide by the canonical
                    // type but keep reading through the sugar so typedef names such as int64_t survive.
                    if (IsFunction(t)) return MapFunction(t);
                    var canonical = clang_getCanonicalType(t);
                    if (canonical.Kind == CXTypeKind.Unexposed) throw new GeneratorException($"unsupported type '{t.Spelling()}'");
                    return Map(canonical);
                }
            default:
                return new PrimitiveType(Primitive(t, t.Spelling()));
        }
    }

    private FunctionPointerType MapFunction(CXType fn)
    {
        if (clang_getCanonicalType(fn).Kind == CXTypeKind.FunctionProto && clang_isFunctionTypeVariadic(fn) != 0) throw new GeneratorException($"variadic function pointer '{fn.Spelling()}' is not supported");
        int count = Math.Max(clang_getNumArgTypes(fn), 0);
        var parameters = new List<TypeRef>(count);
        for (uint i = 0; i < count; i++) parameters.Add(Decay(Map(clang_getArgType(fn, i))));
        return new FunctionPointerType(Map(clang_getResultType(fn)), parameters);
    }

    private string Primitive(CXType t, string context)
    {
        string? Remap(params string[] names)
        {
            foreach (string n in names)
                if (_settings.Remaps.TryGetValue(n, out string? r)) return r;
            return null;
        }

        return t.Kind switch
        {
            CXTypeKind.Void => "void",
            // C bool is one byte; C# bool's marshalled size depends on context, byte never does.
            CXTypeKind.Bool => Remap("bool", "_Bool") ?? "byte",
            CXTypeKind.Char_S or CXTypeKind.SChar => Remap("char", "signed char") ?? "sbyte",
            CXTypeKind.Char_U => Remap("char") ?? "byte",
            CXTypeKind.UChar => Remap("unsigned char") ?? "byte",
            CXTypeKind.Short => Remap("short") ?? "short",
            CXTypeKind.UShort => Remap("unsigned short") ?? "ushort",
            CXTypeKind.Int => Remap("int") ?? "int",
            CXTypeKind.UInt => Remap("unsigned int") ?? "uint",
            CXTypeKind.LongLong => Remap("long long") ?? "long",
            CXTypeKind.ULongLong => Remap("unsigned long long") ?? "ulong",
            CXTypeKind.Float => Remap("float") ?? "float",
            CXTypeKind.Double => Remap("double") ?? "double",
            // `long` is 4 bytes on Windows and 8 on LP64: refuse rather than emit a layout that is wrong somewhere.
            CXTypeKind.Long => Remap("long") ?? throw new GeneratorException($"{context}: C 'long' differs between LP64 and LLP64; add --remap long=<type>"),
            CXTypeKind.ULong => Remap("unsigned long") ?? throw new GeneratorException($"{context}: C 'unsigned long' differs between LP64 and LLP64; add --remap \"unsigned long=<type>\""),
            _ => throw new GeneratorException($"{context}: unsupported C type '{t.Spelling()}' ({t.Kind})"),
        };
    }
}
