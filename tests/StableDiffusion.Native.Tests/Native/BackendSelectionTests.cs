using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.Tests.Native;

/// <summary>
/// The default device order and its overrides, on runtime reports of machines this one is not: the report is the
/// shim's own format, so each GPU backend's rejection reason is checked as users will see it.
/// </summary>
public sealed class BackendSelectionTests
{
    private const string Cpu = "module\tcpu\tlibsdnet-ggml-cpu-haswell.so\t100\tcandidate\nchosen\tcpu\tlibsdnet-ggml-cpu-haswell.so\t100\tregistered\n";

    private static NativeRuntimeInfo Runtime(string report)
        => NativeRuntimeInfo.Parse("/app/libsdnet-stable-diffusion.so", "c", "g", "v", "", report, []);

    private static NativeRuntimeInfo Machine(params string[] lines) => Runtime(Cpu + string.Join("\n", lines) + "\n");

    private static (string? Backend, string Why) Choose(NativeRuntimeInfo info, string? option = null, string? environment = null, bool requireGpu = false, string? rpcDevice = null)
        => BackendSelector.Choose(info, option, environment, requireGpu, rpcDevice);

    private static readonly string[] VulkanGpu =
    [
        "module\tvulkan\tlibsdnet-ggml-vulkan.so\t1\tcandidate", "chosen\tvulkan\tlibsdnet-ggml-vulkan.so\t1\tregistered",
        "backend\tVulkan\t1", "backend\tCPU\t1",
        "device\tVulkan0\tAMD Radeon RX 7600\tgpu\t8000000000\t8589934592", "device\tCPU\tAMD Ryzen\tcpu\t1\t2",
    ];

    [Fact]
    public void Devices_are_attributed_to_the_backend_that_registered_them()
    {
        var info = Machine(VulkanGpu);
        Assert.Equal(["Vulkan", "CPU"], info.Devices.Select(d => d.Backend));
    }

    [Fact]
    public void A_cuda_module_whose_libraries_are_missing_is_rejected_with_the_loaders_error_and_vulkan_is_chosen()
    {
        var info = Machine([
            "module\tcuda\tlibsdnet-ggml-cuda.so\t-1\tload-failed: libcudart.so.12: cannot open shared object file: No such file or directory",
            .. VulkanGpu]);
        var cuda = info.GpuBackends.Single(b => b.Name == "CUDA");
        Assert.False(cuda.Usable);
        Assert.Contains("libcudart.so.12: cannot open shared object file", cuda.Reason, StringComparison.Ordinal);
        Assert.Contains("CUDA 12 runtime", cuda.Reason, StringComparison.Ordinal);
        Assert.True(info.GpuBackends.Single(b => b.Name == "Vulkan").Usable);
        var (backend, why) = Choose(info);
        Assert.Equal("Vulkan0", backend);
        Assert.Contains("first usable of CUDA → ROCm → Vulkan → Metal → CPU", why, StringComparison.Ordinal);
        Assert.StartsWith("Vulkan0 (AMD Radeon RX 7600)", info.DefaultDevice, StringComparison.Ordinal);
    }

    [Fact]
    public void Cuda_comes_before_vulkan_and_the_variable_or_the_option_overrides_the_order()
    {
        var info = Machine([
            "module\tcuda\tlibsdnet-ggml-cuda.so\t1\tcandidate", "chosen\tcuda\tlibsdnet-ggml-cuda.so\t1\tregistered",
            "module\tvulkan\tlibsdnet-ggml-vulkan.so\t1\tcandidate", "chosen\tvulkan\tlibsdnet-ggml-vulkan.so\t1\tregistered",
            "backend\tCUDA\t1", "backend\tVulkan\t1", "backend\tCPU\t1",
            "device\tCUDA0\tNVIDIA GeForce RTX 4070\tgpu\t11000000000\t12884901888", "device\tVulkan0\tNVIDIA GeForce RTX 4070\tgpu\t11000000000\t12884901888",
            "device\tCPU\tAMD Ryzen\tcpu\t1\t2"]);
        Assert.Equal("CUDA0", Choose(info).Backend);
        Assert.Equal("Vulkan0", Choose(info, environment: "vulkan").Backend);
        Assert.Equal("Vulkan0", Choose(info, environment: "Vulkan0").Backend);
        Assert.Equal("CPU", Choose(info, option: "cpu", environment: "vulkan").Backend);
        Assert.Equal("CUDA0", Choose(info, option: "CUDA", requireGpu: true).Backend);
        // Anything else is upstream's assignment syntax, passed on untouched.
        Assert.Equal("diffusion=CUDA0,vae=CPU", Choose(info, option: "diffusion=CUDA0,vae=CPU").Backend);
    }

    [Fact]
    public void A_backend_with_no_device_and_software_only_devices_are_rejected_and_RequireGpu_lists_every_reason()
    {
        var noDevice = Machine("module\tvulkan\tlibsdnet-ggml-vulkan.so\t1\tcandidate", "chosen\tvulkan\tlibsdnet-ggml-vulkan.so\t1\tregistered",
            "log\t3\tggml_vulkan: No devices found.", "backend\tVulkan\t0", "backend\tCPU\t1", "device\tCPU\tXeon\tcpu\t1\t2");
        var vulkan = noDevice.GpuBackends.Single(b => b.Name == "Vulkan");
        Assert.Contains("found no device", vulkan.Reason, StringComparison.Ordinal);
        Assert.Contains("No devices found", vulkan.Reason, StringComparison.Ordinal);
        var e = Assert.Throws<GpuUnavailableException>(() => Choose(noDevice, requireGpu: true));
        Assert.Equal(["CUDA", "ROCm", "Vulkan", "Metal"], e.Backends.Select(b => b.Name));
        Assert.All(e.Backends, b => Assert.Contains(b.Name + ": " + b.Reason, e.Message, StringComparison.Ordinal));
        Assert.Contains("module missing: no ggml-cuda module", e.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<NativeRuntimeException>(e);
        // Named even when it is the only device: upstream's default could pick an RPC device a past generator registered.
        Assert.Equal("CPU", Choose(noDevice).Backend);

        var software = Machine("module\tvulkan\tlibsdnet-ggml-vulkan.so\t1\tcandidate", "chosen\tvulkan\tlibsdnet-ggml-vulkan.so\t1\tregistered",
            "backend\tVulkan\t1", "backend\tCPU\t1", "device\tVulkan0\tllvmpipe (LLVM 15.0.6, 256 bits)\tcpu\t1\t2", "device\tCPU\tXeon\tcpu\t1\t2");
        Assert.Contains("only software devices: Vulkan0 (llvmpipe", software.GpuBackends.Single(b => b.Name == "Vulkan").Reason, StringComparison.Ordinal);
        // Named, so that upstream's default cannot pick the software device instead.
        Assert.Equal("CPU", Choose(software).Backend);
        Assert.Throws<GpuUnavailableException>(() => Choose(software, option: "Vulkan0", requireGpu: true));

        // Told to use llvmpipe (GGML_VK_VISIBLE_DEVICES), ggml-vulkan reports it as a GPU; it is still not one.
        var forced = Machine("module\tvulkan\tlibsdnet-ggml-vulkan.so\t1\tcandidate", "chosen\tvulkan\tlibsdnet-ggml-vulkan.so\t1\tregistered",
            "backend\tVulkan\t1", "backend\tCPU\t1", "device\tVulkan0\tllvmpipe (LLVM 15.0.6, 256 bits)\tgpu\t2147483648\t2147483648", "device\tCPU\tXeon\tcpu\t1\t2");
        Assert.False(forced.GpuBackends.Single(b => b.Name == "Vulkan").Usable);
        Assert.Equal("CPU", Choose(forced).Backend);
        Assert.Equal("Vulkan0", Choose(forced, option: "Vulkan0").Backend); // asked for by name, it is used
        Assert.Throws<GpuUnavailableException>(() => Choose(forced, requireGpu: true));
    }

    [Fact]
    public void Asking_for_an_unusable_backend_or_the_cpu_with_RequireGpu_fails_instead_of_falling_back()
    {
        var cpuOnly = Machine("backend\tCPU\t1", "device\tCPU\tXeon\tcpu\t1\t2");
        var e = Assert.Throws<GpuUnavailableException>(() => Choose(cpuOnly, option: "vulkan"));
        Assert.Contains("asks for Vulkan", e.Message, StringComparison.Ordinal);
        Assert.Throws<GpuUnavailableException>(() => Choose(cpuOnly, environment: "cuda"));
        Assert.Throws<ArgumentException>(() => Choose(cpuOnly, option: "cpu", requireGpu: true));
        Assert.Equal("CPU", Choose(cpuOnly).Backend);
        Assert.Equal("CPU (no GPU backend can be used)", Choose(cpuOnly).Why);
        // With RPC servers, the generator computes on its own first server's device (named from the live registry by the
        // generator), never on whichever RPC device upstream registered first in this process; an explicit choice wins.
        Assert.Equal("RPC3", Choose(cpuOnly, rpcDevice: "RPC3").Backend);
        Assert.Equal("CPU", Choose(cpuOnly, option: "cpu", rpcDevice: "RPC3").Backend);
    }

    [Fact]
    public void A_module_the_machine_does_not_support_or_that_fails_to_register_says_so()
    {
        var info = Machine("module\tcuda\tlibsdnet-ggml-cuda.so\t0\tunsupported",
            "module\tvulkan\tlibsdnet-ggml-vulkan.so\t1\tcandidate", "chosen\tvulkan\tlibsdnet-ggml-vulkan.so\t1\tfailed",
            "backend\tCPU\t1", "device\tCPU\tXeon\tcpu\t1\t2");
        Assert.Contains("unsupported", info.GpuBackends.Single(b => b.Name == "CUDA").Reason, StringComparison.Ordinal);
        Assert.Contains("failed to register", info.GpuBackends.Single(b => b.Name == "Vulkan").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_too_large_for_the_gpu_is_said_before_the_load_with_what_would_fit()
    {
        string model = TestModelFactory.Sd1(unetChannels: 32);
        long need = StableDiffusion.Native.ModelFiles.ModelInfo.FromFile(model).EstimateMemory(null).TotalBytes;
        long q8 = StableDiffusion.Native.ModelFiles.ModelInfo.FromFile(model).EstimateMemory(StableDiffusion.Native.ModelFiles.QuantizationType.Q8_0).TotalBytes;
        NativeRuntimeInfo WithFree(long free) => Machine("module\tvulkan\tlibsdnet-ggml-vulkan.so\t1\tcandidate", "chosen\tvulkan\tlibsdnet-ggml-vulkan.so\t1\tregistered",
            "backend\tVulkan\t1", "backend\tCPU\t1", $"device\tVulkan0\tiGPU\tigpu\t{free}\t{free * 2}", "device\tCPU\tXeon\tcpu\t1\t2");
        var options = new GeneratorOptions { ModelPath = model };

        Assert.Null(Generator.FitWarning(WithFree(need + (1 << 20)), "Vulkan0", options));
        string? warning = Generator.FitWarning(WithFree((need + q8) / 2), "Vulkan0", options);
        Assert.NotNull(warning);
        Assert.Contains("more than the", warning, StringComparison.Ordinal);
        Assert.Contains("WeightType = Q8_0", warning, StringComparison.Ordinal);
        Assert.Contains("VaeTiling", warning, StringComparison.Ordinal);
        Assert.Contains("no weight type fits whole", Generator.FitWarning(WithFree(1 << 20), "Vulkan0", options), StringComparison.Ordinal);
        // The CPU uses system memory, which upstream manages itself.
        Assert.Null(Generator.FitWarning(WithFree(1 << 20), "CPU", options));
    }
}
