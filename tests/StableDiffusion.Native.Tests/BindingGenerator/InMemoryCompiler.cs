using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace StableDiffusion.Native.Tests.BindingGenerator;

/// <summary>
/// Compiles generated C# with Roslyn the way the library project does: unsafe, DisableRuntimeMarshalling and the
/// SDK's LibraryImport source generator (without it every `static partial` import would be an error).
/// </summary>
internal static class InMemoryCompiler
{
    public sealed record Result(IReadOnlyList<Diagnostic> Errors, byte[]? Image);

    public static Result Compile(params string[] sources)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Preview);
        var trees = sources.Append("[assembly: System.Runtime.CompilerServices.DisableRuntimeMarshalling]")
            .Select((s, i) => CSharpSyntaxTree.ParseText(s, parse, path: $"source{i}.cs"));
        var compilation = CSharpCompilation.Create(
            "GeneratedBindings_" + Guid.NewGuid().ToString("N"),
            trees,
            FrameworkReferences(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));

        GeneratorDriver driver = CSharpGeneratorDriver.Create(LibraryImportGenerators().ToArray()).WithUpdatedParseOptions(parse);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var updated, out var generatorDiagnostics);

        var errors = generatorDiagnostics.Concat(updated.GetDiagnostics())
            .Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0) return new Result(errors, null);

        using var image = new MemoryStream();
        var emit = updated.Emit(image);
        return new Result(emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList(), emit.Success ? image.ToArray() : null);
    }

    public static Assembly Load(byte[] image) =>
        new AssemblyLoadContext("generated-bindings", isCollectible: true).LoadFromStream(new MemoryStream(image));

    /// <summary>The shared framework's assemblies from the trusted platform list (test and Roslyn assemblies left out).</summary>
    private static IEnumerable<MetadataReference> FrameworkReferences()
    {
        string frameworkDir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        return ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(p => string.Equals(Path.GetDirectoryName(p), frameworkDir, StringComparison.Ordinal))
            .Select(p => MetadataReference.CreateFromFile(p));
    }

    /// <summary>The LibraryImport generator ships in the SDK's targeting pack, next to the shared framework.</summary>
    private static IEnumerable<ISourceGenerator> LibraryImportGenerators()
    {
        string frameworkDir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        string dotnetRoot = Path.GetFullPath(Path.Combine(frameworkDir, "..", "..", ".."));
        string packs = Path.Combine(dotnetRoot, "packs", "Microsoft.NETCore.App.Ref");
        string dll = Directory.Exists(packs)
            ? Directory.GetDirectories(packs)
                .Where(d => Version.TryParse(Path.GetFileName(d).Split('-')[0], out var v) && v.Major == Environment.Version.Major)
                .OrderByDescending(d => Version.Parse(Path.GetFileName(d).Split('-')[0]))
                .Select(d => Path.Combine(d, "analyzers", "dotnet", "cs", "Microsoft.Interop.LibraryImportGenerator.dll"))
                .FirstOrDefault(File.Exists) ?? ""
            : "";
        if (dll.Length == 0) throw new InvalidOperationException($"Microsoft.Interop.LibraryImportGenerator.dll not found under {packs}");

        var assembly = Assembly.LoadFrom(dll);
        Type[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            // Its code fixers need Roslyn Workspaces, which the generator itself does not.
            types = e.Types.Where(t => t is not null).ToArray()!;
        }
        return types
            .Where(t => !t.IsAbstract && typeof(IIncrementalGenerator).IsAssignableFrom(t) && t.GetCustomAttributes(typeof(GeneratorAttribute), false).Length > 0)
            .Select(t => ((IIncrementalGenerator)Activator.CreateInstance(t)!).AsSourceGenerator());
    }
}
