using System.CommandLine;
using System.Text;
using StableDiffusion.Native.Cli;
using StableDiffusion.Native.Cli.SdCli;

namespace StableDiffusion.Native.Tests.Cli.SdCli;

/// <summary>The sd-cli flag table: complete against upstream's sources, true to the commands, and the same as its document.</summary>
public sealed class SdCliFlagTableTests
{
    /// <summary>
    /// Every flag sd-cli has at the pinned commit, with its one-letter alias: the long and short names of every entry
    /// of the option tables in examples/cli/main.cpp (SDCliParams::get_options) and examples/common/common.cpp
    /// (SDContextParams and SDGenerationParams::get_options), in that order, plus the --version main() reads first.
    /// Extracted from those sources when this test was written; a new pin must extract it again.
    /// </summary>
    internal static readonly string[] Upstream =
    [
        "--output -o", "--image", "--metadata-format", "--preview-path", "--imat-out", "--preview-interval",
        "--output-begin-idx", "--canny", "--convert-name", "--verbose -v", "--color", "--taesd-preview-only",
        "--preview-noisy", "--metadata-raw", "--metadata-brief", "--metadata-all", "--mode -M", "--preview", "--help -h",
        "--imat-in", "--model -m", "--clip_l", "--clip_g", "--clip_vision", "--t5xxl", "--llm", "--llm_vision", "--qwen2vl",
        "--qwen2vl_vision", "--diffusion-model", "--high-noise-diffusion-model", "--uncond-diffusion-model",
        "--embeddings-connectors", "--vae", "--vae-format", "--audio-vae", "--taesd", "--tae", "--control-net", "--ip-adapter",
        "--motion-module", "--embd-dir", "--lora-model-dir", "--hires-upscalers-dir", "--tensor-type-rules", "--model-args",
        "--photo-maker", "--pulid-weights", "--upscale-model", "--backend", "--params-backend", "--split-mode",
        "--rpc-servers", "--max-vram", "--threads -t", "--stream-layers", "--eager-load", "--auto-fit",
        "--force-sdxl-vae-conv-scale", "--offload-to-cpu", "--mmap", "--control-net-cpu", "--clip-on-cpu", "--vae-on-cpu",
        "--fa", "--diffusion-fa", "--diffusion-conv-direct", "--vae-conv-direct", "--type", "--rng", "--sampler-rng",
        "--prediction", "--lora-apply-mode", "--list-devices", "--prompt -p", "--negative-prompt -n", "--ad-model",
        "--ad-prompt", "--ad-negative-prompt", "--extra-ad-args", "--init-img -i", "--end-img", "--mask", "--control-image",
        "--ip-adapter-image", "--control-video", "--pm-id-images-dir", "--pm-id-embed-path", "--pulid-id-embedding",
        "--hires-upscaler", "--extra-sample-args", "--extra-tiling-args", "--ref-image-args", "--height -H", "--width -W",
        "--steps", "--high-noise-steps", "--clip-skip", "--batch-count -b", "--qwen-image-layers", "--video-frames", "--fps",
        "--timestep-shift", "--upscale-repeats", "--upscale-tile-size", "--hires-width", "--hires-height", "--hires-steps",
        "--hires-upscale-tile-size", "--cfg-scale", "--img-cfg-scale", "--guidance", "--slg-scale", "--skip-layer-start",
        "--skip-layer-end", "--eta", "--flow-shift", "--high-noise-cfg-scale", "--high-noise-img-cfg-scale",
        "--high-noise-guidance", "--high-noise-slg-scale", "--high-noise-skip-layer-start", "--high-noise-skip-layer-end",
        "--high-noise-eta", "--strength", "--pm-style-strength", "--pulid-id-weight", "--control-strength",
        "--ip-adapter-strength", "--moe-boundary", "--vace-strength", "--vae-tile-overlap", "--hires-scale",
        "--hires-denoising-strength", "--increase-ref-index", "--disable-auto-resize-ref-image", "--circular", "--circularx",
        "--circulary", "--disable-image-metadata", "--vae-tiling", "--temporal-tiling", "--hires", "--seed -s",
        "--sampling-method", "--high-noise-sampling-method", "--scheduler", "--sigmas", "--hires-sigmas", "--skip-layers",
        "--high-noise-skip-layers", "--ref-image -r", "--ref-video", "--ref-video-audio", "--ref-audio", "--cache-mode",
        "--cache-option", "--scm-mask", "--scm-policy", "--vae-tile-size", "--vae-relative-tile-size", "--prompt-file",
        "--negative-prompt-file", "--version",
    ];

    private static IEnumerable<(string Long, string? Short)> UpstreamFlags
        => Upstream.Select(e => e.Split(' ')).Select(p => (p[0], p.Length > 1 ? p[1] : null));

    [Fact]
    public void The_table_has_every_flag_sd_cli_has_and_no_other()
    {
        Assert.Equal(164, Upstream.Length);
        var table = SdCliFlags.All.Select(f => (f.Name, f.Short)).ToList();
        Assert.Equal(table.Count, table.Distinct().Count());
        var missing = UpstreamFlags.Except(table).ToList();
        var extra = table.Except(UpstreamFlags).ToList();
        Assert.True(missing.Count == 0, "not in the table: " + string.Join(", ", missing));
        Assert.True(extra.Count == 0, "not an sd-cli flag (or a wrong short name): " + string.Join(", ", extra));
        // Each row says what the flag does in sdnet, or why it does nothing there.
        Assert.All(SdCliFlags.All, f => Assert.False(string.IsNullOrWhiteSpace(f.Supported ? f.Sdnet : f.NotApplicable), f.Name));
    }

    public static TheoryData<string> Commands => new() { "generate", "video" };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Each_supported_flag_and_its_short_and_old_names_are_options_of_the_command(string name)
    {
        var command = name == "video" ? VideoCommand.Create() : GenerateCommand.Create();
        var root = new RootCommand { command };
        var names = command.Options.Concat(root.Options.Where(o => o.Recursive)).SelectMany(o => o.Aliases.Append(o.Name)).ToHashSet();
        foreach (var flag in SdCliFlags.All)
        {
            // Hidden options take the flags sdnet does not act on, so they get a reason rather than "unrecognized".
            Assert.True(names.Contains(flag.Name), $"{name} lacks {flag.Name}");
            if (flag.Short is { } s) Assert.True(names.Contains(s), $"{name} lacks {s} ({flag.Name})");
            foreach (string alias in flag.Aliases) Assert.True(names.Contains(alias), $"{name} lacks {alias} ({flag.Name})");
            var option = command.Options.FirstOrDefault(o => o.Name == flag.Name || o.Aliases.Contains(flag.Name));
            if (flag.Name != "--help") Assert.Equal(!flag.Supported, option!.Hidden);
        }
    }

    [Fact]
    public void Serve_takes_every_model_loading_flag()
    {
        var serve = StableDiffusion.Native.Cli.Serve.ServeCommand.Create();
        var names = serve.Options.SelectMany(o => o.Aliases.Append(o.Name)).ToHashSet();
        foreach (var flag in SdCliFlags.All.Where(f => f.LoadsModel))
            Assert.True(names.Contains(flag.Name), $"serve lacks {flag.Name}");
    }

    public static TheoryData<string> Refused => [.. SdCliFlags.All.Where(f => !f.Supported && !f.Ignored).Select(f => f.Name)];

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_flag_sdnet_does_not_take_is_refused_with_its_reason(string name)
    {
        using var h = new SdCliHarness();
        var flag = SdCliFlags.Get(name);
        string[] args = flag.Value.Length == 0 ? [name] : [name, "x"];
        string message = h.ErrorOf("generate", args);
        Assert.StartsWith($"{name} is not applicable to sdnet: ", message);
        Assert.Contains(flag.NotApplicable!, message);
    }

    [Fact]
    public void An_ignored_flag_is_accepted_with_a_warning()
    {
        using var h = new SdCliHarness();
        var (plan, log) = h.Generate("--color", "-p", "x");
        Assert.Equal("x", plan.Image!.Prompt);
        Assert.Contains(log.Warnings, w => w.Contains("--color is ignored", StringComparison.Ordinal));
    }

    private const string Begin = "<!-- sd-cli flags: generated from SdCliFlags.All by SdCliFlagTableTests; SDNET_WRITE_DOCS=1 rewrites it -->";
    private const string End = "<!-- end of sd-cli flags -->";

    /// <summary>The table of docs/sd-cli-flags.md, rendered from <see cref="SdCliFlags.All"/>.</summary>
    internal static string RenderTable()
    {
        static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);
        static string Code(string text) => "`" + text + "`";
        var md = new StringBuilder();
        md.Append(Begin).Append('\n');
        md.Append("| sd-cli flag | value | what sd-cli sets | sdnet |\n|---|---|---|---|\n");
        foreach (var f in SdCliFlags.All)
        {
            string names = f.Short is null ? Code(f.Name) : Code(f.Short) + ", " + Code(f.Name);
            string sdnet = f.Supported
                ? "same flag" + (f.Aliases.Count > 0 ? " (also " + string.Join(", ", f.Aliases.Select(Code)) + ")" : "")
                  + (f.LoadsModel ? "; `serve` too" : "") + ": " + f.Sdnet
                : (f.Ignored ? "accepted and ignored: " : "not applicable: ") + f.NotApplicable;
            md.Append("| ").Append(Cell(names)).Append(" | ").Append(f.Value.Length == 0 ? "" : Cell(Code(f.Value)))
              .Append(" | ").Append(Cell(f.Sets)).Append(" | ").Append(Cell(sdnet)).Append(" |\n");
        }
        md.Append(End);
        return md.ToString();
    }

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "StableDiffusion.Native.sln"))) return dir.FullName;
        throw new InvalidOperationException("no checkout above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void The_document_shows_the_table()
    {
        string path = Path.Combine(RepoRoot(), "docs", "sd-cli-flags.md");
        string text = File.ReadAllText(path).ReplaceLineEndings("\n");
        int begin = text.IndexOf(Begin, StringComparison.Ordinal), end = text.IndexOf(End, StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, $"{path} has no generated table between its markers");
        string expected = RenderTable();
        string actual = text[begin..(end + End.Length)];
        if (actual != expected && Environment.GetEnvironmentVariable("SDNET_WRITE_DOCS") == "1")
        {
            File.WriteAllText(path, text[..begin] + expected + text[(end + End.Length)..]);
            actual = expected;
        }
        Assert.True(actual == expected, "docs/sd-cli-flags.md is out of date with SdCliFlags.All: run this test with SDNET_WRITE_DOCS=1 to rewrite its table.");
    }
}
