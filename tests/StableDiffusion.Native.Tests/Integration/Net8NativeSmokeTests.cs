namespace StableDiffusion.Native.Tests.Integration;

/// <summary>
/// The net8.0 build of the library against the native runtime, once: the native integration suite runs on net10.0 only
/// (the interop, mappers and native code are the same for both targets; running every native test twice doubled CI),
/// and this proves the net8.0 assembly loads the runtime, passes the ABI check and generates.
/// </summary>
[Collection(NativeToolCollection.Name)]
public sealed class Net8NativeSmokeTests
{
    [SkippableFact]
    public void The_net8_library_loads_the_runtime_and_generates_the_same_pixels_for_the_same_seed()
    {
        var info = NativeTestEnvironment.Require();
        Assert.Equal(StableDiffusion.Native.Interop.Sd.UpstreamCommit, info.SdCommit);
        Assert.Equal(8, Environment.Version.Major);

        // One thread, as every native test's (NativeTestEnvironment.Threads): this host runs beside the net10.0 one.
        using var generator = Generator.Load(NativeTestEnvironment.TinyOptions);
        var first = generator.TextToImage(NativeTestEnvironment.Small(seed: 7))[0];
        var second = generator.TextToImage(NativeTestEnvironment.Small(seed: 7))[0];

        Assert.Equal((64, 64), (first.Image.Width, first.Image.Height));
        Assert.Equal(7, first.Seed);
        PixelAssert.Identical(first.Image, second.Image);
    }
}
