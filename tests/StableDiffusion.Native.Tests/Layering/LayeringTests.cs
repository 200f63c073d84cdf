using System.Collections.Concurrent;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace StableDiffusion.Native.Tests.Layering;

/// <summary>
/// The rooms of the core library and the one direction they may depend in, checked on its source with the
/// compiler's own binding (so method bodies count, not only signatures):
/// Interop → Native → ModelFiles → Quantization → Imaging → generation API (the root namespace). A room may use
/// the rooms before it. The one exception is the root's vocabulary: root types that themselves use no room
/// (the exception family, the records they carry, the sampler enums) may be used by every room, as
/// libgit2sharp's Core throws the root's exceptions.
/// </summary>
public sealed class LayeringTests
{
    private const string Root = "StableDiffusion.Native";

    /// <summary>The rooms, bottom first.</summary>
    private static readonly string[] Rooms = ["Interop", "Native", "ModelFiles", "Hub", "Quantization", "Imaging", ""];

    private static readonly Lazy<Analysis> s_analysis = new(Analyze);

    [Fact]
    public void Every_namespace_equals_its_folder()
    {
        var wrong = new List<string>();
        foreach (string file in SourceFiles())
        {
            string relative = Path.GetRelativePath(SourceRoot(), Path.GetDirectoryName(file)!);
            string expected = relative == "." ? Root : Root + "." + relative.Replace(Path.DirectorySeparatorChar, '.');
            var tree = CSharpSyntaxTree.ParseText(File.ReadAllText(file));
            foreach (var ns in tree.GetRoot().DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>())
            {
                if (ns.Name.ToString() != expected) wrong.Add($"{Path.GetRelativePath(SourceRoot(), file)}: namespace {ns.Name}, folder says {expected}");
            }
        }
        Assert.Empty(wrong);
    }

    [Fact]
    public void Every_folder_is_a_known_room()
    {
        var folders = Directory.GetDirectories(SourceRoot()).Select(Path.GetFileName)
            .Where(f => f is not ("bin" or "obj" or "Properties"));
        Assert.DoesNotContain(folders, f => !Rooms.Contains(f));
    }

    [Fact]
    public void Rooms_depend_only_on_rooms_below_them()
    {
        var analysis = s_analysis.Value;
        Assert.True(analysis.References.Count > 500, $"the analysis saw only {analysis.References.Count} references: it is not looking");
        var violations = analysis.References
            .Where(r => Rank(r.FromRoom) < Rank(r.ToRoom) && !(r.ToRoom == "" && analysis.Vocabulary.Contains(r.ToType)))
            .Select(r => $"{r.FromType} ({Name(r.FromRoom)}) uses {r.ToType} ({Name(r.ToRoom)}) at {r.Location}")
            .Distinct()
            .ToList();
        Assert.Empty(violations);
    }

    [Fact]
    public void The_root_vocabulary_is_what_the_rule_says()
    {
        // Pins the exception: if one of these started to use a room, lower rooms using it would climb upward.
        var vocabulary = s_analysis.Value.Vocabulary;
        foreach (string type in new[] { "StableDiffusionException", "GenerationException", "NativeRuntimeException", "NativeAbiMismatchException", "NativeProbe", "Sampler", "Scheduler" })
            Assert.Contains($"{Root}.{type}", vocabulary);
        Assert.DoesNotContain($"{Root}.Generator", vocabulary);
        Assert.DoesNotContain($"{Root}.ImageRequest", vocabulary);
    }

    [Fact]
    public void Only_Native_and_Interop_touch_pointers_or_the_interop_types()
    {
        var analysis = s_analysis.Value;
        var leaks = analysis.References.Where(r => r.ToRoom == "Interop" && r.FromRoom is not ("Interop" or "Native"))
            .Select(r => $"{r.FromType} uses {r.ToType} at {r.Location}").Distinct().ToList();
        Assert.Empty(leaks);
        Assert.DoesNotContain(analysis.UnsafeCode, u => !u.StartsWith("Interop", StringComparison.Ordinal) && !u.StartsWith("Native", StringComparison.Ordinal));
    }

    private static int Rank(string room) => Array.IndexOf(Rooms, room);

    private static string Name(string room) => room.Length == 0 ? "generation API" : room;

    private sealed record Reference(string FromType, string FromRoom, string ToType, string ToRoom, string Location);

    private sealed record Analysis(IReadOnlyList<Reference> References, HashSet<string> Vocabulary, IReadOnlyList<string> UnsafeCode);

    private static Analysis Analyze()
    {
        var parse = new CSharpParseOptions(LanguageVersion.Preview);
        var trees = SourceFiles().Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, f)).ToList();
        // The SDK's implicit usings (ImplicitUsings=enable), which the build writes into obj/.
        var implicitUsings = CSharpSyntaxTree.ParseText(
            "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; " +
            "global using System.Net.Http; global using System.Threading; global using System.Threading.Tasks;", parse);
        var compilation = CSharpCompilation.Create("LayeringProbe", trees.Append(implicitUsings), References(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        // CS8795: the LibraryImport bodies come from a source generator that this probe does not run.
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && d.Id != "CS8795").Take(5).ToList();
        Assert.True(errors.Count == 0, "the probe compilation failed: " + string.Join("; ", errors));

        var references = new ConcurrentBag<Reference>();
        var unsafeCode = new ConcurrentBag<string>();
        Parallel.ForEach(trees, tree =>
        {
            var model = compilation.GetSemanticModel(tree);
            foreach (var node in tree.GetRoot().DescendantNodes())
            {
                if (node is PointerTypeSyntax or FunctionPointerTypeSyntax or UnsafeStatementSyntax || (node is MemberDeclarationSyntax m && m.Modifiers.Any(SyntaxKind.UnsafeKeyword)))
                    unsafeCode.Add(Path.GetRelativePath(SourceRoot(), tree.FilePath));
                if (node is not (SimpleNameSyntax or ObjectCreationExpressionSyntax or ImplicitObjectCreationExpressionSyntax)) continue;
                var from = model.GetEnclosingSymbol(node.SpanStart) is { } enclosing ? Outermost(enclosing as INamedTypeSymbol ?? enclosing.ContainingType) : null;
                if (from is null) continue;
                var symbol = model.GetSymbolInfo(node).Symbol ?? model.GetTypeInfo(node).Type;
                var to = symbol switch
                {
                    INamedTypeSymbol t => Outermost(t),
                    IMethodSymbol { MethodKind: MethodKind.Constructor } c => Outermost(c.ContainingType),
                    { ContainingType: { } ct } => Outermost(ct),
                    _ => null,
                };
                if (to is null || !SymbolEqualityComparer.Default.Equals(to.ContainingAssembly, compilation.Assembly) || SymbolEqualityComparer.Default.Equals(from, to)) continue;
                string? fromRoom = RoomOf(from), toRoom = RoomOf(to);
                // Within a room anything goes; root-to-root uses are kept to tell the vocabulary apart.
                if (fromRoom is null || toRoom is null || (fromRoom == toRoom && fromRoom.Length > 0)) continue;
                var line = node.GetLocation().GetLineSpan();
                references.Add(new Reference(Display(from), fromRoom, Display(to), toRoom,
                    $"{Path.GetRelativePath(SourceRoot(), tree.FilePath)}:{line.StartLinePosition.Line + 1}"));
            }
        });

        // Root types that use no room, directly or through other root types: the vocabulary every room may use.
        var vocabulary = compilation.Assembly.GlobalNamespace.GetNamespaceMembers().SelectMany(AllTypes)
            .Where(t => RoomOf(t) == "").Select(Display).ToHashSet();
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var r in references.Where(r => r.FromRoom == "" && vocabulary.Contains(r.FromType)))
            {
                if (r.ToRoom != "" || !vocabulary.Contains(r.ToType))
                {
                    vocabulary.Remove(r.FromType);
                    changed = true;
                }
            }
        }
        return new Analysis(references.ToList(), vocabulary, unsafeCode.Distinct().ToList());
    }

    private static IEnumerable<INamedTypeSymbol> AllTypes(INamespaceSymbol ns)
        => ns.GetTypeMembers().Concat(ns.GetNamespaceMembers().SelectMany(AllTypes));

    private static INamedTypeSymbol? Outermost(INamedTypeSymbol? type)
    {
        while (type?.ContainingType is { } outer) type = outer;
        return type?.OriginalDefinition;
    }

    private static string Display(INamedTypeSymbol type) => type.ContainingNamespace.ToDisplayString() + "." + type.Name;

    /// <summary>The room of a type of the library; null for types outside its namespaces.</summary>
    private static string? RoomOf(INamedTypeSymbol type)
    {
        string ns = type.ContainingNamespace.ToDisplayString();
        if (ns == Root) return "";
        if (!ns.StartsWith(Root + ".", StringComparison.Ordinal)) return null;
        string room = ns[(Root.Length + 1)..].Split('.')[0];
        return Rooms.Contains(room) ? room : null;
    }

    private static IEnumerable<MetadataReference> References()
    {
        // The framework the tests run on, plus the library's own package dependencies (loaded beside it).
        string trusted = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!;
        return trusted.Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p) is { } n && (n.StartsWith("System.", StringComparison.Ordinal) || n is "mscorlib.dll" or "netstandard.dll"
                || n.StartsWith("Microsoft.Extensions.Logging", StringComparison.Ordinal) || n.StartsWith("CommunityToolkit.", StringComparison.Ordinal)
                || n is "Microsoft.Win32.Primitives.dll"))
            .Select(p => MetadataReference.CreateFromFile(p));
    }

    private static IEnumerable<string> SourceFiles()
        => Directory.EnumerateFiles(SourceRoot(), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                     && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    private static string SourceRoot()
    {
        // The tests run from their output folder inside the checkout.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StableDiffusion.Native.sln"))) return Path.Combine(dir.FullName, "src", "StableDiffusion.Native");
        }
        throw new InvalidOperationException($"No checkout above {AppContext.BaseDirectory}.");
    }
}
