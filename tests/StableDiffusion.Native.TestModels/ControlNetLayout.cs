namespace StableDiffusion.Native.TestModels;

/// <summary>
/// The tensors of an SD1.x ControlNet (the "control_model." layout of the original .pth/.safetensors files):
/// the UNet's encoder half and middle block, a 1×1 "zero conv" after every input block and after the middle
/// block, and the hint encoder that maps the control image down to the latent grid. Upstream builds its
/// ControlNet with a fixed width of <see cref="ModelChannels"/> and does not infer it from the file, so the
/// ControlNet, and the UNet it steers, must be full width; a narrower UNet cannot take its residuals.
/// </summary>
public static class ControlNetLayout
{
    /// <summary>The only UNet width upstream's SD1 ControlNet supports.</summary>
    public const int ModelChannels = Sd1Layout.FullUnetChannels;

    public static IReadOnlyList<TensorSpec> Sd1(string prefix = "control_model.")
    {
        const int c = ModelChannels;
        var list = new List<TensorSpec>();
        // The encoder half of the UNet is laid out exactly as in a checkpoint; the decoder half does not exist.
        foreach (var t in Sd1Layout.Unet(prefix, c))
        {
            string local = t.Name[prefix.Length..];
            if (local.StartsWith("output_blocks.", StringComparison.Ordinal) || local.StartsWith("out.", StringComparison.Ordinal)) continue;
            list.Add(t);
        }

        // Hint encoder: 3 → 16 → 16 → 32 (/2) → 32 → 96 (/2) → 96 → 256 (/2) → model channels; SiLU between (odd indices).
        int[] hint = [3, 16, 16, 32, 32, 96, 96, 256, c];
        for (int i = 0; i < hint.Length - 1; i++)
            list.AddRange(Conv($"{prefix}input_hint_block.{2 * i}", hint[i], hint[i + 1], 3));

        // One zero conv per input block (the stem, each res/attention block, each downsample), then the middle block's.
        int[] mult = [1, 2, 4, 4];
        int index = 0;
        list.AddRange(Conv($"{prefix}zero_convs.{index++}.0", c, c, 1));
        for (int level = 0; level < mult.Length; level++)
        {
            for (int r = 0; r < 2; r++) list.AddRange(Conv($"{prefix}zero_convs.{index++}.0", c * mult[level], c * mult[level], 1));
            if (level != mult.Length - 1) list.AddRange(Conv($"{prefix}zero_convs.{index++}.0", c * mult[level], c * mult[level], 1));
        }
        list.AddRange(Conv($"{prefix}middle_block_out.0", c * mult[^1], c * mult[^1], 1));
        return list;
    }

    private static IEnumerable<TensorSpec> Conv(string p, int inCh, int outCh, int k)
    {
        yield return new(p + ".weight", [outCh, inCh, k, k]);
        yield return new(p + ".bias", [outCh]);
    }
}
