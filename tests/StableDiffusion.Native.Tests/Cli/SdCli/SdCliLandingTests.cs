using StableDiffusion.Native.Cli.SdCli;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Tests.Cli.SdCli;

/// <summary>
/// Each sd-cli flag sdnet takes lands in the typed property its table row names: one case per supported flag (a test
/// checks there is one for each), each parsing a command line and reading the plan's options and request.
/// </summary>
public sealed class SdCliLandingTests : IDisposable
{
    private readonly SdCliHarness h = new();

    public void Dispose() => this.h.Dispose();

    private GenerationPlan G(params string[] args) => this.h.Generate(args).Plan;

    private GenerationPlan V(params string[] args) => this.h.Video(args).Plan;

    private ImageRequest Img(params string[] args) => G(args).Image!;

    private VideoRequest Vid(params string[] args) => V(args).Video!;

    private GeneratorOptions Load(params string[] args) => G(args).Load!;

    private static readonly Dictionary<string, Action<SdCliLandingTests>> Cases = new()
    {
        // CLI options.
        ["--output"] = t =>
        {
            var plan = t.G("-o", Path.Combine(t.h.Dir, "out", "x_%03d.png"), "-b", "2");
            Assert.Equal(Path.Combine(t.h.Dir, "out", "x_000.png"), plan.Output.PathOf(0, 2));
            Assert.Equal(Path.Combine(t.h.Dir, "out", "x_001.png"), plan.Output.PathOf(1, 2));
            Assert.Equal("b_1.png", t.G("--output", "b.png").Output.PathOf(1, 2));
        },
        ["--preview-path"] = t =>
        {
            var plan = t.G("--preview", "proj", "--preview-path", "p.png");
            Assert.Equal("p.png", plan.Preview!.Path);
            Assert.Same(plan.Preview, plan.Image!.Preview);
        },
        ["--preview-interval"] = t => Assert.Equal(3, t.Img("--preview", "proj", "--preview-interval", "3").PreviewOptions!.Interval),
        ["--output-begin-idx"] = t =>
        {
            Assert.Equal("a_5.png", t.G("-o", "a.png", "--output-begin-idx", "5").Output.PathOf(0, 2));
            Assert.Equal("f7.png", t.G("-o", "f%d.png", "--output-begin-idx", "7").Output.PathOf(0, 1));
        },
        ["--canny"] = t => Assert.True(t.G("--canny").Canny),
        ["--verbose"] = t => Assert.True(t.G("-v").Verbose && t.G("--verbose").Verbose && !t.G().Verbose),
        ["--taesd-preview-only"] = t => Assert.True(t.Load("--taesd-preview-only").TaePreviewOnly),
        ["--preview-noisy"] = t =>
        {
            var o = t.Img("--preview", "vae", "--preview-noisy").PreviewOptions!;
            Assert.True(o.Noisy);
            Assert.False(o.Denoised);
        },
        ["--mode"] = t =>
        {
            Assert.Equal(RunMode.Video, t.G("-M", "vid_gen").Mode);
            Assert.NotNull(t.G("--mode", "vid_gen").Video);
            Assert.Equal(RunMode.Image, t.V("-M", "img_gen").Mode);
            var upscale = t.G("-M", "upscale", "--upscale-model", t.h.File("esr.safetensors"), "-i", t.h.Png("in.png", 8, 8));
            Assert.Equal(RunMode.Upscale, upscale.Mode);
            Assert.Equal(8, upscale.Input!.Width);
            var detail = t.G("-M", "adetailer", "--ad-model", t.h.File("yolo.safetensors"), "-i", t.h.Png("face.png", 96, 64));
            Assert.Equal(RunMode.Detail, detail.Mode);
            Assert.Equal(96, detail.Input!.Width);
            // adetailer mode keeps the input's size and the request's strength.
            Assert.Equal(96, detail.Detail!.Request.Inpaint.Width);
            Assert.Equal(0.75f, detail.Detail.Request.Inpaint.Strength);
        },
        ["--preview"] = t =>
        {
            Assert.Equal(PreviewMode.Tae, t.Img("--preview", "tae").PreviewOptions!.Mode);
            Assert.Equal(PreviewMode.Projection, t.Img("--preview", "proj").PreviewOptions!.Mode);
            Assert.Null(t.Img("--preview", "none").Preview);
        },
        ["--help"] = t =>
        {
            foreach (string help in new[] { "-h", "--help" })
            {
                var root = new System.CommandLine.RootCommand { StableDiffusion.Native.Cli.GenerateCommand.Create() };
                Assert.Contains("Help", root.Parse(["generate", help]).Action!.GetType().Name, StringComparison.Ordinal);
            }
        },
        ["--imat-out"] = t => Assert.Equal("m.dat", t.G("--imat-out", "m.dat").ImportanceMatrixOut),

        // Context options.
        ["--model"] = t => Assert.Equal(t.h.Model, SdCliHarness.ReadAsIs("generate", "--model", t.h.Model).Plan.Load!.ModelPath),
        ["--clip_l"] = t => Assert.Equal("c.st", t.Load("--clip_l", "c.st").ClipLPath),
        ["--clip_g"] = t => Assert.Equal("c.st", t.Load("--clip_g", "c.st").ClipGPath),
        ["--clip_vision"] = t => Assert.Equal("c.st", t.Load("--clip_vision", "c.st").ClipVisionPath),
        ["--t5xxl"] = t => Assert.Equal("t.st", t.Load("--t5xxl", "t.st").T5xxlPath),
        ["--llm"] = t => Assert.Equal("l.gguf", t.Load("--llm", "l.gguf").LlmPath),
        ["--llm_vision"] = t => Assert.Equal("v.gguf", t.Load("--llm_vision", "v.gguf").LlmVisionPath),
        ["--qwen2vl"] = t => Assert.Equal("l.gguf", t.Load("--qwen2vl", "l.gguf").LlmPath),
        ["--qwen2vl_vision"] = t => Assert.Equal("v.gguf", t.Load("--qwen2vl_vision", "v.gguf").LlmVisionPath),
        ["--diffusion-model"] = t => Assert.Equal("d.gguf", t.Load("--diffusion-model", "d.gguf").DiffusionModelPath),
        ["--high-noise-diffusion-model"] = t => Assert.Equal("h.gguf", t.Load("--high-noise-diffusion-model", "h.gguf").HighNoiseDiffusionModelPath),
        ["--uncond-diffusion-model"] = t => Assert.Equal("u.gguf", t.Load("--uncond-diffusion-model", "u.gguf").UncondDiffusionModelPath),
        ["--embeddings-connectors"] = t => Assert.Equal("e.st", t.Load("--embeddings-connectors", "e.st").EmbeddingsConnectorsPath),
        ["--vae"] = t => Assert.Equal("ae.st", t.Load("--vae", "ae.st").VaePath),
        ["--vae-format"] = t =>
        {
            Assert.Equal(VaeFormat.Flux2, t.Load("--vae-format", "flux2").VaeFormat);
            Assert.Equal(VaeFormat.Auto, t.Load("--vae-format", "auto").VaeFormat);
            Assert.Equal(VaeFormat.Wan, t.Load("--vae-format", "wan").VaeFormat);
        },
        ["--audio-vae"] = t => Assert.Equal("a.st", t.Load("--audio-vae", "a.st").AudioVaePath),
        ["--taesd"] = t => Assert.Equal("t.st", t.Load("--taesd", "t.st").TaesdPath),
        ["--tae"] = t => Assert.Equal("t.st", t.Load("--tae", "t.st").TaesdPath),
        ["--control-net"] = t => Assert.Equal("cn.st", t.Load("--control-net", "cn.st").ControlNetPath),
        ["--ip-adapter"] = t => Assert.Equal("ip.st", t.Load("--ip-adapter", "ip.st").IpAdapterPath),
        ["--motion-module"] = t => Assert.Equal("mm.st", t.Load("--motion-module", "mm.st").MotionModulePath),
        ["--embd-dir"] = t =>
        {
            string dir = Path.Combine(t.h.Dir, "emb");
            Directory.CreateDirectory(dir);
            foreach (string name in new[] { "bad_hands.safetensors", "style.gguf", "old.pt", "notes.txt" }) File.WriteAllBytes(Path.Combine(dir, name), [0]);
            var (plan, log) = t.h.Generate("--embd-dir", dir);
            Assert.Equal(["bad_hands", "style"], plan.Load!.Embeddings.Select(e => e.Name));
            Assert.Equal(Path.Combine(dir, "style.gguf"), plan.Load.Embeddings[1].Path);
            Assert.Contains(log.Warnings, w => w.Contains("old.pt", StringComparison.Ordinal));
        },
        ["--lora-model-dir"] = t =>
        {
            string dir = Path.Combine(t.h.Dir, "loras");
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, "detail.safetensors"), [0]);
            File.WriteAllBytes(Path.Combine(dir, "hn.gguf"), [0]);
            var r = t.Vid("-p", "a cat<lora:detail:0.5>, <lora:|high_noise|hn:1><lora:detail:0.25>", "--lora-model-dir", dir);
            Assert.Equal("a cat, ", r.Prompt);
            Assert.Equal(2, r.Loras.Count);
            Assert.Equal(new LoraReference(Path.Combine(dir, "detail.safetensors"), 0.75f), r.Loras[0]);
            Assert.Equal(new LoraReference(Path.Combine(dir, "hn.gguf"), 1f) { HighNoise = true }, r.Loras[1]);
            // Without the folder the tags stay in the prompt, as sd-cli leaves them.
            Assert.Equal("<lora:detail:0.5>", t.Img("-p", "<lora:detail:0.5>").Prompt);
        },
        ["--hires-upscalers-dir"] = t =>
        {
            string dir = Path.Combine(t.h.Dir, "esrgan");
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, "4x_ultra.safetensors"), [0]);
            var hires = t.Img("--hires", "--hires-upscaler", "4x_ultra", "--hires-upscalers-dir", dir).Hires!;
            Assert.Equal(HiresUpscaler.Model, hires.Upscaler);
            Assert.Equal(Path.Combine(dir, "4x_ultra.safetensors"), hires.UpscalerModelPath);
        },
        ["--tensor-type-rules"] = t => Assert.Equal("^vae\\.=f16,model\\.=q8_0", t.Load("--tensor-type-rules", "^vae\\.=f16", "--tensor-type-rules", "model\\.=q8_0").TensorTypeRules),
        ["--model-args"] = t =>
        {
            var options = t.Load("--model-args", "chroma_use_dit_mask=false", "--model-args", "chroma_t5_mask_pad = 1,qwen_image_zero_cond_t=on,new_key=2");
            Assert.Equal((false, 1, true), (options.ChromaUseDitMask, options.ChromaT5MaskPad, options.QwenImageZeroCondT));
            Assert.Null(options.ChromaUseT5Mask);
            Assert.Equal(new Dictionary<string, string> { ["new_key"] = "2" }, options.ModelArguments);
        },
        ["--photo-maker"] = t => Assert.Equal("pm.st", t.Load("--photo-maker", "pm.st").PhotoMakerPath),
        ["--pulid-weights"] = t => Assert.Equal("pl.st", t.Load("--pulid-weights", "pl.st").PulidWeightsPath),
        ["--upscale-model"] = t => Assert.Equal(new UpscaleStep("esr.st", 1, 128), t.G("--upscale-model", "esr.st").Upscale),
        ["--backend"] = t =>
        {
            Assert.Equal("cpu", t.Load("--backend", "cpu").Backend);
            Assert.Equal("te=cpu,diffusion=vulkan0", t.Load("--backend", "te=cpu", "--backend", "diffusion=vulkan0").Backend);
        },
        ["--params-backend"] = t => Assert.Equal("diffusion=disk,te=cpu", t.Load("--params-backend", "diffusion=disk,te=cpu").ParamsBackend),
        ["--split-mode"] = t =>
        {
            var o = t.Load("--split-mode", "row,te=layer", "--split-mode", "control-net=row");
            Assert.Equal(SplitMode.Row, o.SplitMode);
            Assert.Equal(SplitMode.Layer, o.ModuleSplitModes[ModelModule.TextEncoder]);
            Assert.Equal(SplitMode.Row, o.ModuleSplitModes[ModelModule.ControlNet]);
            Assert.Equal(SplitMode.Layer, t.Load("--split-mode", "*=layer").SplitMode);
        },
        ["--rpc-servers"] = t => Assert.Equal("localhost:50052,10.0.0.2:50052", t.Load("--rpc-servers", "localhost:50052", "--rpc-servers", "10.0.0.2:50052").RpcServers),
        ["--max-vram"] = t => Assert.Equal("cuda0=6,vulkan0=4", t.Load("--max-vram", "cuda0=6,vulkan0=4").MaxVram),
        ["--threads"] = t =>
        {
            Assert.Equal(4, t.Load("-t", "4").Threads);
            Assert.Equal(3, t.Load("--threads", "3").Threads);
            Assert.Null(t.Load("--threads", "-1").Threads);
        },
        ["--stream-layers"] = t => Assert.True(t.Load("--stream-layers").StreamLayers),
        ["--eager-load"] = t => Assert.True(t.Load("--eager-load").EagerLoad),
        ["--auto-fit"] = t => Assert.True(t.Load("--auto-fit").AutoFit),
        ["--force-sdxl-vae-conv-scale"] = t => Assert.True(t.Load("--force-sdxl-vae-conv-scale").ForceSdxlVaeConvScale),
        ["--offload-to-cpu"] = t =>
        {
            Assert.Equal("*=cpu", t.Load("--offload-to-cpu").ParamsBackend);
            Assert.Equal("*=cpu,diffusion=disk", t.Load("--offload-to-cpu", "--params-backend", "diffusion=disk").ParamsBackend);
        },
        ["--mmap"] = t => Assert.True(t.Load("--mmap").EnableMmap),
        ["--control-net-cpu"] = t => Assert.Equal("controlnet=cpu,vae=cpu,te=cpu,vulkan0", t.Load("--control-net-cpu", "--clip-on-cpu", "--vae-on-cpu", "--backend", "vulkan0").Backend),
        ["--clip-on-cpu"] = t => Assert.Equal("te=cpu", t.Load("--clip-on-cpu").Backend),
        ["--vae-on-cpu"] = t => Assert.Equal("vae=cpu", t.Load("--vae-on-cpu").Backend),
        ["--fa"] = t =>
        {
            Assert.True(t.Load("--fa").FlashAttention);
            Assert.True(t.Load("--flash-attn").FlashAttention);
            Assert.Null(t.Load().FlashAttention);
        },
        ["--diffusion-fa"] = t => Assert.True(t.Load("--diffusion-fa").DiffusionFlashAttention),
        ["--diffusion-conv-direct"] = t => Assert.True(t.Load("--diffusion-conv-direct").DiffusionConvDirect),
        ["--vae-conv-direct"] = t => Assert.True(t.Load("--vae-conv-direct").VaeConvDirect),
        ["--type"] = t => Assert.Equal(QuantizationType.Q8_0, t.Load("--type", "q8_0").WeightType),
        ["--rng"] = t => Assert.Equal(RngType.Cpu, t.Load("--rng", "cpu").Rng),
        ["--sampler-rng"] = t => Assert.Equal(RngType.StdDefault, t.Load("--sampler-rng", "std_default").SamplerRng),
        ["--prediction"] = t =>
        {
            Assert.Equal(Prediction.Velocity, t.Load("--prediction", "v").Prediction);
            Assert.Equal(Prediction.Flow, t.Load("--prediction", "sd3_flow").Prediction);
            Assert.Equal(Prediction.MiniT2IFlow, t.Load("--prediction", "minit2i_flow").Prediction);
        },
        ["--lora-apply-mode"] = t => Assert.Equal(LoraApplyMode.AtRuntime, t.Load("--lora-apply-mode", "at_runtime").LoraApplyMode),

        // Generation options.
        ["--prompt"] = t =>
        {
            Assert.Equal("a lighthouse", t.Img("-p", "a lighthouse").Prompt);
            Assert.Equal("a lighthouse", t.Vid("--prompt", "a lighthouse").Prompt);
        },
        ["--negative-prompt"] = t => Assert.Equal("blurry", t.Img("-n", "blurry").NegativePrompt),
        ["--ad-model"] = t =>
        {
            var detail = t.G("--ad-model", "face.st", "-W", "768", "-H", "768", "--strength", "0.6").Detail!;
            Assert.Equal("face.st", detail.DetectorPath);
            // sd-cli refines generated images at 512x512 and strength 0.4.
            Assert.Equal(512, detail.Request.Inpaint.Width);
            Assert.Equal(512, detail.Request.Inpaint.Height);
            Assert.Equal(0.4f, detail.Request.Inpaint.Strength);
            Assert.Null(detail.Request.Prompt);
        },
        ["--ad-prompt"] = t => Assert.Equal("a face[SEP]a hand", t.G("--ad-model", "y.st", "--ad-prompt", "a face[SEP]a hand").Detail!.Request.Prompt),
        ["--ad-negative-prompt"] = t => Assert.Equal("ugly", t.G("--ad-model", "y.st", "--ad-negative-prompt", "ugly").Detail!.Request.NegativePrompt),
        ["--extra-ad-args"] = t =>
        {
            var r = t.G("--ad-model", "y.st", "--extra-ad-args", "confidence=0.5,nms=0.4,mask_mode=merge,inpaint_width=640,Inpaint_Height=768",
                "--extra-ad-args", "denoising_strength=0.3,steps=12,cfg_scale=5,sample_method=euler,scheduler=karras,sort_by=area,mask_blur=4,input_size=512").Detail!.Request;
            Assert.Equal(0.5f, r.Confidence);
            Assert.Equal(0.4f, r.NmsThreshold);
            Assert.Equal(DetectionMaskMode.Merge, r.MaskMode);
            Assert.Equal(640, r.Inpaint.Width);
            Assert.Equal(768, r.Inpaint.Height);
            Assert.Equal(0.3f, r.Inpaint.Strength);
            Assert.Equal(12, r.Steps);
            Assert.Equal(5f, r.Inpaint.Sampling.CfgScale);
            Assert.Equal(Sampler.Euler, r.Inpaint.Sampling.Sampler);
            Assert.Equal(Scheduler.Karras, r.Inpaint.Sampling.Scheduler);
            Assert.Equal(DetectionOrder.Area, r.SortBy);
            Assert.Equal(4, r.MaskBlur);
            Assert.Equal(512, r.InputSize);
            Assert.Equal(DetectionMaskMode.MergeInvert, t.G("--ad-model", "y.st", "--extra-ad-args", "merge_masks=1,invert_mask=true").Detail!.Request.MaskMode);
        },
        ["--init-img"] = t =>
        {
            string png = t.h.Png("init.png", 96, 64);
            var r = t.Img("-i", png);
            Assert.Equal((96, 64), (r.InitImage!.Width, r.InitImage.Height));
            Assert.Equal((96, 64), (r.Width, r.Height));
            // Both sizes given: cropped to the aspect ratio and resized, as sd-cli fits it.
            var fitted = t.Img("--init-img", png, "-W", "32", "-H", "32").InitImage!;
            Assert.Equal((32, 32), (fitted.Width, fitted.Height));
            Assert.Equal(32, t.Vid("-i", png, "-W", "32", "-H", "32").InitImage!.Width);
        },
        ["--end-img"] = t =>
        {
            var r = t.Vid("--end-img", t.h.Png("end.png", 48, 32));
            Assert.Equal(48, r.EndImage!.Width);
            Assert.Equal((48, 32), (r.Width, r.Height));
        },
        ["--mask"] = t =>
        {
            var r = t.Img("-i", t.h.Png("i.png", 64, 64), "--mask", t.h.Png("m.png", 32, 32, 255));
            Assert.Equal(PixelFormat.Gray8, r.Mask!.Format);
            Assert.Equal((64, 64), (r.Mask.Width, r.Mask.Height));
        },
        ["--control-image"] = t =>
        {
            var c = t.Img("--control-image", t.h.Png("c.png", 100, 50), "-W", "64", "-H", "64").ControlImage!;
            Assert.Equal((64, 64), (c.Width, c.Height));
        },
        ["--ip-adapter-image"] = t => Assert.Equal(40, t.Img("--ip-adapter-image", t.h.Png("ip.png", 40, 30)).IpAdapterImage!.Width),
        ["--control-video"] = t =>
        {
            var frames = t.Vid("--control-video", t.h.Frames("pose", 3, 20, 20), "-W", "16", "-H", "16", "--video-frames", "2").ControlFrames;
            Assert.Equal(2, frames.Count);
            Assert.Equal(16, frames[0].Width);
            // In file-name order: 00.png (value 0), then 01.png (value 10).
            Assert.Equal(0, frames[0].Pixels.Span[0]);
            Assert.Equal(10, frames[1].Pixels.Span[0]);
        },
        ["--pm-id-images-dir"] = t => Assert.Equal(3, t.Img("--pm-id-images-dir", t.h.Frames("ids", 3, 8, 8)).PhotoMaker!.IdImages.Count),
        ["--pm-id-embed-path"] = t => Assert.Equal("id.bin", t.Img("--pm-id-embed-path", "id.bin").PhotoMaker!.IdEmbeddingPath),
        ["--pulid-id-embedding"] = t => Assert.Equal(new PulidOptions("face.bin", 1f), t.Img("--pulid-id-embedding", "face.bin").Pulid),
        ["--hires-upscaler"] = t =>
        {
            Assert.Equal(HiresUpscaler.LatentBicubic, t.Img("--hires", "--hires-upscaler", "Latent (bicubic)").Hires!.Upscaler);
            Assert.Equal(HiresUpscaler.Lanczos, t.Img("--hires", "--hires-upscaler", "Lanczos").Hires!.Upscaler);
            Assert.Null(t.Img("--hires", "--hires-upscaler", "None").Hires);
        },
        ["--extra-sample-args"] = t =>
        {
            var image = t.Img("--extra-sample-args", "apg_eta=0.5;apg_momentum = 0.1", "--extra-sample-args", "guidance_schedule=7x2+3.5x1,strength_as_noise_level=1,other=z");
            Assert.Equal((0.5f, 0.1f), (image.Sampling.Apg!.Eta, image.Sampling.Apg.Momentum));
            Assert.Equal([7f, 7f, 3.5f], image.Sampling.GuidanceSchedule);
            Assert.True(image.StrengthAsNoiseLevel);
            Assert.Equal(new Dictionary<string, string> { ["other"] = "z" }, image.Sampling.ExtraArguments);
            Assert.Equal([2f], t.Vid("--extra-sample-args", "guidance_schedule=2x1").Sampling.GuidanceSchedule);
            Assert.Throws<ArgumentException>(() => t.Img("--extra-sample-args", "guidance_schedule=linear"));
        },
        ["--extra-tiling-args"] = t =>
        {
            var tiling = t.Vid("--vae-tiling", "--extra-tiling-args", "temporal_tile_frames=4,other_key=x").VaeTilingOptions!;
            Assert.Equal(4, tiling.TemporalTileFrames);
            Assert.Equal(new Dictionary<string, string> { ["other_key"] = "x" }, tiling.ExtraArguments);
        },
        ["--ref-image-args"] = t =>
        {
            var o = t.Img("--ref-image-args", "preset=flux2,pass_to_vlm=off,vlm_size=384,vlm_min_size=100,ref_index_mode=decrease,vae_input_max_pixels=1048576").ReferenceImageOptions!;
            Assert.Equal(ReferenceImagePreset.Flux2, o.Preset);
            Assert.False(o.PassToVlm);
            Assert.Equal(384, o.VlmMinSize); // vlm_size is applied last, as upstream applies it
            Assert.Equal(384, o.VlmMaxSize);
            Assert.Equal(ReferenceIndexMode.Decrease, o.IndexMode);
            Assert.Equal(1048576, o.VaeInputMaxPixels);
        },
        ["--height"] = t =>
        {
            Assert.Equal(320, t.Img("-H", "320").Height);
            Assert.Equal(256, t.Img("--height", "256").Height);
            Assert.Equal(ImageRequest.DefaultDimension, t.Img("--height", "-1").Height);
        },
        ["--width"] = t => Assert.Equal(320, t.Img("-W", "320").Width),
        ["--steps"] = t =>
        {
            Assert.Equal(7, t.Img("--steps", "7").Sampling.Steps);
            // Unset, the library's default applies (upstream's 20), not a number the CLI writes again.
            Assert.Null(t.Img().Sampling.Steps);
        },
        ["--high-noise-steps"] = t =>
        {
            Assert.Equal(8, t.Vid("--high-noise-steps", "8").HighNoiseSampling!.Steps);
            Assert.Null(t.Vid("--high-noise-steps", "-1").HighNoiseSampling!.Steps);
        },
        ["--clip-skip"] = t =>
        {
            Assert.Equal(2, t.Img("--clip-skip", "2").ClipSkip);
            Assert.Null(t.Img("--clip-skip", "-1").ClipSkip);
        },
        ["--batch-count"] = t => Assert.Equal(4, t.Img("-b", "4").BatchCount),
        ["--qwen-image-layers"] = t => Assert.Equal(5, t.Img("--qwen-image-layers", "5").QwenImageLayers),
        ["--video-frames"] = t => Assert.Equal(33, t.Vid("--video-frames", "33").Frames),
        ["--fps"] = t => Assert.Equal(24, t.Vid("--fps", "24").Fps),
        ["--timestep-shift"] = t => Assert.Equal(250, t.Img("--timestep-shift", "250").Sampling.ShiftedTimestep),
        ["--upscale-repeats"] = t => Assert.Equal(2, t.G("--upscale-model", "e.st", "--upscale-repeats", "2").Upscale!.Repeats),
        ["--upscale-tile-size"] = t => Assert.Equal(256, t.G("--upscale-model", "e.st", "--upscale-tile-size", "256").Upscale!.TileSize),
        ["--hires-width"] = t => Assert.Equal(1024, t.Img("--hires", "--hires-width", "1024").Hires!.TargetWidth),
        ["--hires-height"] = t => Assert.Equal(768, t.Img("--hires", "--hires-height", "768").Hires!.TargetHeight),
        ["--hires-steps"] = t => Assert.Equal(12, t.Img("--hires", "--hires-steps", "12").Hires!.Steps),
        ["--hires-upscale-tile-size"] = t => Assert.Equal(256, t.Img("--hires", "--hires-upscale-tile-size", "256").Hires!.UpscaleTileSize),
        ["--cfg-scale"] = t =>
        {
            Assert.Equal(4.5f, t.Img("--cfg-scale", "4.5").Sampling.CfgScale);
            Assert.Equal(6f, t.Vid("--cfg-scale", "6.0").Sampling.CfgScale);
        },
        ["--img-cfg-scale"] = t => Assert.Equal(1.5f, t.Img("--img-cfg-scale", "1.5").Sampling.ImageCfgScale),
        ["--guidance"] = t => Assert.Equal(3.5f, t.Img("--guidance", "3.5").Sampling.Guidance),
        ["--slg-scale"] = t =>
        {
            var slg = t.Img("--slg-scale", "2.5").Sampling.SkipLayerGuidance!;
            Assert.Equal(2.5f, slg.Scale);
            Assert.Equal([7, 8, 9], slg.Layers);
            Assert.Equal((0.01f, 0.2f), (slg.Start, slg.End));
        },
        ["--skip-layer-start"] = t => Assert.Equal(0.05f, t.Img("--skip-layer-start", "0.05").Sampling.SkipLayerGuidance!.Start),
        ["--skip-layer-end"] = t => Assert.Equal(0.3f, t.Img("--skip-layer-end", "0.3").Sampling.SkipLayerGuidance!.End),
        ["--eta"] = t => Assert.Equal(0.5f, t.Img("--eta", "0.5").Sampling.Eta),
        ["--flow-shift"] = t =>
        {
            Assert.Equal(3f, t.Vid("--flow-shift", "3.0").Sampling.FlowShift);
            Assert.Equal(-1.5f, t.Img("--flow-shift", "-1.5").Sampling.FlowShift);
        },
        ["--high-noise-cfg-scale"] = t => Assert.Equal(3.5f, t.Vid("--high-noise-cfg-scale", "3.5").HighNoiseSampling!.CfgScale),
        ["--high-noise-img-cfg-scale"] = t => Assert.Equal(1.2f, t.Vid("--high-noise-img-cfg-scale", "1.2").HighNoiseSampling!.ImageCfgScale),
        ["--high-noise-guidance"] = t => Assert.Equal(2f, t.Vid("--high-noise-guidance", "2").HighNoiseSampling!.Guidance),
        ["--high-noise-slg-scale"] = t => Assert.Equal(2.5f, t.Vid("--high-noise-slg-scale", "2.5").HighNoiseSampling!.SkipLayerGuidance!.Scale),
        ["--high-noise-skip-layer-start"] = t => Assert.Equal(0.1f, t.Vid("--high-noise-skip-layer-start", "0.1").HighNoiseSampling!.SkipLayerGuidance!.Start),
        ["--high-noise-skip-layer-end"] = t => Assert.Equal(0.4f, t.Vid("--high-noise-skip-layer-end", "0.4").HighNoiseSampling!.SkipLayerGuidance!.End),
        ["--high-noise-eta"] = t => Assert.Equal(0.3f, t.Vid("--high-noise-eta", "0.3").HighNoiseSampling!.Eta),
        ["--strength"] = t =>
        {
            Assert.Equal(0.6f, t.Img("--strength", "0.6").Strength);
            Assert.Equal(0.6f, t.Vid("--strength", "0.6").Strength);
        },
        ["--pm-style-strength"] = t => Assert.Equal(30f, t.Img("--pm-id-embed-path", "id.bin", "--pm-style-strength", "30").PhotoMaker!.StyleStrength),
        ["--pulid-id-weight"] = t => Assert.Equal(0.8f, t.Img("--pulid-id-embedding", "f.bin", "--pulid-id-weight", "0.8").Pulid!.IdWeight),
        ["--control-strength"] = t => Assert.Equal(0.5f, t.Img("--control-strength", "0.5").ControlStrength),
        ["--ip-adapter-strength"] = t => Assert.Equal(0.7f, t.Img("--ip-adapter-strength", "0.7").IpAdapterStrength),
        ["--moe-boundary"] = t => Assert.Equal(0.9f, t.Vid("--moe-boundary", "0.9").MoeBoundary),
        ["--vace-strength"] = t => Assert.Equal(0.8f, t.Vid("--vace-strength", "0.8").VaceStrength),
        ["--vae-tile-overlap"] = t => Assert.Equal(0.25f, t.Img("--vae-tiling", "--vae-tile-overlap", "0.25").VaeTilingOptions!.TargetOverlap),
        ["--hires-scale"] = t =>
        {
            var hires = t.Img("--hires-scale", "1.5").Hires!;
            Assert.Equal(1.5f, hires.Scale);
            Assert.Equal(HiresUpscaler.Latent, hires.Upscaler);
        },
        ["--hires-denoising-strength"] = t => Assert.Equal(0.5f, t.Img("--hires", "--hires-denoising-strength", "0.5").Hires!.DenoisingStrength),
        ["--increase-ref-index"] = t => Assert.Equal(ReferenceIndexMode.Increase, t.Img("--ref-image-args", "ref_index_mode=fixed", "--increase-ref-index").ReferenceImageOptions!.IndexMode),
        ["--disable-auto-resize-ref-image"] = t => Assert.False(t.Img("--disable-auto-resize-ref-image").ReferenceImageOptions!.ResizeBeforeVae),
        ["--circular"] = t =>
        {
            var r = t.Img("--circular");
            Assert.True(r.CircularX && r.CircularY);
        },
        ["--circularx"] = t =>
        {
            var r = t.Img("--circularx");
            Assert.True(r.CircularX && !r.CircularY);
        },
        ["--circulary"] = t =>
        {
            var r = t.Vid("--circulary");
            Assert.True(!r.CircularX && r.CircularY);
        },
        ["--disable-image-metadata"] = t =>
        {
            Assert.False(t.G("--disable-image-metadata").EmbedMetadata);
            Assert.True(t.G().EmbedMetadata);
        },
        ["--vae-tiling"] = t =>
        {
            var r = t.Img("--vae-tiling");
            Assert.True(r.VaeTiling);
            Assert.Null(r.VaeTilingOptions);
        },
        ["--temporal-tiling"] = t =>
        {
            var alone = t.Vid("--temporal-tiling").VaeTilingOptions!;
            Assert.True(alone.Temporal && !alone.Spatial);
            var both = t.Vid("--temporal-tiling", "--vae-tiling").VaeTilingOptions!;
            Assert.True(both.Temporal && both.Spatial);
        },
        ["--hires"] = t => Assert.Equal(new HiresFix(), t.Img("--hires").Hires),
        ["--seed"] = t =>
        {
            Assert.Equal(42L, t.Img("-s", "42").Seed);
            Assert.Equal(1L << 40, t.Vid("--seed", (1L << 40).ToString(System.Globalization.CultureInfo.InvariantCulture)).Seed);
            Assert.Null(t.Img("--seed", "-1").Seed);
        },
        ["--sampling-method"] = t =>
        {
            Assert.Equal(Sampler.DpmPlusPlus2M, t.Img("--sampling-method", "dpm++2m").Sampling.Sampler);
            Assert.Equal(Sampler.Lms, t.Vid("--sampling-method", "lms").Sampling.Sampler);
        },
        ["--high-noise-sampling-method"] = t => Assert.Equal(Sampler.Euler, t.Vid("--high-noise-sampling-method", "euler").HighNoiseSampling!.Sampler),
        ["--scheduler"] = t =>
        {
            Assert.Equal(Scheduler.Karras, t.Img("--scheduler", "karras").Sampling.Scheduler);
            Assert.Equal(Scheduler.Discrete, t.Img("--scheduler", "normal").Sampling.Scheduler);
        },
        ["--sigmas"] = t =>
        {
            Assert.Equal([14.61f, 7.8f, 3.5f, 0f], t.Img("--sigmas", "14.61,7.8,3.5,0.0").Sampling.CustomSigmas);
            Assert.Equal([1f, 0f], t.Vid("--sigmas", "[1, 0]").Sampling.CustomSigmas);
        },
        ["--hires-sigmas"] = t => Assert.Equal([0.85f, 0.4f, 0f], t.Img("--hires", "--hires-sigmas", "0.85,0.4,0").Hires!.CustomSigmas),
        ["--skip-layers"] = t =>
        {
            Assert.Equal([7, 8, 9], t.Img("--slg-scale", "2.5", "--skip-layers", "[7,8,9]").Sampling.SkipLayerGuidance!.Layers);
            Assert.Equal([6, 10], t.Img("--skip-layers", "[6, 10]").Sampling.SkipLayerGuidance!.Layers);
        },
        ["--high-noise-skip-layers"] = t => Assert.Equal([3, 4], t.Vid("--high-noise-skip-layers", "[3 4]").HighNoiseSampling!.SkipLayerGuidance!.Layers),
        ["--ref-image"] = t =>
        {
            var r = t.Img("-r", t.h.Png("r1.png", 40, 24), "--ref-image", t.h.Png("r2.png", 16, 16));
            Assert.Equal(2, r.ReferenceImages.Count);
            // References are never resized, and the first sets the size when none is given, as in sd-cli.
            Assert.Equal(16, r.ReferenceImages[1].Width);
            Assert.Equal((40, 24), (r.Width, r.Height));
            Assert.Single(t.Vid("-r", t.h.Png("r3.png", 8, 8)).ReferenceImages);
        },
        ["--ref-video"] = t =>
        {
            var v = Assert.Single(t.Vid("--ref-video", t.h.Frames("clip", 2, 12, 12)).ReferenceVideos);
            Assert.Equal(2, v.Frames.Count);
            Assert.Equal(24, v.Fps);
            Assert.Null(v.Audio);
        },
        ["--ref-video-audio"] = t =>
        {
            var v = t.Vid("--ref-video", t.h.Frames("clip", 1, 8, 8), "--ref-video-audio", t.h.Wav("clip.wav", 16000)).ReferenceVideos[0];
            Assert.Equal(16000, v.Audio!.SampleRate);
            Assert.Equal(0.5f, v.Audio.Samples.Span[1]);
        },
        ["--ref-audio"] = t =>
        {
            var a = Assert.Single(t.Vid("--ref-audio", t.h.Wav("voice.wav", 22050, [0, 0, 32767, -32768], channels: 2)).ReferenceAudios);
            Assert.Equal((22050, 2, 2L), (a.SampleRate, a.Channels, a.SampleCount));
            Assert.Equal(-1f, a.Samples.Span[3]);
        },
        ["--cache-mode"] = t =>
        {
            Assert.Equal(CacheMode.UCache, t.Img("--cache-mode", "ucache").Cache!.Mode);
            Assert.Equal(CacheMode.CacheDit, t.Vid("--cache-mode", "cache-dit").Cache!.Mode);
            Assert.Null(t.Img().Cache);
        },
        ["--cache-option"] = t =>
        {
            var easy = t.Img("--cache-mode", "easycache", "--cache-option", "threshold=0.3,start=0.1,end=0.9").Cache!;
            Assert.Equal((0.3f, 0.1f, 0.9f), (easy.ReuseThreshold, easy.StartPercent, easy.EndPercent));
            Assert.Null(easy.ResidualDiffThreshold);
            var ucache = t.Img("--cache-mode", "ucache", "--cache-option", "threshold=1.5,reset=0,relative=1,decay=0.5").Cache!;
            Assert.Equal(1.5f, ucache.ReuseThreshold);
            Assert.False(ucache.ResetErrorOnCompute);
            Assert.True(ucache.UseRelativeThreshold);
            Assert.Equal(0.5f, ucache.ErrorDecayRate);
            // The block caches read "threshold" as the residual threshold and "warmup" as their warm-up steps.
            var db = t.Img("--cache-mode", "dbcache", "--cache-option", "threshold=0.25,warmup=4,Fn=6,bn=2").Cache!;
            Assert.Equal(0.25f, db.ResidualDiffThreshold);
            Assert.Null(db.ReuseThreshold);
            Assert.Equal((4, 6, 2), (db.MaxWarmupSteps, db.FirstComputeBlocks, db.LastComputeBlocks));
            // Spectrum's own keys, and its "warmup".
            var spectrum = t.Img("--cache-mode", "spectrum", "--cache-option", "w=0.5,m=4,lam=2,window=3,flex=0.25,warmup=5,stop=0.8").Cache!;
            Assert.Equal((0.5f, 4, 2f, 3, 0.25f, 5, 0.8f),
                (spectrum.SpectrumWeight, spectrum.SpectrumBasis, spectrum.SpectrumLambda, spectrum.SpectrumWindowSize, spectrum.SpectrumFlexWindow, spectrum.SpectrumWarmupSteps, spectrum.SpectrumStopPercent));
            Assert.Null(spectrum.MaxWarmupSteps);
        },
        ["--scm-mask"] = t => Assert.Equal([true, true, false, true], t.Img("--cache-mode", "cache-dit", "--scm-mask", "1,1,0,1").Cache!.StepComputationMask),
        ["--scm-policy"] = t =>
        {
            Assert.False(t.Img("--cache-mode", "taylorseer", "--scm-policy", "static").Cache!.DynamicMaskPolicy);
            // sd-cli hands the policy to the block caches only.
            Assert.Null(t.Img("--cache-mode", "easycache", "--scm-policy", "static").Cache!.DynamicMaskPolicy);
        },
        ["--vae-tile-size"] = t =>
        {
            var o = t.Img("--vae-tiling", "--vae-tile-size", "64x32").VaeTilingOptions!;
            Assert.Equal((64, 32), (o.TileWidth, o.TileHeight));
            Assert.Equal(48, t.Img("--vae-tiling", "--vae-tile-size", "48").VaeTilingOptions!.TileHeight);
        },
        ["--vae-relative-tile-size"] = t =>
        {
            var o = t.Img("--vae-tiling", "--vae-relative-tile-size", "0.5x0.25").VaeTilingOptions!;
            Assert.Equal((0.5f, 0.25f), (o.RelativeWidth, o.RelativeHeight));
        },
        ["--prompt-file"] = t =>
        {
            string file = Path.Combine(t.h.Dir, "prompt.txt");
            File.WriteAllText(file, "a castle\non a hill\n");
            // sd-cli's prompt is the whole file, line breaks included.
            Assert.Equal("a castle\non a hill\n", t.Img("--prompt-file", file).Prompt);
        },
        ["--negative-prompt-file"] = t =>
        {
            string file = Path.Combine(t.h.Dir, "negative.txt");
            File.WriteAllText(file, "blurry");
            Assert.Equal("blurry", t.Vid("--negative-prompt-file", file).NegativePrompt);
        },
    };

    public static TheoryData<string> Supported => [.. SdCliFlags.All.Where(f => f.Supported).Select(f => f.Name)];

    [Fact]
    public void Every_supported_flag_has_a_case_and_every_case_a_supported_flag()
    {
        Assert.Equal(SdCliFlags.All.Where(f => f.Supported).Select(f => f.Name).Order(StringComparer.Ordinal), Cases.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Supported))]
    public void The_flag_lands_where_the_table_says(string flag) => Cases[flag](this);

    [Fact]
    public void Without_flags_the_request_keeps_sdnet_and_sd_cli_defaults()
    {
        var r = Img();
        var library = new ImageRequest();
        Assert.Equal(("", "", 512, 512, library.BatchCount, library.Strength, library.ControlStrength), (r.Prompt, r.NegativePrompt, r.Width, r.Height, r.BatchCount, r.Strength, r.ControlStrength));
        // Steps and CFG stay unset: the library's defaults (upstream's 20 and 7) apply, and results report them.
        Assert.Equal(((int?)null, (float?)null, (float?)null, (float?)null), (r.Sampling.Steps, r.Sampling.CfgScale, r.Sampling.Guidance, r.Sampling.FlowShift));
        Assert.Equal((20, 7f), (SamplingOptions.DefaultSteps, SamplingOptions.DefaultCfgScale));
        Assert.Null(r.Seed); // random, and printed: sd-cli's fixed 42 is the one default sdnet does not copy
        Assert.Null(r.Sampling.Sampler);
        Assert.Null(r.Hires);
        Assert.Null(r.Sampling.SkipLayerGuidance);
        var plan = G();
        Assert.Equal("output.png", plan.Output.PathOf(0, 1));
        Assert.Null(plan.Preview);
        Assert.Null(plan.Upscale);
    }

    [Fact]
    public void Sdnet_s_own_flags_still_work()
    {
        var r = Img("--lora", "style.safetensors:0.6", "--lora", "C:\\loras\\x.safetensors");
        Assert.Equal([new LoraReference("style.safetensors", 0.6f), new LoraReference("C:\\loras\\x.safetensors")], r.Loras);
        var o = Load("--require-gpu", "--no-quantization-cache");
        Assert.True(o.RequireGpu);
        Assert.Equal(QuantizationCacheMode.Off, o.QuantizationCache);
        string models = Path.Combine(this.h.Dir, "models");
        Directory.CreateDirectory(models);
        File.WriteAllBytes(Path.Combine(models, "dreamshaper.safetensors"), [0]);
        Assert.Equal(Path.Combine(models, "dreamshaper.safetensors"), SdCliHarness.ReadAsIs("generate", "-m", "dreamshaper", "--dir", models).Plan.Load!.ModelPath);
    }

    [Fact]
    public void A_value_given_twice_keeps_the_last_as_sd_cli_does()
    {
        Assert.Equal(9, Img("--steps", "4", "--steps", "9").Sampling.Steps);
        Assert.Equal("b", Img("-p", "a", "-p", "b").Prompt);
    }
}
