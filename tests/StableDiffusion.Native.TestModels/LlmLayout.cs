using static StableDiffusion.Native.TestModels.LayoutParts;

namespace StableDiffusion.Native.TestModels;

/// <summary>
/// The text tower of the Qwen LLMs upstream uses as text encoders through <c>--llm</c> (HF naming:
/// model.embed_tokens, model.layers.N.self_attn.q_proj, ..., model.norm; no lm_head, which upstream does not use).
/// Upstream infers the width and vocabulary (embed_tokens), the layer count and the MLP width (gate_proj) from the
/// tensors, but hard-codes the attention geometry per architecture: Qwen3 32 query / 8 KV heads of 128 with q/k
/// norms and no biases, Qwen2.5-VL 28 / 4 heads of 128 with q/k/v biases. Asking for hidden states deeper than
/// the model has falls back to the last (normed) layer, so one layer is enough.
/// </summary>
public static class LlmLayout
{
    /// <summary>Qwen3's vocabulary (Qwen3-4B's embedding rows, Z-Image's text encoder).</summary>
    public const int Qwen3VocabSize = 151936;

    /// <summary>Qwen2.5-VL's vocabulary (Qwen2.5-VL-7B's embedding rows, Qwen-Image's text encoder).</summary>
    public const int Qwen25VLVocabSize = 152064;

    /// <summary>Qwen2.5-VL-7B's width, which Qwen-Image's <c>joint_attention_dim</c> hard-codes.</summary>
    public const int Qwen25VL7BHidden = 3584;

    private const int HeadDim = 128;

    /// <summary>A Qwen3 text model: 32 query heads, 8 KV heads, q/k RMS norms, no biases.</summary>
    public static IReadOnlyList<TensorSpec> Qwen3(int hidden = 32, int layers = 1, int intermediate = 32, int vocabSize = Qwen3VocabSize)
        => Text(hidden, layers, intermediate, vocabSize, heads: 32, kvHeads: 8, qkvBias: false, qkNorm: true);

    /// <summary>A Qwen2.5-VL text model (no vision tower, so upstream keeps vision off): 28 query heads, 4 KV heads, q/k/v biases.</summary>
    public static IReadOnlyList<TensorSpec> Qwen25VL(int hidden = Qwen25VL7BHidden, int layers = 1, int intermediate = 32, int vocabSize = Qwen25VLVocabSize)
        => Text(hidden, layers, intermediate, vocabSize, heads: 28, kvHeads: 4, qkvBias: true, qkNorm: false);

    private static List<TensorSpec> Text(int hidden, int layers, int intermediate, int vocabSize, int heads, int kvHeads, bool qkvBias, bool qkNorm)
    {
        var t = new List<TensorSpec> { new("model.embed_tokens.weight", [vocabSize, hidden]) };
        for (int i = 0; i < layers; i++)
        {
            string l = $"model.layers.{i}.";
            t.Add(Scale(l + "input_layernorm", hidden));
            t.AddRange(Linear(l + "self_attn.q_proj", hidden, heads * HeadDim, qkvBias));
            t.AddRange(Linear(l + "self_attn.k_proj", hidden, kvHeads * HeadDim, qkvBias));
            t.AddRange(Linear(l + "self_attn.v_proj", hidden, kvHeads * HeadDim, qkvBias));
            t.AddRange(Linear(l + "self_attn.o_proj", heads * HeadDim, hidden, bias: false));
            if (qkNorm)
            {
                t.Add(Scale(l + "self_attn.q_norm", HeadDim));
                t.Add(Scale(l + "self_attn.k_norm", HeadDim));
            }
            t.Add(Scale(l + "post_attention_layernorm", hidden));
            t.AddRange(Linear(l + "mlp.gate_proj", hidden, intermediate, bias: false));
            t.AddRange(Linear(l + "mlp.up_proj", hidden, intermediate, bias: false));
            t.AddRange(Linear(l + "mlp.down_proj", intermediate, hidden, bias: false));
        }
        t.Add(Scale("model.norm", hidden));
        return t;
    }
}
