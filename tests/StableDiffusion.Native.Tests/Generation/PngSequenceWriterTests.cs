using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Native.Imaging;
using static StableDiffusion.Native.Tests.Generation.AnimatedPngWriterTests;

namespace StableDiffusion.Native.Tests.Generation;

public sealed class PngSequenceWriterTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sdnet-frames-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string[] FilesUnderRoot()
        => [.. Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_root, f).Replace('\\', '/')).Order(StringComparer.Ordinal)];

    private static byte[] Decode(string path)
    {
        using var image = Image.Load<Rgb24>(path);
        var pixels = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    [Theory]
    [InlineData("frame_%d.png", 0, new[] { "frame_0.png", "frame_1.png", "frame_2.png" })]
    [InlineData("out_%03d.png", 7, new[] { "out_007.png", "out_008.png", "out_009.png" })]
    [InlineData("clip/%05d.PNG", 98, new[] { "clip/00098.PNG", "clip/00099.PNG", "clip/00100.PNG" })]
    [InlineData("a/b/f%0d", 9, new[] { "a/b/f9.png", "a/b/f10.png", "a/b/f11.png" })]
    [InlineData("out.png", 0, new[] { "out_0.png", "out_1.png", "out_2.png" })]
    [InlineData("out", 1, new[] { "out_1.png", "out_2.png", "out_3.png" })]
    [InlineData("100%%_%02d.png", 0, new[] { "100%_00.png", "100%_01.png", "100%_02.png" })]
    [InlineData("%d_of_it.png", 0, new[] { "0_of_it.png", "1_of_it.png", "2_of_it.png" })]
    public void Frames_are_written_to_the_numbered_files_and_nowhere_else(string pattern, int firstIndex, string[] expected)
    {
        var frames = Enumerable.Range(0, 3).Select(i => Noise(PixelFormat.Rgb24, 5 + i, 4, i)).ToArray();
        var paths = PngSequenceWriter.Write(frames, Path.Combine(_root, pattern), firstIndex);

        Assert.Equal(expected.Select(e => Path.Combine(_root, e)), paths);
        Assert.Equal(expected.Order(StringComparer.Ordinal), FilesUnderRoot());
        for (int i = 0; i < frames.Length; i++) Assert.Equal(frames[i].Pixels.ToArray(), Decode(paths[i]));
        for (int i = 0; i < frames.Length; i++) Assert.Equal(paths[i], PngSequenceWriter.GetPath(Path.Combine(_root, pattern), firstIndex + i));
    }

    [Theory]
    [InlineData("frame_%s.png")]
    [InlineData("frame_%x.png")]
    [InlineData("frame_%.png")]
    [InlineData("frame_%")]
    [InlineData("frame_%-3d.png")]
    [InlineData("frame_%ld.png")]
    [InlineData("frame_%5d.png")]
    [InlineData("frame_%017d.png")]
    [InlineData("a_%d_%d.png")]
    [InlineData("a_%d_%03d.png")]
    [InlineData("run_%d/frame.png")]
    [InlineData("run_%d/frame_%d.png")]
    [InlineData("frames/")]
    [InlineData("frame_%d.jpg")]
    [InlineData("frame_%d.png.webp")]
    [InlineData("out.avi")]
    [InlineData("bad\0name_%d.png")]
    public void A_pattern_that_is_not_one_number_in_a_png_file_name_is_refused_before_anything_is_written(string pattern)
    {
        var error = Assert.Throws<ArgumentException>(() => PngSequenceWriter.Write([Noise(PixelFormat.Rgb24, 2, 2, 1)], Path.Combine(_root, "sub", pattern)));
        Assert.Equal("pattern", error.ParamName);
        Assert.Throws<ArgumentException>(() => PngSequenceWriter.GetPath(Path.Combine(_root, pattern), 0));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(null)]
    public void An_empty_pattern_is_refused(string? pattern)
        => Assert.ThrowsAny<ArgumentException>(() => PngSequenceWriter.GetPath(pattern!, 0));

    [Fact]
    public void Space_padding_is_refused_with_the_zero_padded_spelling()
    {
        var error = Assert.Throws<ArgumentException>(() => PngSequenceWriter.GetPath("out_%3d.png", 0));
        Assert.Contains("'%03d'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pattern_in_a_parent_folder_writes_there_and_only_there()
    {
        string pattern = Path.Combine(_root, "inner", "..", "up_%d.png");
        var paths = PngSequenceWriter.Write([Noise(PixelFormat.Gray8, 3, 3, 1), Noise(PixelFormat.Gray8, 3, 3, 2)], pattern);
        Assert.All(paths, p => Assert.Equal(_root, Path.GetDirectoryName(Path.GetFullPath(p))));
        Assert.Equal(["up_0.png", "up_1.png"], FilesUnderRoot());
    }

    [Fact]
    public void Every_file_carries_the_text_chunks()
    {
        var parameters = new GenerationParameters { Prompt = "a tide pool", Steps = 2, Seed = 5, Width = 4, Height = 4 };
        var paths = PngSequenceWriter.Write([Noise(PixelFormat.Rgb24, 4, 4, 1), Noise(PixelFormat.Rgb24, 4, 4, 2)], Path.Combine(_root, "f_%d.png"),
            text: [KeyValuePair.Create(GenerationParameters.PngKeyword, parameters.ToString())]);
        Assert.All(paths, p => Assert.Equal(parameters, GenerationParameters.Read(p)! with { Extra = parameters.Extra }));
        Assert.Throws<ArgumentException>(() => PngSequenceWriter.Write([Noise(PixelFormat.Rgb24, 4, 4, 1)], Path.Combine(_root, "g_%d.png"), text: [KeyValuePair.Create("", "x")]));
        Assert.False(File.Exists(Path.Combine(_root, "g_0.png")));
    }

    [Fact]
    public void Indices_and_frames_are_checked()
    {
        string pattern = Path.Combine(_root, "f_%d.png");
        var frame = Noise(PixelFormat.Rgb24, 2, 2, 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => PngSequenceWriter.Write([frame], pattern, firstIndex: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PngSequenceWriter.Write([frame, frame], pattern, firstIndex: int.MaxValue));
        Assert.Throws<ArgumentException>(() => PngSequenceWriter.Write([frame, null!], pattern));
        Assert.Throws<ArgumentNullException>(() => PngSequenceWriter.Write(null!, pattern));
        Assert.Throws<ArgumentOutOfRangeException>(() => PngSequenceWriter.GetPath(pattern, -1));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));

        Assert.Equal(Path.Combine(_root, "f_2147483647.png"), PngSequenceWriter.Write([frame], pattern, firstIndex: int.MaxValue).Single());
        Assert.Empty(PngSequenceWriter.Write([], Path.Combine(_root, "none", "f_%d.png")));
        Assert.False(Directory.Exists(Path.Combine(_root, "none")));
    }

    [Fact]
    public void Relative_patterns_stay_relative()
        => Assert.Equal(Path.Combine("frames", "out_0012.png"), PngSequenceWriter.GetPath(Path.Combine("frames", "out_%04d.png"), 12));
}
