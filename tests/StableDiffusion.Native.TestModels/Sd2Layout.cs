namespace StableDiffusion.Native.TestModels;

/// <summary>
/// An SD2.x (768-v) checkpoint: OpenCLIP ViT-H/14 text encoder under <c>cond_stage_model.model.</c> (OpenCLIP
/// names, fused q/k/v), a UNet with linear proj_in/proj_out and 64-wide attention heads, and the 4-channel KL VAE.
/// Upstream tells SD2 from SD1 by the token embedding's width (1024), hard-codes the text encoder (1024 wide,
/// 16 heads, 4096 MLP; layer 23 optional), the channel multipliers 1,2,4,4, one transformer block per level,
/// 1024-wide context and 64-wide heads; it infers the UNet width, so the narrowest UNet whose every level
/// holds whole 64-wide heads is <see cref="SmallestUnetChannels"/>.
/// </summary>
public static class Sd2Layout
{
    public const int FullUnetChannels = 320;
    public const int SmallestUnetChannels = 64;
    public const int ContextDim = 1024;

    /// <summary>
    /// Upstream decides between eps- and v-prediction for SD2 by running the UNet once on a constant latent and
    /// calling it v-prediction when the output's mean lies below the input's by more than 1. Random weights land
    /// near 0, i.e. eps; this bias on the last conv moves the mean to about −2 so the model reads as 768-v.
    /// </summary>
    public const float VPredictionOutputBias = -2f;

    public static UnetShape Unet(int unetChannels = SmallestUnetChannels)
        => new(unetChannels, [1, 2, 4, 4], [1, 1, 1, 0], MiddleDepth: 1, ContextDim, LinearProjection: true);

    public static IReadOnlyList<TensorSpec> Checkpoint(int unetChannels = SmallestUnetChannels, int vaeDecoderChannels = VaeLayout.SmallestDecoderChannels, bool vPrediction = true)
    {
        if (unetChannels % 64 != 0)
            throw new ArgumentOutOfRangeException(nameof(unetChannels), unetChannels, "SD2's attention heads are 64 wide: the UNet width must be a multiple of 64.");
        var t = new List<TensorSpec>();
        t.AddRange(ClipLayout.OpenClipText("cond_stage_model.model.", ClipTextSize.VitH14));
        foreach (var s in UnetLayout.Build("model.diffusion_model.", Unet(unetChannels)))
            t.Add(vPrediction && s.Name == "model.diffusion_model.out.2.bias" ? s with { Mean = VPredictionOutputBias } : s);
        t.AddRange(VaeLayout.Sd("first_stage_model.", vaeDecoderChannels));
        return t;
    }
}
