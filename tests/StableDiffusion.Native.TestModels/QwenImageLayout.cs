using static StableDiffusion.Native.TestModels.LayoutParts;

namespace StableDiffusion.Native.TestModels;

/// <summary>
/// The tensors of Qwen-Image (the MMDiT with separate image and text streams; diffusers naming:
/// transformer_blocks.N.img_mod.1, attn.to_q / add_q_proj, img_mlp.net.0.proj, ..., time_text_embed, txt_in,
/// norm_out, proj_out). Upstream infers only the block count: 24 heads of 128 (width 3072), 64 input channels
/// (16 latent channels in 2×2 patches) and the 3584-wide text states (Qwen2.5-VL-7B's) are hard-coded. One block
/// at full width is ≈ 340M parameters, the whole model with one block ≈ 375M (≈ 750 MB at F16). Its VAE is the
/// Wan 2.1 VAE (<see cref="WanLayout.Vae"/>).
/// </summary>
public static class QwenImageLayout
{
    /// <summary>The hard-coded width: 24 heads × 128.</summary>
    public const int Dim = 3072;

    /// <summary>The hard-coded text width (<c>joint_attention_dim</c>).</summary>
    public const int JointAttentionDim = LlmLayout.Qwen25VL7BHidden;

    private const int HeadDim = 128;
    private const int InChannels = 64;
    private const int OutChannels = 16;
    private const int PatchSize = 2;

    public static IReadOnlyList<TensorSpec> Dit(int blocks = 1)
    {
        const int dim = Dim;
        var t = new List<TensorSpec>();
        t.AddRange(Linear("time_text_embed.timestep_embedder.linear_1", 256, dim));
        t.AddRange(Linear("time_text_embed.timestep_embedder.linear_2", dim, dim));
        t.Add(Scale("txt_norm", JointAttentionDim));
        t.AddRange(Linear("img_in", InChannels, dim));
        t.AddRange(Linear("txt_in", JointAttentionDim, dim));
        for (int i = 0; i < blocks; i++)
        {
            string b = $"transformer_blocks.{i}.";
            // img_norm1/2 and txt_norm1/2 have no affine parameters.
            foreach (string stream in new[] { "img", "txt" })
            {
                t.AddRange(Linear($"{b}{stream}_mod.1", dim, 6 * dim));
                t.AddRange(Linear($"{b}{stream}_mlp.net.0.proj", dim, 4 * dim));
                t.AddRange(Linear($"{b}{stream}_mlp.net.2", 4 * dim, dim));
            }
            foreach (string proj in new[] { "to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj" })
                t.AddRange(Linear($"{b}attn.{proj}", dim, dim));
            foreach (string norm in new[] { "norm_q", "norm_k", "norm_added_q", "norm_added_k" })
                t.Add(Scale($"{b}attn.{norm}", HeadDim));
            t.AddRange(Linear(b + "attn.to_out.0", dim, dim));
            t.AddRange(Linear(b + "attn.to_add_out", dim, dim));
        }
        // norm_out.norm has no affine parameters.
        t.AddRange(Linear("norm_out.linear", dim, 2 * dim));
        t.AddRange(Linear("proj_out", dim, PatchSize * PatchSize * OutChannels));
        return t;
    }
}
