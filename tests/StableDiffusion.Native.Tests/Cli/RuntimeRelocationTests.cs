using StableDiffusion.Native.Native;
using StableDiffusion.Native.Tests.Integration;
using Xunit.Abstractions;

namespace StableDiffusion.Native.Tests.Cli;

/// <summary>
/// The runtime loads from wherever it is put (it is relocatable), and a failed load explains itself. Each test
/// runs the real CLI in a child process, so the probe order is exercised from a clean start.
/// </summary>
[Collection(NativeToolCollection.Name)]
public sealed class RuntimeRelocationTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void Doctor_loads_a_copy_of_the_runtime_from_an_unrelated_directory()
    {
        var info = NativeTestEnvironment.Require();
        using var temp = new TempDirectory("sdnet-relocated");
        string runtimeDir = Path.GetDirectoryName(info.LibraryPath)!;
        string copy = Path.Combine(temp.Path, "elsewhere", "runtime");
        ChildProcess.CopyDirectory(runtimeDir, copy);
        string cwd = temp.Sub("cwd");

        var result = ChildProcess.RunSdnet(ChildProcess.SdnetDll, cwd, new Dictionary<string, string?>
        {
            [NativeLocator.PathVariable] = copy,
        }, "doctor", "-v");
        output.WriteLine(result.ToString());

        Assert.True(result.ExitCode == 0, result.ToString());
        string loaded = Path.Combine(copy, NativeLocator.LibraryFileName);
        Assert.Contains("runtime:      " + loaded, result.Stdout);
        Assert.Contains($"probe:        [{NativeLocator.PathVariable}] {loaded}: loaded", result.Stdout);
        Assert.Contains("cpu variant:  " + (info.CpuVariant ?? "built in"), result.Stdout);
        Assert.Contains("sd.cpp:       " + info.SdCommit, result.Stdout);
        Assert.Contains("(cpu)", result.Stdout);
        // The backend modules came from the copy too: the original folder is not needed.
        Assert.DoesNotContain(runtimeDir + Path.DirectorySeparatorChar, result.Stdout.Replace(copy, "<copy>"));
    }

    [SkippableFact]
    public void Doctor_reports_the_os_error_of_a_broken_explicit_runtime_and_goes_on_probing()
    {
        var info = NativeTestEnvironment.Require();
        using var temp = new TempDirectory("sdnet-broken");
        string broken = temp.Sub("broken");
        string lib = Path.Combine(broken, NativeLocator.LibraryFileName);
        File.WriteAllText(lib, "not a library\n" + new string('#', 256));

        var result = ChildProcess.RunSdnet(ChildProcess.SdnetDll, temp.Sub("cwd"), new Dictionary<string, string?>
        {
            [NativeLocator.PathVariable] = broken,
        }, "doctor", "-v");
        output.WriteLine(result.ToString());

        // The checkout's build (or the user cache) is still found after the broken explicit folder.
        Assert.True(result.ExitCode == 0, result.ToString());
        string probe = result.Stdout.Split('\n').Single(l => l.StartsWith($"probe:        [{NativeLocator.PathVariable}]", StringComparison.Ordinal));
        Assert.Contains(lib, probe);
        Assert.DoesNotContain(": not found", probe);
        if (OperatingSystem.IsLinux()) Assert.Contains("invalid ELF header", probe);
        Assert.Contains(": loaded", result.Stdout);
        Assert.Contains("runtime:      " + info.LibraryPath, result.Stdout);
    }

    [SkippableFact]
    public void Doctor_fails_with_exit_code_3_and_lists_every_probe_when_nothing_loads()
    {
        NativeTestEnvironment.Require(); // the CLI is only worth running where the runtime builds
        using var temp = new TempDirectory("sdnet-noruntime");
        // A copy of the CLI outside the checkout (so no dev build is found), an empty runtime cache, and an explicit folder holding garbage.
        string sdnet = ChildProcess.CopySdnetApp(temp.Sub("app"));
        string broken = temp.Sub("broken");
        string lib = Path.Combine(broken, NativeLocator.LibraryFileName);
        File.WriteAllText(lib, "not a library\n" + new string('#', 256));
        string emptyCache = temp.Sub("cache");

        var result = ChildProcess.RunSdnet(sdnet, temp.Sub("cwd"), new Dictionary<string, string?>
        {
            [NativeLocator.PathVariable] = broken,
            [NativeLocator.CacheVariable] = emptyCache,
        }, "doctor");
        output.WriteLine(result.ToString());

        Assert.True(result.ExitCode == 3, result.ToString());
        // stdout: what doctor is for when nothing loads (on Windows, a DllNotFoundException), one line per place probed.
        string[] lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal("runtime:      (none loaded)", lines[0]);
        Assert.All(lines.Skip(1), l => Assert.StartsWith("probe:        [", l));
        Assert.Contains(lines, l => l.StartsWith($"probe:        [{NativeLocator.PathVariable}] {lib}: ", StringComparison.Ordinal) && l.Contains(OperatingSystem.IsLinux() ? "invalid ELF header" : "", StringComparison.Ordinal));
        Assert.Contains($"probe:        [app directory] {Path.Combine(Path.GetDirectoryName(sdnet)!, NativeLocator.LibraryFileName)}: not found", lines);
        string err = result.Stderr;
        Assert.Contains($"error: The StableDiffusion.Native runtime ({NativeLocator.LibraryFileName}) could not be loaded for", err);
        Assert.Contains("Probed, in order:", err);
        Assert.Contains($"[{NativeLocator.PathVariable}] {lib}: ", err);
        if (OperatingSystem.IsLinux()) Assert.Contains("invalid ELF header", err);
        Assert.Contains($"{lib} is not a library for this OS/architecture", err);
        foreach (string rid in NativeLocator.RidFallbacks())
            Assert.Contains(Path.Combine(Path.GetDirectoryName(sdnet)!, "runtimes", rid, "native", NativeLocator.LibraryFileName) + ": not found", err);
        Assert.Contains("[app directory] " + Path.Combine(Path.GetDirectoryName(sdnet)!, NativeLocator.LibraryFileName) + ": not found", err);
        // The copy runs outside the checkout its library was built in: the checkout is listed as skipped, never probed.
        Assert.Contains("[dev build] ", err);
        Assert.Contains("skipped: the app does not run from inside the checkout this library was built in", err);
        Assert.DoesNotContain("loaded", err.Replace("could not be loaded", ""));
    }
}
