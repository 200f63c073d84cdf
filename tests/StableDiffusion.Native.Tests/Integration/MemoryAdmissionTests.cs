using System.Diagnostics;

namespace StableDiffusion.Native.Tests.Integration;

/// <summary>
/// A generation whose attention alone needs more memory than the process can get is refused before native code: where
/// the operating system overcommits, upstream's allocation would succeed and the process would be killed on touching it.
/// </summary>
[Collection(NativeAloneCollection.Name)]
public sealed class MemoryAdmissionTests(TinyGeneratorFixture fixture)
{
    [SkippableFact]
    public void A_generation_the_process_cannot_hold_is_refused_at_once_and_the_generator_still_generates()
    {
        var generator = fixture.Generator;
        var clock = Stopwatch.StartNew();
        // 8192×8192: 1,048,576 positions at the UNet's first level, 8 heads: 35 TB of scores.
        var e = Assert.Throws<GenerationTooLargeException>(() => generator.Generate(NativeTestEnvironment.Small() with { Width = 8192, Height = 8192 }));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"refused after {clock.Elapsed}");
        Assert.Equal((long)(4.0 * 1_048_576 * 1_048_576 * 8), e.RequiredBytes);
        // A hires pass to that size is refused the same way, before the first pass runs.
        Assert.Throws<GenerationTooLargeException>(() => generator.Generate(NativeTestEnvironment.Small() with
        {
            Hires = new HiresFix { TargetWidth = 8192, TargetHeight = 8192 },
        }));
        Assert.Single(generator.Generate(NativeTestEnvironment.Small()));
    }

    [SkippableFact]
    public void In_a_memory_cgroup_a_generation_past_its_limit_is_refused_where_it_would_be_killed()
    {
        NativeTestEnvironment.Require();
        string? root = MemoryCgroupRoot();
        Skip.If(root is null, "no writable cgroup v1 memory controller here (Linux as root): the cgroup-limited child cannot be set up");
        string group = Path.Combine(root!, "sdnet-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(group);
        string dir = Directory.CreateTempSubdirectory("sdnet-cgroup-").FullName;
        try
        {
            // The tiny model and the runtime fit in 1.5 GB; a 768×768 generation's UNet scores alone are 2.7 GB. Without
            // the check, the kernel's OOM killer ends the child (exit 137) once upstream touches them.
            File.WriteAllText(Path.Combine(group, "memory.limit_in_bytes"), (1536L << 20).ToString());
            string withSwap = Path.Combine(group, "memory.memsw.limit_in_bytes");
            if (File.Exists(withSwap)) File.WriteAllText(withSwap, (1536L << 20).ToString());
            var large = RunIn(group, dir, "768", "large.png");
            Assert.True(large.ExitCode == 2, $"expected the refusal's exit code 2\n{large}");
            Assert.Contains("needs at least 2.7 GB of working memory for the UNet's attention", large.Stderr);
            Assert.False(File.Exists(Path.Combine(dir, "large.png")));
            // The limit leaves room for what fits.
            var small = RunIn(group, dir, "64", "small.png");
            Assert.True(small.ExitCode == 0, small.ToString());
            Assert.True(File.Exists(Path.Combine(dir, "small.png")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            Directory.Delete(group);
        }
    }

    /// <summary>Runs <c>sdnet generate</c> at <paramref name="size"/> inside the cgroup <paramref name="group"/>.</summary>
    private static Cli.ChildProcess.Result RunIn(string group, string dir, string size, string output)
    {
        var psi = new ProcessStartInfo("/bin/sh") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // The shell joins the group, then becomes the child: nothing runs outside the limit.
        foreach (string a in new[]
        {
            "-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"", group,
            Cli.ChildProcess.DotnetHost, Cli.ChildProcess.SdnetDll, "generate", "-m", NativeTestEnvironment.TinySd1, "-p", "a lighthouse",
            "-W", size, "-H", size, "--steps", "1", "-s", "3", "-t", NativeTestEnvironment.ThreadsArgument, "-o", output,
        })
            psi.ArgumentList.Add(a);
        return Cli.ChildProcess.Run(psi, TimeSpan.FromMinutes(3));
    }

    /// <summary>The cgroup v1 memory hierarchy's root, when this process may create a group in it.</summary>
    private static string? MemoryCgroupRoot()
    {
        const string root = "/sys/fs/cgroup/memory";
        if (!OperatingSystem.IsLinux() || !File.Exists(Path.Combine(root, "cgroup.procs"))) return null;
        string probe = Path.Combine(root, "sdnet-probe-" + Environment.ProcessId);
        try
        {
            Directory.CreateDirectory(probe);
            bool ok = File.Exists(Path.Combine(probe, "memory.limit_in_bytes"));
            Directory.Delete(probe);
            return ok ? root : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
