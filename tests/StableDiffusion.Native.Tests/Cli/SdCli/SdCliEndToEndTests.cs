using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.Tests.Integration;
using StableDiffusion.Native.TestModels;
using Xunit.Abstractions;

namespace StableDiffusion.Native.Tests.Cli.SdCli;

/// <summary>The real tool, with the native runtime, on an sd-cli style command line (skipped without a runtime).</summary>
[Collection(NativeToolCollection.Name)]
public sealed class SdCliEndToEndTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void Generate_runs_an_sd_cli_command_line_with_a_cache_previews_and_numbered_outputs()
    {
        NativeTestEnvironment.Require();
        using var temp = new TempDirectory("sdnet-e2e");
        string preview = Path.Combine(temp.Path, "preview.png");
        var result = ChildProcess.RunSdnet(ChildProcess.SdnetDll, temp.Path, new Dictionary<string, string?>(),
            "generate", "-m", NativeTestEnvironment.TinySd1, "-p", "a lighthouse at dusk", "-W", "64", "-H", "64", "--steps", "2",
            "--sampling-method", "euler", "--scheduler", "karras", "-s", "42", "-b", "2", "-t", NativeTestEnvironment.ThreadsArgument,
            "--cache-mode", "ucache", "--cache-option", "threshold=1.5,reset=0",
            "--preview", "proj", "--preview-path", preview, "--preview-interval", "1",
            "-o", Path.Combine(temp.Path, "out", "img_%02d.png"), "--output-begin-idx", "3", "-v");
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());

        // -o with %02d numbers each image from --output-begin-idx, in a folder made for it; each PNG carries its seed.
        string first = Path.Combine(temp.Path, "out", "img_03.png"), second = Path.Combine(temp.Path, "out", "img_04.png");
        Assert.Equal(42, GenerationParameters.Read(first)!.Seed);
        Assert.Equal(43, GenerationParameters.Read(second)!.Seed);
        Assert.Equal(Scheduler.Karras, GenerationParameters.Read(first)!.Scheduler);
        // The typed cache reached upstream as sd-cli's --cache-option would have set it.
        Assert.Contains("UCache enabled - threshold: 1.500", result.Stderr);
        Assert.Contains("reset: false", result.Stderr);
        Assert.Contains($"seed 42 -> {first} (64x64)", result.Stdout);
        Assert.Contains($"seed 43 -> {second} (64x64)", result.Stdout);
        // The preview file was written (a projection of the latent) and nothing was left half-written beside it.
        Assert.True(File.Exists(preview), "no preview file");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(preview)[..4]);
        Assert.False(File.Exists(preview + ".part"));
    }

    [SkippableFact]
    public void Generate_writes_a_png_without_parameters_when_told_and_upscales_with_the_esrgan_model()
    {
        NativeTestEnvironment.Require();
        using var temp = new TempDirectory("sdnet-e2e");
        string esrgan = ExtraTestModels.Esrgan();
        string outPath = Path.Combine(temp.Path, "plain.png");
        var result = ChildProcess.RunSdnet(ChildProcess.SdnetDll, temp.Path, new Dictionary<string, string?>(),
            "generate", "-m", NativeTestEnvironment.TinySd1, "-p", "a lighthouse", "-W", "64", "-H", "64", "--steps", "1", "-s", "7", "-t", NativeTestEnvironment.ThreadsArgument,
            "--disable-image-metadata", "--upscale-model", esrgan, "--upscale-repeats", "1", "-o", outPath);
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Null(GenerationParameters.Read(outPath));
        Assert.Contains($"-> {outPath} (", result.Stdout);
        Assert.DoesNotContain("(64x64)", result.Stdout); // the ESRGAN pass enlarged it
    }

    [SkippableFact]
    public void Video_writes_an_animated_png_of_every_frame()
    {
        NativeTestEnvironment.Require();
        var wan = FamilyTestModels.Wan21T2V();
        using var temp = new TempDirectory("sdnet-e2e");
        string apng = Path.Combine(temp.Path, "clip.png");
        // An sd-cli vid_gen line (docs/wan.md) at the test model's size.
        var result = ChildProcess.RunSdnet(ChildProcess.SdnetDll, temp.Path, new Dictionary<string, string?>(),
            "video", "-M", "vid_gen", "--diffusion-model", wan.DiffusionModel, "--vae", wan.Vae, "--t5xxl", wan.T5xxl!,
            "-p", "a lovely cat", "--cfg-scale", "1.0", "--sampling-method", "euler", "-W", "32", "-H", "32", "--video-frames", "5",
            "--steps", "2", "--flow-shift", "3.0", "-s", "42", "-t", NativeTestEnvironment.ThreadsArgument, "-o", apng);
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        byte[] bytes = File.ReadAllBytes(apng);
        int frames = 0;
        for (int i = bytes.AsSpan().IndexOf("fcTL"u8); i >= 0; i = bytes.AsSpan(i + 4).IndexOf("fcTL"u8) is int j and >= 0 ? i + 4 + j : -1) frames++;
        Assert.Equal(5, frames);
        Assert.Equal(42, GenerationParameters.Read(apng)!.Seed);
        Assert.Contains($"seed 42 -> {apng} (5 frames, 32x32, 16 fps)", result.Stdout);
    }
}
