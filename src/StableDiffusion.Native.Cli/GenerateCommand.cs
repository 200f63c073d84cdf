using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using StableDiffusion.Native.ImageSharp;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Quantization;

namespace StableDiffusion.Native.Cli;

internal static class GenerateCommand
{
    public static Command Create()
    {
        var load = new ModelLoadOptions();
        var controlNet = new Option<string?>("--control-net") { Description = "ControlNet weights" };
        var lora = new Option<string[]>("--lora") { Description = "LoRA file, optionally with a multiplier: path[:0.8] (repeatable)", AllowMultipleArgumentsPerToken = false };
        var prompt = new Option<string>("--prompt", "-p") { Description = "What to draw", Required = true };
        var negative = new Option<string>("--negative-prompt", "-n") { Description = "What to avoid", DefaultValueFactory = _ => "" };
        var width = new Option<int?>("--width", "-W") { Description = "Width in pixels (default 512, or the init image's)" };
        var height = new Option<int?>("--height", "-H") { Description = "Height in pixels (default 512, or the init image's)" };
        var steps = new Option<int>("--steps") { Description = "Sampling steps", DefaultValueFactory = _ => 20 };
        var cfg = new Option<float>("--cfg-scale") { Description = "Classifier-free guidance scale", DefaultValueFactory = _ => 7f };
        var guidance = new Option<float?>("--guidance") { Description = "Distilled guidance (Flux)" };
        var sampler = new Option<string?>("--sampling-method") { Description = "Sampler: " + string.Join(", ", SamplingNames.SamplerNames) };
        var scheduler = new Option<string?>("--scheduler") { Description = "Scheduler: " + string.Join(", ", SamplingNames.SchedulerNames) };
        var seed = new Option<long?>("--seed", "-s") { Description = "Seed of the first image (random if omitted; always printed)" };
        var batch = new Option<int>("--batch-count", "-b") { Description = "Images to generate (seeds seed, seed+1, ...)", DefaultValueFactory = _ => 1 };
        var clipSkip = new Option<int?>("--clip-skip") { Description = "Skip the last CLIP layers" };
        var init = new Option<string?>("--init-img", "-i") { Description = "Init image for image-to-image" };
        var mask = new Option<string?>("--mask") { Description = "Inpainting mask (white repaints)" };
        var strength = new Option<float>("--strength") { Description = "Denoising strength for image-to-image", DefaultValueFactory = _ => 0.75f };
        var controlImage = new Option<string?>("--control-image") { Description = "ControlNet conditioning image" };
        var controlStrength = new Option<float>("--control-strength") { Description = "ControlNet strength", DefaultValueFactory = _ => 0.9f };
        var vaeTiling = new Option<bool>("--vae-tiling") { Description = "Decode in tiles (less memory)" };
        var hiresScale = new Option<float?>("--hires-scale") { Description = "Hires fix: enlarge the first pass by this factor and refine it" };
        var hiresSteps = new Option<int>("--hires-steps") { Description = "Hires fix: steps of the second pass (0: same as --steps)", DefaultValueFactory = _ => 0 };
        var hiresStrength = new Option<float>("--hires-denoising-strength") { Description = "Hires fix: denoising strength of the second pass", DefaultValueFactory = _ => 0.7f };
        var output = new Option<string>("--output", "-o") { Description = "Output PNG (a batch adds _2, _3, ...)", DefaultValueFactory = _ => "output.png" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Show the native log" };

        var command = new Command("generate", "Generate images from a prompt (text-to-image, image-to-image, inpainting, ControlNet)")
        {
            controlNet, lora, prompt, negative, width, height, steps, cfg,
            guidance, sampler, scheduler, seed, batch, clipSkip, init, mask, strength, controlImage, controlStrength, vaeTiling,
            hiresScale, hiresSteps, hiresStrength, output, verbose,
        };
        foreach (var option in load.All) command.Options.Add(option);
        command.SetAction((r, cancellationToken) => Task.FromResult(CliCommon.Run(() =>
        {
            var logger = CliCommon.Logger(r.GetValue(verbose));
            NativeRuntime.Logger = logger;
            var options = load.Read(r, logger) with { ControlNetPath = r.GetValue(controlNet) };
            Sampler? samplerValue = null;
            if (r.GetValue(sampler) is { } sn)
                samplerValue = SamplingNames.TryParseSampler(sn, out var s) ? s : throw new ArgumentException($"Unknown sampler '{sn}'.", "--sampling-method");
            Scheduler? schedulerValue = null;
            if (r.GetValue(scheduler) is { } scn)
                schedulerValue = SamplingNames.TryParseScheduler(scn, out var sc) ? sc : throw new ArgumentException($"Unknown scheduler '{scn}'.", "--scheduler");

            var initImage = r.GetValue(init) is { } ip ? ImageSharpLoader.LoadRgb(ip) : null;
            var maskImage = r.GetValue(mask) is { } mp ? ImageSharpLoader.LoadMask(mp) : null;
            var control = r.GetValue(controlImage) is { } cp ? ImageSharpLoader.LoadRgb(cp) : null;
            var request = new ImageRequest
            {
                Prompt = r.GetValue(prompt)!,
                NegativePrompt = r.GetValue(negative) ?? "",
                Width = r.GetValue(width),
                Height = r.GetValue(height),
                Steps = r.GetValue(steps),
                CfgScale = r.GetValue(cfg),
                Guidance = r.GetValue(guidance),
                Sampler = samplerValue,
                Scheduler = schedulerValue,
                Seed = r.GetValue(seed),
                BatchCount = r.GetValue(batch),
                ClipSkip = r.GetValue(clipSkip),
                Loras = (r.GetValue(lora) ?? []).Select(ParseLora).ToList(),
                InitImage = initImage,
                Mask = maskImage,
                Strength = r.GetValue(strength),
                ControlImage = control,
                ControlStrength = r.GetValue(controlStrength),
                VaeTiling = r.GetValue(vaeTiling),
                Hires = r.GetValue(hiresScale) is float hs ? new HiresFix(hs, r.GetValue(hiresSteps), r.GetValue(hiresStrength)) : null,
            };

            var total = Stopwatch.StartNew();
            using var generator = Generator.Load(options);
            var loadTime = total.Elapsed;
            var genClock = Stopwatch.StartNew();
            IReadOnlyList<GeneratedImage> images = RunWithProgress(progress =>
                maskImage is not null ? generator.Inpaint(request, progress, cancellationToken)
                : initImage is not null ? generator.ImageToImage(request, progress, cancellationToken)
                : generator.TextToImage(request, progress, cancellationToken));
            var genTime = genClock.Elapsed;

            string outPath = r.GetValue(output)!;
            for (int i = 0; i < images.Count; i++)
            {
                string path = i == 0 ? outPath : Path.Combine(Path.GetDirectoryName(outPath) ?? "",
                    Path.GetFileNameWithoutExtension(outPath) + "_" + (i + 1).ToString(CultureInfo.InvariantCulture) + Path.GetExtension(outPath));
                images[i].SaveAsPng(path);
                Console.WriteLine($"seed {images[i].Seed} -> {path} ({images[i].Width}x{images[i].Height})");
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"time: load {loadTime.TotalSeconds:F2} s, generate {genTime.TotalSeconds:F2} s, total {total.Elapsed.TotalSeconds:F2} s"));
            return 0;
        })));
        return command;
    }

    internal static LoraReference ParseLora(string spec)
    {
        // path[:multiplier] — the last colon only counts when a number follows (Windows drive letters).
        int colon = spec.LastIndexOf(':');
        if (colon > 1 && float.TryParse(spec.AsSpan(colon + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out float m))
            return new LoraReference(spec[..colon], m);
        return new LoraReference(spec);
    }

    private static T RunWithProgress<T>(Func<IProgress<GenerationProgress>, T> work)
    {
        if (Console.IsErrorRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            var plain = new Progress(p =>
            {
                if (p.Phase == GenerationPhase.Sampling && p.Step > 0 && (p.Step == p.Steps || p.Step % 5 == 0))
                    Console.Error.WriteLine($"image {p.Image + 1}: step {p.Step}/{p.Steps} ({p.Elapsed.TotalSeconds:F1} s)");
            });
            return work(plain);
        }
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("loading", maxValue: 1);
                result = work(new Progress(p =>
                {
                    task.Description = p.Phase switch
                    {
                        GenerationPhase.Sampling => $"image {p.Image + 1}: sampling",
                        GenerationPhase.Decoding => "decoding",
                        _ => "loading",
                    };
                    task.MaxValue = Math.Max(1, p.Steps);
                    task.Value = p.Step;
                }));
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>Reports synchronously on the generating thread (System.Progress would post to the thread pool, out of order).</summary>
    private sealed class Progress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
