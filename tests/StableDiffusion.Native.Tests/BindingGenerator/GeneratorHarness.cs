using System.Runtime.InteropServices;

namespace StableDiffusion.Native.Tests.BindingGenerator;

// Inside the namespace so they win over same-named types of the library (e.g. StableDiffusion.Native.Generator).
using Generator = global::StableDiffusion.Native.BindingGenerator.Generator;
using HeaderModel = global::StableDiffusion.Native.BindingGenerator.HeaderModel;
using HeaderParser = global::StableDiffusion.Native.BindingGenerator.HeaderParser;
using Program = global::StableDiffusion.Native.BindingGenerator.Program;
using Settings = global::StableDiffusion.Native.BindingGenerator.Settings;
using SettingsException = global::StableDiffusion.Native.BindingGenerator.SettingsException;

/// <summary>
/// Runs the generator in-process over TestData/constructs.h inside a throwaway "repo" directory, the same way
/// CI would run it over the real header (which CI does not have).
/// </summary>
internal sealed class GeneratorHarness : IDisposable
{
    public const string Commit = "0123456789abcdef0123456789abcdef01234567";
    public const string BindingsPath = "out/Constructs.g.cs";
    public const string LayoutPath = "out/Constructs.Layout.g.cs";
    public const string FactsPath = "out/constructs_facts.g.inc";

    public static bool Supported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    public string Root { get; }
    public string RspPath => Path.Combine(Root, "build", "constructs.rsp");

    public GeneratorHarness()
    {
        Root = Path.Combine(Path.GetTempPath(), "sdnet-bindgen-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(Root, "include"));
        Directory.CreateDirectory(Path.Combine(Root, "build"));
        File.Copy(TestHeaderPath, Path.Combine(Root, "include", "constructs.h"));
        File.WriteAllText(RspPath, $"""
            # settings for the generator tests
            --header include/constructs.h
            --upstream-commit {Commit}
            --namespace Test.Interop
            --class Ct
            --library ct

            --output {BindingsPath}
            --layout-output {LayoutPath}
            --layout-class CtLayout
            --c-facts-output {FactsPath}
            --remap bool=byte
            """);
    }

    public static string TestHeaderPath
    {
        get
        {
            // Next to this source file when it exists (dotnet test builds locally), else found from the repo root.
            string? repo = Settings.FindRepoRoot(AppContext.BaseDirectory);
            string[] candidates =
            [
                Path.Combine(SourceDirectory(), "TestData", "constructs.h"),
                repo is null ? "" : Path.Combine(repo, "tests", "StableDiffusion.Native.Tests", "BindingGenerator", "TestData", "constructs.h"),
            ];
            return candidates.FirstOrDefault(File.Exists) ?? throw new FileNotFoundException("TestData/constructs.h not found", candidates[0]);
        }
    }

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path) ?? "";

    public (int ExitCode, string Stdout, string Stderr) Run(params string[] extra)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = Generator.Run(["@" + RspPath, "--repo-root", Root, .. extra], stdout, stderr);
        return (rc, stdout.ToString(), stderr.ToString());
    }

    public string Read(string relative) => File.ReadAllText(Path.Combine(Root, relative));

    public byte[] ReadBytes(string relative) => File.ReadAllBytes(Path.Combine(Root, relative));

    /// <summary>The model straight from libclang, for comparing emitted values with what clang computed.</summary>
    public HeaderModel ParseModel()
    {
        var settings = Settings.Parse(["@" + RspPath, "--repo-root", Root]);
        settings.Resolve();
        return new HeaderParser(settings).Parse(settings.HeaderPath);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
