using StableDiffusion.Native.Cli.SdCli;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Tests.Cli.SdCli;

/// <summary>The files of <c>sdnet video</c> and of previews, written from frames in memory (no model needed).</summary>
public sealed class SdCliVideoOutputTests : IDisposable
{
    private readonly SdCliHarness h = new();

    public void Dispose() => this.h.Dispose();

    private static List<ImageBuffer> Frames(int count) =>
        Enumerable.Range(0, count).Select(i => ImageBuffer.Filled(PixelFormat.Rgb24, 8, 6, [(byte)(40 * i), 0, 0])).ToList();

    private static readonly GenerationParameters Parameters = new() { Prompt = "a cat", Steps = 4, CfgScale = 6, Seed = 11, Width = 8, Height = 6 };

    private static int Count(byte[] bytes, ReadOnlySpan<byte> chunk)
    {
        int n = 0;
        for (int i = bytes.AsSpan().IndexOf(chunk); i >= 0; i = bytes.AsSpan(i + 1).IndexOf(chunk) is int j && j >= 0 ? i + 1 + j : -1) n++;
        return n;
    }

    [Fact]
    public void A_png_name_gets_one_animated_png_with_the_parameters_and_the_sound_beside_it()
    {
        string path = Path.Combine(this.h.Dir, "out", "clip.png");
        var (plan, _) = this.h.Video("-o", path);
        var audio = AudioBuffer.FromSamples(16000, 1, [0f, 0.5f, -0.5f]);
        string written = VideoOutput.Write(plan, Frames(5), 16, audio, Parameters);

        byte[] apng = File.ReadAllBytes(path);
        Assert.Equal(1, Count(apng, "acTL"u8));
        Assert.Equal(5, Count(apng, "fcTL"u8));
        Assert.Equal(11, GenerationParameters.Read(path)!.Seed);
        string wav = Path.Combine(this.h.Dir, "out", "clip.wav");
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(wav), 0, 4));
        Assert.Equal($"{path}, {wav}", written);
    }

    [Fact]
    public void A_pattern_gets_numbered_pngs_from_the_first_index_and_the_sound_takes_the_pattern_s_name()
    {
        string pattern = Path.Combine(this.h.Dir, "frames", "f_%03d.png");
        var (plan, _) = this.h.Video("-o", pattern, "--output-begin-idx", "2", "--disable-image-metadata");
        VideoOutput.Write(plan, Frames(3), 16, AudioBuffer.FromSamples(8000, 2, [0f, 0f]), plan.EmbedMetadata ? Parameters : null);

        string[] expected = ["f_002.png", "f_003.png", "f_004.png"];
        Assert.Equal(["f.wav", .. expected], Directory.GetFiles(Path.Combine(this.h.Dir, "frames")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Null(GenerationParameters.Read(Path.Combine(this.h.Dir, "frames", "f_002.png")));
        // The third frame (red 80) went to the third number.
        Assert.Equal(80, StableDiffusion.Native.ImageSharp.ImageSharpLoader.LoadRgb(Path.Combine(this.h.Dir, "frames", "f_004.png")).Pixels.Span[0]);
    }

    [Fact]
    public void A_frame_pattern_the_writer_refuses_is_refused_before_anything_runs()
    {
        Assert.Contains("--output", this.h.ErrorOf("video", "-o", Path.Combine("%d", "frame.png")));
        Assert.Contains("--output", this.h.ErrorOf("video", "-o", "f_%d_%d.png"));
    }

    [Fact]
    public void A_preview_is_a_png_and_a_video_preview_an_animated_png_at_the_video_s_rate()
    {
        string path = Path.Combine(this.h.Dir, "p", "preview.png");
        var (plan, _) = this.h.Video("--preview", "proj", "--preview-path", path, "--fps", "24");
        var preview = plan.Preview!;
        // sd-cli animates projections at a quarter of the rate.
        Assert.Equal(6, preview.Fps);
        var frames = Frames(3);
        preview.Report(new PreviewFrame(1, frames[0]) { Frames = frames });
        Assert.Equal(3, Count(File.ReadAllBytes(path), "fcTL"u8));
        preview.Report(new PreviewFrame(2, frames[1]) { Frames = [frames[1]] });
        Assert.Equal(0, Count(File.ReadAllBytes(path), "acTL"u8));
        Assert.False(File.Exists(path + ".part"));
        Assert.Equal(24, this.h.Video("--preview", "vae", "--fps", "24").Plan.Preview!.Fps);
    }
}
