using System.Globalization;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.Tests.TestModels;

/// <summary>
/// The Wan, Z-Image and Qwen-Image layouts against what upstream expects at the pin: the reference tables list
/// every tensor upstream registers for these files (name and ggml shape, "*" where it adopts the file's shape),
/// and the facts below are the ones its family detection and config inference read.
/// </summary>
public sealed class DitLayoutTests
{
    public static TheoryData<string, string> Tables => new()
    {
        { "wan21-t2v-1.3b-tensors.tsv", "model.diffusion_model." },
        { "umt5-tensors.tsv", "text_encoders.t5xxl.transformer." },
        { "wan21-vae-tensors.tsv", "first_stage_model." },
        { "zimage-dit-tensors.tsv", "model.diffusion_model." },
        { "qwen3-llm-tensors.tsv", "text_encoders.llm." },
        { "flux-vae-tensors.tsv", "first_stage_model." },
        { "qwenimage-dit-tensors.tsv", "model.diffusion_model." },
        { "qwen25vl-llm-tensors.tsv", "text_encoders.llm." },
    };

    private static IReadOnlyList<TensorSpec> Layout(string table) => table switch
    {
        "wan21-t2v-1.3b-tensors.tsv" => WanLayout.T2V13B(),
        "umt5-tensors.tsv" => Umt5Layout.Encoder(),
        "wan21-vae-tensors.tsv" => WanLayout.Vae(),
        "zimage-dit-tensors.tsv" => ZImageLayout.Dit(capFeatDim: 32),
        "qwen3-llm-tensors.tsv" => LlmLayout.Qwen3(hidden: 32),
        "flux-vae-tensors.tsv" => VaeLayout.Sixteen(),
        "qwenimage-dit-tensors.tsv" => QwenImageLayout.Dit(blocks: 1),
        "qwen25vl-llm-tensors.tsv" => LlmLayout.Qwen25VL(),
        _ => throw new ArgumentOutOfRangeException(nameof(table), table, null),
    };

    [SkippableTheory]
    [MemberData(nameof(Tables))]
    public void Layout_equals_the_tensors_upstream_registers(string table, string prefix)
    {
        string? path = ReferenceData.Table(table);
        Skip.If(path is null, ReferenceData.SkipReason(table));
        var expected = File.ReadLines(path!)
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('\t'))
            .ToDictionary(f => f[0], f => f[1] == "*" ? null : f[1..5].Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray());
        var ours = Layout(table).ToDictionary(t => prefix + t.Name, t => Ne4(t));

        Assert.Empty(expected.Keys.Except(ours.Keys));
        Assert.Empty(ours.Keys.Except(expected.Keys));
        foreach (var (name, ne) in expected.Where(e => e.Value is not null))
            Assert.True(ne!.SequenceEqual(ours[name]), $"{name}: ours [{string.Join(',', ours[name])}], upstream [{string.Join(',', ne!)}]");
    }

    [Fact]
    public void Wan_is_detected_as_the_1_3B_text_to_video_model()
    {
        var t = WanLayout.T2V13B().ToDictionary(s => s.Name, s => s.Shape);
        // Family marker; no img_emb (else i2v); the block count picks the 1.3B widths.
        Assert.Contains("blocks.0.cross_attn.norm_k.weight", t.Keys);
        Assert.DoesNotContain(t.Keys, n => n.Contains("img_emb", StringComparison.Ordinal));
        Assert.Equal(WanLayout.Blocks13B, t.Keys.Where(n => n.StartsWith("blocks.", StringComparison.Ordinal)).Select(n => int.Parse(n.Split('.')[1], CultureInfo.InvariantCulture)).Distinct().Count());
        // Upstream tells Wan 2.2 TI2V (48 x 3072) and I2V (36 x 5120) apart by patch_embedding's in x out channels.
        long inTimesOut = t["patch_embedding.weight"][0] * t["patch_embedding.weight"][1];
        Assert.Equal(16L * 1536, inTimesOut);
        Assert.NotEqual(147456L, inTimesOut);
        Assert.NotEqual(184320L, inTimesOut);
        Assert.Equal([1536L, 4096], t["text_embedding.0.weight"]);
        Assert.Equal([1L, 6, 1536], t["blocks.0.modulation"]);
        Assert.Equal([64L, 1536], t["head.head.weight"]);
    }

    [Fact]
    public void Wan_vae_is_the_causal_3D_one()
    {
        var t = WanLayout.Vae().ToDictionary(s => s.Name, s => s.Shape);
        // Upstream switches to its 2D variant when decoder.conv1's third ggml dimension exceeds 3.
        Assert.Equal([384L, 16, 3, 3, 3], t["decoder.conv1.weight"]);
        Assert.Equal([32L, 32, 1, 1, 1], t["conv1.weight"]);
        Assert.Equal([16L, 16, 1, 1, 1], t["conv2.weight"]);
        Assert.Equal([384L, 1, 1], t["decoder.middle.1.norm.gamma"]);
        Assert.Equal([96L, 1, 1, 1], t["decoder.head.0.gamma"]);
        Assert.Equal([3L, 96, 3, 3, 3], t["decoder.head.2.weight"]);
    }

    [Fact]
    public void Umt5_keeps_the_real_vocabulary_and_a_bias_table_per_block()
    {
        var layout = Umt5Layout.Encoder(layers: 2, innerDim: 128);
        var t = layout.ToDictionary(s => s.Name, s => s.Shape);
        Assert.Equal([256384L, 4096], t["shared.weight"]);
        // UMT5 (unlike T5) has no shared relative-attention bias: every block carries 32 buckets x heads (inner / 64).
        Assert.Equal([32L, 2], t["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]);
        Assert.Equal([32L, 2], t["encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Umt5Layout.Encoder(innerDim: 96));
    }

    [Fact]
    public void Z_image_width_is_the_smallest_its_fixed_parts_accept()
    {
        var t = ZImageLayout.Dit(capFeatDim: 32).ToDictionary(s => s.Name, s => s.Shape);
        Assert.Contains("cap_embedder.0.weight", t.Keys); // family marker
        Assert.Equal([128L], t["layers.0.attention.q_norm.weight"]);
        // Upstream: heads = width / head width, KV heads = (qkv rows / head width - heads) / 2.
        long heads = ZImageLayout.MinHidden / t["layers.0.attention.q_norm.weight"][0];
        long kvHeads = (t["layers.0.attention.qkv.weight"][0] / 128 - heads) / 2;
        Assert.Equal((2L, 1L), (heads, kvHeads));
        // The timestep embedding is 256 wide and feeds adaLN layers that take min(width, 256) inputs.
        Assert.Equal([256L, 256], t["t_embedder.mlp.2.weight"]);
        Assert.Equal([4L * 256, 256], t["layers.0.adaLN_modulation.0.weight"]);
        Assert.DoesNotContain("context_refiner.0.adaLN_modulation.0.weight", t.Keys);
        Assert.Equal([256L, 32], t["cap_embedder.1.weight"]);
        Assert.Equal(10240, ZImageLayout.FfnDim(3840)); // the real model's FFN
        Assert.Equal(768, ZImageLayout.FfnDim(256));
        Assert.Throws<ArgumentOutOfRangeException>(() => ZImageLayout.Dit(hidden: 320));
    }

    [Fact]
    public void Qwen_image_is_detected_as_plain_qwen_image()
    {
        var t = QwenImageLayout.Dit(blocks: 1).ToDictionary(s => s.Name, s => s.Shape);
        Assert.Contains("transformer_blocks.0.img_mod.1.weight", t.Keys); // family marker
        Assert.Equal([3072L, 64], t["img_in.weight"]); // 128 input channels would mean Mage Flow
        Assert.DoesNotContain("time_text_embed.addition_t_embedding.weight", t.Keys); // that would mean Layered
        Assert.Equal([3072L, 3584], t["txt_in.weight"]);
        Assert.Equal([3584L], t["txt_norm.weight"]);
    }

    [Fact]
    public void Llm_attention_geometry_is_upstreams_fixed_one()
    {
        var q3 = LlmLayout.Qwen3(hidden: 32).ToDictionary(s => s.Name, s => s.Shape);
        Assert.Equal([151936L, 32], q3["model.embed_tokens.weight"]);
        Assert.Equal([32L * 128, 32], q3["model.layers.0.self_attn.q_proj.weight"]);
        Assert.Equal([8L * 128, 32], q3["model.layers.0.self_attn.k_proj.weight"]);
        Assert.Equal([128L], q3["model.layers.0.self_attn.q_norm.weight"]);
        Assert.DoesNotContain("model.layers.0.self_attn.q_proj.bias", q3.Keys);

        var vl = LlmLayout.Qwen25VL().ToDictionary(s => s.Name, s => s.Shape);
        Assert.Equal([152064L, 3584], vl["model.embed_tokens.weight"]);
        Assert.Equal([28L * 128, 3584], vl["model.layers.0.self_attn.q_proj.weight"]);
        Assert.Equal([4L * 128], vl["model.layers.0.self_attn.k_proj.bias"]);
        Assert.DoesNotContain("model.layers.0.self_attn.q_norm.weight", vl.Keys);
        Assert.DoesNotContain(vl.Keys, n => n.Contains("visual", StringComparison.Ordinal)); // no vision tower: upstream keeps vision off
    }

    [Fact]
    public void Quantized_gguf_holds_the_layout_with_random_blocks_of_the_requested_spread()
    {
        TensorSpec[] layout =
        [
            new("blocks.0.w.weight", [64, 256]),     // quantized: rows of whole 32-value blocks
            new("blocks.0.w.bias", [64]),             // F16
            new("blocks.0.norm.weight", [256]),       // F16 around 1
            new("blocks.0.odd.weight", [8, 48]),      // 48 is not whole blocks: F16
            new("conv.weight", [8, 4, 1, 2, 2]),      // 5-D: ggml's 4-D view
        ];
        string path = TestModelFactory.GetOrCreateGguf("unit-q4-probe-s5-r1", () => layout, "Q4_0", 5);
        var file = GgufFile.Open(path);
        var byName = file.Tensors.ToDictionary(t => t.Name);
        Assert.Equal(5, byName.Count);
        Assert.Equal(2u, byName["blocks.0.w.weight"].TypeId);
        Assert.Equal(new long[] { 256, 64 }, byName["blocks.0.w.weight"].Dimensions);
        Assert.Equal(1u, byName["blocks.0.w.bias"].TypeId);
        Assert.Equal(1u, byName["blocks.0.odd.weight"].TypeId);
        Assert.Equal(new long[] { 2, 2, 1, 32 }, byName["conv.weight"].Dimensions);

        // Decode the Q4_0 blocks: the values' spread is 1/sqrt(fan-in) and the codes' -1/2 offset cancels.
        var w = byName["blocks.0.w.weight"];
        byte[] data = new byte[w.DataLength];
        using (var fs = File.OpenRead(path))
        {
            fs.Position = w.FileOffset;
            fs.ReadExactly(data);
        }
        var values = new List<double>();
        for (int b = 0; b < data.Length / 18; b++)
        {
            double d = (double)BitConverter.ToHalf(data, b * 18);
            for (int i = 0; i < 16; i++)
            {
                byte q = data[b * 18 + 2 + i];
                values.Add(((q & 0xF) - 8) * d);
                values.Add(((q >> 4) - 8) * d);
            }
        }
        double mean = values.Average();
        double std = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(std, 0.9 / 16, 1.1 / 16);
        Assert.InRange(Math.Abs(mean), 0, 0.1 / 16);

        var norm = byName["blocks.0.norm.weight"];
        byte[] normData = new byte[norm.DataLength];
        using (var fs = File.OpenRead(path))
        {
            fs.Position = norm.FileOffset;
            fs.ReadExactly(normData);
        }
        Assert.All(Enumerable.Range(0, 256), i => Assert.InRange((double)BitConverter.ToHalf(normData, 2 * i), 0.9, 1.1));
    }

    /// <summary>Our shape in ggml order as upstream compares it: four dimensions, a 3D conv's in·out folded into the last.</summary>
    private static long[] Ne4(TensorSpec t)
    {
        var ne = t.Ne.ToList();
        while (ne.Count > 4)
        {
            ne[3] *= ne[4];
            ne.RemoveAt(4);
        }
        while (ne.Count < 4) ne.Add(1);
        return ne.ToArray();
    }
}
