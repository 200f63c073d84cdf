using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Cli.SdCli;

/// <summary>
/// A video plan's run and its files: a VP8 WebM, an MJPG AVI or an animated WebP for <c>.webm</c>/<c>.avi</c>/<c>.webp</c>
/// (as sd-cli writes them), else what the library writes: an animated PNG (browsers play it), or numbered PNGs with
/// <c>%d</c>. Sound goes to a WAV beside them, as sd-cli's sidecar does when its container takes no audio.
/// </summary>
internal static class VideoOutput
{
    /// <summary>The frames' JPEG or WebP quality in a container.</summary>
    private const int Quality = 90;

    public static int Run(GenerationPlan plan, Generator generator, ILogger logger, Stopwatch total, TimeSpan loadTime, CancellationToken cancellationToken)
    {
        var request = plan.Video!;
        var genClock = Stopwatch.StartNew();
        var video = GenerationRunner.RunWithProgress(progress => generator.GenerateVideo(request, progress, cancellationToken), "video");
        var genTime = genClock.Elapsed;
        var frames = plan.Upscale is null ? video.Frames : GenerationRunner.Upscale(plan, video.Frames, logger);
        var written = Write(plan, frames, video.Fps, video.Audio, plan.EmbedMetadata ? video.Parameters : null);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"seed {video.Parameters.Seed} -> {written} ({frames.Count} frames, {(frames.Count > 0 ? frames[0].Width : 0)}x{(frames.Count > 0 ? frames[0].Height : 0)}, {video.Fps} fps)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"time: load {loadTime.TotalSeconds:F2} s, generate {genTime.TotalSeconds:F2} s, total {total.Elapsed.TotalSeconds:F2} s"));
        return CliCommon.Ok;
    }

    /// <summary>Writes the frames (and sound) where <see cref="GenerationPlan.Output"/> says; returns what was written, for the report line.</summary>
    internal static string Write(GenerationPlan plan, IReadOnlyList<ImageBuffer> frames, int fps, AudioBuffer? audio, GenerationParameters? parameters)
    {
        var output = plan.Output;
        string written;
        KeyValuePair<string, string>[]? text = parameters is null ? null : [KeyValuePair.Create(GenerationParameters.PngKeyword, parameters.ToString())];
        if (output.IsNumbered)
        {
            var paths = PngSequenceWriter.Write(frames, output.Pattern, output.BeginIndex, text);
            written = paths.Count == 0 ? output.Pattern : $"{paths[0]} .. {paths[^1]}";
        }
        else
        {
            written = output.PathOf(0, 1);
            string? directory = Path.GetDirectoryName(written);
            if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
            if (output.Container is { } container) File.WriteAllBytes(written, VideoContainers.Encode(container, frames, fps, Quality));
            else AnimatedPngWriter.WriteFile(frames, written, fps, text: text);
        }
        if (audio is not null)
        {
            string wav = output.Beside(".wav");
            WavWriter.WriteFile(audio, wav);
            written += ", " + wav;
        }
        return written;
    }
}
