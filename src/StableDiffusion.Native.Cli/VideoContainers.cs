using System.Buffers.Binary;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Webp;
using StableDiffusion.Native.ImageSharp;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Cli;

/// <summary>The video containers sd-cli and sd-server write besides WebM (which needs libwebm): MJPG AVI and animated WebP.</summary>
internal enum VideoContainer
{
    /// <summary>Motion-JPEG in AVI (<c>video/x-msvideo</c>): every frame a JPEG, which every player reads.</summary>
    Avi,

    /// <summary>Animated WebP (<c>image/webp</c>): browsers play it in an <c>img</c>.</summary>
    Webp,
}

/// <summary>
/// Writes frames into <see cref="VideoContainer"/>s, as upstream's <c>media_io</c> does: each frame is encoded by
/// ImageSharp (JPEG or WebP) and the container around them is written here, byte by byte, after the RIFF layouts of AVI
/// 1.0 (<c>hdrl</c>/<c>movi</c>/<c>idx1</c>) and of WebP's extended format (<c>VP8X</c>/<c>ANIM</c>/<c>ANMF</c>).
/// </summary>
internal static class VideoContainers
{
    /// <summary>The container's media type.</summary>
    public static string MediaType(VideoContainer container) => container == VideoContainer.Avi ? "video/x-msvideo" : "image/webp";

    /// <summary>Encodes <paramref name="frames"/> (all of one size) at <paramref name="fps"/>; <paramref name="quality"/> is the frames' JPEG or WebP quality, 0 to 100.</summary>
    /// <exception cref="ArgumentException">No frames, frames of different sizes, or an fps out of 1 to 1000.</exception>
    public static byte[] Encode(VideoContainer container, IReadOnlyList<ImageBuffer> frames, int fps, int quality)
    {
        ArgumentNullException.ThrowIfNull(frames);
        if (frames.Count == 0) throw new ArgumentException("A video needs at least one frame.", nameof(frames));
        if (fps is < 1 or > 1000) throw new ArgumentOutOfRangeException(nameof(fps), fps, "fps must be 1 to 1000.");
        if (frames.Any(f => f.Width != frames[0].Width || f.Height != frames[0].Height))
            throw new ArgumentException("Every frame of a video must have the first frame's size.", nameof(frames));
        quality = Math.Clamp(quality, 1, 100);
        return container == VideoContainer.Avi ? Avi(frames, fps, quality) : Webp(frames, fps, quality);
    }

    /// <summary>The container a file name asks for: <c>.avi</c> or <c>.webp</c>; null for any other.</summary>
    public static VideoContainer? FromExtension(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".avi" => VideoContainer.Avi,
        ".webp" => VideoContainer.Webp,
        _ => null,
    };

    private static byte[] Avi(IReadOnlyList<ImageBuffer> frames, int fps, int quality)
    {
        var jpegs = frames.Select(f =>
        {
            using var image = f.ToImageSharp();
            using var stream = new MemoryStream();
            image.SaveAsJpeg(stream, new JpegEncoder { Quality = quality });
            return stream.ToArray();
        }).ToList();
        int width = frames[0].Width, height = frames[0].Height;
        int largest = jpegs.Max(j => j.Length);

        using var output = new MemoryStream();
        var w = new RiffWriter(output);
        long riff = w.Begin("RIFF", "AVI ");
        long hdrl = w.Begin("LIST", "hdrl");
        w.Chunk("avih", b =>
        {
            b.U32((uint)Math.Round(1_000_000.0 / fps)); // microseconds per frame
            b.U32((uint)Math.Min(uint.MaxValue, (long)largest * fps)); // max bytes per second
            b.U32(0); // padding granularity
            b.U32(0x10); // AVIF_HASINDEX
            b.U32((uint)frames.Count);
            b.U32(0); // initial frames
            b.U32(1); // streams
            b.U32((uint)largest);
            b.U32((uint)width);
            b.U32((uint)height);
            for (int i = 0; i < 4; i++) b.U32(0);
        });
        long strl = w.Begin("LIST", "strl");
        w.Chunk("strh", b =>
        {
            b.FourCc("vids");
            b.FourCc("MJPG");
            b.U32(0); // flags
            b.U16(0); // priority
            b.U16(0); // language
            b.U32(0); // initial frames
            b.U32(1); // scale
            b.U32((uint)fps); // rate: rate / scale = frames per second
            b.U32(0); // start
            b.U32((uint)frames.Count); // length, in frames
            b.U32((uint)largest);
            b.U32(uint.MaxValue); // quality: the default
            b.U32(0); // sample size: varies
            b.U16(0);
            b.U16(0);
            b.U16((ushort)Math.Min(width, ushort.MaxValue));
            b.U16((ushort)Math.Min(height, ushort.MaxValue));
        });
        w.Chunk("strf", b =>
        {
            // BITMAPINFOHEADER
            b.U32(40);
            b.U32((uint)width);
            b.U32((uint)height);
            b.U16(1); // planes
            b.U16(24); // bits per pixel
            b.FourCc("MJPG");
            b.U32((uint)Math.Min(uint.MaxValue, (long)width * height * 3));
            for (int i = 0; i < 4; i++) b.U32(0);
        });
        w.End(strl);
        w.End(hdrl);
        long movi = w.Begin("LIST", "movi");
        long moviData = movi + 8; // idx1 offsets count from the 'movi' type
        var offsets = new List<(uint Offset, uint Size)>();
        foreach (byte[] jpeg in jpegs)
        {
            offsets.Add(((uint)(output.Position - moviData), (uint)jpeg.Length));
            w.Chunk("00dc", b => b.Bytes(jpeg));
        }
        w.End(movi);
        w.Chunk("idx1", b =>
        {
            foreach (var (offset, size) in offsets)
            {
                b.FourCc("00dc");
                b.U32(0x10); // AVIIF_KEYFRAME: every JPEG stands alone
                b.U32(offset);
                b.U32(size);
            }
        });
        w.End(riff);
        return output.ToArray();
    }

    private static byte[] Webp(IReadOnlyList<ImageBuffer> frames, int fps, int quality)
    {
        int width = frames[0].Width, height = frames[0].Height;
        if (width > 1 << 24 || height > 1 << 24) throw new ArgumentException("A WebP frame is at most 16777216 pixels on a side.", nameof(frames));
        // Each frame's duration in milliseconds; the remainders are spread so that the whole lasts frames / fps.
        var durations = Enumerable.Range(0, frames.Count).Select(i => (int)(Math.Round((i + 1) * 1000.0 / fps) - Math.Round(i * 1000.0 / fps))).ToList();

        using var output = new MemoryStream();
        var w = new RiffWriter(output);
        long riff = w.Begin("RIFF", "WEBP");
        w.Chunk("VP8X", b =>
        {
            b.Byte(0x02); // animation; no alpha, ICC, EXIF or XMP
            b.U24(0);
            b.U24((uint)(width - 1));
            b.U24((uint)(height - 1));
        });
        w.Chunk("ANIM", b =>
        {
            b.U32(0xFF000000); // background: opaque black (BGRA)
            b.U16(0); // loop forever
        });
        for (int i = 0; i < frames.Count; i++)
        {
            byte[] still;
            using (var image = frames[i].ToImageSharp())
            using (var stream = new MemoryStream())
            {
                image.SaveAsWebp(stream, new WebpEncoder { Quality = quality, FileFormat = quality >= 100 ? WebpFileFormatType.Lossless : WebpFileFormatType.Lossy });
                still = stream.ToArray();
            }
            byte[] bitstream = FrameChunks(still);
            int duration = durations[i];
            w.Chunk("ANMF", b =>
            {
                b.U24(0); // x / 2
                b.U24(0); // y / 2
                b.U24((uint)(width - 1));
                b.U24((uint)(height - 1));
                b.U24((uint)Math.Clamp(duration, 1, (1 << 24) - 1));
                b.Byte(0x02); // do not blend: each frame is whole; keep it (no dispose)
                b.Bytes(bitstream);
            });
        }
        w.End(riff);
        return output.ToArray();
    }

    /// <summary>The image chunks (<c>ALPH</c>, <c>VP8 </c>, <c>VP8L</c>) of a still WebP file, as an <c>ANMF</c> frame holds them.</summary>
    private static byte[] FrameChunks(byte[] webp)
    {
        if (webp.Length < 12 || Encoding.ASCII.GetString(webp, 0, 4) != "RIFF" || Encoding.ASCII.GetString(webp, 8, 4) != "WEBP")
            throw new InvalidOperationException("The WebP encoder wrote no RIFF WebP file.");
        using var frame = new MemoryStream();
        int at = 12;
        while (at + 8 <= webp.Length)
        {
            string id = Encoding.ASCII.GetString(webp, at, 4);
            int size = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(webp.AsSpan(at + 4)));
            int padded = size + (size & 1);
            if (at + 8 + size > webp.Length) throw new InvalidOperationException("The WebP encoder wrote a truncated chunk.");
            if (id is "ALPH" or "VP8 " or "VP8L") frame.Write(webp, at, Math.Min(8 + padded, webp.Length - at));
            at += 8 + padded;
        }
        if (frame.Length == 0) throw new InvalidOperationException("The WebP encoder wrote no image chunk.");
        return frame.ToArray();
    }

    /// <summary>RIFF chunks: a four-character id, a little-endian size, the data, a pad byte to an even length.</summary>
    private sealed class RiffWriter(Stream output)
    {
        /// <summary>Starts a list (<c>RIFF</c> or <c>LIST</c>) of <paramref name="type"/>; returns where its header is, for <see cref="End"/>.</summary>
        public long Begin(string id, string type)
        {
            long at = output.Position;
            Write(id);
            Span<byte> size = stackalloc byte[4];
            output.Write(size);
            Write(type);
            return at;
        }

        /// <summary>Writes the size of the list begun at <paramref name="at"/>, now that its content is written.</summary>
        public void End(long at)
        {
            long end = output.Position;
            output.Position = at + 4;
            Span<byte> size = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(size, checked((uint)(end - at - 8)));
            output.Write(size);
            output.Position = end;
        }

        public void Chunk(string id, Action<ChunkData> write)
        {
            var data = new ChunkData();
            write(data);
            Write(id);
            Span<byte> size = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(size, checked((uint)data.Length));
            output.Write(size);
            data.CopyTo(output);
            if ((data.Length & 1) == 1) output.WriteByte(0);
        }

        private void Write(string fourCc) => output.Write(Encoding.ASCII.GetBytes(fourCc));
    }

    private sealed class ChunkData
    {
        private readonly System.Buffers.ArrayBufferWriter<byte> _bytes = new();

        public long Length => _bytes.WrittenCount;

        public void Byte(byte value) => System.Buffers.BuffersExtensions.Write(_bytes, [value]);

        public void U16(ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(Take(2), value);

        public void U24(uint value) => System.Buffers.BuffersExtensions.Write(_bytes, [(byte)value, (byte)(value >> 8), (byte)(value >> 16)]);

        public void U32(uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Take(4), value);

        public void FourCc(string value) => System.Buffers.BuffersExtensions.Write<byte>(_bytes, Encoding.ASCII.GetBytes(value));

        public void Bytes(byte[] value) => System.Buffers.BuffersExtensions.Write<byte>(_bytes, value);

        public void CopyTo(Stream output) => output.Write(_bytes.WrittenSpan);

        private Span<byte> Take(int count)
        {
            var span = _bytes.GetSpan(count)[..count];
            _bytes.Advance(count);
            return span;
        }
    }
}
