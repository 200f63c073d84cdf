using StableDiffusion.Native.Native;
using Xunit.Abstractions;

namespace StableDiffusion.Native.Tests.Cli;

/// <summary>
/// A shipped app never loads native code from a folder above its own: a fake checkout planted around a copy of
/// sdnet (both marker files and a runtime library of its own) is never probed unless the user opts in.
/// </summary>
public sealed class PlantedCheckoutTests(ITestOutputHelper output)
{
    private static string Plant(TempDirectory temp, out string plantedLibrary)
    {
        string fake = temp.Sub("downloads");
        File.WriteAllText(Path.Combine(fake, "CMakePresets.json"), "{}");
        File.WriteAllText(Path.Combine(fake, "StableDiffusion.Native.sln"), "");
        string native = Path.Combine(fake, "artifacts", "native", "cpu", "runtimes", NativeLocator.RidFallbacks()[0], "native");
        Directory.CreateDirectory(native);
        // Not a library: loading it would fail with the OS loader's error, which the probe list would show.
        plantedLibrary = Path.Combine(native, NativeLocator.LibraryFileName);
        File.WriteAllText(plantedLibrary, "planted\n" + new string('#', 256));
        return fake;
    }

    [Fact]
    public void A_fake_checkout_above_the_app_is_never_probed()
    {
        using var temp = new TempDirectory("sdnet-planted");
        string fake = Plant(temp, out string planted);
        string sdnet = ChildProcess.CopySdnetApp(Path.Combine(fake, "tool"));

        var result = ChildProcess.RunSdnet(sdnet, temp.Sub("cwd"), new Dictionary<string, string?>
        {
            [NativeLocator.PathVariable] = null,
            [NativeLocator.DevCheckoutVariable] = null,
            [NativeLocator.CacheVariable] = temp.Sub("empty-cache"),
        }, "doctor", "-v");
        output.WriteLine(result.ToString());

        Assert.Equal(3, result.ExitCode);
        Assert.DoesNotContain(planted, result.Stderr);
        Assert.DoesNotContain(Path.Combine(fake, "artifacts"), result.Stderr);
        Assert.Contains("skipped: the app does not run from inside the checkout this library was built in", result.Stderr);
    }

    [Fact]
    public void The_same_checkout_is_probed_once_the_user_opts_in()
    {
        using var temp = new TempDirectory("sdnet-optin");
        string fake = Plant(temp, out string planted);
        string sdnet = ChildProcess.CopySdnetApp(Path.Combine(fake, "tool"));

        var result = ChildProcess.RunSdnet(sdnet, temp.Sub("cwd"), new Dictionary<string, string?>
        {
            [NativeLocator.PathVariable] = null,
            [NativeLocator.DevCheckoutVariable] = fake,
            [NativeLocator.CacheVariable] = temp.Sub("empty-cache"),
        }, "doctor", "-v");
        output.WriteLine(result.ToString());

        // Probed, and refused by the OS loader: the opt-in is what made the difference.
        Assert.Equal(3, result.ExitCode);
        Assert.Contains($"[dev build ({NativeLocator.DevCheckoutVariable}) (cpu)] {planted}: ", result.Stderr);
        Assert.DoesNotContain($"{planted}: not found", result.Stderr);
    }
}
