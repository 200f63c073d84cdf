namespace StableDiffusion.Native.TestModels;

/// <summary>
/// An SDXL checkpoint: CLIP ViT-L/14 (Hugging Face names) under <c>conditioner.embedders.0.transformer.</c>,
/// OpenCLIP ViT-bigG/14 under <c>conditioner.embedders.1.model.</c>, a UNet with <c>label_emb</c> (the pooled
/// bigG output and six size embeddings: 2816 wide), and the 4-channel KL VAE. Upstream calls a checkpoint SDXL
/// when it holds a UNet and a second text encoder, hard-codes both text encoders, the channel multipliers
/// 1,2,4, the transformer depth per level (none, 2, 10; 10 in the middle), 2048-wide context and 64-wide heads,
/// and infers the UNet width. Level 0 has no attention, so <see cref="SmallestUnetChannels"/> (GroupNorm's 32)
/// still gives whole heads (64 and 128 wide levels).
/// </summary>
public static class SdxlLayout
{
    public const int FullUnetChannels = 320;
    public const int SmallestUnetChannels = 32;
    public const int ContextDim = 768 + 1280;
    public const int AdmChannels = 1280 + 6 * 256;

    public static UnetShape Unet(int unetChannels = SmallestUnetChannels)
        => new(unetChannels, [1, 2, 4], [0, 2, 10], MiddleDepth: 10, ContextDim, LinearProjection: true, AdmChannels);

    public static IReadOnlyList<TensorSpec> Checkpoint(int unetChannels = SmallestUnetChannels, int vaeDecoderChannels = VaeLayout.SmallestDecoderChannels)
    {
        if (unetChannels % 32 != 0)
            throw new ArgumentOutOfRangeException(nameof(unetChannels), unetChannels, "GroupNorm32 needs a multiple of 32.");
        var t = new List<TensorSpec>();
        t.AddRange(ClipLayout.HfText("conditioner.embedders.0.transformer.", ClipTextSize.VitL14));
        t.AddRange(ClipLayout.OpenClipText("conditioner.embedders.1.model.", ClipTextSize.BigG14));
        t.AddRange(UnetLayout.Build("model.diffusion_model.", Unet(unetChannels)));
        t.AddRange(VaeLayout.Sd("first_stage_model.", vaeDecoderChannels));
        return t;
    }
}
