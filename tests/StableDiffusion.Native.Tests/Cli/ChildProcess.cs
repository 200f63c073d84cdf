using System.Diagnostics;
using System.Text.Json;

namespace StableDiffusion.Native.Tests.Cli;

/// <summary>Runs the sdnet CLI (built next to the tests, since the test project references it) in a child process.</summary>
internal static class ChildProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit code {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
    }

    public static string SdnetDll => Path.Combine(AppContext.BaseDirectory, "sdnet.dll");

    /// <summary>The dotnet host running this process (or the one on PATH).</summary>
    public static string DotnetHost
    {
        get
        {
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
            string? self = Environment.ProcessPath;
            if (self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) return self;
            return "dotnet";
        }
    }

    /// <summary>
    /// Skips the calling test when a SIGINT sent to a child would not reach it: a process started with SIGINT ignored (a
    /// background job of a shell without job control, as <c>cmd &amp;</c> in a script) passes that on to its children,
    /// and the .NET runtime keeps a disposition it inherits as ignored.
    /// </summary>
    public static void SkipIfChildrenIgnoreSigInt()
    {
        string? reason = SigIntIgnoredReason();
        Skip.If(reason is not null, reason);
    }

    private static string? SigIntIgnoredReason()
    {
        if (!OperatingSystem.IsLinux()) return null;
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith("SigIgn:", StringComparison.Ordinal)) continue;
            ulong mask = ulong.Parse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
            const int SigInt = 2;
            return (mask & (1UL << (SigInt - 1))) != 0
                ? "the test host was started with SIGINT ignored (a background job of a shell without job control), so its children ignore SIGINT too"
                : null;
        }
        return null;
    }

    public static Result RunSdnet(string sdnetDll, string workingDirectory, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var psi = new ProcessStartInfo(DotnetHost)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(sdnetDll);
        foreach (string a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment)
        {
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        }
        return Run(psi, TimeSpan.FromMinutes(2));
    }

    /// <summary>Runs <paramref name="psi"/> (its output redirected) to its end, killing it after <paramref name="timeout"/>.</summary>
    public static Result Run(ProcessStartInfo psi, TimeSpan timeout)
    {
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(psi.FileName)} did not exit within {timeout.TotalMinutes:F0} minutes.");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Copies the sdnet app (sdnet.dll, its config files and the assemblies its deps.json lists) into <paramref name="target"/>.</summary>
    public static string CopySdnetApp(string target)
    {
        string source = AppContext.BaseDirectory;
        Directory.CreateDirectory(target);
        var files = new HashSet<string>(StringComparer.Ordinal) { "sdnet.dll", "sdnet.deps.json", "sdnet.runtimeconfig.json" };
        using (var deps = JsonDocument.Parse(File.ReadAllText(Path.Combine(source, "sdnet.deps.json"))))
        {
            foreach (var target_ in deps.RootElement.GetProperty("targets").EnumerateObject())
                foreach (var library in target_.Value.EnumerateObject())
                    if (library.Value.TryGetProperty("runtime", out var runtime))
                        foreach (var asset in runtime.EnumerateObject())
                            files.Add(Path.GetFileName(asset.Name));
        }
        foreach (string f in files)
        {
            string from = Path.Combine(source, f);
            if (File.Exists(from)) File.Copy(from, Path.Combine(target, f), overwrite: true);
        }
        return Path.Combine(target, "sdnet.dll");
    }

    public static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string f in Directory.EnumerateFiles(from))
            File.Copy(f, Path.Combine(to, Path.GetFileName(f)), overwrite: true);
    }
}
