namespace StableDiffusion.Native.TestModels;

/// <summary>
/// The sizes of a YOLOv8 detector that upstream infers from its tensors (yolov8.h <c>detect_from_weights</c>): the
/// widths of every convolution, the bottleneck count of every C2f block, the Detect head's two branch widths, the
/// DFL bins (<c>reg_max</c>, from the box outputs / 4) and the class count. Nothing else is configurable upstream.
/// </summary>
/// <param name="BaseChannels">
/// Width of layer 0; the stages are 1, 2, 4, 8 and 16 times it as in ultralytics' yolov8.yaml (16 in YOLOv8n, 1 the least).
/// </param>
/// <param name="Repeats">Bottlenecks of the C2f layers 2, 4, 6, 8, 12, 15, 18 and 21, in that order (each at least 1).</param>
/// <param name="BoxChannels">Width of the Detect head's box branch (<c>cv2.i.0/1</c>).</param>
/// <param name="ClassChannels">Width of the Detect head's class branch (<c>cv3.i.0/1</c>).</param>
/// <param name="RegMax">DFL bins per box side: 16 in ultralytics; at least 2 for a box to have any size (1 bin
/// always predicts a distance of 0, so every box is empty and upstream drops it).</param>
/// <param name="Classes">Object classes (1 in face_yolov8n, 80 in COCO's yolov8n).</param>
public sealed record YoloV8Size(int BaseChannels, IReadOnlyList<int> Repeats, int BoxChannels, int ClassChannels, int RegMax, int Classes)
{
    /// <summary>The C2f layers, in the order of <see cref="Repeats"/>.</summary>
    public static IReadOnlyList<int> C2fLayers { get; } = [2, 4, 6, 8, 12, 15, 18, 21];

    /// <summary>
    /// YOLOv8n (width 0.25, depth 0.33 of yolov8.yaml), the size of face_yolov8n and hand_yolov8n: the head widths
    /// follow ultralytics' Detect (<c>max(16, ch/4, 4·reg_max)</c> and <c>max(ch, min(nc, 100))</c> of the P3 width).
    /// </summary>
    public static YoloV8Size Nano(int classes = 1)
    {
        const int p3 = 4 * 16, regMax = 16;
        return new(16, [1, 2, 2, 1, 1, 1, 1, 1], BoxChannels: Math.Max(16, Math.Max(p3 / 4, 4 * regMax)),
            ClassChannels: Math.Max(p3, Math.Min(classes, 100)), RegMax: regMax, Classes: classes);
    }

    /// <summary>
    /// The smallest detector upstream loads and that still detects: every width, repeat and head channel at 1
    /// (upstream only requires them non-zero; the SPPF's halving needs layer 8's 16·1 to be even, which it is) and 2 DFL bins.
    /// </summary>
    public static YoloV8Size Smallest { get; } = new(1, [1, 1, 1, 1, 1, 1, 1, 1], BoxChannels: 1, ClassChannels: 1, RegMax: 2, Classes: 1);
}

/// <summary>
/// The tensors of a YOLOv8 detection model as upstream's converter (scripts/convert_yolov8_to_safetensors.py) writes
/// them from an ultralytics checkpoint such as face_yolov8n.pt: the model fused (BatchNorm folded into every
/// convolution, hence a bias on each <c>.conv</c>), without the BatchNorm and fixed DFL tensors, weights F16 and
/// biases F32, plus the <c>yolov8.*</c> metadata (upstream reads the class names from <c>yolov8.names</c>).
/// </summary>
public static class YoloV8Layout
{
    /// <summary>The converter's metadata for a detector of <paramref name="size"/>, naming class i <paramref name="classNames"/>[i].</summary>
    public static IReadOnlyDictionary<string, string> Metadata(YoloV8Size size, IReadOnlyList<string> classNames, int inputSize = 640)
    {
        ArgumentNullException.ThrowIfNull(size);
        ArgumentNullException.ThrowIfNull(classNames);
        if (classNames.Count != size.Classes) throw new ArgumentException($"{size.Classes} class names are needed.", nameof(classNames));
        // json.dumps of ultralytics' names dict: {"0": "face", ...}.
        var names = System.Text.Json.JsonSerializer.Serialize(
            Enumerable.Range(0, size.Classes).ToDictionary(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture), i => classNames[i]));
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "pt",
            ["yolov8.variant"] = "detect",
            ["yolov8.input_size"] = inputSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["yolov8.num_classes"] = size.Classes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["yolov8.reg_max"] = size.RegMax.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["yolov8.names"] = names,
        };
    }

    /// <summary>The fused detection model's tensors, in ultralytics' state-dict order.</summary>
    public static IReadOnlyList<TensorSpec> Detect(YoloV8Size size)
    {
        ArgumentNullException.ThrowIfNull(size);
        ArgumentOutOfRangeException.ThrowIfLessThan(size.BaseChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size.BoxChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size.ClassChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size.RegMax, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size.Classes, 1);
        if (size.Repeats.Count != YoloV8Size.C2fLayers.Count || size.Repeats.Any(r => r < 1))
            throw new ArgumentOutOfRangeException(nameof(size), "Every one of the 8 C2f layers needs at least one bottleneck.");

        int b = size.BaseChannels;
        int Repeat(int layer) => size.Repeats[IndexOf(layer)];
        var t = new List<TensorSpec>();
        // Backbone: stride-2 convs widening ×2, each followed by a C2f (with residual bottlenecks), then the SPPF.
        t.AddRange(Conv("model.0", 3, b, 3));
        t.AddRange(Conv("model.1", b, 2 * b, 3));
        t.AddRange(C2f("model.2", 2 * b, 2 * b, Repeat(2)));
        t.AddRange(Conv("model.3", 2 * b, 4 * b, 3));
        t.AddRange(C2f("model.4", 4 * b, 4 * b, Repeat(4)));
        t.AddRange(Conv("model.5", 4 * b, 8 * b, 3));
        t.AddRange(C2f("model.6", 8 * b, 8 * b, Repeat(6)));
        t.AddRange(Conv("model.7", 8 * b, 16 * b, 3));
        t.AddRange(C2f("model.8", 16 * b, 16 * b, Repeat(8)));
        t.AddRange(Sppf("model.9", 16 * b, 16 * b));
        // Neck (layers 10, 11, 13, 14, 17 and 20 are upsamples and concats, without tensors).
        t.AddRange(C2f("model.12", 16 * b + 8 * b, 8 * b, Repeat(12)));
        t.AddRange(C2f("model.15", 8 * b + 4 * b, 4 * b, Repeat(15)));
        t.AddRange(Conv("model.16", 4 * b, 4 * b, 3));
        t.AddRange(C2f("model.18", 4 * b + 8 * b, 8 * b, Repeat(18)));
        t.AddRange(Conv("model.19", 8 * b, 8 * b, 3));
        t.AddRange(C2f("model.21", 8 * b + 16 * b, 16 * b, Repeat(21)));
        // Detect: per scale (P3, P4, P5) a box branch (cv2) and a class branch (cv3), each two convs and a plain 1×1 output.
        int[] scales = [4 * b, 8 * b, 16 * b];
        for (int i = 0; i < 3; i++)
        {
            t.AddRange(Conv($"model.22.cv2.{i}.0", scales[i], size.BoxChannels, 3));
            t.AddRange(Conv($"model.22.cv2.{i}.1", size.BoxChannels, size.BoxChannels, 3));
            t.AddRange(Plain($"model.22.cv2.{i}.2", size.BoxChannels, 4 * size.RegMax));
        }
        for (int i = 0; i < 3; i++)
        {
            t.AddRange(Conv($"model.22.cv3.{i}.0", scales[i], size.ClassChannels, 3));
            t.AddRange(Conv($"model.22.cv3.{i}.1", size.ClassChannels, size.ClassChannels, 3));
            t.AddRange(Plain($"model.22.cv3.{i}.2", size.ClassChannels, size.Classes));
        }
        return t;
    }

    private static int IndexOf(int layer)
    {
        for (int i = 0; i < YoloV8Size.C2fLayers.Count; i++)
        {
            if (YoloV8Size.C2fLayers[i] == layer) return i;
        }
        throw new ArgumentOutOfRangeException(nameof(layer));
    }

    /// <summary>ultralytics' Conv (conv + BN + SiLU) once fused: <c>p.conv</c> with a bias.</summary>
    private static IEnumerable<TensorSpec> Conv(string p, int inCh, int outCh, int k) => Plain(p + ".conv", inCh, outCh, k);

    private static IEnumerable<TensorSpec> Plain(string p, int inCh, int outCh, int k = 1)
    {
        yield return new(p + ".weight", [outCh, inCh, k, k]);
        // The converter keeps biases at F32.
        yield return new(p + ".bias", [outCh]) { DType = "F32" };
    }

    /// <summary>C2f: cv1 splits into two halves of c/2, each bottleneck (two 3×3 convs at c/2) adds a part, cv2 joins them.</summary>
    private static IEnumerable<TensorSpec> C2f(string p, int inCh, int outCh, int repeats)
    {
        int hidden = outCh / 2;
        if (hidden < 1) throw new ArgumentOutOfRangeException(nameof(outCh), $"{p}: a C2f needs at least 2 output channels.");
        foreach (var s in Conv(p + ".cv1", inCh, 2 * hidden, 1)) yield return s;
        foreach (var s in Conv(p + ".cv2", (2 + repeats) * hidden, outCh, 1)) yield return s;
        for (int i = 0; i < repeats; i++)
        {
            foreach (var s in Conv($"{p}.m.{i}.cv1", hidden, hidden, 3)) yield return s;
            foreach (var s in Conv($"{p}.m.{i}.cv2", hidden, hidden, 3)) yield return s;
        }
    }

    /// <summary>SPPF: cv1 halves the width, three chained 5×5 max-pools are concatenated with it (×4), cv2 maps back.</summary>
    private static IEnumerable<TensorSpec> Sppf(string p, int inCh, int outCh)
    {
        if (inCh % 2 != 0) throw new ArgumentOutOfRangeException(nameof(inCh), $"{p}: the SPPF halves its input width, which must be even.");
        foreach (var s in Conv(p + ".cv1", inCh, inCh / 2, 1)) yield return s;
        foreach (var s in Conv(p + ".cv2", inCh / 2 * 4, outCh, 1)) yield return s;
    }
}
