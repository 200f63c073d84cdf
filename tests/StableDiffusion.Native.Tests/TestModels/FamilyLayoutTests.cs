using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.Tests.TestModels;

/// <summary>
/// The SD2, SDXL, SD3 and Flux layouts against what the pinned stable-diffusion.cpp reads from them: the names its
/// version detection keys on (model_loader.cpp <c>get_sd_version</c>), the shapes it infers sizes from, and the
/// tensor counts its loader reported for these very layouts ("loading N/M tensors", "f16: N" in its log).
/// The generic builders are held to the SD1 layout, which is itself checked against upstream's own table.
/// </summary>
public sealed class FamilyLayoutTests
{
    private static Dictionary<string, long[]> ByName(IEnumerable<TensorSpec> layout)
    {
        var list = layout.ToList();
        Assert.Equal(list.Count, list.Select(t => t.Name).Distinct(StringComparer.Ordinal).Count());
        return list.ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);
    }

    private static void SameLayout(IEnumerable<TensorSpec> expected, IEnumerable<TensorSpec> actual)
    {
        var e = expected.ToList();
        var a = actual.ToList();
        Assert.Equal(e.Select(t => t.Name), a.Select(t => t.Name));
        foreach (var (x, y) in e.Zip(a)) Assert.True(x.Shape.SequenceEqual(y.Shape), $"{x.Name}: [{string.Join(',', y.Shape)}], expected [{string.Join(',', x.Shape)}]");
    }

    [Fact]
    public void Generic_unet_and_clip_builders_reproduce_the_SD1_layout()
    {
        var sd1Unet = new UnetShape(Sd1Layout.FullUnetChannels, [1, 2, 4, 4], [1, 1, 1, 0], MiddleDepth: 1, ContextDim: 768, LinearProjection: false);
        SameLayout(Sd1Layout.Unet("model.diffusion_model.", 320), UnetLayout.Build("model.diffusion_model.", sd1Unet));
        SameLayout(Sd1Layout.Unet("model.diffusion_model.", 32), UnetLayout.Build("model.diffusion_model.", sd1Unet with { ModelChannels = 32 }));
        SameLayout(Sd1Layout.TextEncoder("cond_stage_model.transformer.text_model."), ClipLayout.HfText("cond_stage_model.transformer.", ClipTextSize.VitL14));
    }

    [Fact]
    public void Sd2_is_detected_by_a_1024_wide_OpenCLIP_token_embedding_and_keeps_its_middle_block()
    {
        var t = ByName(Sd2Layout.Checkpoint());
        // get_sd_version: token embedding width 1024 → SD2; middle_block.1 present → not the tiny-UNet variant; 4 input channels → not inpaint.
        Assert.Equal([ClipLayout.Vocabulary, 1024L], t["cond_stage_model.model.token_embedding.weight"]);
        Assert.Contains(t.Keys, n => n.StartsWith("model.diffusion_model.middle_block.1.", StringComparison.Ordinal));
        Assert.Equal([64L, 4, 3, 3], t["model.diffusion_model.input_blocks.0.0.weight"]);
        Assert.DoesNotContain(t.Keys, n => n.Contains("conditioner.embedders.1", StringComparison.Ordinal));
        // OpenCLIP names with fused q/k/v (upstream then builds its attention with in_proj); layer 23 is optional upstream.
        Assert.Equal([3 * 1024L, 1024], t["cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight"]);
        Assert.Contains("cond_stage_model.model.transformer.resblocks.22.mlp.c_proj.weight", t.Keys);
        Assert.DoesNotContain("cond_stage_model.model.transformer.resblocks.23.ln_1.weight", t.Keys);
        // Linear proj_in and 1024-wide cross-attention context (upstream reads context_dim from attn2.to_k).
        Assert.Equal([64L, 64], t["model.diffusion_model.input_blocks.1.1.proj_in.weight"]);
        Assert.Equal([256L, 1024], t["model.diffusion_model.middle_block.1.transformer_blocks.0.attn2.to_k.weight"]);
        // Counts upstream's loader reported: 280 text-encoder, 686 UNet, 140 decoder (+ 108 encoder) tensors.
        var all = Sd2Layout.Checkpoint();
        Assert.Equal(280, all.Count(s => s.Name.StartsWith("cond_stage_model.", StringComparison.Ordinal)));
        Assert.Equal(686, all.Count(s => s.Name.StartsWith("model.diffusion_model.", StringComparison.Ordinal)));
        Assert.Equal(248, all.Count(s => s.Name.StartsWith("first_stage_model.", StringComparison.Ordinal)));
        Assert.Equal(1214, all.Count);
    }

    [Fact]
    public void Sd2_output_bias_makes_upstreams_probe_read_v_prediction_and_only_it_is_shifted()
    {
        var vpred = Sd2Layout.Checkpoint(vPrediction: true);
        var eps = Sd2Layout.Checkpoint(vPrediction: false);
        var shifted = vpred.Zip(eps).Where(p => p.First.Mean != p.Second.Mean).Select(p => p.First).ToList();
        var bias = Assert.Single(shifted);
        Assert.Equal("model.diffusion_model.out.2.bias", bias.Name);
        // Upstream calls it v-prediction when mean(out − x) < −1 for x = 0.5.
        Assert.True(bias.Mean!.Value - 0.5f < -1f);
    }

    [Fact]
    public void Sd2_refuses_a_unet_width_that_splits_its_64_wide_heads()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Sd2Layout.Checkpoint(unetChannels: 32));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sd2Layout.Checkpoint(unetChannels: 96));
        Assert.Equal(Sd2Layout.SmallestUnetChannels, Sd2Layout.Checkpoint().Single(t => t.Name == "model.diffusion_model.input_blocks.0.0.weight").Shape[0]);
    }

    [Fact]
    public void Sdxl_has_a_unet_and_a_second_encoder_with_label_emb_and_its_transformer_depths()
    {
        var all = SdxlLayout.Checkpoint();
        var t = ByName(all);
        // get_sd_version: "conditioner.embedders.1" and a UNet → SDXL; middle_block.1 → not SSD-1B/Vega.
        Assert.Contains(t.Keys, n => n.StartsWith("conditioner.embedders.1.", StringComparison.Ordinal));
        Assert.Contains(t.Keys, n => n.StartsWith("model.diffusion_model.middle_block.1.", StringComparison.Ordinal));
        Assert.Equal([ClipLayout.Vocabulary, 768L], t["conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight"]);
        Assert.Equal([ClipLayout.Vocabulary, 1280L], t["conditioner.embedders.1.model.token_embedding.weight"]);
        Assert.Equal([1280L, 1280], t["conditioner.embedders.1.model.text_projection"]);
        // label_emb: pooled bigG (1280) + six 256-wide size embeddings.
        Assert.Equal([128L, 2816], t["model.diffusion_model.label_emb.0.0.weight"]);
        Assert.Equal([64L, 2048], t["model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight"]);
        // Depths 0, 2, 10 per level; 10 in the middle; level 0 has no attention at all.
        Assert.DoesNotContain(t.Keys, n => n.StartsWith("model.diffusion_model.input_blocks.1.1.", StringComparison.Ordinal));
        Assert.Contains("model.diffusion_model.input_blocks.4.1.transformer_blocks.1.norm1.weight", t.Keys);
        Assert.DoesNotContain("model.diffusion_model.input_blocks.4.1.transformer_blocks.2.norm1.weight", t.Keys);
        Assert.Contains("model.diffusion_model.input_blocks.7.1.transformer_blocks.9.norm1.weight", t.Keys);
        Assert.Contains("model.diffusion_model.middle_block.1.transformer_blocks.9.norm1.weight", t.Keys);
        Assert.DoesNotContain(t.Keys, n => n.StartsWith("model.diffusion_model.input_blocks.9.", StringComparison.Ordinal));
        // Counts upstream's loader reported: 196 CLIP-L, 389 bigG, 1680 UNet tensors; 2513 in all.
        Assert.Equal(196, all.Count(s => s.Name.StartsWith("conditioner.embedders.0.", StringComparison.Ordinal)));
        Assert.Equal(389, all.Count(s => s.Name.StartsWith("conditioner.embedders.1.", StringComparison.Ordinal)));
        Assert.Equal(1680, all.Count(s => s.Name.StartsWith("model.diffusion_model.", StringComparison.Ordinal)));
        Assert.Equal(2513, all.Count);
    }

    [Fact]
    public void Sd3_mmdit_has_upstreams_24_block_floor_one_head_per_block_and_SD3_conditioning_widths()
    {
        var all = Sd3Layout.DiffusionModel();
        var t = ByName(all);
        // get_sd_version: joint_blocks. → SD3. Depth only grows from 24 upstream and heads = depth.
        Assert.Contains("joint_blocks.23.x_block.attn.qkv.weight", t.Keys);
        Assert.DoesNotContain(t.Keys, n => n.StartsWith("joint_blocks.24.", StringComparison.Ordinal) || n.Contains("double_blocks.", StringComparison.Ordinal));
        Assert.Equal([24L, 16, 2, 2], t["x_embedder.proj.weight"]);
        Assert.Equal([1L, 192 * 192, 24], t["pos_embed"]);
        Assert.Equal([24L, 4096], t["context_embedder.weight"]);
        Assert.Equal([24L, 2048], t["y_embedder.mlp.0.weight"]);
        Assert.Equal([1L], t["joint_blocks.0.x_block.attn.ln_q.weight"]); // 24 wide / 24 heads
        // The last block's context half is "pre only": no projection, MLP, and 2 instead of 6 modulations.
        Assert.Equal([2 * 24L, 24], t["joint_blocks.23.context_block.adaLN_modulation.1.weight"]);
        Assert.DoesNotContain("joint_blocks.23.context_block.attn.proj.weight", t.Keys);
        Assert.Equal([6 * 24L, 24], t["joint_blocks.22.context_block.adaLN_modulation.1.weight"]);
        Assert.Equal([2L * 2 * 16, 24], t["final_layer.linear.weight"]);
        Assert.Equal(587, all.Count); // upstream: "Diffusion model weight type stat: f16: 587"
        Assert.Throws<ArgumentOutOfRangeException>(() => Sd3Layout.DiffusionModel(depth: 12));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sd3Layout.DiffusionModel(hidden: 36));
    }

    [Fact]
    public void Flux_is_plain_flux_dev_with_128_wide_heads_and_the_T5_width_in_txt_in()
    {
        var all = FluxLayout.DiffusionModel(contextDim: 64);
        var t = ByName(all);
        // get_sd_version: double_blocks. → Flux family; img_in 64 wide → not Fill (384), Controls (128), Flex.2 (196);
        // no Flux.2 shared modulation, no Chroma guidance layer, txt_in not 3584 (LongCat).
        Assert.Equal([128L, 64], t["img_in.weight"]);
        Assert.DoesNotContain(t.Keys, n => n.Contains("double_stream_modulation_img", StringComparison.Ordinal)
            || n.Contains("distilled_guidance_layer", StringComparison.Ordinal) || n.Contains("joint_blocks.", StringComparison.Ordinal));
        Assert.Equal([128L, 64], t["txt_in.weight"]);
        Assert.Equal([128L], t["double_blocks.0.txt_attn.norm.key_norm.scale"]);
        Assert.Equal([128L], t["single_blocks.0.norm.key_norm.scale"]);
        Assert.Equal([128L, 768], t["vector_in.in_layer.weight"]);
        Assert.Contains("guidance_in.in_layer.weight", t.Keys);
        Assert.DoesNotContain("guidance_in.in_layer.weight", ByName(FluxLayout.DiffusionModel(64, guidance: false)).Keys);
        Assert.Equal([3 * 128L + 512, 128], t["single_blocks.0.linear1.weight"]);
        Assert.Equal([64L, 128], t["final_layer.linear.weight"]);
        Assert.Equal(52, all.Count); // upstream: "loading 52/52 tensors"
        // Norm scales start at 1 whatever their name: Flux's are ".scale", which the factory alone would start at 0.
        Assert.All(all.Where(s => s.Name.EndsWith(".scale", StringComparison.Ordinal)), s => Assert.Equal(1f, s.Mean));
    }

    [Fact]
    public void T5_sizes_are_what_upstreams_detection_reads_and_only_block_0_has_the_relative_bias()
    {
        var all = T5Layout.Encoder(modelDim: 4096, innerDim: 128, ffDim: 96, layers: 2);
        var t = ByName(all);
        Assert.Equal([32128L, 4096], t["shared.weight"]); // vocabulary and model width
        Assert.Equal([128L, 4096], t["encoder.block.0.layer.0.SelfAttention.q.weight"]); // inner width → 2 heads of 64
        Assert.Equal([96L, 4096], t["encoder.block.0.layer.1.DenseReluDense.wi_0.weight"]); // feed-forward width
        Assert.Equal([32L, 2], t["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]);
        Assert.DoesNotContain("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight", t.Keys);
        Assert.Contains("encoder.block.1.layer.1.layer_norm.weight", t.Keys);
        Assert.DoesNotContain(t.Keys, n => n.StartsWith("encoder.block.2.", StringComparison.Ordinal));
        Assert.Equal([4096L], t["encoder.final_layer_norm.weight"]);
        Assert.DoesNotContain(all, s => s.Name.EndsWith(".bias", StringComparison.Ordinal));
        Assert.Equal(12, T5Layout.Encoder().Count); // upstream: "loading 12/12 tensors" for the one-layer encoder
        Assert.Contains("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight",
            ByName(T5Layout.Encoder(layers: 2, relativeBiasInEveryBlock: true)).Keys);
        Assert.Throws<ArgumentOutOfRangeException>(() => T5Layout.Encoder(innerDim: 96));
    }

    [Fact]
    public void Clip_encoders_are_full_size_with_real_vocabulary()
    {
        var l = ByName(ClipLayout.HfText("", ClipTextSize.VitL14));
        var g = ByName(ClipLayout.HfText("", ClipTextSize.BigG14));
        Assert.Equal(196, l.Count); // upstream: "loading 196/196 tensors" for clip_l
        Assert.Equal(517, g.Count); // upstream: 498 + 19 tensors loaded from clip_g
        Assert.Equal([49408L, 768], l["text_model.embeddings.token_embedding.weight"]);
        Assert.Equal([77L, 1280], g["text_model.embeddings.position_embedding.weight"]);
        Assert.Contains("text_model.encoder.layers.31.mlp.fc2.weight", g.Keys);
        Assert.Equal([1280L, 1280], g["text_projection.weight"]);
        Assert.DoesNotContain("text_projection.weight", l.Keys);
    }

    [Fact]
    public void Sixteen_channel_vae_has_no_quant_convs_and_a_narrow_decoder()
    {
        var t = ByName(VaeLayout.Sixteen());
        Assert.Equal(244, t.Count); // upstream: "loading 138/244 tensors" (the decoder's, for text-to-image)
        Assert.Equal(138, t.Keys.Count(n => n.StartsWith("decoder.", StringComparison.Ordinal)));
        Assert.Equal([32L, 512, 3, 3], t["encoder.conv_out.weight"]); // 2 × 16 latent channels (mean and log-variance) from 4 × 128
        Assert.Equal([128L, 16, 3, 3], t["decoder.conv_in.weight"]); // upstream infers the decoder width: 128 / 4
        Assert.Equal([128L, 3, 3, 3], t["encoder.conv_in.weight"]); // the encoder stays at upstream's fixed 128
        Assert.DoesNotContain(t.Keys, n => n.Contains("quant_conv", StringComparison.Ordinal));
        Assert.Throws<ArgumentOutOfRangeException>(() => VaeLayout.Sixteen(decoderChannels: 16));
    }
}
