using StableDiffusion.Native.Interop;
using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Tests.Native;

/// <summary>
/// Every public enum that reaches upstream by an integer cast (the mappers in Native/) against the generated upstream
/// enum: each of our values is the upstream value of the same concept, and every upstream value is ours (bar its COUNT
/// and the "none" members we express as null). A value renumbered, added or removed upstream at a pin bump fails here,
/// where a cast would silently send another setting.
/// </summary>
public sealed class UpstreamEnumTests
{
    private static void Covers<TOurs, TUpstream>((TOurs Ours, TUpstream Upstream)[] pairs, params TUpstream[] notOurs)
        where TOurs : struct, Enum
        where TUpstream : struct, Enum
    {
        foreach (var (ours, upstream) in pairs)
            Assert.True(Convert.ToInt64(ours) == Convert.ToInt64(upstream), $"{typeof(TOurs).Name}.{ours} is {Convert.ToInt64(ours)}, upstream's {upstream} is {Convert.ToInt64(upstream)}");
        Assert.Equal(Enum.GetValues<TOurs>().OrderBy(v => v), pairs.Select(p => p.Ours).OrderBy(v => v));
        var upstreamValues = Enum.GetValues<TUpstream>().Where(v => !v.ToString().EndsWith("_COUNT", StringComparison.Ordinal)).Except(notOurs);
        Assert.Equal(upstreamValues.OrderBy(v => v), pairs.Select(p => p.Upstream).OrderBy(v => v));
    }

    [Fact]
    public void Rng_prediction_and_vae_format_are_upstreams_values()
    {
        Covers([(RngType.StdDefault, rng_type_t.STD_DEFAULT_RNG), (RngType.Cuda, rng_type_t.CUDA_RNG), (RngType.Cpu, rng_type_t.CPU_RNG)]);
        Covers([
            (Prediction.Epsilon, prediction_t.EPS_PRED), (Prediction.Velocity, prediction_t.V_PRED), (Prediction.EdmVelocity, prediction_t.EDM_V_PRED),
            (Prediction.Flow, prediction_t.FLOW_PRED), (Prediction.FluxFlow, prediction_t.FLUX_FLOW_PRED), (Prediction.SefiFlow, prediction_t.SEFI_FLOW_PRED),
            (Prediction.MiniT2IFlow, prediction_t.MINIT2I_FLOW_PRED),
        ]);
        Covers([
            (VaeFormat.Auto, sd_vae_format_t.SD_VAE_FORMAT_AUTO), (VaeFormat.Flux, sd_vae_format_t.SD_VAE_FORMAT_FLUX), (VaeFormat.Sd3, sd_vae_format_t.SD_VAE_FORMAT_SD3),
            (VaeFormat.Flux2, sd_vae_format_t.SD_VAE_FORMAT_FLUX2), (VaeFormat.Wan, sd_vae_format_t.SD_VAE_FORMAT_WAN),
        ]);
    }

    [Fact]
    public void Lora_apply_modes_previews_caches_and_hires_upscalers_are_upstreams_values()
    {
        Covers([(LoraApplyMode.Auto, lora_apply_mode_t.LORA_APPLY_AUTO), (LoraApplyMode.Immediately, lora_apply_mode_t.LORA_APPLY_IMMEDIATELY), (LoraApplyMode.AtRuntime, lora_apply_mode_t.LORA_APPLY_AT_RUNTIME)]);
        // No preview is ImageRequest.Preview = null.
        Covers([(PreviewMode.Projection, preview_t.PREVIEW_PROJ), (PreviewMode.Tae, preview_t.PREVIEW_TAE), (PreviewMode.Vae, preview_t.PREVIEW_VAE)], preview_t.PREVIEW_NONE);
        Covers([
            (CacheMode.Disabled, sd_cache_mode_t.SD_CACHE_DISABLED), (CacheMode.EasyCache, sd_cache_mode_t.SD_CACHE_EASYCACHE), (CacheMode.UCache, sd_cache_mode_t.SD_CACHE_UCACHE),
            (CacheMode.DbCache, sd_cache_mode_t.SD_CACHE_DBCACHE), (CacheMode.TaylorSeer, sd_cache_mode_t.SD_CACHE_TAYLORSEER), (CacheMode.CacheDit, sd_cache_mode_t.SD_CACHE_CACHE_DIT),
            (CacheMode.Spectrum, sd_cache_mode_t.SD_CACHE_SPECTRUM),
        ]);
        // No hires fix is ImageRequest.Hires = null.
        Covers([
            (HiresUpscaler.Latent, sd_hires_upscaler_t.SD_HIRES_UPSCALER_LATENT), (HiresUpscaler.LatentNearest, sd_hires_upscaler_t.SD_HIRES_UPSCALER_LATENT_NEAREST),
            (HiresUpscaler.LatentNearestExact, sd_hires_upscaler_t.SD_HIRES_UPSCALER_LATENT_NEAREST_EXACT), (HiresUpscaler.LatentAntialiased, sd_hires_upscaler_t.SD_HIRES_UPSCALER_LATENT_ANTIALIASED),
            (HiresUpscaler.LatentBicubic, sd_hires_upscaler_t.SD_HIRES_UPSCALER_LATENT_BICUBIC), (HiresUpscaler.LatentBicubicAntialiased, sd_hires_upscaler_t.SD_HIRES_UPSCALER_LATENT_BICUBIC_ANTIALIASED),
            (HiresUpscaler.Lanczos, sd_hires_upscaler_t.SD_HIRES_UPSCALER_LANCZOS), (HiresUpscaler.Nearest, sd_hires_upscaler_t.SD_HIRES_UPSCALER_NEAREST),
            (HiresUpscaler.Model, sd_hires_upscaler_t.SD_HIRES_UPSCALER_MODEL),
        ], sd_hires_upscaler_t.SD_HIRES_UPSCALER_NONE);
    }

    [Fact]
    public void Quantization_types_are_upstreams_values_by_name()
    {
        // ggml's type names, one to one: QuantizationType.Q4_K is SD_TYPE_Q4_K.
        var pairs = Enum.GetValues<QuantizationType>().Select(q => (q, Enum.Parse<sd_type_t>("SD_TYPE_" + q))).ToArray();
        Covers(pairs);
    }
}
