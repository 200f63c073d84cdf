using System.CommandLine;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Quantization;

namespace StableDiffusion.Native.Cli;

/// <summary>The options every command that loads a model takes (<c>generate</c>, <c>serve</c>), and the <see cref="GeneratorOptions"/> they give.</summary>
internal sealed class ModelLoadOptions
{
    public Option<string?> Model { get; } = new("--model", "-m") { Description = "Full checkpoint (.safetensors/.gguf), or a model name from the models folder" };
    public Option<string?> Directory { get; } = new("--dir") { Description = "Models folder used to resolve a name (default: SDNET_MODELS_DIR or the per-user folder)" };
    public Option<string?> DiffusionModel { get; } = new("--diffusion-model") { Description = "Standalone diffusion model (Flux, SD3, ...)" };
    public Option<string?> Vae { get; } = new("--vae") { Description = "VAE weights" };
    public Option<string?> Taesd { get; } = new("--taesd") { Description = "Tiny autoencoder used instead of the VAE (fast decode)" };
    public Option<string?> ClipL { get; } = new("--clip_l") { Description = "CLIP-L text encoder" };
    public Option<string?> ClipG { get; } = new("--clip_g") { Description = "CLIP-G text encoder" };
    public Option<string?> T5xxl { get; } = new("--t5xxl") { Description = "T5-XXL text encoder" };
    public Option<int?> Threads { get; } = new("--threads", "-t") { Description = "CPU threads (default: physical cores)" };
    public Option<string?> Type { get; } = new("--type") { Description = "Weight type: f16, q8_0, q4_0, ... (converted once and kept in the user cache; see --no-quantization-cache)" };
    public Option<bool> NoQuantizationCache { get; } = new("--no-quantization-cache") { Description = "With --type: convert while loading every time instead of caching the converted file" };
    public Option<string?> TensorTypeRules { get; } = new("--tensor-type-rules") { Description = "Per-tensor types: regex=type,..." };
    public Option<string?> Backend { get; } = new("--backend") { Description = "Device for computation: a device (Vulkan0), a backend (cuda, vulkan) or cpu (see 'sdnet doctor')" };
    public Option<bool> FlashAttention { get; } = new("--flash-attn") { Description = "Use flash attention" };
    public Option<bool> RequireGpu { get; } = new("--require-gpu") { Description = "Fail, listing why each GPU backend was rejected, instead of running on the CPU" };
    public Option<bool> EagerLoad { get; } = new("--eager-load") { Description = "Load every weight before generating (fails early on bad data)" };

    /// <summary>Every option, to add to a command.</summary>
    public IEnumerable<Option> All =>
        [Model, Directory, DiffusionModel, Vae, Taesd, ClipL, ClipG, T5xxl, Threads, Type, NoQuantizationCache, TensorTypeRules, Backend, FlashAttention, RequireGpu, EagerLoad];

    /// <summary>The options a parse gave, with the model name resolved in the models folder.</summary>
    /// <exception cref="ArgumentException">An unknown weight type, or a model name that is not in the folder.</exception>
    public GeneratorOptions Read(ParseResult r, ILogger logger)
    {
        QuantizationType? weightType = null;
        if (r.GetValue(Type) is { } typeName)
            weightType = QuantizationTypes.TryParse(typeName, out var parsed) ? parsed : throw new ArgumentException($"Unknown --type '{typeName}'.", "--type");
        return new GeneratorOptions
        {
            ModelPath = ModelCommands.ResolveModel(r.GetValue(Model), r.GetValue(Directory)),
            DiffusionModelPath = r.GetValue(DiffusionModel),
            VaePath = r.GetValue(Vae),
            TaesdPath = r.GetValue(Taesd),
            ClipLPath = r.GetValue(ClipL),
            ClipGPath = r.GetValue(ClipG),
            T5xxlPath = r.GetValue(T5xxl),
            Threads = r.GetValue(Threads),
            WeightType = weightType,
            QuantizationCache = r.GetValue(NoQuantizationCache) ? QuantizationCacheMode.Off : QuantizationCacheMode.ReadWrite,
            TensorTypeRules = r.GetValue(TensorTypeRules),
            Backend = r.GetValue(Backend),
            FlashAttention = r.GetValue(FlashAttention) ? true : null,
            RequireGpu = r.GetValue(RequireGpu),
            EagerLoad = r.GetValue(EagerLoad) ? true : null,
            Logger = logger,
        };
    }
}
