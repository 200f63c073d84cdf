using System.Buffers.Binary;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Webp;
using StableDiffusion.Native.ImageSharp;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Cli;

/// <summary>The video containers sd-cli and sd-server write: WebM (VP8), MJPG AVI and animated WebP.</summary>
internal enum VideoContainer
{
    /// <summary>WebM (<c>video/webm</c>): VP8 key frames, which browsers play in a <c>video</c>; sd-server's default.</summary>
    Webm,

    /// <summary>Motion-JPEG in AVI (<c>video/x-msvideo</c>): every frame a JPEG, which every player reads.</summary>
    Avi,

    /// <summary>Animated WebP (<c>image/webp</c>): browsers play it in an <c>img</c>.</summary>
    Webp,
}

/// <summary>
/// Writes frames into <see cref="VideoContainer"/>s, as upstream's <c>media_io</c> does: each frame is encoded by
/// ImageSharp (JPEG or WebP) and the container around them is written here, byte by byte, after the RIFF layouts of AVI
/// 1.0 (<c>hdrl</c>/<c>movi</c>/<c>idx1</c>) and of WebP's extended format (<c>VP8X</c>/<c>ANIM</c>/<c>ANMF</c>), and
/// WebM's EBML. WebM needs no VP8 encoder of its own: a lossy WebP's <c>VP8 </c> chunk is a VP8 key frame, which is how
/// upstream (<c>encode_sd_image_to_vp8_frame</c>) feeds libwebm too.
/// </summary>
internal static class VideoContainers
{
    /// <summary>The container's media type.</summary>
    public static string MediaType(VideoContainer container) => container switch
    {
        VideoContainer.Webm => "video/webm",
        VideoContainer.Avi => "video/x-msvideo",
        _ => "image/webp",
    };

    /// <summary>sd-server's name of the container (its <c>output_format</c>): <c>webm</c>, <c>webp</c> or <c>avi</c>.</summary>
    public static string Name(VideoContainer container) => container switch
    {
        VideoContainer.Webm => "webm",
        VideoContainer.Avi => "avi",
        _ => "webp",
    };

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
        return container switch
        {
            VideoContainer.Webm => Webm(frames, fps, quality),
            VideoContainer.Avi => Avi(frames, fps, quality),
            _ => Webp(frames, fps, quality),
        };
    }

    /// <summary>The container a file name asks for: <c>.webm</c>, <c>.avi</c> or <c>.webp</c>; null for any other.</summary>
    public static VideoContainer? FromExtension(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".webm" => VideoContainer.Webm,
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

    /// <summary>
    /// A WebM of one VP8 track, every frame a key frame, in the layout libwebm writes: the EBML header (DocType
    /// <c>webm</c>), then a Segment of Info (millisecond timecodes, the duration), Tracks, and Clusters of SimpleBlocks.
    /// </summary>
    private static byte[] Webm(IReadOnlyList<ImageBuffer> frames, int fps, int quality)
    {
        int width = frames[0].Width, height = frames[0].Height;
        if (width > 16383 || height > 16383) throw new ArgumentException("A VP8 frame is at most 16383 pixels on a side.", nameof(frames));
        var header = Ebml.Master(0x1A45DFA3,
            Ebml.Uint(0x4286, 1), // EBMLVersion
            Ebml.Uint(0x42F7, 1), // EBMLReadVersion
            Ebml.Uint(0x42F2, 4), // EBMLMaxIDLength
            Ebml.Uint(0x42F3, 8), // EBMLMaxSizeLength
            Ebml.Text(0x4282, "webm"), // DocType
            Ebml.Uint(0x4287, 4), // DocTypeVersion
            Ebml.Uint(0x4285, 2)); // DocTypeReadVersion
        long Millis(int frame) => (long)Math.Round(frame * 1000.0 / fps);
        var info = Ebml.Master(0x1549A966,
            Ebml.Uint(0x2AD7B1, 1_000_000), // TimecodeScale: timecodes count milliseconds
            Ebml.Float(0x4489, Millis(frames.Count)), // Duration
            Ebml.Text(0x4D80, "sdnet"), // MuxingApp
            Ebml.Text(0x5741, "sdnet")); // WritingApp
        var tracks = Ebml.Master(0x1654AE6B, Ebml.Master(0xAE,
            Ebml.Uint(0xD7, 1), // TrackNumber
            Ebml.Uint(0x73C5, 1), // TrackUID
            Ebml.Uint(0x83, 1), // TrackType: video
            Ebml.Uint(0x9C, 0), // FlagLacing
            Ebml.Text(0x86, "V_VP8"), // CodecID
            Ebml.Uint(0x23E383, (ulong)Math.Max(1, Math.Round(1e9 / fps))), // DefaultDuration, ns
            Ebml.Master(0xE0, Ebml.Uint(0xB0, (ulong)width), Ebml.Uint(0xBA, (ulong)height)))); // Video: PixelWidth, PixelHeight
        var segment = new List<byte[]> { info, tracks };
        // A SimpleBlock's timecode is a signed 16-bit offset from its cluster's: a new cluster at least every 30 s.
        var cluster = new List<byte[]>();
        long clusterStart = 0;
        for (int i = 0; i < frames.Count; i++)
        {
            long at = Millis(i);
            if (cluster.Count == 0 || at - clusterStart > 30_000)
            {
                if (cluster.Count > 0) segment.Add(Ebml.Master(0x1F43B675, [.. cluster]));
                clusterStart = at;
                cluster = [Ebml.Uint(0xE7, (ulong)at)]; // Timecode
            }
            byte[] vp8 = Vp8KeyFrame(frames[i], quality);
            byte[] block = new byte[4 + vp8.Length];
            block[0] = 0x81; // track 1, as a one-byte EBML number
            BinaryPrimitives.WriteInt16BigEndian(block.AsSpan(1), (short)(at - clusterStart));
            block[3] = 0x80; // key frame
            vp8.CopyTo(block, 4);
            cluster.Add(Ebml.Element(0xA3, block)); // SimpleBlock
        }
        segment.Add(Ebml.Master(0x1F43B675, [.. cluster]));
        using var output = new MemoryStream();
        output.Write(header);
        output.Write(Ebml.Master(0x18538067, [.. segment]));
        return output.ToArray();
    }

    /// <summary>One frame as a VP8 key frame: the payload of a lossy WebP's <c>VP8 </c> chunk.</summary>
    private static byte[] Vp8KeyFrame(ImageBuffer frame, int quality)
    {
        byte[] webp;
        using (var image = frame.ToImageSharp())
        using (var stream = new MemoryStream())
        {
            image.SaveAsWebp(stream, new WebpEncoder { Quality = quality, FileFormat = WebpFileFormatType.Lossy });
            webp = stream.ToArray();
        }
        int at = 12;
        while (at + 8 <= webp.Length)
        {
            int size = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(webp.AsSpan(at + 4)));
            if (at + 8 + size > webp.Length) break;
            if (Encoding.ASCII.GetString(webp, at, 4) == "VP8 ")
            {
                var vp8 = webp.AsSpan(at + 8, size);
                // A key frame: bit 0 of the frame tag clear, then the start code 9d 01 2a.
                if (size < 10 || (vp8[0] & 1) != 0 || vp8[3] != 0x9D || vp8[4] != 0x01 || vp8[5] != 0x2A)
                    throw new InvalidOperationException("The WebP encoder wrote no VP8 key frame.");
                return vp8.ToArray();
            }
            at += 8 + size + (size & 1);
        }
        throw new InvalidOperationException("The WebP encoder wrote no VP8 chunk.");
    }

    /// <summary>EBML elements (Matroska's binary XML): an ID, a size as a variable-length number, the content; big-endian.</summary>
    private static class Ebml
    {
        public static byte[] Element(uint id, byte[] content)
        {
            using var output = new MemoryStream();
            int idLength = id > 0xFFFFFF ? 4 : id > 0xFFFF ? 3 : id > 0xFF ? 2 : 1;
            for (int i = idLength - 1; i >= 0; i--) output.WriteByte((byte)(id >> (8 * i)));
            // The shortest length whose all-ones value (reserved for "unknown") stays clear of the size.
            ulong size = (ulong)content.Length;
            int n = 1;
            while (n < 8 && size >= (1UL << (7 * n)) - 1) n++;
            ulong coded = size | (1UL << (7 * n));
            for (int i = n - 1; i >= 0; i--) output.WriteByte((byte)(coded >> (8 * i)));
            output.Write(content);
            return output.ToArray();
        }

        public static byte[] Master(uint id, params byte[][] children) => Element(id, [.. children.SelectMany(c => c)]);

        public static byte[] Uint(uint id, ulong value)
        {
            int n = 1;
            while (n < 8 && value >> (8 * n) != 0) n++;
            var bytes = new byte[n];
            for (int i = 0; i < n; i++) bytes[i] = (byte)(value >> (8 * (n - 1 - i)));
            return Element(id, bytes);
        }

        public static byte[] Float(uint id, double value)
        {
            var bytes = new byte[8];
            BinaryPrimitives.WriteDoubleBigEndian(bytes, value);
            return Element(id, bytes);
        }

        public static byte[] Text(uint id, string value) => Element(id, Encoding.ASCII.GetBytes(value));
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
