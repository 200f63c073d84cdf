namespace StableDiffusion.Native.TestModels;

/// <summary>Random-weight auxiliary models (ControlNet, ESRGAN upscaler, TAESD), cached like <see cref="TestModelFactory"/>'s.</summary>
public static class ExtraTestModels
{
    /// <summary>An SD1 ControlNet; upstream only supports it with a full-width (320-channel) UNet, ≈ 720 MB at F16.</summary>
    public static string Sd1ControlNet(string dtype = "F16", ulong seed = 11)
        => TestModelFactory.GetOrCreate($"controlnet-sd1-c{ControlNetLayout.ModelChannels}-{dtype}-s{seed}", () => ControlNetLayout.Sd1(), dtype, seed);

    /// <summary>The SD1 checkpoint a ControlNet can steer: full-width UNet (≈ 2.1 GB at F16).</summary>
    public static string Sd1ForControlNet(string dtype = "F16")
        => TestModelFactory.Sd1(unetChannels: ControlNetLayout.ModelChannels, dtype: dtype);

    /// <summary>An ESRGAN (RRDBNet) upscaler with <paramref name="blocks"/> RRDB blocks and the given scale.</summary>
    public static string Esrgan(int blocks = 1, int scale = 4, string dtype = "F16", ulong seed = 13)
        => TestModelFactory.GetOrCreate($"esrgan-x{scale}-b{blocks}-{dtype}-s{seed}", () => EsrganLayout.RrdbNet(blocks, scale), dtype, seed);

    /// <summary>A TAESD tiny autoencoder for SD1 latents (encoder and decoder).</summary>
    public static string Taesd(string dtype = "F16", ulong seed = 17)
        => TestModelFactory.GetOrCreate($"taesd-sd1-{dtype}-s{seed}", () => TaesdLayout.Sd1(), dtype, seed);
}
