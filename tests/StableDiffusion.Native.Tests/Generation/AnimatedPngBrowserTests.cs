// The browser driver lives with the sdnet serve tests, which build for net10.0 only.
#if NET10_0_OR_GREATER
using System.Text.Json;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.Tests.Cli.Serve;

namespace StableDiffusion.Native.Tests.Generation;

/// <summary>An animated PNG from <see cref="AnimatedPngWriter"/> in a real browser: it decodes as an animation and plays.</summary>
public sealed class AnimatedPngBrowserTests
{
    private static readonly byte[][] Colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];

    [SkippableFact]
    public async Task Chromium_decodes_every_frame_with_its_delay_and_plays_them_in_an_img()
    {
        var (chromium, reason) = HeadlessChromium.Find();
        Skip.If(chromium is null, reason);

        // Four solid colours at 5 frames per second: 200 ms each, looping forever; a second file plays twice.
        var frames = Colours.Select(c => ImageBuffer.Filled(PixelFormat.Rgb24, 32, 24, c)).ToArray();
        using var looping = new MemoryStream();
        AnimatedPngWriter.Write(frames, looping, 5);
        using var twice = new MemoryStream();
        AnimatedPngWriter.Write(frames, twice, 5, plays: 2);

        string dir = Directory.CreateTempSubdirectory("sdnet-apng-page-").FullName;
        try
        {
            // A file: page is a secure context (ImageDecoder needs one), and data: images do not taint the canvas.
            string page = Path.Combine(dir, "page.html");
            await File.WriteAllTextAsync(page, $"""
                <!doctype html><meta charset="utf-8">
                <img id="looping" src="data:image/png;base64,{Convert.ToBase64String(looping.ToArray())}">
                <img id="twice" src="data:image/png;base64,{Convert.ToBase64String(twice.ToArray())}">
                """);
            await using var browser = await HeadlessChromium.StartAsync(chromium!);
            await browser.NavigateAsync(new Uri(page));

            string decoded = (await browser.EvaluateAsync("""
                (async () => {
                  const describe = async (id) => {
                    const bytes = await (await fetch(document.getElementById(id).src)).arrayBuffer();
                    const decoder = new ImageDecoder({ data: bytes, type: 'image/png' });
                    await decoder.tracks.ready;
                    await decoder.completed;
                    const track = decoder.tracks.selectedTrack;
                    const canvas = new OffscreenCanvas(32, 24), g = canvas.getContext('2d');
                    const frames = [];
                    for (let i = 0; i < track.frameCount; i++) {
                      const { image } = await decoder.decode({ frameIndex: i });
                      g.drawImage(image, 0, 0);
                      const p = g.getImageData(16, 12, 1, 1).data;
                      frames.push({ duration: image.duration, width: image.displayWidth, height: image.displayHeight, rgb: [p[0], p[1], p[2]] });
                      image.close();
                    }
                    const repetitions = track.repetitionCount === Infinity ? 'Infinity' : String(track.repetitionCount);
                    return { animated: track.animated, count: track.frameCount, repetitions, frames };
                  };
                  return JSON.stringify({ secure: window.isSecureContext, looping: await describe('looping'), twice: await describe('twice') });
                })()
                """))!.GetValue<string>();
            using var doc = JsonDocument.Parse(decoded);
            var looped = doc.RootElement.GetProperty("looping");
            Assert.True(looped.GetProperty("animated").GetBoolean(), decoded);
            Assert.Equal(4, looped.GetProperty("count").GetInt32());
            Assert.Equal("Infinity", looped.GetProperty("repetitions").GetString());
            var decodedFrames = looped.GetProperty("frames").EnumerateArray().ToArray();
            for (int i = 0; i < 4; i++)
            {
                Assert.Equal(200_000, decodedFrames[i].GetProperty("duration").GetInt64()); // microseconds
                Assert.Equal(32, decodedFrames[i].GetProperty("width").GetInt32());
                Assert.Equal(24, decodedFrames[i].GetProperty("height").GetInt32());
                Assert.Equal(Colours[i], decodedFrames[i].GetProperty("rgb").EnumerateArray().Select(v => (byte)v.GetInt32()).ToArray());
            }
            // num_plays 2 is one repetition after the first play.
            Assert.Equal("1", doc.RootElement.GetProperty("twice").GetProperty("repetitions").GetString());

            // In an <img>, the frame shown changes with time. A canvas cannot show it: drawImage of an animated image
            // draws its first frame, as HTML specifies. So the page itself is photographed, repeatedly, for 2 s.
            string box = (await browser.EvaluateAsync("""
                (() => { const r = document.getElementById('looping').getBoundingClientRect();
                  return JSON.stringify({ x: r.x + r.width / 2, y: r.y + r.height / 2, scale: devicePixelRatio,
                    width: document.getElementById('looping').naturalWidth, height: document.getElementById('looping').naturalHeight }); })()
                """))!.GetValue<string>();
            using var boxDoc = JsonDocument.Parse(box);
            Assert.Equal(32, boxDoc.RootElement.GetProperty("width").GetInt32());
            Assert.Equal(24, boxDoc.RootElement.GetProperty("height").GetInt32());
            double scale = boxDoc.RootElement.GetProperty("scale").GetDouble();
            int x = (int)(boxDoc.RootElement.GetProperty("x").GetDouble() * scale), y = (int)(boxDoc.RootElement.GetProperty("y").GetDouble() * scale);
            var seen = new List<string>();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(2))
            {
                using var shot = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(await browser.ScreenshotAsync());
                var p = shot[x, y];
                string rgb = $"{p.R},{p.G},{p.B}";
                if (seen.Count == 0 || seen[^1] != rgb) seen.Add(rgb);
                await Task.Delay(60);
            }
            string[] order = [.. Colours.Select(c => string.Join(',', c))];
            // Only colours of the frames, and it moved on several times. (The frame order and delays were checked above; a
            // busy machine may take longer than a frame per screenshot, so skipped frames are no failure here.)
            Assert.All(seen, s => Assert.Contains(s, order));
            Assert.True(seen.Count >= 3 && seen.Distinct().Count() >= 3, "colours seen in turn: " + string.Join(" | ", seen));
            Assert.Empty(browser.Errors);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
#endif
