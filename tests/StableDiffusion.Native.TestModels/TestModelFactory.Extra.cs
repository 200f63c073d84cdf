namespace StableDiffusion.Native.TestModels;

/// <summary>Random-weight auxiliary models (ControlNet, ESRGAN upscaler, TAESD, YOLOv8 detector), cached like <see cref="TestModelFactory"/>'s.</summary>
public static class ExtraTestModels
{
    /// <summary>An SD1 ControlNet; upstream only supports it with a full-width (320-channel) UNet, ≈ 720 MB at F16.</summary>
    public static string Sd1ControlNet(string dtype = "F16", ulong seed = 11)
        => TestModelFactory.GetOrCreate($"controlnet-sd1-c{ControlNetLayout.ModelChannels}-{dtype}-s{seed}", () => ControlNetLayout.Sd1(), dtype, seed);

    /// <summary>The SD1 checkpoint a ControlNet can steer: full-width UNet (≈ 2 GB at F16), the narrowest VAE decoder.</summary>
    public static string Sd1ForControlNet(string dtype = "F16")
        => TestModelFactory.Sd1(unetChannels: ControlNetLayout.ModelChannels, dtype: dtype, vaeDecoderChannels: VaeLayout.SmallestDecoderChannels);

    /// <summary>An ESRGAN (RRDBNet) upscaler with <paramref name="blocks"/> RRDB blocks and the given scale.</summary>
    public static string Esrgan(int blocks = 1, int scale = 4, string dtype = "F16", ulong seed = 13)
        => TestModelFactory.GetOrCreate($"esrgan-x{scale}-b{blocks}-{dtype}-s{seed}", () => EsrganLayout.RrdbNet(blocks, scale), dtype, seed);

    /// <summary>
    /// A YOLOv8 detector for ADetailer as upstream's converter writes it (default <see cref="YoloV8Size.Smallest"/>, a few
    /// kilobytes; <see cref="YoloV8Size.Nano"/> is face_yolov8n's size, ≈ 6 MB), its classes named <paramref name="classNames"/>
    /// (default "face", "class1", ...).
    /// </summary>
    public static string YoloV8Detector(YoloV8Size? size = null, IReadOnlyList<string>? classNames = null, string dtype = "F16", ulong seed = 19)
    {
        var s = size ?? YoloV8Size.Smallest;
        var names = classNames ?? Enumerable.Range(0, s.Classes).Select(i => i == 0 ? "face" : "class" + i).ToList();
        var metadata = YoloV8Layout.Metadata(s, names);
        // The key carries every size and a hash of the names, which the file's metadata holds.
        string nameHash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(metadata["yolov8.names"])))[..8];
        string key = $"yolov8-b{s.BaseChannels}-r{string.Join("", s.Repeats)}-h{s.BoxChannels}x{s.ClassChannels}-rm{s.RegMax}-nc{s.Classes}-{nameHash}-{dtype}-s{seed}";
        return TestModelFactory.GetOrCreate(key, () => YoloV8Layout.Detect(s), dtype, seed, metadata: metadata);
    }

    /// <summary>A TAESD tiny autoencoder for SD1 latents (encoder and decoder).</summary>
    public static string Taesd(string dtype = "F16", ulong seed = 17)
        => TestModelFactory.GetOrCreate($"taesd-sd1-{dtype}-s{seed}", () => TaesdLayout.Sd1(), dtype, seed);
}
