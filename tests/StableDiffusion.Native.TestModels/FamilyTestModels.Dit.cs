namespace StableDiffusion.Native.TestModels;

// Wan, Z-Image and Qwen-Image: each as small as upstream allows (see the layout classes for what upstream infers
// and what it hard-codes). Token embeddings keep their real vocabulary sizes so that a real tokenizer's ids stay in
// range. dtype "F16" writes safetensors; "Q4_0" or "Q8_0" write GGUF with block-quantized weight matrices, which is
// how the parts upstream keeps at full width stay small (Wan and Qwen-Image default to Q4_0). VAEs are F16
// safetensors: upstream runs their convolutions in F16 whatever the file holds.
public static partial class FamilyTestModels
{
    // Part of the keys below: bump it when one of these layouts changes, so stale cached files are not reused.
    private const int DitRevision = 1;

    /// <summary>
    /// Wan 2.1 text-to-video: the full-width 1.3B transformer (upstream accepts no smaller one; ≈ 800 MB at Q4_0,
    /// 2.8 GB at F16), a one-block encoder at UMT5-XXL's 4096 width with the real vocabulary (≈ 590 MB at Q4_0,
    /// 2.1 GB at F16) and the Wan 2.1 VAE (≈ 250 MB).
    /// </summary>
    public static SplitModel Wan21T2V(string dtype = "Q4_0", ulong seed = 21)
        => new(WanTransformer(dtype, seed), null, null, Make("umt5-xxl-b1", () => Umt5Layout.Encoder(), dtype, 23), null, WanVae());

    /// <summary>
    /// A second Wan transformer for the high-noise expert of a Wan 2.2 A14B-style pair: same layout, other weights.
    /// Pair it with <see cref="Wan21T2V"/> (the low-noise expert) through <c>--high-noise-diffusion-model</c>.
    /// </summary>
    public static string WanHighNoiseTransformer(string dtype = "Q4_0", ulong seed = 22) => WanTransformer(dtype, seed);

    /// <summary>
    /// Z-Image: a two-head, one-layer DiT (≈ 6 MB), a one-layer 32-wide Qwen3 with the real vocabulary (≈ 10 MB) and
    /// Flux's 16-channel autoencoder (<see cref="Vae16"/>, ≈ 75 MB, most of it the encoder upstream keeps at 128).
    /// </summary>
    public static SplitModel ZImage(string dtype = "F16", ulong seed = 31)
    {
        const int llmHidden = 32;
        string dit = Make($"zimage-dit-h{ZImageLayout.MinHidden}-cap{llmHidden}", () => ZImageLayout.Dit(capFeatDim: llmHidden), dtype, seed);
        string llm = Make($"qwen3-h{llmHidden}-l1", () => LlmLayout.Qwen3(hidden: llmHidden), dtype, seed + 1);
        return new(dit, null, null, null, llm, Vae16());
    }

    /// <summary>
    /// Qwen-Image: one full-width block (≈ 215 MB at Q4_0, 760 MB at F16), a one-layer Qwen2.5-VL text tower at its
    /// hard-coded 3584 width with the real vocabulary (≈ 330 MB at Q4_0, 1.15 GB at F16) and the Wan 2.1 VAE.
    /// </summary>
    public static SplitModel QwenImage(string dtype = "Q4_0", ulong seed = 41)
    {
        string dit = Make("qwenimage-dit-b1", () => QwenImageLayout.Dit(blocks: 1), dtype, seed);
        string llm = Make($"qwen25vl-h{LlmLayout.Qwen25VL7BHidden}-l1", () => LlmLayout.Qwen25VL(), dtype, seed + 1);
        return new(dit, null, null, null, llm, WanVae());
    }

    private static string WanTransformer(string dtype, ulong seed) => Make("wan21-t2v-1.3b", () => WanLayout.T2V13B(), dtype, seed);

    private static string WanVae() => Make("wan21-vae", () => WanLayout.Vae(), "F16", 24);

    private static string Make(string name, Func<IEnumerable<TensorSpec>> layout, string dtype, ulong seed)
    {
        string key = $"{name}-{dtype}-s{seed}-r{DitRevision}";
        return dtype is "F16" or "F32"
            ? TestModelFactory.GetOrCreate(key, layout, dtype, seed)
            : TestModelFactory.GetOrCreateGguf(key, layout, dtype, seed);
    }
}
