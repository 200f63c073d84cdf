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

    /// <summary>An EBML element: its ID (marker bits kept, as Matroska writes IDs), where its content starts, and its size.</summary>
    internal readonly record struct EbmlElement(uint Id, int At, int Size);

    /// <summary>The elements between <paramref name="from"/> and <paramref name="to"/>, each checked to end within them.</summary>
    internal static List<EbmlElement> Ebml(byte[] file, int from, int to)
    {
        var elements = new List<EbmlElement>();
        while (from < to)
        {
            int idLength = 1 + System.Numerics.BitOperations.LeadingZeroCount((uint)file[from] << 24);
            uint id = 0;
            for (int i = 0; i < idLength; i++) id = id << 8 | file[from + i];
            from += idLength;
            int sizeLength = 1 + System.Numerics.BitOperations.LeadingZeroCount((uint)file[from] << 24);
            long size = file[from] & (0xFF >> sizeLength);
            for (int i = 1; i < sizeLength; i++) size = size << 8 | file[from + i];
            from += sizeLength;
            Assert.True(from + size <= to, $"element {id:X} runs past its parent");
            elements.Add(new EbmlElement(id, from, (int)size));
            from += (int)size;
        }
        Assert.Equal(to, from);
        return elements;
    }

    internal static IEnumerable<EbmlElement> Children(byte[] file, EbmlElement parent) => Ebml(file, parent.At, parent.At + parent.Size);

    private static ulong Uint(byte[] file, EbmlElement e) => file.AsSpan(e.At, e.Size).ToArray().Aggregate(0UL, (v, b) => v << 8 | b);

    /// <summary>The VP8 key frames of a WebM's SimpleBlocks, with their times in milliseconds.</summary>
    internal static List<(long Millis, byte[] Frame)> WebmFrames(byte[] webm, out (int Width, int Height, string Codec) track)
    {
        var top = Ebml(webm, 0, webm.Length);
        Assert.Equal([0x1A45DFA3u, 0x18538067u], top.Select(e => e.Id));
        Assert.Equal("webm", Encoding.ASCII.GetString(webm, Children(webm, top[0]).Single(e => e.Id == 0x4282).At, 4));
        var segment = Children(webm, top[1]).ToList();
        var info = Children(webm, segment.Single(e => e.Id == 0x1549A966)).ToList();
        Assert.Equal(1_000_000UL, Uint(webm, info.Single(e => e.Id == 0x2AD7B1)));
        var entry = Children(webm, Children(webm, segment.Single(e => e.Id == 0x1654AE6B)).Single(e => e.Id == 0xAE)).ToList();
        var video = Children(webm, entry.Single(e => e.Id == 0xE0)).ToList();
        var codec = entry.Single(e => e.Id == 0x86);
        track = ((int)Uint(webm, video.Single(e => e.Id == 0xB0)), (int)Uint(webm, video.Single(e => e.Id == 0xBA)), Encoding.ASCII.GetString(webm, codec.At, codec.Size));
        var frames = new List<(long, byte[])>();
        foreach (var cluster in segment.Where(e => e.Id == 0x1F43B675))
        {
            var children = Children(webm, cluster).ToList();
            long start = (long)Uint(webm, children.Single(e => e.Id == 0xE7));
            foreach (var block in children.Where(e => e.Id == 0xA3))
            {
                Assert.Equal(0x81, webm[block.At]); // track 1
                Assert.Equal(0x80, webm[block.At + 3] & 0x80); // a key frame
                short offset = BinaryPrimitives.ReadInt16BigEndian(webm.AsSpan(block.At + 1));
                frames.Add((start + offset, webm.AsSpan(block.At + 4, block.Size - 4).ToArray()));
            }
        }
        return frames;
    }

    [Fact]
    public void Webm_holds_one_vp8_key_frame_per_image_at_its_time_and_each_decodes_back()
    {
        byte[] webm = VideoContainers.Encode(VideoContainer.Webm, s_frames, fps: 8, quality: 90);
        var frames = WebmFrames(webm, out var track);
        Assert.Equal((24, 16, "V_VP8"), track);
        Assert.Equal([0L, 125L, 250L], frames.Select(f => f.Millis));
        for (int i = 0; i < 3; i++)
        {
            byte[] vp8 = frames[i].Frame;
            // A VP8 key frame of the track's size: the start code, then 14-bit width and height.
            Assert.Equal(0, vp8[0] & 1);
            Assert.Equal(new byte[] { 0x9D, 0x01, 0x2A }, vp8[3..6]);
            Assert.Equal((24, 16), (BinaryPrimitives.ReadUInt16LittleEndian(vp8.AsSpan(6)) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(vp8.AsSpan(8)) & 0x3FFF));
            // Put back in a still WebP, it is that frame.
            byte[] still = [.. "RIFF"u8, .. BitConverter.GetBytes(12 + vp8.Length + (vp8.Length & 1)), .. "WEBPVP8 "u8, .. BitConverter.GetBytes(vp8.Length), .. vp8, .. new byte[vp8.Length & 1]];
            using var decoded = Image.Load<Rgb24>(still);
            var pixel = decoded[12, 8];
            Assert.Equal(i, new[] { pixel.R, pixel.G, pixel.B }.Select((v, c) => (v, c)).MaxBy(x => x.v).c); // red, then green, then blue
        }
        // Past 30 s a new cluster starts, so that each block's 16-bit offset holds.
        var long_ = Enumerable.Range(0, 70).Select(i => s_frames[i % 3]).ToList();
        var spread = WebmFrames(VideoContainers.Encode(VideoContainer.Webm, long_, fps: 2, quality: 50), out _);
        Assert.Equal(Enumerable.Range(0, 70).Select(i => i * 500L), spread.Select(f => f.Millis));
    }

    [SkippableFact]
    public async Task Chromium_plays_the_webm_in_a_video_element_frame_by_frame()
    {
        var (chromium, reason) = Serve.HeadlessChromium.Find();
        Skip.If(chromium is null, reason);
        byte[] webm = VideoContainers.Encode(VideoContainer.Webm, s_frames, fps: 8, quality: 90);
        string dir = Directory.CreateTempSubdirectory("sdnet-webm-page-").FullName;
        try
        {
            string page = Path.Combine(dir, "page.html");
            await File.WriteAllTextAsync(page, $"""
                <!doctype html><meta charset="utf-8">
                <video id="v" muted preload="auto" src="data:video/webm;base64,{Convert.ToBase64String(webm)}"></video>
                """);
            await using var browser = await Serve.HeadlessChromium.StartAsync(chromium!);
            await browser.NavigateAsync(new Uri(page));
            string seen = (await browser.EvaluateAsync("""
                (async () => {
                  const v = document.getElementById('v');
                  if (v.readyState < 1) await new Promise((ok, fail) => { v.onloadedmetadata = ok; v.onerror = () => fail(String(v.error && v.error.message)); });
                  const canvas = document.createElement('canvas'); canvas.width = 24; canvas.height = 16;
                  const g = canvas.getContext('2d'), colours = [];
                  // 'seeked' can fire before the compositor shows the new frame (a loaded machine drew the previous one):
                  // a frame callback is the signal that the frame is presented. Last frame first, so each seek changes it.
                  for (const t of [0.31, 0.19, 0.06]) {
                    await new Promise(ok => {
                      let pending = 2;
                      const one = () => { if (--pending === 0) ok(); };
                      v.requestVideoFrameCallback(one);
                      v.onseeked = one;
                      v.currentTime = t;
                    });
                    g.drawImage(v, 0, 0);
                    const p = g.getImageData(12, 8, 1, 1).data;
                    colours.unshift([p[0], p[1], p[2]]);
                  }
                  return JSON.stringify({ width: v.videoWidth, height: v.videoHeight, duration: v.duration, colours });
                })()
                """))!.GetValue<string>();
            using var doc = System.Text.Json.JsonDocument.Parse(seen);
            var root = doc.RootElement;
            Assert.Equal((24, 16), (root.GetProperty("width").GetInt32(), root.GetProperty("height").GetInt32()));
            Assert.InRange(root.GetProperty("duration").GetDouble(), 0.37, 0.38);
            var colours = root.GetProperty("colours").EnumerateArray().Select(c => c.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
            for (int i = 0; i < 3; i++)
                Assert.True(colours[i].Select((v, c) => (v, c)).MaxBy(x => x.v).c == i, seen); // red, then green, then blue
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Sdnet_video_writes_the_container_its_output_name_asks_for()
    {
        string dir = Directory.CreateTempSubdirectory("sdnet-video-out-").FullName;
        try
        {
            foreach (var (name, magic) in new[] { ("clip.avi", "AVI "), ("clip.webp", "WEBP"), ("clip.webm", "webm") })
            {
                string path = Path.Combine(dir, name);
                var names = StableDiffusion.Native.Cli.SdCli.OutputNames.Parse(path, -1, video: true);
                string written = StableDiffusion.Native.Cli.SdCli.VideoOutput.Write(new StableDiffusion.Native.Cli.SdCli.GenerationPlan(StableDiffusion.Native.Cli.SdCli.RunMode.Video, names), s_frames, 8, null, null);
                Assert.Equal(path, written);
                byte[] file = File.ReadAllBytes(path);
                Assert.Contains(magic, Encoding.ASCII.GetString(file, 0, Math.Min(file.Length, 40)), StringComparison.Ordinal);
            }
            Assert.Contains(".webm (VP8)", Assert.ThrowsAny<ArgumentException>(() => StableDiffusion.Native.Cli.SdCli.OutputNames.Parse("clip.gif", -1, video: true)).Message, StringComparison.Ordinal);
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
