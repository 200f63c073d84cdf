// Command line and .rsp parsing. Settings files are checked in, so paths inside them are repo-relative and the
// machine-specific location of the upstream checkout only ever arrives via --source-dir / SDNET_SD_SOURCE_DIR.
namespace StableDiffusion.Native.BindingGenerator;

public sealed class Settings
{
    public const string SourceDirEnvVar = "SDNET_SD_SOURCE_DIR";

    public string Namespace { get; set; } = "Interop";
    public string ClassName { get; set; } = "Native";
    public string LibraryName { get; set; } = "native";
    public string? UpstreamCommit { get; set; }

    /// <summary>Header path as written in the settings (kept relative so it can be quoted in generated headers).</summary>
    public string? HeaderSpec { get; set; }

    /// <summary>True when <see cref="HeaderSpec"/> is relative to the upstream source dir rather than the repo root.</summary>
    public bool HeaderFromSourceDir { get; set; }

    public string? SourceDir { get; set; }
    public string? RepoRoot { get; set; }
    public string? CSharpOutput { get; set; }
    public string? LayoutOutput { get; set; }
    public string LayoutClassName { get; set; } = "Layout";
    public string? CFactsOutput { get; set; }
    public string Target { get; set; } = "x86_64-unknown-linux-gnu";
    public string Standard { get; set; } = "c11";
    public List<string> IncludeDirs { get; } = [];
    public List<string> Defines { get; } = [];
    public Dictionary<string, string> Remaps { get; } = new(StringComparer.Ordinal);

    /// <summary>The rsp files that were read, repo-relative, for the "regenerate with" line in outputs.</summary>
    public List<string> ResponseFiles { get; } = [];
    public bool Verify { get; set; }
    public bool Help { get; set; }

    public static Settings Parse(IEnumerable<string> args)
    {
        var settings = new Settings();
        var tokens = Expand(args, settings, depth: 0).ToList();
        for (int i = 0; i < tokens.Count; i++)
        {
            string option = tokens[i];
            string Value()
            {
                if (i + 1 >= tokens.Count) throw new SettingsException($"{option} needs a value");
                return tokens[++i];
            }

            switch (option)
            {
                case "--namespace": settings.Namespace = Value(); break;
                case "--class": settings.ClassName = Value(); break;
                case "--library": settings.LibraryName = Value(); break;
                case "--upstream-commit": settings.UpstreamCommit = Value(); break;
                case "--header": settings.HeaderSpec = Value(); settings.HeaderFromSourceDir = false; break;
                case "--source-header": settings.HeaderSpec = Value(); settings.HeaderFromSourceDir = true; break;
                case "--source-dir": settings.SourceDir = Value(); break;
                case "--repo-root": settings.RepoRoot = Value(); break;
                case "--output": settings.CSharpOutput = Value(); break;
                case "--layout-output": settings.LayoutOutput = Value(); break;
                case "--layout-class": settings.LayoutClassName = Value(); break;
                case "--c-facts-output": settings.CFactsOutput = Value(); break;
                case "--target": settings.Target = Value(); break;
                case "--std": settings.Standard = Value(); break;
                case "--include-dir": settings.IncludeDirs.Add(Value()); break;
                case "--define": settings.Defines.Add(Value()); break;
                case "--remap":
                    {
                        string v = Value();
                        int eq = v.IndexOf('=');
                        if (eq <= 0 || eq == v.Length - 1) throw new SettingsException($"--remap expects c_name=CSharpType, got '{v}'");
                        settings.Remaps[v[..eq].Trim()] = v[(eq + 1)..].Trim();
                        break;
                    }
                case "--verify": settings.Verify = true; break;
                case "--help" or "-h" or "-?": settings.Help = true; break;
                default: throw new SettingsException($"unknown option '{option}'");
            }
        }
        return settings;
    }

    /// <summary>Expands @file arguments: one option per line ("--opt value", value may contain spaces), # comments.</summary>
    private static IEnumerable<string> Expand(IEnumerable<string> args, Settings settings, int depth)
    {
        foreach (string arg in args)
        {
            if (!arg.StartsWith('@'))
            {
                yield return arg;
                continue;
            }
            if (depth > 8) throw new SettingsException("response files nested too deeply");
            string path = arg[1..];
            if (!File.Exists(path)) throw new SettingsException($"response file not found: {path}");
            settings.ResponseFiles.Add(path.Replace('\\', '/'));
            var lineTokens = new List<string>();
            foreach (string raw in File.ReadAllLines(path))
            {
                string line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#')) continue;
                int space = line.IndexOfAny([' ', '\t']);
                if (space < 0)
                {
                    lineTokens.Add(line);
                }
                else
                {
                    lineTokens.Add(line[..space]);
                    lineTokens.Add(line[(space + 1)..].Trim());
                }
            }
            foreach (string t in Expand(lineTokens, settings, depth + 1)) yield return t;
        }
    }

    /// <summary>Fills in the repo root and source dir and checks that everything needed is present.</summary>
    public void Resolve()
    {
        RepoRoot = Path.GetFullPath(RepoRoot ?? FindRepoRoot(Directory.GetCurrentDirectory())
            ?? throw new SettingsException("cannot find the repository root (no *.sln above the current directory); pass --repo-root"));
        if (HeaderSpec is null) throw new SettingsException("no header: pass --header (repo-relative) or --source-header (relative to --source-dir)");
        if (HeaderFromSourceDir)
        {
            SourceDir ??= Environment.GetEnvironmentVariable(SourceDirEnvVar);
            if (string.IsNullOrEmpty(SourceDir))
                throw new SettingsException($"--source-header needs the upstream source root: pass --source-dir or set {SourceDirEnvVar}");
        }
        if (CSharpOutput is null && LayoutOutput is null && CFactsOutput is null)
            throw new SettingsException("nothing to generate: pass --output, --layout-output and/or --c-facts-output");
    }

    public string HeaderPath => HeaderFromSourceDir
        ? Path.GetFullPath(Path.Combine(SourceDir!, HeaderSpec!))
        : InRepo(HeaderSpec!);

    public string InRepo(string relative) => Path.GetFullPath(Path.Combine(RepoRoot!, relative));

    public static string? FindRepoRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (dir.EnumerateFiles("*.sln").Any()) return dir.FullName;
        return null;
    }

    public const string Usage = """
        Usage: BindingGenerator [@settings.rsp] [options]
          --header <path>            C header, repo-relative
          --source-header <path>     C header, relative to --source-dir (or $SDNET_SD_SOURCE_DIR)
          --source-dir <dir>         root of the upstream checkout
          --namespace <ns>           namespace of the generated C#
          --class <name>             static class holding the functions
          --library <name>           library name for [LibraryImport]
          --upstream-commit <sha>    pinned upstream commit, quoted in every output
          --output <file>            generated C# bindings
          --layout-output <file>     generated C# sizeof/offsetof table
          --layout-class <name>      class of the layout table
          --c-facts-output <file>    generated X-macro list for the native ABI check
          --remap <c>=<cs>           map a C type (builtin or typedef name) to a C# type, e.g. bool=byte
          --include-dir <dir>        extra -isystem directory (default: clang or gcc builtin headers, auto-detected)
          --define <NAME[=VALUE]>    preprocessor definition
          --target <triple>          target triple (default x86_64-unknown-linux-gnu)
          --std <std>                C standard (default c11)
          --repo-root <dir>          repository root (default: nearest directory above with a *.sln)
          --verify                   regenerate in memory and fail if the files on disk differ
        """;
}

public sealed class SettingsException(string message) : Exception(message);
