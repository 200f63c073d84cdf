using System.Runtime.InteropServices;
using StableDiffusion.Native.Interop;
using StableDiffusion.Native.Tests.Integration;

namespace StableDiffusion.Native.Tests.Native;

/// <summary>
/// The loader's own scoring of our AVX512-FP16 CPU variants, on feature sets given to it (not only on this CPU):
/// a *_fp16 module is never chosen without AVX512-FP16, and wins over its base set with it.
/// </summary>
public sealed unsafe class CpuVariantScoringTests
{
    // ggml's own scores (ggml_backend_cpu_x86_score) of the feature sets, as a CPU that supports them reports.
    private const int Zen4 = 1 + 1 + 2 + 4 + 8 + 16 + 32 + 128 + 256 + 512 + 1024; // 1984: base 1, no AVX_VNNI, no AMX
    private const int SapphireRapids = Zen4 + 2048;                           // + AMX_INT8

    private static int Adjust(string module, int score, uint features)
    {
        byte[] name = System.Text.Encoding.UTF8.GetBytes(module + "\0");
        fixed (byte* p = name) return SdnetShim.sdnet_adjust_cpu_score((sbyte*)p, score, features);
    }

    /// <summary>The module the loader picks: the highest adjusted score above 0 (as sdnet_load_backends does).</summary>
    private static string? Choose(uint features, params (string Module, int Score)[] modules)
        => modules.Select(m => (m.Module, Score: Adjust(m.Module, m.Score, features)))
            .Where(m => m.Score > 0).OrderByDescending(m => m.Score).Select(m => m.Module).FirstOrDefault();

    [SkippableFact]
    public void A_vm_that_hides_amx_but_has_fp16_gets_zen4_fp16()
    {
        NativeTestEnvironment.Require();
        // Emerald Rapids in a VM: AMX hidden, so both sapphirerapids modules score 0 in ggml's own check.
        Assert.Equal("libsdnet-ggml-cpu-zen4_fp16.so", Choose(SdnetShim.SDNET_CPU_AVX512_FP16,
            ("libsdnet-ggml-cpu-zen4.so", Zen4), ("libsdnet-ggml-cpu-zen4_fp16.so", Zen4),
            ("libsdnet-ggml-cpu-sapphirerapids.so", 0), ("libsdnet-ggml-cpu-sapphirerapids_fp16.so", 0)));
    }

    [SkippableFact]
    public void A_cpu_without_fp16_never_gets_an_fp16_module()
    {
        NativeTestEnvironment.Require();
        // Zen 4 has the zen4 set but no AVX512-FP16: the FP16 module would fault on its first FP16 instruction.
        Assert.Equal("libsdnet-ggml-cpu-zen4.so", Choose(0,
            ("libsdnet-ggml-cpu-zen4.so", Zen4), ("libsdnet-ggml-cpu-zen4_fp16.so", Zen4),
            ("libsdnet-ggml-cpu-sapphirerapids.so", 0), ("libsdnet-ggml-cpu-sapphirerapids_fp16.so", 0)));
        Assert.Equal(0, Adjust("libsdnet-ggml-cpu-zen4_fp16.so", Zen4, 0));
    }

    [SkippableFact]
    public void Sapphire_rapids_with_amx_gets_the_amx_fp16_module()
    {
        NativeTestEnvironment.Require();
        Assert.Equal("libsdnet-ggml-cpu-sapphirerapids_fp16.so", Choose(SdnetShim.SDNET_CPU_AVX512_FP16,
            ("libsdnet-ggml-cpu-zen4.so", Zen4), ("libsdnet-ggml-cpu-zen4_fp16.so", Zen4),
            ("libsdnet-ggml-cpu-sapphirerapids.so", SapphireRapids), ("libsdnet-ggml-cpu-sapphirerapids_fp16.so", SapphireRapids)));
    }

    [SkippableFact]
    public void Scores_of_other_modules_and_failures_are_left_alone()
    {
        NativeTestEnvironment.Require();
        Assert.Equal(Zen4, Adjust("libsdnet-ggml-cpu-zen4.so", Zen4, 0));
        Assert.Equal(Zen4, Adjust("libsdnet-ggml-cpu-zen4.so", Zen4, SdnetShim.SDNET_CPU_AVX512_FP16));
        Assert.Equal(-1, Adjust("libsdnet-ggml-cpu-zen4_fp16.so", -1, SdnetShim.SDNET_CPU_AVX512_FP16));
        Assert.Equal(0, Adjust("libsdnet-ggml-cpu-sapphirerapids_fp16.so", 0, SdnetShim.SDNET_CPU_AVX512_FP16));
    }

    [SkippableFact]
    public void This_machine_chooses_an_fp16_module_exactly_when_its_cpu_has_fp16()
    {
        var info = NativeTestEnvironment.Require();
        Skip.If(RuntimeInformation.ProcessArchitecture != Architecture.X64, "x86-64 only");
        Skip.IfNot(info.Modules.Any(m => m.File.Contains("_fp16", StringComparison.Ordinal)), "this runtime was built without the FP16 variants");
        bool fp16 = (SdnetShim.sdnet_cpu_features() & SdnetShim.SDNET_CPU_AVX512_FP16) != 0;
        // The shim's CPUID reading against the kernel's own (which also hides what the OS does not enable).
        if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
        {
            string flags = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal));
            Assert.Equal(flags.Split(' ').Contains("avx512_fp16"), fp16);
        }
        Assert.Equal(fp16, info.CpuVariant?.EndsWith("_fp16", StringComparison.Ordinal) == true);
        if (fp16) Assert.Contains("+avx512_fp16", info.Modules.Single(m => m.Chosen && m.Kind == "cpu").Status);
    }
}
