using StableDiffusion.Native.Native;
using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Tests.Native;

/// <summary>
/// The per-user folders the library creates are private, and native code is not loaded from a cache folder that
/// other accounts can write.
/// </summary>
[Collection(NativeEnvironmentCollection.Name)]
public sealed class PrivateFolderTests
{
    private static string CacheEntry(string cache, string entry)
    {
        string dir = Path.Combine(cache, StableDiffusion.Native.Interop.Sd.UpstreamCommit, entry, "runtimes", NativeLocator.RidFallbacks()[0], "native");
        // As the build's cache target leaves it, whatever this process's umask.
        UserDirectories.CreatePrivate(dir);
        string lib = Path.Combine(dir, NativeLocator.LibraryFileName);
        File.WriteAllText(lib, "not a library");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(lib, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return dir;
    }

    [Fact]
    public void A_world_writable_runtime_cache_folder_is_refused_with_its_fix()
    {
        if (OperatingSystem.IsWindows()) return; // %LOCALAPPDATA% is per-user by ACL
        using var temp = new TempDirectory();
        string cache = temp.Sub("cache");
        string dir = CacheEntry(cache, "cpu-open");
        File.SetUnixFileMode(Path.GetDirectoryName(Path.GetDirectoryName(dir))!, (UnixFileMode)0x1FF); // 0777 on runtimes/
        using var env = new EnvironmentScope().Set(NativeLocator.CacheVariable, cache).Set(NativeLocator.PathVariable, null);

        var probes = new List<NativeProbe>();
        nint handle = NativeLocator.TryLoad(NativeLocator.CandidateDirectories(null, temp.Sub("app"))
            .Where(c => c.Source.StartsWith("runtime cache", StringComparison.Ordinal)), probes, out _);

        Assert.Equal(0, handle);
        var probe = Assert.Single(probes);
        Assert.StartsWith("refused: ", probe.Outcome);
        Assert.Contains("writable by other users (mode 777)", probe.Outcome);
        Assert.Contains("chmod -R go-w", probe.Outcome);
        Assert.Contains("chmod -R go-w", NativeLocator.DescribeFailure(probes));
    }

    [Fact]
    public void A_world_writable_library_in_a_private_folder_is_refused()
    {
        if (OperatingSystem.IsWindows()) return;
        using var temp = new TempDirectory();
        string cache = temp.Sub("cache");
        string dir = CacheEntry(cache, "cpu-file");
        File.SetUnixFileMode(Path.Combine(dir, NativeLocator.LibraryFileName), (UnixFileMode)0x1B6); // 0666
        Assert.Contains("writable by other users (mode 666)", UserDirectories.WhyNotPrivate(dir, cache, NativeLocator.CacheVariable));
    }

    [Fact]
    public void A_private_runtime_cache_folder_is_probed()
    {
        if (OperatingSystem.IsWindows()) return;
        using var temp = new TempDirectory();
        string cache = temp.Sub("cache");
        string dir = CacheEntry(cache, "cpu-private");
        using var env = new EnvironmentScope().Set(NativeLocator.CacheVariable, cache).Set(NativeLocator.PathVariable, null);

        var probes = new List<NativeProbe>();
        NativeLocator.TryLoad(NativeLocator.CandidateDirectories(null, temp.Sub("app"))
            .Where(c => c.Source.StartsWith("runtime cache", StringComparison.Ordinal)), probes, out _);

        // Tried (and refused by the OS loader, since the file is not a library), not skipped.
        var probe = Assert.Single(probes);
        Assert.Equal(Path.Combine(dir, NativeLocator.LibraryFileName), probe.Path);
        Assert.DoesNotContain("refused", probe.Outcome);
        Assert.NotEqual("not found", probe.Outcome);
    }

    [Fact]
    public void Folders_the_library_creates_are_private()
    {
        if (OperatingSystem.IsWindows()) return;
        using var temp = new TempDirectory();
        string nested = Path.Combine(temp.Path, "a", "b", "c");
        UserDirectories.CreatePrivate(nested);
        const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(nested));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(Path.Combine(temp.Path, "a")));
        Assert.Null(UserDirectories.WhyNotPrivate(nested, temp.Path, NativeLocator.CacheVariable));
    }

    [Fact]
    public void The_checkout_probe_follows_the_build_not_the_folders_above_the_app()
    {
        using var temp = new TempDirectory();
        string checkout = temp.Sub("checkout");
        File.WriteAllText(Path.Combine(checkout, "CMakePresets.json"), "{}");
        File.WriteAllText(Path.Combine(checkout, "StableDiffusion.Native.sln"), "");
        using var env = new EnvironmentScope().Set(NativeLocator.DevCheckoutVariable, null);

        // Built in this checkout and run from inside it: probed.
        Assert.Equal(Path.GetFullPath(checkout), NativeLocator.DevCheckout(temp.Sub("checkout", "tests", "bin"), checkout).Checkout);
        // The same markers above an app built elsewhere, or a packaged build: skipped, with the reason.
        var elsewhere = NativeLocator.DevCheckout(temp.Sub("checkout", "tool"), temp.Sub("other"));
        Assert.Null(elsewhere.Checkout);
        Assert.Contains("does not run from inside the checkout", elsewhere.Skip);
        var packaged = NativeLocator.DevCheckout(temp.Sub("checkout", "tool"), null);
        Assert.Null(packaged.Checkout);
        Assert.Contains("packaged build never looks above", packaged.Skip);
        // A sibling whose name starts like the checkout is not inside it.
        Assert.Null(NativeLocator.DevCheckout(temp.Sub("checkout-evil"), checkout).Checkout);
        // Opting in names the checkout explicitly.
        env.Set(NativeLocator.DevCheckoutVariable, checkout);
        Assert.Equal(Path.GetFullPath(checkout), NativeLocator.DevCheckout(temp.Sub("anywhere"), null).Checkout);
    }

    [Fact]
    public void This_test_build_records_its_checkout_and_runs_inside_it()
    {
        // The documented developer path: tests run from the checkout's output folders and find artifacts/native.
        Assert.NotNull(NativeLocator.BuildCheckout);
        Assert.Equal(Path.GetFullPath(NativeLocator.BuildCheckout!), NativeLocator.DevCheckout(AppContext.BaseDirectory, NativeLocator.BuildCheckout).Checkout);
    }
}
