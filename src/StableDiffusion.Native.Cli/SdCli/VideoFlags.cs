using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Imaging;
using static StableDiffusion.Native.Cli.SdCli.OptionFactory;

namespace StableDiffusion.Native.Cli.SdCli;

/// <summary>Video only: frames, rate, the last frame, VACE control frames, the MoE hand-over, and reference video and audio.</summary>
internal sealed class VideoFlags
{
    public Option<string?> EndImage { get; } = Text("--end-img", "Last frame (first-last-frame video)");
    public Option<string?> ControlVideo { get; } = Text("--control-video", "Folder of VACE control frames (read in file-name order)");
    public Option<int?> VideoFrames { get; } = Int("--video-frames", "Video frames");
    public Option<int?> Fps { get; } = Int("--fps", $"Video frames per second (default {new VideoRequest().Fps})");
    public Option<float?> MoeBoundary { get; } = Float("--moe-boundary", $"Where the high-noise model hands over (default {Default(new VideoRequest().MoeBoundary)})");
    public Option<float?> VaceStrength { get; } = Float("--vace-strength", $"VACE strength (default {Default(new VideoRequest().VaceStrength)})");
    public Option<string[]> RefVideo { get; } = Repeated("--ref-video", "Reference video: a folder of frames at 24 fps");
    public Option<string[]> RefVideoAudio { get; } = Repeated("--ref-video-audio", "WAV for the --ref-video at the same position");
    public Option<string[]> RefAudio { get; } = Repeated("--ref-audio", "Reference audio (WAV)");

    /// <summary>Every option of this group, to add to a command.</summary>
    public IEnumerable<Option> All => [EndImage, ControlVideo, VideoFrames, Fps, MoeBoundary, VaceStrength, RefVideo, RefVideoAudio, RefAudio];

    public (IReadOnlyList<ReferenceVideo> Videos, IReadOnlyList<AudioBuffer> Audios) ReadReferenceMedia(ParseResult r)
    {
        string[] videos = r.GetValue(RefVideo) ?? [], videoAudios = r.GetValue(RefVideoAudio) ?? [];
        if (videoAudios.Length > videos.Length) throw SdCliSyntax.Bad("--ref-video-audio", "each --ref-video-audio needs a --ref-video at the same position.");
        var list = new List<ReferenceVideo>();
        for (int i = 0; i < videos.Length; i++)
        {
            var frames = InputImages.Folder("--ref-video", videos[i]);
            if (frames.Count == 0) throw SdCliSyntax.Bad("--ref-video", $"no frames in '{videos[i]}'.");
            // sd-cli reads reference videos at 24 frames per second.
            list.Add(new ReferenceVideo(frames, 24, i < videoAudios.Length ? WavReader.Read("--ref-video-audio", videoAudios[i]) : null));
        }
        return (list, (r.GetValue(RefAudio) ?? []).Select(p => WavReader.Read("--ref-audio", p)).ToList());
    }
}
