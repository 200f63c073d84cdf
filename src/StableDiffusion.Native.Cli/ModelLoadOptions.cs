using System.CommandLine;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Cli.SdCli;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Quantization;
using static StableDiffusion.Native.Cli.SdCli.OptionFactory;

namespace StableDiffusion.Native.Cli;

/// <summary>
/// The options every command that loads a model takes (<c>generate</c>, <c>video</c>, <c>serve</c>), and the
/// <see cref="GeneratorOptions"/> they give: sd-cli's context options under sd-cli's names (see docs/sd-cli-flags.md),
/// plus sdnet's own (<c>--dir</c>, <c>--require-gpu</c>, <c>--no-quantization-cache</c>).
/// </summary>
internal sealed class ModelLoadOptions
{
    public Option<string?> Model { get; } = Text("--model", "Full checkpoint (.safetensors/.gguf), or a model name from the models folder", "-m");
    public Option<string?> Directory { get; } = Text("--dir", "Models folder used to resolve a name (default: SDNET_MODELS_DIR or the per-user folder)");
    public Option<string?> DiffusionModel { get; } = Text("--diffusion-model", "Standalone diffusion model (Flux, SD3, Wan, ...)");
    public Option<string?> HighNoiseDiffusionModel { get; } = Text("--high-noise-diffusion-model", "Standalone high-noise diffusion model (Wan 2.2 A14B)");
    public Option<string?> UncondDiffusionModel { get; } = Text("--uncond-diffusion-model", "Standalone unconditional diffusion model");
    public Option<string?> EmbeddingsConnectors { get; } = Text("--embeddings-connectors", "LTX-2 embeddings connectors");
    public Option<string?> Vae { get; } = Text("--vae", "VAE weights");
    public Option<string?> VaeFormat { get; } = Text("--vae-format", "VAE latent format: " + string.Join(", ", SdCliSyntax.VaeFormatNames));
    public Option<string?> AudioVae { get; } = Text("--audio-vae", "LTX-2 audio VAE");
    public Option<string?> Taesd { get; } = Text("--taesd", "Tiny autoencoder used instead of the VAE (fast decode)", "--tae");
    public Option<string?> ClipL { get; } = Text("--clip_l", "CLIP-L text encoder");
    public Option<string?> ClipG { get; } = Text("--clip_g", "CLIP-G text encoder");
    public Option<string?> ClipVision { get; } = Text("--clip_vision", "CLIP vision encoder");
    public Option<string?> T5xxl { get; } = Text("--t5xxl", "T5-XXL text encoder");
    public Option<string?> Llm { get; } = Text("--llm", "LLM text encoder (Qwen-Image, FLUX.2, Z-Image, ...)", "--qwen2vl");
    public Option<string?> LlmVision { get; } = Text("--llm_vision", "Vision tower of the LLM text encoder", "--qwen2vl_vision");
    public Option<string?> ControlNet { get; } = Text("--control-net", "ControlNet weights");
    public Option<string?> IpAdapter { get; } = Text("--ip-adapter", "IP-Adapter weights (needs --clip_vision)");
    public Option<string?> MotionModule { get; } = Text("--motion-module", "AnimateDiff motion module");
    public Option<string?> PhotoMaker { get; } = Text("--photo-maker", "PhotoMaker weights");
    public Option<string?> PulidWeights { get; } = Text("--pulid-weights", "PuLID Flux weights");
    public Option<string?> EmbeddingsDirectory { get; } = Text("--embd-dir", "Folder of textual-inversion embeddings (.safetensors/.gguf; usable in prompts by file name)");
    /// <summary>The manifest <c>-m NAME</c> named, once <see cref="Read"/> has read it (its defaults go to the requests).</summary>
    public ModelManifest? Manifest { get; private set; }

    public Option<int?> Threads { get; } = Int("--threads", "CPU threads (default, or <= 0: physical cores)", "-t");
    public Option<string?> Type { get; } = Text("--type", "Weight type: f16, q8_0, q4_0, ... (converted once and kept in the user cache; see --no-quantization-cache)");
    public Option<bool> NoQuantizationCache { get; } = Switch("--no-quantization-cache", "With --type: convert while loading every time instead of caching the converted file");
    public Option<string[]> TensorTypeRules { get; } = Joined("--tensor-type-rules", "Per-tensor types: regex=type,...");
    public Option<string[]> ModelArgs { get; } = Joined("--model-args", "Model arguments, key=value,...");
    public Option<string[]> Backend { get; } = Joined("--backend", "Device for computation: a device (Vulkan0), a backend (cuda, vulkan), cpu (see 'sdnet doctor'), or an assignment (te=cpu,diffusion=cuda0)");
    public Option<string[]> ParamsBackend { get; } = Joined("--params-backend", "Device holding the weights: disk, cpu, or an assignment (diffusion=disk,te=cpu)");
    public Option<string[]> SplitMode { get; } = Joined("--split-mode", "Multi-device split: layer or row, or per module (diffusion=row,te=layer)");
    public Option<string[]> RpcServers { get; } = Joined("--rpc-servers", "ggml RPC servers, host:port,...");
    public Option<string?> MaxVram { get; } = Text("--max-vram", "GPU memory budget in GiB for offloading (or per device, cuda0=6; negative: free memory less this)");
    public Option<bool> StreamLayers { get; } = Switch("--stream-layers", "With --max-vram: stream layers with prefetching");
    public Option<bool> EagerLoad { get; } = Switch("--eager-load", "Load every weight before generating (fails early on bad data)");
    public Option<bool> AutoFit { get; } = Switch("--auto-fit", "Place the modules on the devices by their memory");
    public Option<bool> ForceSdxlVaeConvScale { get; } = Switch("--force-sdxl-vae-conv-scale", "Force the SDXL VAE's convolution scaling");
    public Option<bool> OffloadToCpu { get; } = Switch("--offload-to-cpu", "Keep the weights in RAM, moving them to the device when needed (--params-backend *=cpu)");
    public Option<bool> Mmap { get; } = Switch("--mmap", "Memory-map the model files");
    public Option<bool> ControlNetCpu { get; } = Switch("--control-net-cpu", "Run the ControlNet on the CPU (--backend controlnet=cpu)");
    public Option<bool> ClipOnCpu { get; } = Switch("--clip-on-cpu", "Run the text encoders on the CPU (--backend te=cpu)");
    public Option<bool> VaeOnCpu { get; } = Switch("--vae-on-cpu", "Run the VAE on the CPU (--backend vae=cpu)");
    public Option<bool> FlashAttention { get; } = Switch("--fa", "Use flash attention", "--flash-attn");
    public Option<bool> DiffusionFlashAttention { get; } = Switch("--diffusion-fa", "Use flash attention in the diffusion model only");
    public Option<bool> DiffusionConvDirect { get; } = Switch("--diffusion-conv-direct", "Direct convolution in the diffusion model");
    public Option<bool> VaeConvDirect { get; } = Switch("--vae-conv-direct", "Direct convolution in the VAE");
    public Option<string?> Rng { get; } = Text("--rng", "Noise generator: " + string.Join(", ", SdCliSyntax.RngNames));
    public Option<string?> SamplerRng { get; } = Text("--sampler-rng", "Sampler noise generator (default: --rng): " + string.Join(", ", SdCliSyntax.RngNames));
    public Option<string?> Prediction { get; } = Text("--prediction", "Prediction type override: " + string.Join(", ", SdCliSyntax.PredictionNames));
    public Option<string?> LoraApplyMode { get; } = Text("--lora-apply-mode", "How LoRAs are applied: " + string.Join(", ", SdCliSyntax.LoraApplyModeNames));
    public Option<bool> RequireGpu { get; } = Switch("--require-gpu", "Fail, listing why each GPU backend was rejected, instead of running on the CPU");
    public Option ListDevices { get; } = SdCliFlags.Refused("--list-devices");

    /// <summary>Every option, to add to a command.</summary>
    public IEnumerable<Option> All =>
    [
        Model, Directory, DiffusionModel, HighNoiseDiffusionModel, UncondDiffusionModel, EmbeddingsConnectors, Vae, VaeFormat, AudioVae, Taesd,
        ClipL, ClipG, ClipVision, T5xxl, Llm, LlmVision, ControlNet, IpAdapter, MotionModule, PhotoMaker, PulidWeights, EmbeddingsDirectory,
        Threads, Type, NoQuantizationCache, TensorTypeRules, ModelArgs, Backend, ParamsBackend, SplitMode, RpcServers, MaxVram,
        StreamLayers, EagerLoad, AutoFit, ForceSdxlVaeConvScale, OffloadToCpu, Mmap, ControlNetCpu, ClipOnCpu, VaeOnCpu,
        FlashAttention, DiffusionFlashAttention, DiffusionConvDirect, VaeConvDirect, Rng, SamplerRng, Prediction, LoraApplyMode,
        RequireGpu, ListDevices,
    ];

    /// <summary>The options a parse gave, with the model name resolved in the models folder.</summary>
    /// <exception cref="ArgumentException">A value sd-cli would refuse (an unknown type, RNG, prediction, ...), or a model name that is not in the folder.</exception>
    /// <param name="r">The parse.</param>
    /// <param name="logger">The native log's logger.</param>
    /// <param name="withModel">False: leave <c>-m</c> unresolved (<c>serve --models-dir</c> reads it as one of the folder's names).</param>
    public GeneratorOptions Read(ParseResult r, ILogger logger, bool withModel = true)
    {
        SdCliFlags.ThrowIfRefused(r, ListDevices);
        QuantizationType? weightType = null;
        if (r.GetValue(Type) is { } typeName)
            weightType = QuantizationTypes.TryParse(typeName, out var parsed) ? parsed : throw SdCliSyntax.Bad("--type", $"'{typeName}' is not a weight type (f32, f16, bf16, q8_0, q4_0, q4_K, ...).");

        // sd-cli's deprecated placement switches prepend assignments to --backend / --params-backend.
        string? backend = JoinedValue(r, Backend);
        if (r.GetValue(ClipOnCpu)) backend = Prepend(backend, "te=cpu");
        if (r.GetValue(VaeOnCpu)) backend = Prepend(backend, "vae=cpu");
        if (r.GetValue(ControlNetCpu)) backend = Prepend(backend, "controlnet=cpu");
        string? paramsBackend = JoinedValue(r, ParamsBackend);
        if (r.GetValue(OffloadToCpu)) paramsBackend = Prepend(paramsBackend, "*=cpu");

        SplitMode? split = null;
        IReadOnlyDictionary<ModelModule, SplitMode> moduleSplits = new Dictionary<ModelModule, SplitMode>();
        if (JoinedValue(r, SplitMode) is { } splitText) (split, moduleSplits) = SdCliSyntax.SplitModes("--split-mode", splitText);

        string? resolved = withModel ? ModelCommands.ResolveModel(r.GetValue(Model), r.GetValue(Directory)) : null;
        Manifest = resolved is not null && ModelManifest.IsManifestPath(resolved) ? ModelManifest.Load(resolved) : null;
        var options = new GeneratorOptions
        {
            DiffusionModelPath = r.GetValue(DiffusionModel),
            HighNoiseDiffusionModelPath = r.GetValue(HighNoiseDiffusionModel),
            UncondDiffusionModelPath = r.GetValue(UncondDiffusionModel),
            EmbeddingsConnectorsPath = r.GetValue(EmbeddingsConnectors),
            VaePath = r.GetValue(Vae),
            VaeFormat = r.GetValue(VaeFormat) is { } vf ? SdCliSyntax.Vae("--vae-format", vf) : null,
            AudioVaePath = r.GetValue(AudioVae),
            TaesdPath = r.GetValue(Taesd),
            ClipLPath = r.GetValue(ClipL),
            ClipGPath = r.GetValue(ClipG),
            ClipVisionPath = r.GetValue(ClipVision),
            T5xxlPath = r.GetValue(T5xxl),
            LlmPath = r.GetValue(Llm),
            LlmVisionPath = r.GetValue(LlmVision),
            ControlNetPath = r.GetValue(ControlNet),
            IpAdapterPath = r.GetValue(IpAdapter),
            MotionModulePath = r.GetValue(MotionModule),
            PhotoMakerPath = r.GetValue(PhotoMaker),
            PulidWeightsPath = r.GetValue(PulidWeights),
            Embeddings = r.GetValue(EmbeddingsDirectory) is { } dir ? EmbeddingFolder.Read(dir, logger) : [],
            // sd-cli: zero or fewer threads means the physical cores, which is upstream's choice when unset.
            Threads = r.GetValue(Threads) is int t && t > 0 ? t : null,
            WeightType = weightType,
            QuantizationCache = r.GetValue(NoQuantizationCache) ? QuantizationCacheMode.Off : QuantizationCacheMode.ReadWrite,
            TensorTypeRules = JoinedValue(r, TensorTypeRules),
            Backend = backend,
            ParamsBackend = paramsBackend,
            SplitMode = split,
            ModuleSplitModes = moduleSplits,
            RpcServers = JoinedValue(r, RpcServers),
            MaxVram = r.GetValue(MaxVram),
            StreamLayers = On(r, StreamLayers),
            EagerLoad = On(r, EagerLoad),
            AutoFit = On(r, AutoFit),
            ForceSdxlVaeConvScale = On(r, ForceSdxlVaeConvScale),
            EnableMmap = On(r, Mmap),
            FlashAttention = On(r, FlashAttention),
            DiffusionFlashAttention = On(r, DiffusionFlashAttention),
            DiffusionConvDirect = On(r, DiffusionConvDirect),
            VaeConvDirect = On(r, VaeConvDirect),
            Rng = r.GetValue(Rng) is { } rng ? SdCliSyntax.Rng("--rng", rng) : null,
            SamplerRng = r.GetValue(SamplerRng) is { } srng ? SdCliSyntax.Rng("--sampler-rng", srng) : null,
            Prediction = r.GetValue(Prediction) is { } p ? SdCliSyntax.PredictionOf("--prediction", p) : null,
            LoraApplyMode = r.GetValue(LoraApplyMode) is { } lam ? SdCliSyntax.LoraApply("--lora-apply-mode", lam) : null,
            RequireGpu = r.GetValue(RequireGpu),
            Logger = logger,
        };
        // The model -m names (a checkpoint, or a manifest's components), each component replaced by its flag when one is given.
        options = options.WithComponentsFrom(Manifest is null ? new GeneratorOptions { ModelPath = resolved } : GeneratorOptions.FromManifest(Manifest));
        return JoinedValue(r, ModelArgs) is { } args ? TypedArguments.Model("--model-args", options, SdCliSyntax.KeyValues("--model-args", args)) : options;
    }

    /// <summary>A switch as the library's tri-state: on when given, else upstream's default.</summary>
    private static bool? On(ParseResult r, Option<bool> option) => r.GetValue(option) ? true : null;

    /// <summary>The values of a repeatable sd-cli "concat" option joined with ',' as sd-cli joins them; null when absent.</summary>
    internal static string? JoinedValue(ParseResult r, Option<string[]> option)
        => r.GetValue(option) is { Length: > 0 } values ? string.Join(',', values) : null;

    private static string Prepend(string? spec, string assignment) => string.IsNullOrEmpty(spec) ? assignment : assignment + "," + spec;
}
