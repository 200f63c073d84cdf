using System.Globalization;
using System.Text.RegularExpressions;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.Tests.Integration;

/// <summary>
/// ADetailer end to end: the smallest random-weight YOLOv8 detector (<see cref="YoloV8Size.Smallest"/>) finding objects in
/// a tiny-SD1 image and the tiny SD1 inpainting them. Random weights give class scores near sigmoid(0) = 0.5, so
/// <c>Confidence = 0</c> makes every anchor a candidate and <c>MaxDetections = 1</c> keeps exactly one; what was detected
/// is read from upstream's own log ("ADetailer detected N object(s)", "bbox=[...]", "applied N mask(s)").
/// </summary>
[Collection(NativeCollection.Name)]
public sealed partial class DetailerTests(TinyGeneratorFixture fixture)
{
    private static readonly Lazy<string> s_detector = new(() => ExtraTestModels.YoloV8Detector());

    /// <summary>One certain detection on a 32-pixel detector input, inpainted at 64×64 in 2 steps.</summary>
    private static DetailerRequest Certain(long seed = 42) => new()
    {
        Inpaint = NativeTestEnvironment.Small(seed) with { Strength = 0.5f },
        InputSize = 32,
        Confidence = 0f,
        MaxDetections = 1,
    };

    private ImageBuffer Input() => fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 7))[0].Image;

    private static Detailer LoadDetector(List<string> lines) => Detailer.Load(s_detector.Value, threads: 2, logger: new ListLogger(lines));

    private static int Count(List<string> lines, Regex pattern)
    {
        lock (lines)
        {
            var match = lines.Select(l => pattern.Match(l)).Last(m => m.Success);
            return int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        }
    }

    [GeneratedRegex(@"ADetailer detected (\d+) object\(s\)")]
    private static partial Regex Detected();

    [GeneratedRegex(@"ADetailer applied (\d+) mask\(s\)")]
    private static partial Regex Applied();

    [GeneratedRegex(@"bbox=\[x1=([\d.]+), y1=([\d.]+), x2=([\d.]+), y2=([\d.]+)\]")]
    private static partial Regex Box();

    [SkippableFact]
    public void The_detector_loads_and_upstream_infers_the_layouts_sizes()
    {
        NativeTestEnvironment.Require();
        var lines = new List<string>();
        using var detailer = LoadDetector(lines);
        // yolov8.h logs what detect_from_weights read: YoloV8Size.Smallest's 1 class, 2 DFL bins, 4/8/16-wide P3/P4/P5.
        Assert.Contains(lines, l => l.Contains("yolov8: classes=1, reg_max=2, p3=4, p4=8, p5=16", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("unsupported YOLOv8", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void A_detection_is_inpainted_deterministically_and_only_inside_its_box()
    {
        var generator = fixture.Generator;
        var input = Input();
        var lines = new List<string>();
        using var detailer = LoadDetector(lines);
        var reports = new List<GenerationProgress>();
        // No dilation and no feathering: the mask is exactly the box, so every pixel outside it must stay as it was.
        var request = Certain() with { DilateErode = 0, MaskBlur = 0 };

        var first = detailer.Apply(generator, input, request, new SyncProgress(reports.Add));
        Assert.Equal(1, Count(lines, Detected()));
        Assert.Equal(1, Count(lines, Applied()));
        // Upstream names the object from the file's yolov8.names metadata.
        Assert.Contains(lines, l => l.Contains("object=face, class_id=0", StringComparison.Ordinal));
        var box = Box().Match(lines.Last(l => Box().IsMatch(l))).Groups;
        int x1 = (int)Math.Floor(double.Parse(box[1].Value, CultureInfo.InvariantCulture));
        int y1 = (int)Math.Floor(double.Parse(box[2].Value, CultureInfo.InvariantCulture));
        int x2 = (int)Math.Ceiling(double.Parse(box[3].Value, CultureInfo.InvariantCulture));
        int y2 = (int)Math.Ceiling(double.Parse(box[4].Value, CultureInfo.InvariantCulture));

        Assert.Equal((64, 64, PixelFormat.Rgb24), (first.Width, first.Height, first.Format));
        PixelAssert.Different(input, first);
        var a = PixelAssert.Bytes(input);
        var b = PixelAssert.Bytes(first);
        int changedInside = 0;
        for (int y = 0; y < 64; y++)
        {
            for (int x = 0; x < 64; x++)
            {
                bool inside = x >= x1 && x < x2 && y >= y1 && y < y2;
                bool same = a.AsSpan((y * 64 + x) * 3, 3).SequenceEqual(b.AsSpan((y * 64 + x) * 3, 3));
                if (!inside) Assert.True(same, $"pixel ({x}, {y}) outside the box [{x1}, {y1}, {x2}, {y2}] changed");
                else if (!same) changedInside++;
            }
        }
        Assert.True(changedInside > 0, $"nothing inside the box [{x1}, {y1}, {x2}, {y2}] changed");

        // The inpainting pass reports its sampling steps.
        Assert.Equal([0, 1, 2], reports.Where(r => r.Phase == GenerationPhase.Sampling).Select(r => r.Step));
        Assert.All(reports.Where(r => r.Phase == GenerationPhase.Sampling), r => Assert.Equal(2, r.Steps));

        // Same seed, same result; another seed inpaints differently (the detection itself does not depend on it).
        PixelAssert.Identical(first, detailer.Apply(generator, input, request));
        PixelAssert.Different(first, detailer.Apply(generator, input, Certain(seed: 43) with { DilateErode = 0, MaskBlur = 0 }));
        Assert.Equal(1, Count(lines, Detected()));
    }

    [SkippableFact]
    public void Upstreams_default_mask_settings_also_paint_and_keep_the_size()
    {
        var input = Input();
        var lines = new List<string>();
        using var detailer = LoadDetector(lines);
        var output = detailer.Apply(fixture.Generator, input, Certain() with { SortBy = DetectionOrder.Area, MaskMode = DetectionMaskMode.Merge });
        Assert.Equal((64, 64, PixelFormat.Rgb24), (output.Width, output.Height, output.Format));
        Assert.Equal(1, Count(lines, Applied()));
        PixelAssert.Different(input, output);
    }

    [SkippableFact]
    public void Nothing_passing_the_confidence_leaves_the_image_as_it_was()
    {
        var input = Input();
        var lines = new List<string>();
        using var detailer = LoadDetector(lines);
        var reports = new List<GenerationProgress>();
        // A sigmoid score is below 1 for any finite logit, so confidence 1 keeps nothing.
        var output = detailer.Apply(fixture.Generator, input, Certain() with { Confidence = 1f }, new SyncProgress(reports.Add));
        Assert.Equal(0, Count(lines, Detected()));
        Assert.Equal(0, Count(lines, Applied()));
        PixelAssert.Identical(input, output);
        Assert.DoesNotContain(reports, r => r.Phase == GenerationPhase.Sampling);
    }

    [SkippableFact]
    public void Cancelling_during_the_inpainting_pass_throws_and_the_generator_stays_usable()
    {
        var generator = fixture.Generator;
        var input = Input();
        var lines = new List<string>();
        using var detailer = LoadDetector(lines);
        using var cts = new CancellationTokenSource();
        int reports = 0;
        var progress = new SyncProgress(p =>
        {
            reports++;
            if (p.Phase == GenerationPhase.Sampling) cts.Cancel();
        });
        Assert.ThrowsAny<OperationCanceledException>(() => detailer.Apply(generator, input, Certain() with { Inpaint = NativeTestEnvironment.Small(42, steps: 8) }, progress, cts.Token));
        Assert.True(reports > 0);
        Assert.Equal(1, Count(lines, Detected()));

        // Already cancelled: refused before any native work.
        int before = lines.Count;
        Assert.ThrowsAny<OperationCanceledException>(() => detailer.Apply(generator, input, Certain(), cancellationToken: cts.Token));
        Assert.Equal(before, lines.Count);

        var output = detailer.Apply(generator, input, Certain());
        Assert.Equal((64, 64), (output.Width, output.Height));
    }

    [SkippableFact]
    public void Out_of_range_settings_throw_before_native_code()
    {
        var generator = fixture.Generator;
        var input = Input();
        var lines = new List<string>();
        using var detailer = LoadDetector(lines);
        int before = lines.Count;
        Assert.Throws<ArgumentOutOfRangeException>(() => detailer.Apply(generator, input, Certain() with { InputSize = 48 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => detailer.Apply(generator, input, Certain() with { InputSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => detailer.Apply(generator, input, Certain() with { InputSize = 4128 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => detailer.Apply(generator, input, Certain() with { Confidence = -0.1f }));
        Assert.Throws<ArgumentOutOfRangeException>(() => detailer.Apply(generator, input, Certain() with { MaxDetections = 0 }));
        Assert.Throws<ArgumentNullException>(() => detailer.Apply(null!, input));
        Assert.Throws<ArgumentNullException>(() => detailer.Apply(generator, null!));
        // Upstream logs from its first step (detection); none of these reached it.
        Assert.Equal(before, lines.Count);
    }

    [SkippableFact]
    public void A_disposed_detailer_throws_and_disposing_twice_is_safe()
    {
        var generator = fixture.Generator;
        var input = Input();
        var detailer = LoadDetector([]);
        detailer.Dispose();
        detailer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => detailer.Apply(generator, input, Certain()));
    }

    [SkippableFact]
    public void A_missing_file_fails_in_managed_code_and_a_file_upstream_cannot_read_as_yolov8_fails_with_its_error()
    {
        NativeTestEnvironment.Require();
        var missing = Assert.Throws<ArgumentException>(() => Detailer.Load("/nonexistent/face_yolov8n.safetensors"));
        Assert.Equal("detectorPath", missing.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Detailer.Load(s_detector.Value, threads: 0));

        // The smallest layout without the class head's output conv: upstream has no class count, so refuses the weights.
        using var temp = new TempDirectory();
        string path = Path.Combine(temp.Path, "no-classes.safetensors");
        var writer = new SafetensorsWriter();
        foreach (var t in YoloV8Layout.Detect(YoloV8Size.Smallest).Where(t => !t.Name.StartsWith("model.22.cv3.0.2.", StringComparison.Ordinal)))
        {
            string type = t.DType ?? "F16";
            writer.Add(t.Name, type, t.Shape, new byte[t.Elements * SafetensorsWriter.BytesPerElement(type)]);
        }
        writer.WriteFile(path);
        var failure = Assert.Throws<GenerationException>(() => Detailer.Load(path, threads: 2));
        Assert.Contains(failure.NativeLog, l => l.Contains("unsupported YOLOv8 detection weights", StringComparison.Ordinal));
    }
}
