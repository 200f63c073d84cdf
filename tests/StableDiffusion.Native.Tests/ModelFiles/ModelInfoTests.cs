using System.Globalization;
using System.Text;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.TestModels;
using Xunit;
using Xunit.Abstractions;

namespace StableDiffusion.Native.Tests.ModelFiles;

public class ModelInfoTests(ITestOutputHelper output)
{
    /// <summary>Builds a header-only safetensors file (data section zero-filled and never read) for the given tensors.</summary>
    internal static SafetensorsFile HeaderOnly(IEnumerable<(string Name, long[] Shape)> tensors, string dtype = "F16")
    {
        int bytesPer = dtype switch { "F32" => 4, "F16" or "BF16" => 2, _ => 1 };
        var sb = new StringBuilder("{");
        long offset = 0;
        foreach (var (name, shape) in tensors)
        {
            long n = shape.Aggregate(1L, (a, d) => a * d) * bytesPer;
            if (sb.Length > 1)
            {
                sb.Append(',');
            }

            sb.Append(CultureInfo.InvariantCulture, $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(',', shape)}],\"data_offsets\":[{offset},{offset + n}]}}");
            offset += n;
        }

        sb.Append('}');
        byte[] prefix = RawModelBytes.Safetensors(Encoding.UTF8.GetBytes(sb.ToString()), 0);
        return SafetensorsFile.Read(new SparseStream(prefix, prefix.Length + offset), "synthetic");
    }

    private static IEnumerable<(string, long[])> Sd1(int inChannels = 4, int channels = Sd1Layout.FullUnetChannels)
        => Sd1Layout.Checkpoint(channels, inChannels).Select(t => (t.Name, t.Shape));

    [Theory]
    [InlineData(4, ModelFamily.SD1)]
    [InlineData(9, ModelFamily.SD1Inpaint)]
    [InlineData(8, ModelFamily.SD1Pix2Pix)]
    public void Sd1FamiliesAreDetected(int inChannels, ModelFamily family)
    {
        ModelInfo info = ModelInfo.From(HeaderOnly(Sd1(inChannels)));
        Assert.Equal(ModelKind.Checkpoint, info.Kind);
        Assert.Equal(family, info.Family);
        Assert.Equal(3, info.Components.Count(c => c.Component != ModelComponent.Other));
        Assert.Equal(info.TensorCount, info.DTypeHistogram["F16"]);
    }

    [Fact]
    public void Sd1ComponentSizesAreRealistic()
    {
        ModelInfo info = ModelInfo.From(HeaderOnly(Sd1()));
        long unet = info.Components.Single(c => c.Component == ModelComponent.DiffusionModel).ParameterCount;
        long te = info.Components.Single(c => c.Component == ModelComponent.TextEncoder).ParameterCount;
        long vae = info.Components.Single(c => c.Component == ModelComponent.Vae).ParameterCount;
        output.WriteLine($"unet {unet:N0}, text encoder {te:N0}, vae {vae:N0}");
        Assert.InRange(unet, 855_000_000, 866_000_000);
        Assert.InRange(te, 122_000_000, 124_000_000);
        Assert.InRange(vae, 83_000_000, 84_000_000);

        MemoryEstimate f16 = info.EstimateMemory();
        MemoryEstimate q8 = info.EstimateMemory(QuantizationType.Q8_0);
        output.WriteLine($"f16: {f16}");
        output.WriteLine($"q8_0: {q8}");
        Assert.True(q8.DiffusionModelBytes < f16.DiffusionModelBytes);
        Assert.Equal(f16.VaeBytes, q8.VaeBytes); // VAE is all conv kernels and 1-D tensors
        Assert.True(q8.TextEncoderBytes < f16.TextEncoderBytes);

        var rules = new TensorTypeRules().Add("cond_stage_model", QuantizationType.F16);
        MemoryEstimate ruled = info.EstimateMemory(QuantizationType.Q8_0, rules);
        Assert.Equal(f16.TextEncoderBytes, ruled.TextEncoderBytes);
        Assert.Equal(q8.DiffusionModelBytes, ruled.DiffusionModelBytes);
    }

    [SkippableFact]
    public void ReferenceSd1TableIsDetectedAsSd1()
    {
        string? path = StableDiffusion.Native.Tests.TestModels.ReferenceData.Sd1TensorTable;
        Skip.If(path is null, StableDiffusion.Native.Tests.TestModels.ReferenceData.SkipReason("sd1-tensors.tsv"));
        var tensors = File.ReadLines(path!)
            .Where(l => !l.StartsWith('#') && l.Length > 0)
            .Select(l => l.Split('\t'))
            .Select(f => (f[0], Enumerable.Range(1, int.Parse(f[5], CultureInfo.InvariantCulture)).Select(i => long.Parse(f[i], CultureInfo.InvariantCulture)).Reverse().ToArray()))
            .ToList();
        ModelInfo info = ModelInfo.From(HeaderOnly(tensors));
        Assert.Equal(ModelFamily.SD1, info.Family);
        output.WriteLine(info.EstimateMemory().ToString());
    }

    [Fact]
    public void SdxlAndSd2AreDetected()
    {
        var xl = Sd1().Where(t => !t.Item1.StartsWith("cond_stage_model", StringComparison.Ordinal))
            .Append(("conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight", new long[] { 49408, 768 }))
            .Append(("conditioner.embedders.1.model.token_embedding.weight", new long[] { 49408, 1280 }));
        Assert.Equal(ModelFamily.SDXL, ModelInfo.From(HeaderOnly(xl, "U8")).Family);

        var sd2 = Sd1().Select(t => t.Item1.EndsWith("token_embedding.weight", StringComparison.Ordinal) ? (t.Item1, new long[] { 49408, 1024 }) : t);
        Assert.Equal(ModelFamily.SD2, ModelInfo.From(HeaderOnly(sd2, "U8")).Family);

        var tiny = Sd1().Where(t => !t.Item1.Contains("middle_block.1.", StringComparison.Ordinal));
        Assert.Equal(ModelFamily.SD1TinyUNet, ModelInfo.From(HeaderOnly(tiny, "U8")).Family);
    }

    public static TheoryData<string[], ModelKind, ModelFamily> KindCases => new()
    {
        { ["model.diffusion_model.double_blocks.0.img_attn.qkv.weight", "model.diffusion_model.img_in.weight"], ModelKind.DiffusionModel, ModelFamily.Flux },
        { ["double_blocks.0.img_attn.qkv.weight", "img_in.weight"], ModelKind.DiffusionModel, ModelFamily.Flux },
        { ["model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight", "first_stage_model.decoder.conv_in.weight"], ModelKind.Checkpoint, ModelFamily.SD3 },
        { ["joint_blocks.0.x_block.attn.qkv.weight"], ModelKind.DiffusionModel, ModelFamily.SD3 },
        { ["lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", "lora_unet_down_blocks_0_attentions_0_proj_in.alpha"], ModelKind.Lora, ModelFamily.Unknown },
        { ["transformer.single_transformer_blocks.0.attn.to_k.lora_A.weight"], ModelKind.Lora, ModelFamily.Unknown },
        { ["encoder.conv_in.weight", "decoder.conv_out.weight", "quant_conv.weight"], ModelKind.Vae, ModelFamily.Unknown },
        { ["first_stage_model.encoder.conv_in.weight"], ModelKind.Vae, ModelFamily.Unknown },
        { ["text_model.embeddings.token_embedding.weight", "text_model.final_layer_norm.weight"], ModelKind.TextEncoder, ModelFamily.Unknown },
        { ["encoder.block.0.layer.0.SelfAttention.k.weight", "shared.weight"], ModelKind.TextEncoder, ModelFamily.Unknown },
        { ["control_model.input_hint_block.0.weight", "control_model.input_blocks.0.0.weight"], ModelKind.ControlNet, ModelFamily.Unknown },
        { ["input_hint_block.0.weight", "zero_convs.0.0.weight"], ModelKind.ControlNet, ModelFamily.Unknown },
        { ["encoder.layers.0.weight", "decoder.layers.0.weight"], ModelKind.Taesd, ModelFamily.Unknown },
        { ["tae.decoder.layers.0.weight"], ModelKind.Taesd, ModelFamily.Unknown },
        { ["model.0.weight", "model.1.sub.0.RDB1.conv1.0.weight"], ModelKind.Upscaler, ModelFamily.Unknown },
        { ["conv_first.weight", "body.0.rdb1.conv1.weight"], ModelKind.Upscaler, ModelFamily.Unknown },
        { ["something.else"], ModelKind.Unknown, ModelFamily.Unknown },
    };

    [Theory]
    [MemberData(nameof(KindCases))]
    public void PartialFilesAreDescribedNotRefused(string[] names, ModelKind kind, ModelFamily family)
    {
        ModelInfo info = ModelInfo.From(HeaderOnly(names.Select(n => (n, new long[] { 4, 4 }))));
        Assert.Equal(kind, info.Kind);
        Assert.Equal(family, info.Family);
    }

    [Fact]
    public void GgufIsDescribed()
    {
        var w = new GgufWriter();
        w.AddTensor("model.diffusion_model.input_blocks.1.1.proj_in.weight", [32, 32], 8, 32, 34);
        w.AddF32("model.diffusion_model.input_blocks.1.1.proj_in.bias", [32]);
        w.AddTensor("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", [768, 4], 1, 1, 2);
        ModelInfo info = ModelInfo.From(GgufFile.Read(new MemoryStream(w.ToArray())));
        Assert.Equal(ModelKind.Checkpoint, info.Kind);
        Assert.Equal(1, info.DTypeHistogram["q8_0"]);
        Assert.Equal(1, info.DTypeHistogram["f32"]);
        Assert.Equal(32 * 32 + 32 + 768 * 4, info.ParameterCount);
        MemoryEstimate m = info.EstimateMemory();
        Assert.Equal(32 * 34 + 128, m.DiffusionModelBytes); // 32 rows × one q8_0 block, + the f32 bias
    }

    [Fact]
    public void ConversionRulesMirrorUpstream()
    {
        Assert.True(ModelInfo.ShouldConvert("model.diffusion_model.input_blocks.1.1.proj_in.weight", 320, QuantizationType.Q8_0));
        Assert.False(ModelInfo.ShouldConvert("x.bias", 320, QuantizationType.Q8_0));
        Assert.False(ModelInfo.ShouldConvert("model.diffusion_model.time_embed.0.weight", 320, QuantizationType.Q8_0));
        Assert.False(ModelInfo.ShouldConvert("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", 768, QuantizationType.Q8_0));
        Assert.False(ModelInfo.ShouldConvert("model.diffusion_model.img_in.weight", 64, QuantizationType.Q8_0));
        Assert.False(ModelInfo.ShouldConvert("x.weight", 320, QuantizationType.Q4_K)); // 320 % 256 != 0
        Assert.True(ModelInfo.ShouldConvert("x.weight", 320, QuantizationType.F16));
    }
}
