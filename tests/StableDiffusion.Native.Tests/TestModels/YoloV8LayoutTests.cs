using System.Text.Json;
using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.Tests.TestModels;

/// <summary>
/// The YOLOv8 layout against what the pinned stable-diffusion.cpp reads from a detector (yolov8.h
/// <c>YOLOv8Config::detect_from_weights</c>, re-stated here step for step), what its converter keeps of an ultralytics
/// model, and ultralytics' own parameter counts for YOLOv8n.
/// </summary>
public sealed class YoloV8LayoutTests
{
    private static Dictionary<string, TensorSpec> ByName(IEnumerable<TensorSpec> layout)
    {
        var list = layout.ToList();
        Assert.Equal(list.Count, list.Select(t => t.Name).Distinct(StringComparer.Ordinal).Count());
        return list.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>What upstream infers, from the names and shapes it looks up (0 where a lookup finds no 4-D tensor).</summary>
    private sealed record Inferred(Dictionary<int, int> OutChannels, Dictionary<int, int> Hidden, Dictionary<int, int> Repeats,
        int BoxChannels, int ClassChannels, int RegMax, int Classes, bool Valid);

    private static Inferred DetectFromWeights(Dictionary<string, TensorSpec> t)
    {
        // ne[3] of a 4-D conv weight is PyTorch's dim 0, the output channels.
        int ConvOut(string name) => t.TryGetValue(name, out var s) && s.Shape.Length == 4 ? (int)s.Shape[0] : 0;
        var outCh = new Dictionary<int, int>();
        var hidden = new Dictionary<int, int>();
        var repeats = new Dictionary<int, int>();
        foreach (int layer in new[] { 0, 1, 3, 5, 7, 16, 19 }) outCh[layer] = ConvOut($"model.{layer}.conv.weight");
        foreach (int layer in YoloV8Size.C2fLayers)
        {
            outCh[layer] = ConvOut($"model.{layer}.cv2.conv.weight");
            hidden[layer] = ConvOut($"model.{layer}.cv1.conv.weight") / 2;
            int n = 0;
            while (t.ContainsKey($"model.{layer}.m.{n}.cv1.conv.weight")) n++;
            repeats[layer] = n;
        }
        outCh[9] = ConvOut("model.9.cv2.conv.weight");
        int box = ConvOut("model.22.cv2.0.0.conv.weight");
        int cls = ConvOut("model.22.cv3.0.0.conv.weight");
        int boxOutputs = ConvOut("model.22.cv2.0.2.weight");
        int classes = ConvOut("model.22.cv3.0.2.weight");
        bool valid = outCh[0] > 0 && outCh[9] > 0 && outCh[15] > 0 && outCh[18] > 0 && outCh[21] > 0 && box > 0 && cls > 0
                     && boxOutputs > 0 && boxOutputs % 4 == 0 && classes > 0
                     && YoloV8Size.C2fLayers.All(l => hidden[l] > 0 && repeats[l] > 0);
        return new Inferred(outCh, hidden, repeats, box, cls, boxOutputs / 4, classes, valid);
    }

    [Fact]
    public void Upstream_infers_face_yolov8n_sizes_from_the_nano_layout()
    {
        var size = YoloV8Size.Nano(classes: 1);
        var c = DetectFromWeights(ByName(YoloV8Layout.Detect(size)));
        Assert.True(c.Valid);
        // yolov8n: 16·(1, 2, 4, 8, 16) wide; the log line upstream prints is "classes=1, reg_max=16, p3=64, p4=128, p5=256".
        Assert.Equal((1, 16, 64, 128, 256), (c.Classes, c.RegMax, c.OutChannels[15], c.OutChannels[18], c.OutChannels[21]));
        Assert.Equal([16, 32, 64, 128, 256, 64, 128], new[] { 0, 1, 3, 5, 7, 16, 19 }.Select(l => c.OutChannels[l]));
        Assert.Equal([32, 64, 128, 256, 128, 64, 128, 256], YoloV8Size.C2fLayers.Select(l => c.OutChannels[l]));
        Assert.Equal(256, c.OutChannels[9]);
        // Depth 0.33 of yolov8.yaml's 3, 6, 6, 3 (backbone) and 3 (head) bottlenecks.
        Assert.Equal([1, 2, 2, 1, 1, 1, 1, 1], YoloV8Size.C2fLayers.Select(l => c.Repeats[l]));
        Assert.Equal([16, 32, 64, 128, 64, 32, 64, 128], YoloV8Size.C2fLayers.Select(l => c.Hidden[l]));
        Assert.Equal((64, 64), (c.BoxChannels, c.ClassChannels));
    }

    [Fact]
    public void Nano_layout_has_ultralytics_fused_yolov8n_parameters_less_the_dfl_the_converter_drops()
    {
        // ultralytics' "Model summary (fused)": 3,005,843 parameters with one class, 3,151,904 with COCO's 80; both count
        // the fixed 16-value DFL conv (model.22.dfl.conv.weight), which the converter leaves out.
        Assert.Equal(3_005_843 - 16, YoloV8Layout.Detect(YoloV8Size.Nano(1)).Sum(t => t.Elements));
        Assert.Equal(3_151_904 - 16, YoloV8Layout.Detect(YoloV8Size.Nano(80)).Sum(t => t.Elements));
        // 63 convolutions, each a weight and a bias.
        Assert.Equal(126, YoloV8Layout.Detect(YoloV8Size.Nano(1)).Count);
    }

    [Fact]
    public void Names_are_the_converters_fused_ones_with_F32_biases()
    {
        var t = ByName(YoloV8Layout.Detect(YoloV8Size.Nano(1)));
        // The converter skips BatchNorm (".bn.") and the DFL conv, and keeps only weights and biases.
        Assert.DoesNotContain(t.Keys, n => n.Contains(".bn.", StringComparison.Ordinal) || n.EndsWith("dfl.conv.weight", StringComparison.Ordinal));
        Assert.All(t.Keys, n => Assert.True(n.StartsWith("model.", StringComparison.Ordinal) && (n.EndsWith(".weight", StringComparison.Ordinal) || n.EndsWith(".bias", StringComparison.Ordinal)), n));
        // The tensors it requires.
        Assert.Contains("model.0.conv.weight", t.Keys);
        Assert.Contains("model.22.cv2.0.2.weight", t.Keys);
        Assert.Contains("model.22.cv3.0.2.weight", t.Keys);
        // Fused convs carry a bias; upstream's Conv2d blocks are all built with one.
        Assert.All(t.Values.Where(s => s.Name.EndsWith(".weight", StringComparison.Ordinal)), w =>
        {
            Assert.Equal(4, w.Shape.Length);
            var bias = t[w.Name[..^".weight".Length] + ".bias"];
            Assert.Equal([w.Shape[0]], bias.Shape);
            Assert.Equal("F32", bias.DType);
            Assert.Null(w.DType);
        });
        // The first conv: 3×3 stride 2 from RGB; the Detect outputs are plain 1×1 convs (no ".conv").
        Assert.Equal([16L, 3, 3, 3], t["model.0.conv.weight"].Shape);
        Assert.Equal([64L, 64, 1, 1], t["model.22.cv2.2.2.weight"].Shape);
        Assert.Equal([1L, 64, 1, 1], t["model.22.cv3.1.2.weight"].Shape);
        // Layer 21 concatenates layer 19 (128) with the SPPF (256); its C2f with one bottleneck joins 3 halves of 128.
        Assert.Equal([256L, 384, 1, 1], t["model.21.cv1.conv.weight"].Shape);
        Assert.Equal([256L, 384, 1, 1], t["model.21.cv2.conv.weight"].Shape);
        // SPPF: 256 → 128, four 128-wide maps → 256.
        Assert.Equal([128L, 256, 1, 1], t["model.9.cv1.conv.weight"].Shape);
        Assert.Equal([256L, 512, 1, 1], t["model.9.cv2.conv.weight"].Shape);
    }

    [Fact]
    public void Smallest_layout_is_at_every_floor_upstream_accepts()
    {
        var c = DetectFromWeights(ByName(YoloV8Layout.Detect(YoloV8Size.Smallest)));
        Assert.True(c.Valid);
        Assert.Equal((1, 2, 4, 8, 16), (c.Classes, c.RegMax, c.OutChannels[15], c.OutChannels[18], c.OutChannels[21]));
        Assert.Equal(1, c.OutChannels[0]);
        Assert.All(YoloV8Size.C2fLayers, l => Assert.Equal(1, c.Repeats[l]));
        Assert.Equal(1, c.Hidden[2]);
        Assert.Equal((1, 1), (c.BoxChannels, c.ClassChannels));
        Assert.True(YoloV8Layout.Detect(YoloV8Size.Smallest).Sum(t => t.Elements) < 50_000);
    }

    [Fact]
    public void Upstream_would_refuse_a_layout_missing_the_class_output_and_the_builder_refuses_bad_sizes()
    {
        // The test's re-statement of upstream can fail: without the class head's output conv there is no class count.
        var t = ByName(YoloV8Layout.Detect(YoloV8Size.Smallest));
        t.Remove("model.22.cv3.0.2.weight");
        Assert.False(DetectFromWeights(t).Valid);

        Assert.Throws<ArgumentOutOfRangeException>(() => YoloV8Layout.Detect(YoloV8Size.Smallest with { Repeats = [1, 1, 1, 1, 1, 1, 1, 0] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => YoloV8Layout.Detect(YoloV8Size.Smallest with { Repeats = [1, 1] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => YoloV8Layout.Detect(YoloV8Size.Smallest with { Classes = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => YoloV8Layout.Detect(YoloV8Size.Smallest with { BaseChannels = 0 }));
    }

    [Fact]
    public void Metadata_is_the_converters_with_ultralytics_names_dict()
    {
        var m = YoloV8Layout.Metadata(YoloV8Size.Nano(2), ["face", "hand"]);
        Assert.Equal("detect", m["yolov8.variant"]);
        Assert.Equal("640", m["yolov8.input_size"]);
        Assert.Equal("2", m["yolov8.num_classes"]);
        Assert.Equal("16", m["yolov8.reg_max"]);
        // Upstream's parse_class_names takes an object keyed by class index (json.dumps of ultralytics' names dict) or an array.
        var names = JsonSerializer.Deserialize<Dictionary<string, string>>(m["yolov8.names"])!;
        Assert.Equal(new Dictionary<string, string> { ["0"] = "face", ["1"] = "hand" }, names);
        Assert.Throws<ArgumentException>(() => YoloV8Layout.Metadata(YoloV8Size.Nano(2), ["face"]));
    }

    [Fact]
    public void The_factory_writes_the_layout_and_metadata_into_the_file()
    {
        string path = ExtraTestModels.YoloV8Detector();
        var bytes = File.ReadAllBytes(path);
        long headerLength = BitConverter.ToInt64(bytes, 0);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        var root = header.RootElement;
        Assert.Equal("{\"0\":\"face\"}", root.GetProperty("__metadata__").GetProperty("yolov8.names").GetString());
        var layout = YoloV8Layout.Detect(YoloV8Size.Smallest);
        Assert.Equal(layout.Count + 1, root.EnumerateObject().Count());
        foreach (var t in layout)
        {
            var entry = root.GetProperty(t.Name);
            Assert.Equal(t.DType ?? "F16", entry.GetProperty("dtype").GetString());
            Assert.Equal(t.Shape, entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        }
    }
}
