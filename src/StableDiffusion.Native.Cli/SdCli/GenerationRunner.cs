using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.Quantization;

namespace StableDiffusion.Native.Cli.SdCli;

/// <summary>
/// Previews written to one file as sd-cli's <c>--preview-path</c> does: each report replaces the file. The file is
/// written beside and then moved over, so a viewer never reads half a PNG.
/// </summary>
internal sealed class PreviewFile(string path, ILogger logger) : IProgress<PreviewFrame>
{
    /// <summary>The preview file.</summary>
    public string Path { get; } = path;

    /// <summary>Frames per second of a video preview's animation.</summary>
    public int Fps { get; set; } = 16;

    public void Report(PreviewFrame value)
    {
        try
        {
            string? directory = System.IO.Path.GetDirectoryName(Path);
            if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
            string partial = Path + ".part";
            Write(value, partial);
            File.Move(partial, Path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A preview is a convenience: a failed write is logged, as sd-cli logs it, and sampling goes on.
            logger.LogError("save preview image to '{Path}' failed: {Message}", Path, e.Message);
        }
    }

    private void Write(PreviewFrame value, string path)
    {
        // A video preview is every frame: one animated PNG, where sd-cli writes an AVI.
        if (value.Frames.Count > 1)
            AnimatedPngWriter.WriteFile(value.Frames, path, Fps);
        else
            value.Image.SaveAsPng(path);
    }
}

/// <summary>Runs a <see cref="GenerationPlan"/>: loads, generates, refines, upscales and writes the files, reporting on stdout.</summary>
internal static class GenerationRunner
{
    public static int Run(GenerationPlan plan, ILogger logger, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        if (plan.Mode == RunMode.Upscale)
        {
            var upscaled = Upscale(plan, [plan.Input!], logger);
            Save(plan, [(upscaled[0], null)]);
            return CliCommon.Ok;
        }

        using var collector = plan.ImportanceMatrixOut is not null ? StartCollector(plan.ImportanceMatrixOut, logger) : null;
        using var generator = Generator.Load(plan.Load!);
        var loadTime = total.Elapsed;
        var genClock = Stopwatch.StartNew();
        List<(ImageBuffer Image, GenerationParameters? Parameters)> results;
        if (plan.Mode == RunMode.Video)
        {
            return VideoOutput.Run(plan, generator, logger, total, loadTime, cancellationToken);
        }
        else if (plan.Mode == RunMode.Detail)
        {
            results = [(plan.Input!, null)];
        }
        else
        {
            var request = plan.Image!;
            if (plan.Canny && request.ControlImage is { } control)
                request = request with { ControlImage = ImageFilters.Canny(control, logger: logger) };
            var images = RunWithProgress(progress => generator.Generate(request, progress, cancellationToken));
            results = images.Select(i => (i.Image, (GenerationParameters?)i.Parameters)).ToList();
        }

        if (plan.Detail is { } detail)
        {
            using var detailer = Detailer.Load(detail.DetectorPath, plan.Load!.Threads, logger: logger);
            for (int i = 0; i < results.Count; i++)
            {
                // sd-cli: image i of a batch is refined with the request's seed + i, which is the seed it was made with.
                long seed = results[i].Parameters?.Seed ?? detail.Request.Inpaint.Seed ?? Random.Shared.NextInt64(0, 1L << 32);
                var request = detail.Request with { Inpaint = detail.Request.Inpaint with { Seed = seed } };
                var refined = RunWithProgress(progress => detailer.Apply(generator, results[i].Image, request, progress, cancellationToken));
                results[i] = (refined, results[i].Parameters);
            }
        }
        var genTime = genClock.Elapsed;

        if (plan.Upscale is not null)
        {
            var upscaled = Upscale(plan, results.Select(r => r.Image).ToList(), logger);
            results = results.Select((r, i) => (upscaled[i], r.Parameters)).ToList();
        }
        Save(plan, results);
        if (collector is not null) SaveCollector(collector, plan.ImportanceMatrixOut!);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"time: load {loadTime.TotalSeconds:F2} s, generate {genTime.TotalSeconds:F2} s, total {total.Elapsed.TotalSeconds:F2} s"));
        return CliCommon.Ok;
    }

    internal static ImportanceMatrixCollector StartCollector(string path, ILogger logger)
    {
        // sd-cli warns and overwrites; so does this.
        if (File.Exists(path)) logger.LogWarning("imatrix file '{Path}' already exists and will be overwritten", path);
        return ImportanceMatrixCollector.Start(logger);
    }

    internal static void SaveCollector(ImportanceMatrixCollector collector, string path)
    {
        collector.Save(path);
        Console.WriteLine($"imatrix -> {path}");
    }

    /// <summary>sd-cli's ESRGAN pass: each image through the model <see cref="UpscaleStep.Repeats"/> times.</summary>
    internal static IReadOnlyList<ImageBuffer> Upscale(GenerationPlan plan, IReadOnlyList<ImageBuffer> images, ILogger logger)
    {
        var step = plan.Upscale!;
        using var upscaler = Upscaler.Load(step.ModelPath, plan.Load?.Threads, step.TileSize, logger: logger);
        return images.Select(image => upscaler.Upscale(image, repeats: step.Repeats)).ToList();
    }

    /// <summary>Writes each result where <see cref="GenerationPlan.Output"/> names it, with its parameters unless told not to.</summary>
    private static void Save(GenerationPlan plan, List<(ImageBuffer Image, GenerationParameters? Parameters)> results)
    {
        for (int i = 0; i < results.Count; i++)
        {
            var (image, parameters) = results[i];
            string path = plan.Output.PathOf(i, results.Count);
            WritePng(path, image, plan.EmbedMetadata ? parameters : null);
            Console.WriteLine(parameters is null ? $"{path} ({image.Width}x{image.Height})" : $"seed {parameters.Seed} -> {path} ({image.Width}x{image.Height})");
        }
    }

    /// <summary>A PNG, with the A1111 parameters chunk when <paramref name="parameters"/> is given; the folder is created as sd-cli creates it.</summary>
    internal static void WritePng(string path, ImageBuffer image, GenerationParameters? parameters)
    {
        string? directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        if (parameters is null) image.SaveAsPng(path);
        else new GeneratedImage(image, parameters).SaveAsPng(path);
    }

    /// <summary>Runs <paramref name="work"/> with a progress bar (or, without a terminal, a line every five steps) on stderr.</summary>
    /// <param name="work">The generation, given the progress sink.</param>
    /// <param name="label">What is made, for the report ("video"); null names each image of a batch.</param>
    internal static T RunWithProgress<T>(Func<IProgress<GenerationProgress>, T> work, string? label = null)
    {
        string Name(GenerationProgress p) => label ?? $"image {p.Image + 1}";
        if (Console.IsErrorRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            var plain = new Progress(p =>
            {
                if (p.Phase == GenerationPhase.Sampling && p.Step > 0 && (p.Step == p.Steps || p.Step % 5 == 0))
                    Console.Error.WriteLine($"{Name(p)}: step {p.Step}/{p.Steps} ({p.Elapsed.TotalSeconds:F1} s)");
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
                        GenerationPhase.Sampling => $"{Name(p)}: sampling",
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
