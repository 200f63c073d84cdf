namespace StableDiffusion.Native.Native;

// The managed records the mappers turn into upstream's structs. They mirror the native fields one to one, in
// upstream's vocabulary (enum values as upstream numbers them), so the generation API above resolves its own
// defaults and names and this layer only copies. A null value keeps the default that upstream's *_init wrote.

/// <summary>What <c>sd_ctx_params_t</c> receives. Paths are validated by the layers above before they get here.</summary>
internal sealed record ContextSpec
{
    public string? ModelPath { get; init; }
    public string? DiffusionModelPath { get; init; }
    public string? ClipLPath { get; init; }
    public string? ClipGPath { get; init; }
    public string? T5xxlPath { get; init; }
    public string? VaePath { get; init; }
    public string? TaesdPath { get; init; }
    public string? ControlNetPath { get; init; }
    public IReadOnlyList<(string Name, string Path)> Embeddings { get; init; } = [];
    /// <summary><c>sd_type_t</c> value; null keeps the file's types.</summary>
    public int? WeightType { get; init; }
    public string? TensorTypeRules { get; init; }
    public int? Threads { get; init; }
    public string? Backend { get; init; }
    public string? ParamsBackend { get; init; }
    public bool? FlashAttention { get; init; }
    public bool? DiffusionFlashAttention { get; init; }
    public bool? DiffusionConvDirect { get; init; }
    public bool? VaeConvDirect { get; init; }
    public bool? EnableMmap { get; init; }
    public bool? EagerLoad { get; init; }
    /// <summary><c>lora_apply_mode_t</c> value.</summary>
    public int? LoraApplyMode { get; init; }
    public string? RpcServers { get; init; }
    public string? MaxVram { get; init; }
}

/// <summary>What <c>sd_img_gen_params_t</c> receives.</summary>
internal sealed record ImageGenerationSpec
{
    public string Prompt { get; init; } = "";
    public string NegativePrompt { get; init; } = "";
    public int? ClipSkip { get; init; }
    public int Width { get; init; }
    public int Height { get; init; }
    public long Seed { get; init; }
    public int BatchCount { get; init; } = 1;
    public float Strength { get; init; }
    public SampleSpec Sample { get; init; } = new();
    public NativeImage InitImage { get; init; }
    public NativeImage MaskImage { get; init; }
    public NativeImage ControlImage { get; init; }
    public float ControlStrength { get; init; }
    public IReadOnlyList<(string Path, float Multiplier)> Loras { get; init; } = [];
    public bool VaeTiling { get; init; }
    public HiresSpec? Hires { get; init; }
}

/// <summary>What <c>sd_sample_params_t</c> receives.</summary>
internal sealed record SampleSpec
{
    public int Steps { get; init; } = 20;
    public float CfgScale { get; init; } = 7f;
    public float? DistilledGuidance { get; init; }
    public float? Eta { get; init; }
    /// <summary><c>sample_method_t</c> value.</summary>
    public int? SampleMethod { get; init; }
    /// <summary><c>scheduler_t</c> value.</summary>
    public int? Scheduler { get; init; }
}

/// <summary>What <c>sd_hires_params_t</c> receives; its presence enables the hires pass.</summary>
internal sealed record HiresSpec
{
    /// <summary><c>sd_hires_upscaler_t</c> value.</summary>
    public int Upscaler { get; init; } = 1;
    public string? ModelPath { get; init; }
    public float Scale { get; init; } = 2f;
    public int Steps { get; init; }
    public float DenoisingStrength { get; init; } = 0.7f;
}
