using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Tests.Integration;

namespace StableDiffusion.Native.Tests.Cli;

/// <summary><c>sdnet generate -m NAME</c> where NAME is a <c>NAME.model.json</c> manifest.</summary>
/// <remarks>In the tool lane because its sdnet children generate (see <see cref="NativeToolCollection"/>).</remarks>
[Collection(NativeToolCollection.Name)]
public sealed class ModelManifestCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sdnet-manifest-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Write(string name, string json) => File.WriteAllText(Path.Combine(_dir, name + ModelManifest.Extension), json);

    [SkippableFact]
    public void Sdnet_generate_loads_a_model_by_its_manifest_and_applies_its_defaults_unless_a_flag_says_otherwise()
    {
        NativeTestEnvironment.Require();
        File.Copy(NativeTestEnvironment.TinySd1, Path.Combine(_dir, "tiny.safetensors"));
        Write("tiny-tuned", """{"model": "tiny.safetensors", "defaults": {"steps": 3, "cfg_scale": 4.5, "sampler": "euler"}}""");
        string tuned = Path.Combine(_dir, "tuned.png"), overridden = Path.Combine(_dir, "overridden.png");
        var first = ChildProcess.RunSdnet(ChildProcess.SdnetDll, _dir, new Dictionary<string, string?>(),
            "generate", "-m", "tiny-tuned", "--dir", _dir, "-p", "a lighthouse", "-W", "64", "-H", "64", "-s", "1", "-t", NativeTestEnvironment.ThreadsArgument, "-o", tuned);
        Assert.True(first.ExitCode == 0, first.ToString());
        var parameters = GenerationParameters.Read(tuned)!;
        Assert.Equal((3, 4.5f, Sampler.Euler), (parameters.Steps, parameters.CfgScale, parameters.Sampler));

        var second = ChildProcess.RunSdnet(ChildProcess.SdnetDll, _dir, new Dictionary<string, string?>(),
            "generate", "-m", "tiny-tuned", "--dir", _dir, "-p", "a lighthouse", "-W", "64", "-H", "64", "-s", "1", "-t", NativeTestEnvironment.ThreadsArgument, "--steps", "2", "-o", overridden);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal((2, 4.5f), (GenerationParameters.Read(overridden)!.Steps, GenerationParameters.Read(overridden)!.CfgScale));

        Write("broken", """{"model": "tiny.safetensors", "vea": "x"}""");
        var broken = ChildProcess.RunSdnet(ChildProcess.SdnetDll, _dir, new Dictionary<string, string?>(),
            "generate", "-m", "broken", "--dir", _dir, "-p", "x", "-o", Path.Combine(_dir, "never.png"));
        Assert.NotEqual(0, broken.ExitCode);
        Assert.Contains("unknown field 'vea'", broken.Stderr, StringComparison.Ordinal);
        Assert.Contains("broken.model.json", broken.Stderr, StringComparison.Ordinal);
    }
}
