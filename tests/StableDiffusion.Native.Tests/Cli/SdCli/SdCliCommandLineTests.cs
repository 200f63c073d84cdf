using StableDiffusion.Native.Cli.SdCli;

namespace StableDiffusion.Native.Tests.Cli.SdCli;

/// <summary>Whole sd-cli command lines from upstream's documentation, pasted; and bad values, refused naming their flag.</summary>
public sealed class SdCliCommandLineTests : IDisposable
{
    private readonly SdCliHarness h = new();

    public void Dispose() => this.h.Dispose();

    /// <summary>docs/wan.md, Wan2.2 T2V A14B with the lightx2v LoRAs (paths made local), pasted into either command.</summary>
    [Theory]
    [InlineData("generate")]
    [InlineData("video")]
    public void The_wan_2_2_command_line_of_upstream_s_docs_parses_into_a_video_request(string command)
    {
        string loras = Path.Combine(this.h.Dir, "loras");
        Directory.CreateDirectory(loras);
        File.WriteAllBytes(Path.Combine(loras, "wan2.2_t2v_lightx2v_4steps_lora_v1.1_low_noise.safetensors"), [0]);
        File.WriteAllBytes(Path.Combine(loras, "wan2.2_t2v_lightx2v_4steps_lora_v1.1_high_noise.safetensors"), [0]);
        string low = this.h.File("Wan2.2-T2V-A14B-LowNoise-Q8_0.gguf"), high = this.h.File("Wan2.2-T2V-A14B-HighNoise-Q8_0.gguf");
        string[] line =
        [
            "-M", "vid_gen", "--diffusion-model", low, "--high-noise-diffusion-model", high, "--vae", "wan_2.1_vae.safetensors",
            "--t5xxl", "umt5-xxl-encoder-Q8_0.gguf",
            "-p", "a lovely cat<lora:wan2.2_t2v_lightx2v_4steps_lora_v1.1_low_noise:1><lora:|high_noise|wan2.2_t2v_lightx2v_4steps_lora_v1.1_high_noise:1>",
            "--cfg-scale", "3.5", "--sampling-method", "euler", "--steps", "4", "--high-noise-cfg-scale", "3.5", "--high-noise-sampling-method", "euler",
            "--high-noise-steps", "4", "-v", "-n", "色调艳丽，过曝，静态", "-W", "832", "-H", "480", "--diffusion-fa", "--offload-to-cpu",
            "--lora-model-dir", loras, "--video-frames", "33", "--flow-shift", "3.0",
        ];
        var (plan, _) = SdCliHarness.ReadAsIs(command, line);
        Assert.Equal(RunMode.Video, plan.Mode);
        var o = plan.Load!;
        Assert.Equal((low, high, "wan_2.1_vae.safetensors", "umt5-xxl-encoder-Q8_0.gguf"), (o.DiffusionModelPath, o.HighNoiseDiffusionModelPath, o.VaePath, o.T5xxlPath));
        Assert.True(o.DiffusionFlashAttention);
        Assert.Equal("*=cpu", o.ParamsBackend);
        var r = plan.Video!;
        Assert.Equal("a lovely cat", r.Prompt);
        Assert.Equal("色调艳丽，过曝，静态", r.NegativePrompt);
        Assert.Equal([false, true], r.Loras.Select(l => l.HighNoise));
        Assert.All(r.Loras, l => Assert.Equal(1f, l.Multiplier));
        Assert.Equal((832, 480, 33, 4, 3.5f, Sampler.Euler, 3f), (r.Width, r.Height, r.Frames, r.Sampling.Steps, r.Sampling.CfgScale, r.Sampling.Sampler, r.Sampling.FlowShift));
        Assert.Equal((4, 3.5f, Sampler.Euler), (r.HighNoiseSampling!.Steps, r.HighNoiseSampling.CfgScale, r.HighNoiseSampling.Sampler));
        Assert.True(plan.Verbose);
        Assert.Equal("output.png", plan.Output.PathOf(0, 1));
    }

    /// <summary>docs/kontext.md: an editing run with a reference image.</summary>
    [Fact]
    public void The_kontext_command_line_parses_into_an_edit_with_a_reference_image()
    {
        string reference = this.h.Png("flux1-dev-q8_0.png", 64, 48);
        var (plan, _) = SdCliHarness.ReadAsIs("generate",
            "-r", reference, "--diffusion-model", this.h.File("flux1-kontext-dev-q8_0.gguf"), "--vae", "ae.sft", "--clip_l", "clip_l.safetensors",
            "--t5xxl", "t5xxl_fp16.safetensors", "-p", "change 'flux.cpp' to 'kontext.cpp'", "--cfg-scale", "1.0", "--sampling-method", "euler", "-v", "--clip-on-cpu");
        var r = plan.Image!;
        Assert.Equal(RunMode.Image, plan.Mode);
        Assert.Single(r.ReferenceImages);
        Assert.Equal((64, 48), (r.Width, r.Height));
        Assert.Equal((1f, Sampler.Euler), (r.Sampling.CfgScale, r.Sampling.Sampler));
        Assert.Equal("te=cpu", plan.Load!.Backend);
        Assert.Equal(("ae.sft", "clip_l.safetensors", "t5xxl_fp16.safetensors"), (plan.Load.VaePath, plan.Load.ClipLPath, plan.Load.T5xxlPath));
    }

    /// <summary>docs/sd3.md and docs/caching.md.</summary>
    [Fact]
    public void The_sd3_and_caching_command_lines_parse()
    {
        var (plan, _) = SdCliHarness.ReadAsIs("generate",
            "-m", this.h.File("sd3.5_large.safetensors"), "--clip_l", "clip_l.safetensors", "--clip_g", "clip_g.safetensors", "--t5xxl", "t5xxl_fp16.safetensors",
            "-H", "1024", "-W", "1024", "-p", "a lovely cat holding a sign says \"Stable diffusion 3.5 Large\"", "--cfg-scale", "4.5", "--sampling-method", "euler",
            "-v", "--clip-on-cpu");
        Assert.Equal((1024, 1024, 4.5f), (plan.Image!.Width, plan.Image.Height, plan.Image.Sampling.CfgScale));
        Assert.Equal("clip_g.safetensors", plan.Load!.ClipGPath);

        var cache = SdCliHarness.ReadAsIs("generate", "-m", this.h.Model, "-p", "a cat", "--cache-mode", "ucache", "--cache-option", "threshold=1.5").Plan.Image!.Cache!;
        Assert.Equal((CacheMode.UCache, 1.5f), (cache.Mode, cache.ReuseThreshold));
    }

    public static TheoryData<string[], string> BadValues => new()
    {
        { ["--steps", "x"], "--steps" },
        { ["--cfg-scale", "abc"], "--cfg-scale" },
        { ["--seed", "1.5"], "--seed" },
        { ["--flow-shift", "inf"], "--flow-shift" },
        { ["--skip-layers", "7,8,9"], "--skip-layers" },
        { ["--skip-layers", "[7,a]"], "--skip-layers" },
        { ["--cache-mode", "fastcache"], "--cache-mode" },
        { ["--cache-mode", "easycache", "--cache-option", "threshold"], "--cache-option" },
        { ["--cache-mode", "easycache", "--cache-option", "speed=1"], "--cache-option" },
        { ["--cache-mode", "ucache", "--cache-option", "threshold=high"], "--cache-option" },
        { ["--cache-mode", "cache-dit", "--scm-mask", "1,2,0"], "--scm-mask" },
        { ["--cache-mode", "dbcache", "--scm-policy", "sometimes"], "--scm-policy" },
        { ["--sampling-method", "eulerx"], "--sampling-method" },
        { ["--scheduler", "linear"], "--scheduler" },
        { ["--rng", "gpu"], "--rng" },
        { ["--sampler-rng", "gpu"], "--sampler-rng" },
        { ["--prediction", "x0"], "--prediction" },
        { ["--lora-apply-mode", "later"], "--lora-apply-mode" },
        { ["--type", "q9_0"], "--type" },
        { ["--vae-format", "sdxl"], "--vae-format" },
        { ["--preview", "full"], "--preview" },
        { ["--preview", "proj", "--preview-interval", "0"], "--preview-interval" },
        { ["-M", "train"], "--mode" },
        { ["-M", "convert"], "--mode" },
        { ["-M", "metadata"], "--mode" },
        { ["-M", "upscale"], "--upscale-model" },
        { ["--vae-tiling", "--vae-tile-size", "axb"], "--vae-tile-size" },
        { ["--vae-tiling", "--vae-relative-tile-size", "0.5xq"], "--vae-relative-tile-size" },
        { ["--split-mode", "column"], "--split-mode" },
        { ["--split-mode", "gpu=row"], "--split-mode" },
        { ["--ref-image-args", "colour=red"], "--ref-image-args" },
        { ["--ref-image-args", "pass_to_vlm=maybe"], "--ref-image-args" },
        { ["--ref-image-args", "preset=sdxl"], "--ref-image-args" },
        { ["--extra-sample-args", "novalue"], "--extra-sample-args" },
        { ["--model-args", "=x"], "--model-args" },
        { ["--vae-tiling", "--extra-tiling-args", "a"], "--extra-tiling-args" },
        { ["--ad-model", "y.st", "--extra-ad-args", "colour=1"], "--extra-ad-args" },
        { ["--ad-model", "y.st", "--extra-ad-args", "invert_mask=1"], "--extra-ad-args" },
        { ["--hires", "--hires-upscaler", "SuperRes"], "--hires-upscaler" },
        { ["--sigmas", ","], "--sigmas" },
        { ["--ref-video", "frames"], "--ref-video" },
        { ["--output", "x.jpg"], "--output" },
        { ["--upscale-model", "e.st", "--upscale-repeats", "0"], "--upscale-repeats" },
        { ["--upscale-model", "e.st", "--upscale-tile-size", "0"], "--upscale-tile-size" },
        { ["--embd-dir", "no-such-folder"], "--embd-dir" },
        { ["--init-img", "no-such.png"], "--init-img" },
        { ["--control-image", "no-such.png"], "--control-image" },
        { ["--list-devices"], "--list-devices" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void A_bad_value_is_refused_naming_its_flag(string[] args, string flag)
    {
        string message = this.h.ErrorOf("generate", args);
        Assert.Contains(flag, message);
    }

    [Fact]
    public void A_prompt_given_inline_and_as_a_file_is_refused()
    {
        string file = Path.Combine(this.h.Dir, "p.txt");
        File.WriteAllText(file, "x");
        Assert.Contains("--prompt-file", this.h.ErrorOf("generate", "-p", "a", "--prompt-file", file));
    }

    [Fact]
    public void Video_refuses_bad_video_values()
    {
        Assert.Contains("--ref-video-audio", this.h.ErrorOf("video", "--ref-video-audio", this.h.Wav("a.wav")));
        Assert.Contains("--ref-video", this.h.ErrorOf("video", "--ref-video", Path.Combine(this.h.Dir, "missing")));
        Assert.Contains("--ref-audio", this.h.ErrorOf("video", "--ref-audio", this.h.File("not.wav")));
        Assert.Contains("--ad-model", this.h.ErrorOf("video", "--ad-model", "y.st"));
        Assert.Contains("--high-noise-steps", this.h.ErrorOf("video", "--high-noise-steps", "many"));
        Assert.Contains("--output", this.h.ErrorOf("video", "-o", "clip.gif"));
    }

    [Fact]
    public void A_flag_that_changes_nothing_in_this_mode_warns_as_sd_cli_ignores_it()
    {
        var (_, log) = this.h.Generate("--video-frames", "33", "--cache-option", "threshold=1", "--preview-path", "p.png", "--vae-tile-size", "64", "--hires-steps", "3");
        string warnings = string.Join("\n", log.Warnings);
        Assert.Contains("--video-frames has no effect on images", warnings);
        Assert.Contains("--cache-option has no effect without --cache-mode", warnings);
        Assert.Contains("--preview-path has no effect without --preview", warnings);
        Assert.Contains("VAE tile settings have no effect without --vae-tiling", warnings);
        Assert.Contains("--hires-steps has no effect without --hires", warnings);
        var (_, videoLog) = this.h.Video("--batch-count", "2", "--mask", "m.png");
        Assert.Contains(videoLog.Warnings, w => w.Contains("--batch-count has no effect on video", StringComparison.Ordinal));
    }

    /// <summary>The real tool: a bad value is one "error:" line naming the flag and exit code 2, whether the parser or the read finds it.</summary>
    [Theory]
    [InlineData("generate", "--steps", "x", "error: --steps: 'x' is not a whole number.")]
    [InlineData("video", "--cache-mode", "fast", "error: --cache-mode: 'fast' is not one of easycache")]
    [InlineData("generate", "--image", "a.png", "error: --image is not applicable to sdnet: metadata mode")]
    public void The_tool_reports_a_bad_value_in_one_line_with_exit_code_2(string command, string flag, string value, string expected)
    {
        var result = ChildProcess.RunSdnet(ChildProcess.SdnetDll, this.h.Dir, new Dictionary<string, string?>(), command, "-m", this.h.Model, flag, value);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith(expected, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Usage:", result.Stderr + result.Stdout, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }
}
