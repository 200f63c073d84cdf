using System.CommandLine;
using StableDiffusion.Native.Cli.SdCli;

namespace StableDiffusion.Native.Cli;

/// <summary>
/// <c>sdnet video</c>: sd-cli's <c>-M vid_gen</c> (Wan, LTX-2, HunyuanVideo, AnimateDiff, ...) under sd-cli's flags.
/// <c>-o out.png</c> writes an animated PNG, <c>-o frames/%03d.png</c> numbered PNGs; audio goes to a .wav beside them.
/// </summary>
internal static class VideoCommand
{
    public static Command Create() => GenerateCommand.Create("video",
        "Generate a video (text-to-video, image-to-video, first-last frame, VACE); takes sd-cli's flags", RunMode.Video);
}
