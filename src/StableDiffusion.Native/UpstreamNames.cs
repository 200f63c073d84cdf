namespace StableDiffusion.Native;

/// <summary>
/// Upstream's names of the loading and generation settings that are enums here, as sd-cli takes them and upstream's
/// <c>sd_*_name</c> functions return them ("std_default", "eps", "at_runtime", "Latent (nearest)", "cache-dit"). The one
/// table the CLI, the server and the IImageGenerator read them by; samplers and schedulers are in
/// <see cref="SamplingNames"/>. Each name is tied to its value, never to a position.
/// </summary>
public static class UpstreamNames
{
    private static readonly (RngType Value, string Name)[] s_rng =
        [(RngType.StdDefault, "std_default"), (RngType.Cuda, "cuda"), (RngType.Cpu, "cpu")];

    private static readonly (Prediction Value, string Name)[] s_prediction =
    [
        (Prediction.Epsilon, "eps"), (Prediction.Velocity, "v"), (Prediction.EdmVelocity, "edm_v"), (Prediction.Flow, "sd3_flow"),
        (Prediction.FluxFlow, "flux_flow"), (Prediction.SefiFlow, "sefi_flow"), (Prediction.MiniT2IFlow, "minit2i_flow"),
    ];

    private static readonly (LoraApplyMode Value, string Name)[] s_loraApply =
        [(LoraApplyMode.Auto, "auto"), (LoraApplyMode.Immediately, "immediately"), (LoraApplyMode.AtRuntime, "at_runtime")];

    private static readonly (VaeFormat Value, string Name)[] s_vaeFormat =
        [(VaeFormat.Auto, "auto"), (VaeFormat.Flux, "flux"), (VaeFormat.Sd3, "sd3"), (VaeFormat.Flux2, "flux2"), (VaeFormat.Wan, "wan")];

    private static readonly (PreviewMode Value, string Name)[] s_preview =
        [(PreviewMode.Projection, "proj"), (PreviewMode.Tae, "tae"), (PreviewMode.Vae, "vae")];

    private static readonly (HiresUpscaler Value, string Name)[] s_hires =
    [
        (HiresUpscaler.Latent, "Latent"), (HiresUpscaler.LatentNearest, "Latent (nearest)"), (HiresUpscaler.LatentNearestExact, "Latent (nearest-exact)"),
        (HiresUpscaler.LatentAntialiased, "Latent (antialiased)"), (HiresUpscaler.LatentBicubic, "Latent (bicubic)"),
        (HiresUpscaler.LatentBicubicAntialiased, "Latent (bicubic antialiased)"), (HiresUpscaler.Lanczos, "Lanczos"), (HiresUpscaler.Nearest, "Nearest"),
        (HiresUpscaler.Model, "Model"),
    ];

    private static readonly (CacheMode Value, string Name)[] s_cache =
    [
        (CacheMode.Disabled, "disabled"), (CacheMode.EasyCache, "easycache"), (CacheMode.UCache, "ucache"), (CacheMode.DbCache, "dbcache"),
        (CacheMode.TaylorSeer, "taylorseer"), (CacheMode.CacheDit, "cache-dit"), (CacheMode.Spectrum, "spectrum"),
    ];

    /// <summary>Upstream's name of a noise generator ("std_default").</summary>
    /// <param name="value">A defined value.</param>
    /// <returns>The name.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is not a defined value.</exception>
    public static string Name(this RngType value) => Find(s_rng, value);

    /// <summary>Upstream's name of a prediction type ("eps", "v", "sd3_flow").</summary>
    /// <param name="value">A defined value.</param>
    /// <returns>The name.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is not a defined value.</exception>
    public static string Name(this Prediction value) => Find(s_prediction, value);

    /// <summary>Upstream's name of a LoRA apply mode ("at_runtime").</summary>
    /// <param name="value">A defined value.</param>
    /// <returns>The name.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is not a defined value.</exception>
    public static string Name(this LoraApplyMode value) => Find(s_loraApply, value);

    /// <summary>sd-cli's name of a VAE latent format ("auto", "flux2").</summary>
    /// <param name="value">A defined value.</param>
    /// <returns>The name.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is not a defined value.</exception>
    public static string Name(this VaeFormat value) => Find(s_vaeFormat, value);

    /// <summary>Upstream's name of a preview method ("proj"); no preview is "none", which is not a value.</summary>
    /// <param name="value">A defined value.</param>
    /// <returns>The name.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is not a defined value.</exception>
    public static string Name(this PreviewMode value) => Find(s_preview, value);

    /// <summary>Upstream's name of a hires-fix upscaler ("Latent (nearest)"); no hires fix is "None", which is not a value.</summary>
    /// <param name="value">A defined value.</param>
    /// <returns>The name.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is not a defined value.</exception>
    public static string Name(this HiresUpscaler value) => Find(s_hires, value);

    /// <summary>sd-cli's name of a step cache ("easycache", "cache-dit").</summary>
    /// <param name="value">A defined value.</param>
    /// <returns>The name.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is not a defined value.</exception>
    public static string Name(this CacheMode value) => Find(s_cache, value);

    /// <summary>Reads a noise generator by name, ignoring case and surrounding spaces.</summary>
    /// <param name="name">The name; null gives false.</param>
    /// <param name="value">The value, when known.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryParse(string? name, out RngType value) => TryFind(s_rng, name, out value);

    /// <summary>Reads a prediction type by name, ignoring case and surrounding spaces.</summary>
    /// <param name="name">The name; null gives false.</param>
    /// <param name="value">The value, when known.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryParse(string? name, out Prediction value) => TryFind(s_prediction, name, out value);

    /// <summary>Reads a LoRA apply mode by name, ignoring case and surrounding spaces.</summary>
    /// <param name="name">The name; null gives false.</param>
    /// <param name="value">The value, when known.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryParse(string? name, out LoraApplyMode value) => TryFind(s_loraApply, name, out value);

    /// <summary>Reads a VAE latent format by name, ignoring case and surrounding spaces.</summary>
    /// <param name="name">The name; null gives false.</param>
    /// <param name="value">The value, when known.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryParse(string? name, out VaeFormat value) => TryFind(s_vaeFormat, name, out value);

    /// <summary>Reads a preview method by name, ignoring case and surrounding spaces ("none" is not a value: false).</summary>
    /// <param name="name">The name; null gives false.</param>
    /// <param name="value">The value, when known.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryParse(string? name, out PreviewMode value) => TryFind(s_preview, name, out value);

    /// <summary>Reads a hires-fix upscaler by name, ignoring case and surrounding spaces ("None" is not a value: false).</summary>
    /// <param name="name">The name; null gives false.</param>
    /// <param name="value">The value, when known.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryParse(string? name, out HiresUpscaler value) => TryFind(s_hires, name, out value);

    /// <summary>Reads a step cache by name, ignoring case and surrounding spaces.</summary>
    /// <param name="name">The name; null gives false.</param>
    /// <param name="value">The value, when known.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryParse(string? name, out CacheMode value) => TryFind(s_cache, name, out value);

    /// <summary>The names of every value of <typeparamref name="T"/>, in the enum's order (for help text and lists).</summary>
    /// <typeparam name="T">One of the enums named here.</typeparam>
    /// <returns>The names.</returns>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> has no upstream names here.</exception>
    public static IReadOnlyList<string> Names<T>() where T : struct, Enum
        => Enum.GetValues<T>().Select(v => v switch
        {
            RngType x => x.Name(),
            Prediction x => x.Name(),
            LoraApplyMode x => x.Name(),
            VaeFormat x => x.Name(),
            PreviewMode x => x.Name(),
            HiresUpscaler x => x.Name(),
            CacheMode x => x.Name(),
            _ => throw new ArgumentException($"{typeof(T).Name} has no upstream names here.", nameof(T)),
        }).ToList();

    private static string Find<T>((T Value, string Name)[] table, T value) where T : struct, Enum
    {
        foreach (var (v, name) in table)
            if (EqualityComparer<T>.Default.Equals(v, value)) return name;
        throw new ArgumentOutOfRangeException(nameof(value), value, $"Unknown {typeof(T).Name}.");
    }

    private static bool TryFind<T>((T Value, string Name)[] table, string? name, out T value) where T : struct, Enum
    {
        string trimmed = name?.Trim() ?? "";
        foreach (var (v, n) in table)
        {
            if (string.Equals(n, trimmed, StringComparison.OrdinalIgnoreCase))
            {
                value = v;
                return true;
            }
        }
        value = default;
        return false;
    }
}
