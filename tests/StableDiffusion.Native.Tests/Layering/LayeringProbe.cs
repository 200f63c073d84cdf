using System.Collections.Concurrent;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace StableDiffusion.Native.Tests.Layering;

/// <summary>One use of a type by another: in code, in a signature, or in a documentation <c>cref</c>.</summary>
internal sealed record TypeUse(string FromType, string FromRoom, string ToType, string ToRoom, string Location, bool InCref);

/// <summary>
/// Binds one project's sources with the compiler (so method bodies and doc comments count, not only signatures) and
/// lists every use of one of its own types by another in a different room (or within the root's declared pseudo-rooms). A room is the first namespace segment
/// under the project's root namespace ("" for the root itself); <paramref name="roomOf"/> may refine it (the core's
/// declared vocabulary).
/// </summary>
internal sealed class LayeringProbe(string project, Func<INamedTypeSymbol, string, string>? roomOf = null)
{
    public string Project { get; } = project;

    public string SourceRoot { get; } = Path.Combine(Checkout(), "src", project);

    public CSharpCompilation? Compilation { get; private set; }

    public IEnumerable<string> SourceFiles()
        => Directory.EnumerateFiles(SourceRoot, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                     && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    /// <summary>Folders directly under the project that hold sources (a room each).</summary>
    public IEnumerable<string> Folders()
        => Directory.GetDirectories(SourceRoot).Select(d => Path.GetFileName(d)!)
            .Where(f => f is not ("bin" or "obj" or "Properties") && Directory.EnumerateFiles(Path.Combine(SourceRoot, f), "*.cs", SearchOption.AllDirectories).Any());

    /// <summary>Every file's namespace against its folder: "File.cs: namespace X, folder says Y" for each mismatch.</summary>
    public IEnumerable<string> NamespaceMismatches()
    {
        foreach (string file in SourceFiles())
        {
            string relative = Path.GetRelativePath(SourceRoot, Path.GetDirectoryName(file)!);
            string expected = relative == "." ? Project : Project + "." + relative.Replace(Path.DirectorySeparatorChar, '.');
            var tree = CSharpSyntaxTree.ParseText(File.ReadAllText(file));
            foreach (var ns in tree.GetRoot().DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>())
            {
                if (ns.Name.ToString() != expected) yield return $"{Path.GetRelativePath(SourceRoot, file)}: namespace {ns.Name}, folder says {expected}";
            }
        }
    }

    /// <summary>Binds the project against <paramref name="references"/> and returns its cross-room uses and the files with unsafe code.</summary>
    public (IReadOnlyList<TypeUse> Uses, IReadOnlyList<string> UnsafeFiles) Analyze(IEnumerable<MetadataReference> references, OutputKind kind = OutputKind.DynamicallyLinkedLibrary)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Preview, DocumentationMode.Parse);
        var trees = SourceFiles().Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, f)).ToList();
        // The SDK's implicit usings (ImplicitUsings=enable), which the build writes into obj/.
        var implicitUsings = CSharpSyntaxTree.ParseText(
            "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; " +
            "global using System.Net.Http; global using System.Threading; global using System.Threading.Tasks;", parse);
        var compilation = CSharpCompilation.Create(Project + ".LayeringProbe", trees.Append(implicitUsings), references,
            new CSharpCompilationOptions(kind, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        Compilation = compilation;
        // Source generators do not run here: CS8795 (LibraryImport bodies) and the generated regex/JSON members are absent.
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && d.Id is not ("CS8795" or "CS0759")).Take(5).ToList();
        Assert.True(errors.Count == 0, $"the probe compilation of {Project} failed: " + string.Join("; ", errors));

        var uses = new ConcurrentBag<TypeUse>();
        var unsafeFiles = new ConcurrentBag<string>();
        Parallel.ForEach(trees, tree =>
        {
            var model = compilation.GetSemanticModel(tree);
            foreach (var node in tree.GetRoot().DescendantNodes(descendIntoTrivia: true))
            {
                if (node is PointerTypeSyntax or FunctionPointerTypeSyntax or UnsafeStatementSyntax || (node is MemberDeclarationSyntax m && m.Modifiers.Any(SyntaxKind.UnsafeKeyword)))
                    unsafeFiles.Add(Path.GetRelativePath(SourceRoot, tree.FilePath));
                bool inCref = node.Ancestors(ascendOutOfTrivia: false).Any(a => a is CrefSyntax);
                if (node is not (SimpleNameSyntax or ObjectCreationExpressionSyntax or ImplicitObjectCreationExpressionSyntax)) continue;
                var enclosing = model.GetEnclosingSymbol(node.SpanStart);
                // A positional record's parameter list has no enclosing member: the record declares it.
                var from = Outermost(enclosing as INamedTypeSymbol ?? enclosing?.ContainingType)
                    ?? (node.Ancestors().OfType<BaseTypeDeclarationSyntax>().FirstOrDefault() is { } declaration ? Outermost(model.GetDeclaredSymbol(declaration)) : null);
                if (from is null) continue;
                var info = model.GetSymbolInfo(node);
                var symbol = info.Symbol ?? info.CandidateSymbols.FirstOrDefault() ?? model.GetTypeInfo(node).Type;
                var to = symbol switch
                {
                    INamedTypeSymbol t => Outermost(t),
                    IMethodSymbol { MethodKind: MethodKind.Constructor } c => Outermost(c.ContainingType),
                    { ContainingType: { } ct } => Outermost(ct),
                    _ => null,
                };
                if (to is null || !SymbolEqualityComparer.Default.Equals(to.ContainingAssembly, compilation.Assembly) || SymbolEqualityComparer.Default.Equals(from, to)) continue;
                string? fromRoom = RoomOf(from), toRoom = RoomOf(to);
                // Uses inside a folder room are free; those inside a declared pseudo-room are kept (the vocabulary's closure).
                if (fromRoom is null || toRoom is null || (fromRoom == toRoom && Folders().Contains(fromRoom))) continue;
                var line = node.GetLocation().GetLineSpan();
                uses.Add(new TypeUse(Display(from), fromRoom, Display(to), toRoom,
                    $"{Path.GetRelativePath(SourceRoot, tree.FilePath)}:{line.StartLinePosition.Line + 1}", inCref));
            }
        });
        return (uses.ToList(), unsafeFiles.Distinct().ToList());
    }

    /// <summary>The types the project declares in its root namespace, by display name.</summary>
    public IEnumerable<string> RootTypes()
        => Compilation!.Assembly.GlobalNamespace.GetNamespaceMembers().SelectMany(AllTypes)
            .Where(t => t.ContainingNamespace.ToDisplayString() == Project).Select(Display);

    private static IEnumerable<INamedTypeSymbol> AllTypes(INamespaceSymbol ns)
        => ns.GetTypeMembers().Concat(ns.GetNamespaceMembers().SelectMany(AllTypes));

    private static INamedTypeSymbol? Outermost(INamedTypeSymbol? type)
    {
        while (type?.ContainingType is { } outer) type = outer;
        return type?.OriginalDefinition;
    }

    internal static string Display(INamedTypeSymbol type) => type.ContainingNamespace.ToDisplayString() + "." + type.Name;

    /// <summary>The room of one of the project's types; null for types outside its namespaces.</summary>
    private string? RoomOf(INamedTypeSymbol type)
    {
        string ns = type.ContainingNamespace.ToDisplayString();
        string? room = ns == Project ? "" : ns.StartsWith(Project + ".", StringComparison.Ordinal) ? ns[(Project.Length + 1)..].Split('.')[0] : null;
        return room is null ? null : roomOf?.Invoke(type, room) ?? room;
    }

    /// <summary>
    /// The framework the tests run on and the assemblies loaded beside them (packages, and the built products this
    /// project references), without the project's own assembly and the test assemblies.
    /// </summary>
    public IEnumerable<MetadataReference> TrustedReferences(Func<string, bool>? include = null)
    {
        string trusted = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!;
        return trusted.Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p) is { } n && n != Project + ".dll" && !n.Contains(".Tests", StringComparison.Ordinal)
                        && !n.StartsWith("StableDiffusion.Native.HostileInputs", StringComparison.Ordinal) && (include?.Invoke(n) ?? true))
            .Select(p => MetadataReference.CreateFromFile(p));
    }

    /// <summary>The checkout the tests run from (their output folder is inside it).</summary>
    internal static string Checkout()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StableDiffusion.Native.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"No checkout above {AppContext.BaseDirectory}.");
    }
}
