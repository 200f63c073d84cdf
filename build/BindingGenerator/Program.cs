// Entry point: parse settings, run libclang over the header, then write or --verify the generated files.
using System.Text;

namespace StableDiffusion.Native.BindingGenerator;

public static class Program
{
    /// <summary>Bumped whenever the emitted code changes shape; quoted in every generated file.</summary>
    public const string Version = "1.0.0";

    /// <summary>The libclang.runtime.linux-x64 package version (also used to locate libclang.so in the NuGet cache).</summary>
    public const string LibclangVersion = "22.1.8";

    public static int Main(string[] args) => Generator.Run(args, Console.Out, Console.Error);
}

public static class Generator
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Exit codes: 0 success / up to date, 1 --verify found differences, 2 usage or generation error.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        Settings settings;
        try
        {
            settings = Settings.Parse(args);
            if (settings.Help)
            {
                stdout.WriteLine(Settings.Usage);
                return 0;
            }
            settings.Resolve();
        }
        catch (SettingsException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            stderr.WriteLine(Settings.Usage);
            return 2;
        }

        IReadOnlyList<(string Path, string Content)> outputs;
        try
        {
            outputs = Generate(settings, stderr);
        }
        catch (GeneratorException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return 2;
        }

        return settings.Verify ? Verify(settings, outputs, stdout) : Write(settings, outputs, stdout);
    }

    /// <summary>All outputs as (repo-relative path, content), without touching the disk.</summary>
    public static IReadOnlyList<(string Path, string Content)> Generate(Settings settings, TextWriter stderr)
    {
        var parser = new HeaderParser(settings);
        var model = parser.Parse(settings.HeaderPath);
        foreach (string warning in parser.Warnings) stderr.WriteLine($"warning: {warning}");

        var outputs = new List<(string, string)>();
        if (settings.CSharpOutput is not null) outputs.Add((settings.CSharpOutput, CSharpEmitter.EmitBindings(model, settings)));
        if (settings.LayoutOutput is not null) outputs.Add((settings.LayoutOutput, CSharpEmitter.EmitLayout(model, settings)));
        if (settings.CFactsOutput is not null) outputs.Add((settings.CFactsOutput, CFactsEmitter.Emit(model)));
        return outputs;
    }

    private static int Write(Settings settings, IReadOnlyList<(string Path, string Content)> outputs, TextWriter stdout)
    {
        foreach (var (path, content) in outputs)
        {
            string full = settings.InRepo(path);
            // Leave unchanged files alone so incremental builds do not see a new timestamp.
            if (File.Exists(full) && File.ReadAllText(full, Utf8NoBom) == content)
            {
                stdout.WriteLine($"unchanged: {path}");
                continue;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content, Utf8NoBom);
            stdout.WriteLine($"wrote: {path}");
        }
        return 0;
    }

    private static int Verify(Settings settings, IReadOnlyList<(string Path, string Content)> outputs, TextWriter stdout)
    {
        var stale = new List<string>();
        foreach (var (path, content) in outputs)
        {
            string full = settings.InRepo(path);
            if (!File.Exists(full))
            {
                stale.Add($"{path}: missing");
                continue;
            }
            string current = File.ReadAllText(full, Utf8NoBom);
            if (current == content) continue;
            stale.Add($"{path}: {FirstDifference(current, content)}");
        }

        if (stale.Count == 0)
        {
            stdout.WriteLine($"up to date: {string.Join(", ", outputs.Select(o => o.Path))}");
            return 0;
        }
        stdout.WriteLine("out of date (regenerate with " + CSharpEmitter.RegenerateCommand(settings) + "):");
        foreach (string s in stale) stdout.WriteLine("  " + s);
        return 1;
    }

    private static string FirstDifference(string committed, string generated)
    {
        string[] a = committed.Split('\n'), b = generated.Split('\n');
        for (int i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            string? x = i < a.Length ? a[i] : null, y = i < b.Length ? b[i] : null;
            if (x != y)
                return $"first difference at line {i + 1}\n    committed: {x ?? "<end of file>"}\n    generated: {y ?? "<end of file>"}";
        }
        return "differs only in line endings or encoding";
    }
}
