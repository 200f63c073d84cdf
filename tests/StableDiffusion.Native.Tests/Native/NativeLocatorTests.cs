using System.Runtime.InteropServices;
using StableDiffusion.Native.Native;

namespace StableDiffusion.Native.Tests.Native;

/// <summary>The resolver on fake directory layouts: what is probed, in which order, and what a failure says.</summary>
[Collection(NativeEnvironmentCollection.Name)]
public sealed class NativeLocatorTests
{
    [Fact]
    public void Missing_file_is_not_found_and_the_failure_lists_every_path_the_rid_and_the_hint()
    {
        using var temp = new TempDirectory();
        string a = temp.Sub("a"), b = temp.Sub("b", "nested");
        var probes = new List<NativeProbe>();

        nint handle = NativeLocator.TryLoad([("first place", a, null), ("second place", b, null)], probes, out string? loaded);

        Assert.Equal(0, handle);
        Assert.Null(loaded);
        Assert.Equal(2, probes.Count);
        Assert.All(probes, p => Assert.Equal("not found", p.Outcome));
        Assert.Equal(Path.Combine(a, NativeLocator.LibraryFileName), probes[0].Path);
        Assert.Equal("first place", probes[0].Source);
        Assert.Equal(Path.Combine(b, NativeLocator.LibraryFileName), probes[1].Path);

        string text = NativeLocator.DescribeFailure(probes);
        Assert.Contains(NativeLocator.LibraryFileName, text);
        Assert.Contains(RuntimeInformation.RuntimeIdentifier, text);
        Assert.Contains("[first place] " + probes[0].Path + ": not found", text);
        Assert.Contains("[second place] " + probes[1].Path + ": not found", text);
        Assert.True(text.IndexOf(probes[0].Path, StringComparison.Ordinal) < text.IndexOf(probes[1].Path, StringComparison.Ordinal), "probes keep their order");
        Assert.Contains("No runtime file was found", text);
        Assert.Contains(NativeLocator.PathVariable, text);
    }

    [Fact]
    public void A_file_that_is_not_a_library_keeps_the_os_loader_error_and_gets_the_wrong_platform_hint()
    {
        using var temp = new TempDirectory();
        string dir = temp.Sub("bogus");
        string file = Path.Combine(dir, NativeLocator.LibraryFileName);
        File.WriteAllText(file, "This is a text file, not a shared library. " + new string('x', 200) + "\n");
        var probes = new List<NativeProbe>();

        nint handle = NativeLocator.TryLoad([("bogus", dir, null)], probes, out string? loaded);

        Assert.Equal(0, handle);
        Assert.Null(loaded);
        var probe = Assert.Single(probes);
        Assert.Equal(file, probe.Path);
        Assert.NotEqual("not found", probe.Outcome);
        Assert.NotEqual("loaded", probe.Outcome);
        // The OS loader's own words survive: dlerror's "invalid ELF header", Windows' "not a valid Win32 application", dyld's "not a mach-o file".
        if (OperatingSystem.IsLinux()) Assert.Contains("invalid ELF header", probe.Outcome);
        Assert.DoesNotContain('\n', probe.Outcome);

        string text = NativeLocator.DescribeFailure(probes);
        Assert.Contains(probe.Outcome, text);
        Assert.Contains($"{file} is not a library for this OS/architecture", text);
        Assert.DoesNotContain("No runtime file was found", text);
    }

    [Fact]
    public void Later_candidates_are_still_probed_after_a_broken_one_and_each_keeps_its_outcome()
    {
        using var temp = new TempDirectory();
        string bogus = temp.Sub("bogus"), empty = temp.Sub("empty");
        File.WriteAllBytes(Path.Combine(bogus, NativeLocator.LibraryFileName), new byte[16]);
        var probes = new List<NativeProbe>();

        NativeLocator.TryLoad([("bogus", bogus, null), ("empty", empty, null)], probes, out _);

        Assert.Equal(["bogus", "empty"], probes.Select(p => p.Source));
        Assert.NotEqual("not found", probes[0].Outcome);
        Assert.Equal("not found", probes[1].Outcome);
    }

    [Fact]
    public void The_same_path_is_probed_once_however_it_is_spelled()
    {
        using var temp = new TempDirectory();
        string dir = temp.Sub("lib");
        string sub = temp.Sub("lib", "sub");
        var probes = new List<NativeProbe>();

        NativeLocator.TryLoad(
        [
            ("plain", dir, null),
            ("trailing separator", dir + Path.DirectorySeparatorChar, null),
            ("dot-dot", Path.Combine(sub, ".."), null),
            ("dot", Path.Combine(dir, "."), null),
            ("other", sub, null),
            ("plain again", dir, null),
        ], probes, out _);

        Assert.Equal(["plain", "other"], probes.Select(p => p.Source));
        Assert.Equal(probes.Count, probes.Select(p => p.Path).Distinct().Count());
    }

    [Fact]
    public void Rid_folders_come_in_fallback_order_before_the_app_directory()
    {
        using var temp = new TempDirectory();
        using var env = new EnvironmentScope().Set(NativeLocator.PathVariable, null);
        var rids = NativeLocator.RidFallbacks();
        var candidates = NativeLocator.CandidateDirectories(null, temp.Path).ToList();

        Assert.NotEmpty(rids);
        Assert.Equal(RuntimeInformation.RuntimeIdentifier, rids[0]);
        Assert.Equal(rids.Count, rids.Distinct().Count());
        Assert.DoesNotContain(candidates, c => c.Source == NativeLocator.PathVariable || c.Source == "NativeRuntime.SearchDirectory");

        int app = candidates.FindIndex(c => c.Source == "app directory");
        Assert.True(app >= 0, "the app directory is probed");
        Assert.Equal(temp.Path, candidates[app].Directory);
        var ridDirs = candidates.Take(app).Where(c => c.Source.StartsWith("app runtimes/", StringComparison.Ordinal)).ToList();
        Assert.Equal(rids.Select(r => Path.Combine(temp.Path, "runtimes", r, "native")), ridDirs.Select(c => c.Directory));
        Assert.Equal(rids.Select(r => $"app runtimes/{r}/native"), ridDirs.Select(c => c.Source));
        // The RID folders are the last thing before the app directory itself.
        Assert.Equal(ridDirs, candidates.Skip(app - rids.Count).Take(rids.Count));
    }

    [Fact]
    public void Musl_and_glibc_rids_never_fall_back_to_each_other()
    {
        var rids = NativeLocator.RidFallbacks();
        if (!OperatingSystem.IsLinux()) return;
        bool musl = rids.Any(r => r.Contains("musl", StringComparison.Ordinal));
        bool glibc = rids.Any(r => r.StartsWith("linux-", StringComparison.Ordinal) && !r.Contains("musl", StringComparison.Ordinal));
        Assert.False(musl && glibc, "RIDs: " + string.Join(", ", rids));
    }

    [Fact]
    public void Explicit_directory_then_the_environment_variable_come_first()
    {
        using var temp = new TempDirectory();
        string fromEnv = temp.Sub("env"), explicitDir = temp.Sub("explicit");
        using var env = new EnvironmentScope().Set(NativeLocator.PathVariable, fromEnv);

        var candidates = NativeLocator.CandidateDirectories(explicitDir, temp.Sub("app")).ToList();

        Assert.Equal(("NativeRuntime.SearchDirectory", explicitDir, (string?)null), candidates[0]);
        Assert.Equal((NativeLocator.PathVariable, fromEnv, (string?)null), candidates[1]);
        Assert.DoesNotContain(candidates.Skip(2), c => c.Directory == explicitDir || c.Directory == fromEnv);

        var withoutExplicit = NativeLocator.CandidateDirectories(null, temp.Sub("app")).ToList();
        Assert.Equal((NativeLocator.PathVariable, fromEnv, (string?)null), withoutExplicit[0]);

        var emptyExplicit = NativeLocator.CandidateDirectories("", temp.Sub("app")).ToList();
        Assert.Equal((NativeLocator.PathVariable, fromEnv, (string?)null), emptyExplicit[0]);
    }

    [Fact]
    public void The_environment_variable_is_read_at_probe_time_and_an_empty_value_is_ignored()
    {
        using var temp = new TempDirectory();
        using var env = new EnvironmentScope().Set(NativeLocator.PathVariable, "");
        Assert.DoesNotContain(NativeLocator.CandidateDirectories(null, temp.Path), c => c.Source == NativeLocator.PathVariable);
        env.Set(NativeLocator.PathVariable, temp.Path);
        Assert.Contains(NativeLocator.CandidateDirectories(null, temp.Path), c => c.Source == NativeLocator.PathVariable);
    }

    [Fact]
    public void The_cache_variable_moves_the_runtime_cache_and_its_pin_folders_are_probed()
    {
        using var temp = new TempDirectory();
        string cache = temp.Sub("cache");
        using var env = new EnvironmentScope().Set(NativeLocator.CacheVariable, cache);
        Assert.Equal(cache, NativeLocator.CacheRoot());

        string pin = Path.Combine(cache, StableDiffusion.Native.Interop.Sd.UpstreamCommit);
        Directory.CreateDirectory(Path.Combine(pin, "cpu"));
        Directory.CreateDirectory(Path.Combine(pin, "cuda"));
        var cached = NativeLocator.CandidateDirectories(null, temp.Sub("app"))
            .Where(c => c.Source.StartsWith("runtime cache", StringComparison.Ordinal)).Select(c => (c.Source, c.Directory)).ToList();
        string rid = NativeLocator.RidFallbacks()[0];
        // GPU flavors first, then the portable CPU build.
        Assert.Equal(("runtime cache (cuda)", Path.Combine(pin, "cuda", "runtimes", rid, "native")), cached[0]);
        Assert.Contains(("runtime cache (cpu)", Path.Combine(pin, "cpu", "runtimes", rid, "native")), cached);
        Assert.True(cached.FindIndex(c => c.Source == "runtime cache (cuda)") < cached.FindIndex(c => c.Source == "runtime cache (cpu)"));
    }

    [Fact]
    public void The_runtime_exception_carries_the_probes()
    {
        var probes = new List<NativeProbe> { new("somewhere", "/nowhere/" + NativeLocator.LibraryFileName, "not found") };
        var e = new NativeRuntimeException(NativeLocator.DescribeFailure(probes), probes);
        Assert.Same(probes, e.Probes);
        Assert.Contains("/nowhere/", e.Message);
    }
}
