using System.Runtime.InteropServices;
using StableDiffusion.Native.Interop;
using StableDiffusion.Native.Tests.Integration;

namespace StableDiffusion.Native.Tests.Native;

/// <summary>
/// UpstreamNames, the one table of upstream's setting names: every value has a name that reads back to it, and the names
/// are upstream's own (its <c>sd_*_name</c> functions, where it has one).
/// </summary>
public sealed class UpstreamNamesTests
{
    private static void RoundTrips<T>(Func<T, string> name, TryParse<T> parse) where T : struct, Enum
    {
        var values = Enum.GetValues<T>();
        Assert.Equal(values.Select(name), UpstreamNames.Names<T>());
        Assert.Equal(values.Length, values.Select(name).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        foreach (var v in values)
        {
            Assert.True(parse(name(v), out var back) && back.Equals(v), $"{typeof(T).Name}.{v}: '{name(v)}'");
            Assert.True(parse(" " + name(v).ToUpperInvariant() + " ", out back) && back.Equals(v), $"{typeof(T).Name}.{v} in upper case");
        }
        Assert.False(parse("bogus", out _));
        Assert.False(parse(null, out _));
    }

    private delegate bool TryParse<T>(string? name, out T value);

    [Fact]
    public void Every_value_has_a_name_that_reads_back_to_it()
    {
        RoundTrips<RngType>(v => v.Name(), UpstreamNames.TryParse);
        RoundTrips<Prediction>(v => v.Name(), UpstreamNames.TryParse);
        RoundTrips<LoraApplyMode>(v => v.Name(), UpstreamNames.TryParse);
        RoundTrips<VaeFormat>(v => v.Name(), UpstreamNames.TryParse);
        RoundTrips<PreviewMode>(v => v.Name(), UpstreamNames.TryParse);
        RoundTrips<HiresUpscaler>(v => v.Name(), UpstreamNames.TryParse);
        RoundTrips<CacheMode>(v => v.Name(), UpstreamNames.TryParse);
        Assert.Throws<ArgumentException>(() => UpstreamNames.Names<Sampler>());
        Assert.Throws<ArgumentOutOfRangeException>(() => ((CacheMode)99).Name());
    }

    [SkippableFact]
    public unsafe void The_names_are_upstreams_own()
    {
        NativeTestEnvironment.Require();
        var mismatches = new List<string>();
        void Check<T>(T value, string ours, sbyte* upstream)
        {
            string? theirs = Marshal.PtrToStringUTF8((nint)upstream);
            if (theirs != ours) mismatches.Add($"{typeof(T).Name}.{value}: ours '{ours}', upstream '{theirs}'");
        }
        foreach (var v in Enum.GetValues<RngType>()) Check(v, v.Name(), Sd.sd_rng_type_name((rng_type_t)(int)v));
        foreach (var v in Enum.GetValues<Prediction>()) Check(v, v.Name(), Sd.sd_prediction_name((prediction_t)(int)v));
        foreach (var v in Enum.GetValues<LoraApplyMode>()) Check(v, v.Name(), Sd.sd_lora_apply_mode_name((lora_apply_mode_t)(int)v));
        foreach (var v in Enum.GetValues<PreviewMode>()) Check(v, v.Name(), Sd.sd_preview_name((preview_t)(int)v));
        foreach (var v in Enum.GetValues<HiresUpscaler>()) Check(v, v.Name(), Sd.sd_hires_upscaler_name((sd_hires_upscaler_t)(int)v));
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }
}
