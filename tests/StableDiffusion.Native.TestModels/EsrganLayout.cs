namespace StableDiffusion.Native.TestModels;

/// <summary>
/// The tensors of an ESRGAN RRDBNet (BasicSR naming: conv_first, body.N.rdbM.convK, conv_body, conv_up1/2,
/// conv_hr, conv_last). Upstream infers the number of RRDB blocks from the body.* names and the scale from
/// which conv_up* exist; the feature widths are fixed at <see cref="Features"/>/<see cref="GrowthChannels"/>.
/// One block instead of the usual 23 keeps the file small (about 2 MB at F16) and fast.
/// </summary>
public static class EsrganLayout
{
    public const int Features = 64;
    public const int GrowthChannels = 32;

    /// <param name="blocks">RRDB blocks (23 in RealESRGAN_x4plus).</param>
    /// <param name="scale">1, 2 or 4: how many ×2 upsampling convs exist.</param>
    public static IReadOnlyList<TensorSpec> RrdbNet(int blocks = 1, int scale = 4)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 1);
        if (scale is not (1 or 2 or 4)) throw new ArgumentOutOfRangeException(nameof(scale), "ESRGAN scales are 1, 2 or 4.");
        const int f = Features, g = GrowthChannels;
        var list = new List<TensorSpec>();
        list.AddRange(Conv("conv_first", 3, f));
        for (int b = 0; b < blocks; b++)
        {
            for (int rdb = 1; rdb <= 3; rdb++)
            {
                // Dense block: conv k sees the input and every earlier conv's output.
                for (int k = 1; k <= 4; k++) list.AddRange(Conv($"body.{b}.rdb{rdb}.conv{k}", f + (k - 1) * g, g));
                list.AddRange(Conv($"body.{b}.rdb{rdb}.conv5", f + 4 * g, f));
            }
        }
        list.AddRange(Conv("conv_body", f, f));
        if (scale >= 2) list.AddRange(Conv("conv_up1", f, f));
        if (scale == 4) list.AddRange(Conv("conv_up2", f, f));
        list.AddRange(Conv("conv_hr", f, f));
        list.AddRange(Conv("conv_last", f, 3));
        return list;
    }

    private static IEnumerable<TensorSpec> Conv(string p, int inCh, int outCh)
    {
        yield return new(p + ".weight", [outCh, inCh, 3, 3]);
        yield return new(p + ".bias", [outCh]);
    }
}
