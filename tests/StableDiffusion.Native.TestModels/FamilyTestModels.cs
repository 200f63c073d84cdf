namespace StableDiffusion.Native.TestModels;

/// <summary>
/// A model shipped as separate component files, as SD3, Flux and the DiT families are: what
/// <c>GeneratorOptions.DiffusionModelPath</c>, <c>ClipLPath</c>, <c>ClipGPath</c>, <c>T5xxlPath</c>, <c>LlmPath</c>-style
/// options and <c>VaePath</c> take. Null where the family has no such component.
/// </summary>
public sealed record SplitModel(string DiffusionModel, string? ClipL, string? ClipG, string? T5xxl, string? Llm, string Vae);

/// <summary>
/// The smallest random-weight models of each family that the pinned stable-diffusion.cpp loads and generates
/// with, cached like <see cref="TestModelFactory"/>'s. Every size upstream infers from the tensors is as small
/// as upstream allows; what it hard-codes is full size (the text encoders above all), as each layout says.
/// Shared components (CLIP-L, CLIP-G, the 16-channel VAE) are one file each, whichever family uses them.
/// </summary>
public static partial class FamilyTestModels
{
    // Part of every key: bump it when a layout here changes, so stale cached files are not reused.
    private const string Version = "f1";

    /// <summary>
    /// An SD2.x 768-v checkpoint: the full OpenCLIP ViT-H text encoder (23 of its 24 layers: the last is optional
    /// upstream), a 64-channel UNet, the VAE with a 32-channel decoder. ≈ 0.8 GB at F16.
    /// </summary>
    public static string Sd2(string dtype = "F16", ulong seed = 21)
        => TestModelFactory.GetOrCreate($"sd2-v-c{Sd2Layout.SmallestUnetChannels}-{dtype}-s{seed}-{Version}",
            () => Sd2Layout.Checkpoint(), dtype, seed);

    /// <summary>An SDXL checkpoint: full CLIP-L and OpenCLIP bigG, a 32-channel UNet, the VAE with a 32-channel decoder. ≈ 1.7 GB at F16.</summary>
    public static string Sdxl(string dtype = "F16", ulong seed = 22)
        => TestModelFactory.GetOrCreate($"sdxl-c{SdxlLayout.SmallestUnetChannels}-{dtype}-s{seed}-{Version}",
            () => SdxlLayout.Checkpoint(), dtype, seed);

    /// <summary>
    /// SD3.5-style components: an MMDiT of 24 blocks 24 wide (upstream's floor), full CLIP-L and CLIP-G, a one-layer
    /// T5 at T5-XXL's 4096 width (which SD3's conditioner hard-codes), the 16-channel VAE. ≈ 2 GB at F16, most of it
    /// CLIP-G.
    /// </summary>
    public static SplitModel Sd3(string dtype = "F16", ulong seed = 23)
    {
        string dit = TestModelFactory.GetOrCreate($"sd3-mmdit-h{Sd3Layout.SmallestDepth}-d{Sd3Layout.SmallestDepth}-qk-{dtype}-s{seed}-{Version}",
            () => Sd3Layout.DiffusionModel(), dtype, seed);
        string t5 = T5($"t5xxl-w{T5Layout.XxlModelDim}", T5Layout.XxlModelDim, dtype, seed + 1);
        return new(dit, ClipL(dtype), ClipG(dtype), t5, null, Vae16(dtype));
    }

    /// <summary>
    /// Flux.1-dev-style components: a DiT of one double and one single block, one 128-wide head (the rotary axes
    /// fix the head width), full CLIP-L, a one-layer T5 only 64 wide (Flux reads the context width from
    /// <c>txt_in</c>), the 16-channel VAE. ≈ 0.35 GB at F16, most of it CLIP-L.
    /// </summary>
    public static SplitModel Flux(string dtype = "F16", ulong seed = 24)
    {
        const int t5Width = 64;
        string dit = TestModelFactory.GetOrCreate($"flux-dev-h{FluxLayout.HeadDim}-b1x1-ctx{t5Width}-{dtype}-s{seed}-{Version}",
            () => FluxLayout.DiffusionModel(contextDim: t5Width), dtype, seed);
        string t5 = T5($"t5-w{t5Width}", t5Width, dtype, seed + 1);
        return new(dit, ClipL(dtype), null, t5, null, Vae16(dtype));
    }

    /// <summary>CLIP ViT-L/14 as SD3/Flux ship it (<c>clip_l.safetensors</c>, Hugging Face names). ≈ 250 MB at F16.</summary>
    public static string ClipL(string dtype = "F16", ulong seed = 31)
        => TestModelFactory.GetOrCreate($"clip-l-{dtype}-s{seed}-{Version}", () => ClipLayout.HfText("", ClipTextSize.VitL14), dtype, seed);

    /// <summary>OpenCLIP ViT-bigG/14 as SD3 ships it (<c>clip_g.safetensors</c>, Hugging Face names, with projection). ≈ 1.4 GB at F16.</summary>
    public static string ClipG(string dtype = "F16", ulong seed = 32)
        => TestModelFactory.GetOrCreate($"clip-g-{dtype}-s{seed}-{Version}", () => ClipLayout.HfText("", ClipTextSize.BigG14), dtype, seed);

    /// <summary>The 16-channel KL VAE of SD3 and Flux (<c>ae.safetensors</c> names), 32-channel decoder.</summary>
    public static string Vae16(string dtype = "F16", ulong seed = 33)
        => TestModelFactory.GetOrCreate($"vae16-d{VaeLayout.SmallestDecoderChannels}-{dtype}-s{seed}-{Version}", () => VaeLayout.Sixteen(), dtype, seed);

    private static string T5(string name, int modelDim, string dtype, ulong seed)
        => TestModelFactory.GetOrCreate($"{name}-l1-{dtype}-s{seed}-{Version}", () => T5Layout.Encoder(modelDim: modelDim), dtype, seed);
}
