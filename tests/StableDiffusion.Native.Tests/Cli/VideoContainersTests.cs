using System.Buffers.Binary;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Native.Cli;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Tests.Cli;

/// <summary>The AVI and animated WebP containers, read back by their layouts and by ImageSharp's decoders.</summary>
public sealed class VideoContainersTests
{
    /// <summary>Three 24×16 frames: red, green, blue.</summary>
    private static readonly ImageBuffer[] s_frames =
    [
        ImageBuffer.Filled(PixelFormat.Rgb24, 24, 16, [220, 20, 20]),
        ImageBuffer.Filled(PixelFormat.Rgb24, 24, 16, [20, 220, 20]),
        ImageBuffer.Filled(PixelFormat.Rgb24, 24, 16, [20, 20, 220]),
    ];

    internal static List<(string Id, int At, int Size)> Chunks(byte[] file, int from, int to)
    {
        var chunks = new List<(string, int, int)>();
        while (from + 8 <= to)
        {
            string id = Encoding.ASCII.GetString(file, from, 4);
            int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(from + 4));
            Assert.True(from + 8 + size <= to, $"chunk {id} at {from} runs past its parent");
            chunks.Add((id, from, size));
            from += 8 + size + (size & 1);
        }
        Assert.Equal(to, from);
        return chunks;
    }

    /// <summary>The top-level chunks of a RIFF file of <paramref name="type"/>, after checking its header and size.</summary>
    private static List<(string Id, int At, int Size)> Riff(byte[] file, string type)
    {
        Assert.Equal("RIFF", Encoding.ASCII.GetString(file, 0, 4));
        Assert.Equal(file.Length - 8, (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(4)));
        Assert.Equal(type, Encoding.ASCII.GetString(file, 8, 4));
        return Chunks(file, 12, file.Length);
    }

    private static (string Id, int At, int Size) Single(List<(string Id, int At, int Size)> chunks, string id, byte[] file, string? listType = null)
        => Assert.Single(chunks, c => c.Id == id && (listType is null || Encoding.ASCII.GetString(file, c.At + 8, 4) == listType));

    [Fact]
    public void Avi_holds_one_keyframe_jpeg_per_frame_at_the_frame_rate_with_an_index_that_finds_them()
    {
        byte[] avi = VideoContainers.Encode(VideoContainer.Avi, s_frames, fps: 8, quality: 90);
        var top = Riff(avi, "AVI ");
        Assert.Equal(["LIST", "LIST", "idx1"], top.Select(c => c.Id));

        var hdrl = Single(top, "LIST", avi, "hdrl");
        var header = Chunks(avi, hdrl.At + 12, hdrl.At + 8 + hdrl.Size);
        var avih = Single(header, "avih", avi);
        Assert.Equal(125_000u, BinaryPrimitives.ReadUInt32LittleEndian(avi.AsSpan(avih.At + 8))); // µs per frame at 8 fps
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(avi.AsSpan(avih.At + 8 + 16))); // total frames
        Assert.Equal(24u, BinaryPrimitives.ReadUInt32LittleEndian(avi.AsSpan(avih.At + 8 + 32)));
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32LittleEndian(avi.AsSpan(avih.At + 8 + 36)));
        var strl = Single(header, "LIST", avi, "strl");
        var stream = Chunks(avi, strl.At + 12, strl.At + 8 + strl.Size);
        var strh = Single(stream, "strh", avi);
        Assert.Equal("vidsMJPG", Encoding.ASCII.GetString(avi, strh.At + 8, 8));
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32LittleEndian(avi.AsSpan(strh.At + 8 + 24)) / BinaryPrimitives.ReadUInt32LittleEndian(avi.AsSpan(strh.At + 8 + 20)));
        Assert.Equal("MJPG", Encoding.ASCII.GetString(avi, Single(stream, "strf", avi).At + 8 + 16, 4));

        var movi = Single(top, "LIST", avi, "movi");
        var frames = Chunks(avi, movi.At + 12, movi.At + 8 + movi.Size);
        Assert.Equal(3, frames.Count);
        var idx1 = Single(top, "idx1", avi);
        Assert.Equal(3 * 16, idx1.Size);
        for (int i = 0; i < 3; i++)
        {
            var entry = avi.AsSpan(idx1.At + 8 + i * 16);
            Assert.Equal("00dc", Encoding.ASCII.GetString(entry[..4]));
            Assert.Equal(0x10u, BinaryPrimitives.ReadUInt32LittleEndian(entry[4..])); // keyframe
            int at = movi.At + 8 + (int)BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]);
            Assert.Equal(frames[i].At, at);
            Assert.Equal(frames[i].Size, (int)BinaryPrimitives.ReadUInt32LittleEndian(entry[12..]));
            using var jpeg = Image.Load<Rgb24>(avi.AsSpan(at + 8, frames[i].Size));
            Assert.Equal((24, 16), (jpeg.Width, jpeg.Height));
            var pixel = jpeg[12, 8];
            byte[] expected = [s_frames[i].Pixels.Span[0], s_frames[i].Pixels.Span[1], s_frames[i].Pixels.Span[2]];
            Assert.InRange(Math.Abs(pixel.R - expected[0]) + Math.Abs(pixel.G - expected[1]) + Math.Abs(pixel.B - expected[2]), 0, 30);
        }
    }

    [Fact]
    public void Animated_webp_has_one_frame_per_image_lasting_one_over_fps_and_decodes_back()
    {
        byte[] webp = VideoContainers.Encode(VideoContainer.Webp, s_frames, fps: 8, quality: 90);
        var chunks = Riff(webp, "WEBP");
        Assert.Equal(["VP8X", "ANIM", "ANMF", "ANMF", "ANMF"], chunks.Select(c => c.Id));
        Assert.Equal(0x02, webp[chunks[0].At + 8] & 0x02); // the animation flag
        foreach (var frame in chunks.Skip(2))
        {
            int duration = webp[frame.At + 8 + 12] | webp[frame.At + 8 + 13] << 8 | webp[frame.At + 8 + 14] << 16;
            Assert.Equal(125, duration);
            Assert.Contains(Encoding.ASCII.GetString(webp, frame.At + 8 + 16, 4), new[] { "VP8 ", "VP8L" });
        }

        // ImageSharp 2 decodes still WebP only: each frame's bitstream, put back in a file of its own, must be that frame.
        for (int i = 0; i < 3; i++)
        {
            var frame = chunks[2 + i];
            byte[] bitstream = webp.AsSpan(frame.At + 8 + 16, frame.Size - 16).ToArray();
            byte[] still = [.. "RIFF"u8, .. BitConverter.GetBytes(4 + bitstream.Length), .. "WEBP"u8, .. bitstream];
            using var decoded = Image.Load<Rgb24>(still);
            Assert.Equal((24, 16), (decoded.Width, decoded.Height));
            var pixel = decoded[12, 8];
            Assert.Equal(i, new[] { pixel.R, pixel.G, pixel.B }.Select((v, c) => (v, c)).MaxBy(x => x.v).c); // red, then green, then blue
        }
    }

    [Fact]
    public void Sdnet_video_writes_the_container_its_output_name_asks_for_and_refuses_webm()
    {
        string dir = Directory.CreateTempSubdirectory("sdnet-video-out-").FullName;
        try
        {
            foreach (var (name, magic) in new[] { ("clip.avi", "AVI "), ("clip.webp", "WEBP") })
            {
                string path = Path.Combine(dir, name);
                var names = StableDiffusion.Native.Cli.SdCli.OutputNames.Parse(path, -1, video: true);
                string written = StableDiffusion.Native.Cli.SdCli.VideoOutput.Write(new StableDiffusion.Native.Cli.SdCli.GenerationPlan(StableDiffusion.Native.Cli.SdCli.RunMode.Video, names), s_frames, 8, null, null);
                Assert.Equal(path, written);
                byte[] file = File.ReadAllBytes(path);
                Assert.Equal(magic, Encoding.ASCII.GetString(file, 8, 4));
            }
            Assert.Contains(".avi (MJPG)", Assert.ThrowsAny<ArgumentException>(() => StableDiffusion.Native.Cli.SdCli.OutputNames.Parse("clip.webm", -1, video: true)).Message, StringComparison.Ordinal);
            Assert.Contains("writes PNG files", Assert.ThrowsAny<ArgumentException>(() => StableDiffusion.Native.Cli.SdCli.OutputNames.Parse("image.avi", -1)).Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Frames_of_different_sizes_or_none_are_refused()
    {
        Assert.Throws<ArgumentException>(() => VideoContainers.Encode(VideoContainer.Avi, [], 8, 90));
        Assert.Throws<ArgumentException>(() => VideoContainers.Encode(VideoContainer.Webp, [s_frames[0], ImageBuffer.Filled(PixelFormat.Rgb24, 8, 8, [0, 0, 0])], 8, 90));
        Assert.Throws<ArgumentOutOfRangeException>(() => VideoContainers.Encode(VideoContainer.Avi, s_frames, 0, 90));
        Assert.Equal(VideoContainer.Avi, VideoContainers.FromExtension("out/clip.AVI"));
        Assert.Equal(VideoContainer.Webp, VideoContainers.FromExtension("clip.webp"));
        Assert.Null(VideoContainers.FromExtension("clip.png"));
    }
}
