using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Tests.ModelFiles;

/// <summary><c>NAME.model.json</c>: a model of several files and its recommended settings, loaded by one name.</summary>
public sealed class ModelManifestTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sdnet-manifest-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string json)
    {
        string path = Path.Combine(_dir, name + ModelManifest.Extension);
        File.WriteAllText(path, json);
        return path;
    }

    private string Touch(string relative)
    {
        string path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, [0]);
        return path;
    }

    [Fact]
    public void A_manifest_wins_over_shared_settings_and_a_callers_own_files_win_over_a_manifest()
    {
        string dit = Touch("dit.gguf"), vae = Touch("vae.safetensors"), sharedVae = Touch("shared-vae.safetensors"), llm = Touch("llm.gguf");
        var manifest = ModelManifest.Load(Write("m", """{"diffusion_model": "dit.gguf", "vae": "vae.safetensors"}"""));
        var shared = new GeneratorOptions { VaePath = sharedVae, LlmPath = llm, Threads = 3 };

        // Serve's shape: the manifest's files, the shared settings, and shared files where the manifest names none.
        var served = GeneratorOptions.FromManifest(manifest, shared);
        Assert.Equal((dit, vae, llm, 3), (served.DiffusionModelPath, served.VaePath, served.LlmPath, served.Threads));
        Assert.Null(served.ModelPath);

        // The CLI's and the configuration's shape: what the caller gives wins, the manifest fills the rest.
        var given = new GeneratorOptions { VaePath = sharedVae, Threads = 5 }.WithComponentsFrom(GeneratorOptions.FromManifest(manifest));
        Assert.Equal((dit, sharedVae, 5), (given.DiffusionModelPath, given.VaePath, given.Threads));
        Assert.Null(given.LlmPath);

        // Every component a manifest can name moves, and nothing else does.
        var all = new GeneratorOptions
        {
            ModelPath = "m", DiffusionModelPath = "d", HighNoiseDiffusionModelPath = "h", VaePath = "v", TaesdPath = "t", ClipLPath = "l",
            ClipGPath = "g", ClipVisionPath = "cv", T5xxlPath = "t5", LlmPath = "llm", LlmVisionPath = "lv", ControlNetPath = "cn", Threads = 9,
        };
        var f = new GeneratorOptions().WithComponentsFrom(all);
        Assert.Equal(new string?[] { "m", "d", "h", "v", "t", "l", "g", "cv", "t5", "llm", "lv" },
            new[] { f.ModelPath, f.DiffusionModelPath, f.HighNoiseDiffusionModelPath, f.VaePath, f.TaesdPath, f.ClipLPath, f.ClipGPath, f.ClipVisionPath, f.T5xxlPath, f.LlmPath, f.LlmVisionPath });
        Assert.Null(f.ControlNetPath);
        Assert.Null(f.Threads);
    }

    [Fact]
    public void A_manifest_names_its_components_relative_to_itself_and_its_defaults()
    {
        string dit = Touch("flux/flux1-dev-q4_0.gguf"), vae = Touch("ae.safetensors"), clip = Touch("clip_l.safetensors");
        string t5 = Path.Combine(Directory.CreateTempSubdirectory("sdnet-elsewhere-").FullName, "t5.safetensors");
        File.WriteAllBytes(t5, [0]);
        try
        {
            string path = Write("flux-dev", $$"""
                {"diffusion_model": "flux/flux1-dev-q4_0.gguf", "vae": "ae.safetensors", "clip_l": "./clip_l.safetensors",
                 "t5xxl": {{System.Text.Json.JsonSerializer.Serialize(t5)}},
                 "defaults": {"steps": 28, "cfg_scale": 1, "sampler": "euler", "scheduler": "simple", "flow_shift": 3.5} }
                """);
            var manifest = ModelManifest.Load(path);
            Assert.Equal("flux-dev", manifest.Name);
            Assert.Equal((dit, vae, clip, t5), (manifest.DiffusionModel, manifest.Vae, manifest.ClipL, manifest.T5xxl));
            Assert.Null(manifest.Model);
            Assert.Equal(new ModelDefaults { Steps = 28, CfgScale = 1, Sampler = Sampler.Euler, Scheduler = Scheduler.Simple, FlowShift = 3.5f }, manifest.Defaults);

            // By name from the folder, as the CLI's -m NAME and GeneratorOptions.FromModel take it.
            var folder = new ModelsFolder(_dir);
            Assert.Equal(path, folder.Resolve("flux-dev"));
            var options = GeneratorOptions.FromModel("flux-dev", folder);
            Assert.Equal((dit, vae, clip, t5), (options.DiffusionModelPath, options.VaePath, options.ClipLPath, options.T5xxlPath));
            Assert.Null(options.ModelPath);

            // Defaults fill only what a request leaves unset.
            var sampling = new SamplingOptions { Steps = 4 }.WithDefaults(manifest.Defaults);
            Assert.Equal((4, 1f, Sampler.Euler, Scheduler.Simple, 3.5f), (sampling.Steps, sampling.CfgScale, sampling.Sampler, sampling.Scheduler, sampling.FlowShift));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(t5)!, recursive: true);
        }
    }

    [Theory]
    [InlineData("""{"model": "m.safetensors", "vea": "ae.safetensors"}""", "unknown field 'vea'")]
    [InlineData("""{"model": "m.safetensors", "vae": "missing.safetensors"}""", "field 'vae': the file")]
    [InlineData("""{"model": 5}""", "field 'model' must be a file name")]
    [InlineData("""{"vae": "m.safetensors"}""", "names no 'model' or 'diffusion_model'")]
    [InlineData("""{"model": "m.safetensors", "defaults": {"steps": 2.5}}""", "field 'defaults.steps' must be an integer")]
    [InlineData("""{"model": "m.safetensors", "defaults": {"steps": 0}}""", "field 'defaults.steps'")]
    [InlineData("""{"model": "m.safetensors", "defaults": {"sampler": "warp"}}""", "field 'defaults.sampler': unknown sampler 'warp'")]
    [InlineData("""{"model": "m.safetensors", "defaults": {"seed": 1}}""", "unknown field 'defaults.seed'")]
    [InlineData("""{"model": "m.safetensors", "defaults": []}""", "field 'defaults' must be an object")]
    [InlineData("""["m.safetensors"]""", "must be a JSON object")]
    [InlineData("""{"model": "m.safetensors",""", "not valid JSON")]
    public void A_bad_manifest_is_refused_naming_the_file_and_the_field(string json, string expected)
    {
        Touch("m.safetensors");
        string path = Write("bad", json);
        var e = Assert.Throws<InvalidModelFileException>(() => ModelManifest.Load(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_too_large_to_be_a_manifest_is_refused_before_it_is_read()
    {
        string path = Write("huge", "{\"model\": \"" + new string('a', ModelManifest.MaxBytes) + "\"}");
        Assert.Equal(InvalidModelFileReason.HeaderTooLarge, Assert.Throws<InvalidModelFileException>(() => ModelManifest.Load(path)).Reason);
    }
}
