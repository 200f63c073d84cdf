using System.Collections.ObjectModel;
using System.Globalization;

namespace StableDiffusion.Native.ModelFiles;

/// <summary>Model families, detected by tensor names and shapes as stable-diffusion.cpp detects them.</summary>
public enum ModelFamily
{
    /// <summary>Not detected (not a diffusion model, or an unsupported one).</summary>
    Unknown,

    /// <summary>Stable Diffusion 1.x.</summary>
    SD1,

    /// <summary>Stable Diffusion 1.x inpainting (9 UNet input channels).</summary>
    SD1Inpaint,

    /// <summary>Stable Diffusion 1.x InstructPix2Pix (8 UNet input channels).</summary>
    SD1Pix2Pix,

    /// <summary>A distilled SD1 UNet without <c>middle_block.1</c>.</summary>
    SD1TinyUNet,

    /// <summary>Stable Diffusion 2.x.</summary>
    SD2,

    /// <summary>Stable Diffusion 2.x inpainting.</summary>
    SD2Inpaint,

    /// <summary>A distilled SD2 UNet without <c>middle_block.1</c>.</summary>
    SD2TinyUNet,

    /// <summary>Stable Diffusion XL.</summary>
    SDXL,

    /// <summary>SDXL inpainting.</summary>
    SDXLInpaint,

    /// <summary>SDXL InstructPix2Pix.</summary>
    SDXLPix2Pix,

    /// <summary>SSD-1B (SDXL without <c>middle_block.1</c>).</summary>
    SDXLSsd1b,

    /// <summary>Segmind Vega.</summary>
    SDXLVega,

    /// <summary>Stable Diffusion 3.x (MMDiT).</summary>
    SD3,

    /// <summary>FLUX.1.</summary>
    Flux,

    /// <summary>FLUX.1 Fill.</summary>
    FluxFill,

    /// <summary>FLUX.1 Canny/Depth (control channels).</summary>
    FluxControls,

    /// <summary>FLUX.2.</summary>
    Flux2,

    /// <summary>Stable Video Diffusion.</summary>
    Svd,

    /// <summary>Wan 2.x.</summary>
    Wan,

    /// <summary>Qwen-Image.</summary>
    QwenImage,

    /// <summary>Z-Image.</summary>
    ZImage,
}

/// <summary>What a (valid) model file holds.</summary>
public enum ModelKind
{
    /// <summary>Not recognized.</summary>
    Unknown,

    /// <summary>A full checkpoint: a diffusion model plus text encoder(s) and/or VAE.</summary>
    Checkpoint,

    /// <summary>A diffusion model (UNet or DiT) alone.</summary>
    DiffusionModel,

    /// <summary>A VAE alone.</summary>
    Vae,

    /// <summary>A text encoder alone.</summary>
    TextEncoder,

    /// <summary>A LoRA (or LyCORIS) adapter.</summary>
    Lora,

    /// <summary>A ControlNet.</summary>
    ControlNet,

    /// <summary>A TAESD tiny autoencoder.</summary>
    Taesd,

    /// <summary>An ESRGAN-style upscaler.</summary>
    Upscaler,
}

/// <summary>The parts of a checkpoint, as upstream groups tensors when it reports weight types.</summary>
public enum ModelComponent
{
    /// <summary>The UNet or DiT (<c>model.diffusion_model.*</c>, <c>unet.*</c>).</summary>
    DiffusionModel,

    /// <summary>Text encoders (<c>cond_stage_model.*</c>, <c>conditioner.*</c>, <c>text_encoders.*</c>, <c>te.text_model.*</c>).</summary>
    TextEncoder,

    /// <summary>The VAE (<c>first_stage_model.*</c>, <c>vae.*</c>).</summary>
    Vae,

    /// <summary>Everything else.</summary>
    Other,
}

/// <summary>Tensor counts and sizes of one <see cref="ModelComponent"/>.</summary>
/// <param name="Component">The component.</param>
/// <param name="TensorCount">The number of tensors.</param>
/// <param name="ParameterCount">The number of parameters (elements).</param>
/// <param name="FileBytes">The bytes the tensors occupy in the file.</param>
public readonly record struct ModelComponentInfo(ModelComponent Component, int TensorCount, long ParameterCount, long FileBytes);

/// <summary>Estimated parameter memory after load-time type conversion; see <see cref="ModelInfo.EstimateMemory"/>.</summary>
/// <param name="DiffusionModelBytes">Bytes of the diffusion model.</param>
/// <param name="TextEncoderBytes">Bytes of the text encoders.</param>
/// <param name="VaeBytes">Bytes of the VAE.</param>
/// <param name="OtherBytes">Bytes of other tensors (ControlNet, LoRA, TAESD, upscaler, …).</param>
public readonly record struct MemoryEstimate(long DiffusionModelBytes, long TextEncoderBytes, long VaeBytes, long OtherBytes)
{
    /// <summary>Gets the total.</summary>
    public long TotalBytes => this.DiffusionModelBytes + this.TextEncoderBytes + this.VaeBytes + this.OtherBytes;

    /// <inheritdoc/>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"total {this.TotalBytes / 1048576.0:F2} MB (diffusion {this.DiffusionModelBytes / 1048576.0:F2} MB, text encoders {this.TextEncoderBytes / 1048576.0:F2} MB, vae {this.VaeBytes / 1048576.0:F2} MB, other {this.OtherBytes / 1048576.0:F2} MB)");
}

/// <summary>
/// A description of a model file derived from its tensor names and shapes: what it is, which family, its
/// components and their sizes. Never refuses a valid file: a file that is not a checkpoint is described as what it is.
/// </summary>
public sealed class ModelInfo
{
    private static readonly string[] InputConvNames = ["model.diffusion_model.input_blocks.0.0.weight", "model.diffusion_model.img_in.weight", "unet.conv_in.weight"];

    private const string DiffusionPrefix = "model.diffusion_model.";

    // Tensors stable-diffusion.cpp never loads (its unused-tensor list; matched as name prefixes).
    private static readonly string[] UnusedPrefixes =
    [
        "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
        "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
        "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
        "cond_stage_model.transformer.text_model.embeddings.position_ids",
        "cond_stage_model.1.model.text_model.embeddings.position_ids",
        "cond_stage_model.transformer.vision_model.embeddings.position_ids", "cond_stage_model.model.logit_scale",
        "conditioner.embedders.0.transformer.text_model.embeddings.position_ids", "conditioner.embedders.0.model.logit_scale",
        "conditioner.embedders.1.model.logit_scale", "model.diffusion_model.time_embedding.cond_proj.weight",
        "unet.time_embedding.cond_proj.weight", "model_ema.decay", "model_ema.num_updates", "model_ema.diffusion_model",
        "embedding_manager", "denoiser.sigmas", "text_encoders.t5xxl.transformer.encoder.embed_tokens.weight", "ztsnr",
        "edm_vpred.sigma_min", "text_encoders.llm.output.weight", "text_encoders.llm.lm_head.",
    ];

    private static readonly string[] TokenEmbeddingNames =
    [
        "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight",
        "cond_stage_model.model.token_embedding.weight",
        "text_model.embeddings.token_embedding.weight",
        "te.text_model.embeddings.token_embedding.weight",
        "conditioner.embedders.0.model.token_embedding.weight",
        "conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight",
    ];

    private static readonly string[] BareDiffusionRoots =
    [
        "double_blocks.", "single_blocks.", "joint_blocks.", "input_blocks.", "middle_block.", "output_blocks.",
        "img_in.", "x_embedder.", "transformer_blocks.", "blocks.0.cross_attn.", "cap_embedder.", "double_stream_modulation_img.",
    ];

    private readonly TensorDescriptor[] tensors;

    private ModelInfo(ModelFile file, TensorDescriptor[] tensors, IReadOnlyDictionary<string, string> metadata)
    {
        this.FilePath = file.FilePath;
        this.Format = file.Format;
        this.IsInspected = file is not LegacyModelFile;
        this.tensors = tensors;
        this.Metadata = metadata;
        this.TensorCount = tensors.Length;

        var histogram = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var components = new (int Count, long Params, long Bytes)[4];
        foreach (TensorDescriptor t in tensors)
        {
            histogram[t.FileTypeName] = histogram.GetValueOrDefault(t.FileTypeName) + 1;
            ref var c = ref components[(int)ComponentOf(t.Name)];
            c.Count++;
            c.Params += t.Elements;
            c.Bytes += t.FileBytes;
            this.ParameterCount += t.Elements;
        }

        this.DTypeHistogram = new ReadOnlyDictionary<string, int>(histogram);
        this.UnloadableTypes = this.Format is ModelFileFormat.Safetensors or ModelFileFormat.SafetensorsIndex
            ? histogram.Keys.Where(n => SafetensorsDTypes.TryParse(n, out SafetensorsDType d) && !SafetensorsDTypes.IsLoadable(d)).ToArray()
            : [];
        var list = new List<ModelComponentInfo>();
        for (int i = 0; i < components.Length; i++)
        {
            if (components[i].Count > 0)
            {
                list.Add(new ModelComponentInfo((ModelComponent)i, components[i].Count, components[i].Params, components[i].Bytes));
            }
        }

        this.Components = list.AsReadOnly();
        this.Kind = DetectKind(tensors);
        this.Family = this.Kind is ModelKind.Checkpoint or ModelKind.DiffusionModel ? DetectFamily(tensors, this.Kind) : ModelFamily.Unknown;
    }

    /// <summary>Gets the file path.</summary>
    public string? FilePath { get; }

    /// <summary>Gets the container format.</summary>
    public ModelFileFormat Format { get; }

    /// <summary>Gets a value indicating whether the tensors were inspected (false for pickle files opened with <see cref="ModelFileOptions.AllowLegacyPickle"/>).</summary>
    public bool IsInspected { get; }

    /// <summary>Gets what the file holds.</summary>
    public ModelKind Kind { get; }

    /// <summary>Gets the model family (only for <see cref="ModelKind.Checkpoint"/> and <see cref="ModelKind.DiffusionModel"/>).</summary>
    public ModelFamily Family { get; }

    /// <summary>Gets the components present, with their sizes.</summary>
    public IReadOnlyList<ModelComponentInfo> Components { get; }

    /// <summary>Gets the number of tensors.</summary>
    public int TensorCount { get; }

    /// <summary>Gets the total number of parameters.</summary>
    public long ParameterCount { get; }

    /// <summary>Gets the number of tensors per file type name (safetensors dtype names such as <c>"F16"</c>, ggml names such as <c>"q8_0"</c>).</summary>
    public IReadOnlyDictionary<string, int> DTypeHistogram { get; }

    /// <summary>
    /// Gets the file types (as in <see cref="DTypeHistogram"/>, ordinal order) of tensors that stop stable-diffusion.cpp
    /// from loading the file, for example <c>"F8_E4M3FNUZ"</c>; empty when it can load it. Loading refuses such a
    /// file with <see cref="InvalidModelFileReason.UnsupportedDataType"/> (see
    /// <see cref="SafetensorsDTypes.IsLoadable(SafetensorsDType)"/>); the rest of this description still holds, and
    /// <see cref="EstimateMemory"/> leaves those tensors out.
    /// </summary>
    public IReadOnlyList<string> UnloadableTypes { get; }

    /// <summary>Gets the file's metadata (GGUF values formatted invariantly; arrays summarized).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens, validates and describes a model file.</summary>
    /// <param name="path">The path (safetensors, shard index, GGUF; pickle files only with <see cref="ModelFileOptions.AllowLegacyPickle"/>).</param>
    /// <param name="options">Options.</param>
    /// <returns>The description.</returns>
    /// <exception cref="InvalidModelFileException">The file is malformed or refused.</exception>
    public static ModelInfo FromFile(string path, ModelFileOptions? options = null) => From(ModelFile.Open(path, options));

    /// <summary>Describes an opened model file.</summary>
    /// <param name="file">The file.</param>
    /// <returns>The description.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="file"/> is null.</exception>
    public static ModelInfo From(ModelFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        IReadOnlyDictionary<string, string> metadata = file switch
        {
            SafetensorsFile s => s.Metadata,
            SafetensorsIndex i => i.Shards.Count > 0 ? i.Shards[0].Metadata : new Dictionary<string, string>(),
            GgufFile g => new ReadOnlyDictionary<string, string>(g.Metadata.ToDictionary(kv => kv.Key, kv => FormatValue(kv.Value), StringComparer.Ordinal)),
            _ => new Dictionary<string, string>(),
        };
        return new ModelInfo(file, file.GetTensorDescriptors().ToArray(), metadata);
    }

    /// <summary>Describes a safetensors file.</summary>
    /// <param name="file">The file.</param>
    /// <returns>The description.</returns>
    public static ModelInfo From(SafetensorsFile file) => From((ModelFile)file);

    /// <summary>Describes a GGUF file.</summary>
    /// <param name="file">The file.</param>
    /// <returns>The description.</returns>
    public static ModelInfo From(GgufFile file) => From((ModelFile)file);

    /// <summary>
    /// Estimates the parameter memory stable-diffusion.cpp allocates for this file when loaded with weight type
    /// <paramref name="type"/> (its <c>wtype</c>) and optional per-tensor <paramref name="rules"/>.
    /// </summary>
    /// <param name="type">The requested weight type, or <see langword="null"/> to keep file types.</param>
    /// <param name="rules">Per-tensor overrides; the first matching rule replaces <paramref name="type"/> for a tensor.</param>
    /// <returns>Bytes per component.</returns>
    /// <remarks>
    /// Rules mirrored from upstream, applied per tensor:
    /// <list type="number">
    /// <item>Tensors on upstream's unused list (noise-schedule buffers, <c>position_ids</c>, <c>logit_scale</c>, EMA
    /// counters, …), safetensors U8 tensors (quantization metadata) and types upstream cannot load are skipped.</item>
    /// <item>The file type is widened or narrowed as upstream loads it: F8 → F16, F64 → F32, I64 → I32.</item>
    /// <item>The target type (a matching rule's type, else <paramref name="type"/>) is applied unless the tensor must
    /// stay: its <c>ne[0]</c> is not a multiple of a quantized target's block size; its name ends in <c>.bias</c>,
    /// <c>.scale</c> or <c>.weight_scale</c>; it is a FLUX in/out layer (<c>img_in.</c>, <c>txt_in.</c>,
    /// <c>time_in.</c>, <c>vector_in.</c>, <c>guidance_in.</c>, <c>final_layer.</c>), an MMDiT embedder
    /// (<c>x_embedder.</c>, <c>t_embedder.</c>, <c>y_embedder.</c>, <c>pos_embed</c>, <c>context_embedder.</c>), a UNet
    /// time/label embedding (<c>time_embed.</c>, <c>label_emb.</c>) or any name containing <c>embedding</c>.</item>
    /// <item>The model graph then fixes some types regardless of the file: one-dimensional tensors (biases, norm
    /// weights) are F32; four-dimensional tensors (convolution kernels) are F16; a two-dimensional (linear) weight
    /// whose <c>ne[0]</c> is not a multiple of its type's block size is F32.</item>
    /// <item>Each tensor is padded to 32 bytes (ggml's CPU tensor alignment).</item>
    /// </list>
    /// Tensors the graph does not register (extra tensors) are still counted, so the estimate can exceed upstream's
    /// "total params memory size" for files with unused extras. In particular upstream builds the VAE decode-only for
    /// text-to-image, so its VAE figure is then smaller than <see cref="MemoryEstimate.VaeBytes"/> (about 95 MB instead of
    /// 160 MB for SD1 in F16).
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> is a type upstream cannot convert weights to.</exception>
    public MemoryEstimate EstimateMemory(QuantizationType? type = null, TensorTypeRules? rules = null)
    {
        if (type is QuantizationType t && !TensorTypeRules.IsRuleType(t))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Upstream cannot convert weights to this type.");
        }

        long[] bytes = new long[4];
        foreach (TensorDescriptor tensor in this.tensors)
        {
            if (tensor.LoadType is not QuantizationType load || IsUnused(tensor.Name))
            {
                continue;
            }

            QuantizationType? target = type;
            if (rules is not null && rules.TryMatch(tensor.Name, out QuantizationType ruled))
            {
                target = ruled;
            }

            if (target is QuantizationType dst && ShouldConvert(tensor.Name, tensor.Ne[0], dst))
            {
                load = dst;
            }

            int rank = tensor.Ne.Length;
            if (rank <= 1)
            {
                load = QuantizationType.F32;
            }
            else if (rank == 4)
            {
                load = QuantizationType.F16;
            }
            else if (tensor.Ne[0] % QuantizationTypes.BlockSize(load) != 0)
            {
                load = QuantizationType.F32;
            }

            long size = QuantizationTypes.ByteSize(load, tensor.Elements) ?? tensor.Elements * 4;
            bytes[(int)ComponentOf(tensor.Name)] += (size + 31) / 32 * 32;
        }

        return new MemoryEstimate(bytes[(int)ModelComponent.DiffusionModel], bytes[(int)ModelComponent.TextEncoder], bytes[(int)ModelComponent.Vae], bytes[(int)ModelComponent.Other]);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{this.Kind} {this.Family} ({this.TensorCount} tensors, {this.ParameterCount:N0} parameters)";

    /// <summary>Upstream's <c>tensor_should_be_converted</c> rule, mirrored.</summary>
    internal static bool ShouldConvert(string name, long ne0, QuantizationType type)
    {
        if (QuantizationTypes.IsQuantized(type) && ne0 % QuantizationTypes.BlockSize(type) != 0)
        {
            return false;
        }

        if (name.EndsWith(".bias", StringComparison.Ordinal) || name.EndsWith(".scale", StringComparison.Ordinal) || name.EndsWith(".weight_scale", StringComparison.Ordinal))
        {
            return false;
        }

        ReadOnlySpan<string> keep =
        [
            "img_in.", "txt_in.", "time_in.", "vector_in.", "guidance_in.", "final_layer.",
            "x_embedder.", "t_embedder.", "y_embedder.", "pos_embed", "context_embedder.",
            "time_embed.", "label_emb.", "embedding",
        ];
        foreach (string k in keep)
        {
            if (name.Contains(k, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    internal static ModelComponent ComponentOf(string name)
    {
        if (name.Contains(DiffusionPrefix, StringComparison.Ordinal) || name.StartsWith("unet.", StringComparison.Ordinal))
        {
            return ModelComponent.DiffusionModel;
        }

        if (name.Contains("text_encoders", StringComparison.Ordinal) || name.Contains("cond_stage_model", StringComparison.Ordinal)
            || name.Contains("te.text_model.", StringComparison.Ordinal) || name.Contains("conditioner", StringComparison.Ordinal))
        {
            return ModelComponent.TextEncoder;
        }

        if (name.Contains("vae.", StringComparison.Ordinal) || name.Contains("first_stage_model", StringComparison.Ordinal))
        {
            return ModelComponent.Vae;
        }

        return ModelComponent.Other;
    }

    private static bool IsUnused(string name)
    {
        foreach (string prefix in UnusedPrefixes)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool AnyStartsWith(TensorDescriptor[] tensors, string prefix)
        => tensors.Any(t => t.Name.StartsWith(prefix, StringComparison.Ordinal));

    private static bool AnyContains(TensorDescriptor[] tensors, string part)
        => tensors.Any(t => t.Name.Contains(part, StringComparison.Ordinal));

    private static bool HasBareDiffusionRoots(TensorDescriptor[] tensors)
        => tensors.Any(t => BareDiffusionRoots.Any(r => t.Name.StartsWith(r, StringComparison.Ordinal)));

    private static ModelKind DetectKind(TensorDescriptor[] tensors)
    {
        if (tensors.Length == 0)
        {
            return ModelKind.Unknown;
        }

        if (tensors.Any(t => t.Name.StartsWith("lora_", StringComparison.Ordinal) || t.Name.Contains(".lora_", StringComparison.Ordinal)
            || t.Name.Contains("lora_A", StringComparison.Ordinal) || t.Name.Contains("lora_B", StringComparison.Ordinal)
            || t.Name.Contains(".lora.", StringComparison.Ordinal) || t.Name.Contains(".hada_w1", StringComparison.Ordinal)
            || t.Name.Contains(".lokr_w1", StringComparison.Ordinal)))
        {
            return ModelKind.Lora;
        }

        if (AnyStartsWith(tensors, "control_model.") || AnyContains(tensors, "input_hint_block") || AnyContains(tensors, "controlnet_cond_embedding"))
        {
            return ModelKind.ControlNet;
        }

        bool diffusion = tensors.Any(t => ComponentOf(t.Name) == ModelComponent.DiffusionModel);
        bool textEncoder = tensors.Any(t => ComponentOf(t.Name) == ModelComponent.TextEncoder);
        bool vae = tensors.Any(t => ComponentOf(t.Name) == ModelComponent.Vae);
        if (diffusion)
        {
            return textEncoder || vae ? ModelKind.Checkpoint : ModelKind.DiffusionModel;
        }

        if (AnyStartsWith(tensors, "tae.") || AnyStartsWith(tensors, "encoder.layers.") || AnyStartsWith(tensors, "decoder.layers."))
        {
            return ModelKind.Taesd;
        }

        if (AnyStartsWith(tensors, "model.0.weight") || AnyStartsWith(tensors, "conv_first.") || AnyStartsWith(tensors, "body.0.rdb1"))
        {
            return ModelKind.Upscaler;
        }

        if (HasBareDiffusionRoots(tensors))
        {
            return ModelKind.DiffusionModel;
        }

        if (textEncoder || AnyStartsWith(tensors, "text_model.") || AnyStartsWith(tensors, "encoder.block.")
            || AnyStartsWith(tensors, "shared.weight") || AnyStartsWith(tensors, "transformer.text_model.")
            || AnyStartsWith(tensors, "model.layers.") || AnyStartsWith(tensors, "embed_tokens."))
        {
            return vae ? ModelKind.Unknown : ModelKind.TextEncoder;
        }

        if (vae || AnyStartsWith(tensors, "encoder.") || AnyStartsWith(tensors, "decoder."))
        {
            return ModelKind.Vae;
        }

        return ModelKind.Unknown;
    }

    private static ModelFamily DetectFamily(TensorDescriptor[] tensors, ModelKind kind)
    {
        // A standalone diffusion model is loaded under upstream's "model.diffusion_model." prefix.
        bool prefixed = tensors.Any(t => t.Name.StartsWith(DiffusionPrefix, StringComparison.Ordinal) || t.Name.StartsWith("unet.", StringComparison.Ordinal));
        string Norm(string n) => !prefixed && kind == ModelKind.DiffusionModel ? DiffusionPrefix + n : n;

        var byName = new Dictionary<string, TensorDescriptor>(StringComparer.Ordinal);
        foreach (TensorDescriptor t in tensors)
        {
            byName.TryAdd(Norm(t.Name), t);
        }

        bool Has(string part) => byName.Keys.Any(k => k.Contains(part, StringComparison.Ordinal));
        long Ne(string exact, int i) => byName.TryGetValue(exact, out TensorDescriptor t) && t.Ne.Length > i ? t.Ne[i] : (i < 4 && byName.ContainsKey(exact) ? 1 : 0);

        if (Has("model.diffusion_model.joint_blocks."))
        {
            return ModelFamily.SD3;
        }

        if (Has("model.diffusion_model.transformer_blocks.0.img_mod.1.weight"))
        {
            return ModelFamily.QwenImage;
        }

        if (Has("model.diffusion_model.cap_embedder.0.weight"))
        {
            return ModelFamily.ZImage;
        }

        if (Has("model.diffusion_model.input_blocks.8.0.time_mixer.mix_factor"))
        {
            return ModelFamily.Svd;
        }

        if (Has("model.diffusion_model.blocks.0.cross_attn.norm_k.weight"))
        {
            return ModelFamily.Wan;
        }

        bool isUnet = Has("model.diffusion_model.input_blocks.") || Has("unet.down_blocks.");
        bool multipleEncoders = Has("conditioner.embedders.1") || Has("cond_stage_model.1") || Has("te.1");
        bool isXl = isUnet && multipleEncoders;
        bool isFlux = Has("model.diffusion_model.double_blocks.") || Has("model.diffusion_model.single_transformer_blocks.");
        bool isFlux2 = Has("model.diffusion_model.double_stream_modulation_img.lin.weight");
        bool middle1 = Has("model.diffusion_model.middle_block.1.") || Has("unet.mid_block.resnets.1.");
        bool output311 = Has("model.diffusion_model.output_blocks.3.1.transformer_blocks.1") || Has("unet.up_blocks.1.attentions.0.transformer_blocks.1");

        string inputName = InputConvNames.FirstOrDefault(byName.ContainsKey) ?? string.Empty;
        long inChannels = Ne(inputName, 2);
        bool inpaint = inChannels == 9;
        bool pix2pix = inChannels == 8;

        if (isXl)
        {
            return inpaint ? ModelFamily.SDXLInpaint
                : pix2pix ? ModelFamily.SDXLPix2Pix
                : !middle1 ? (output311 ? ModelFamily.SDXLSsd1b : ModelFamily.SDXLVega)
                : ModelFamily.SDXL;
        }

        if (isFlux2)
        {
            return ModelFamily.Flux2;
        }

        if (isFlux)
        {
            long imgIn = Ne(inputName, 0);
            return imgIn == 384 ? ModelFamily.FluxFill : imgIn == 128 ? ModelFamily.FluxControls : ModelFamily.Flux;
        }

        string? token = TokenEmbeddingNames.FirstOrDefault(byName.ContainsKey);
        long width = token is null ? 0 : Ne(token, 0);
        if (width == 768)
        {
            return inpaint ? ModelFamily.SD1Inpaint : pix2pix ? ModelFamily.SD1Pix2Pix : !middle1 ? ModelFamily.SD1TinyUNet : ModelFamily.SD1;
        }

        if (width == 1024)
        {
            return inpaint ? ModelFamily.SD2Inpaint : !middle1 ? ModelFamily.SD2TinyUNet : ModelFamily.SD2;
        }

        return ModelFamily.Unknown;
    }

    private static string FormatValue(GgufMetadataValue value) => value.Value switch
    {
        Array a => $"{value.ElementType}[{a.Length}]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        var v => v.ToString() ?? string.Empty,
    };
}
