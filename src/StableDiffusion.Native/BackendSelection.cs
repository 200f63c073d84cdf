using System.Globalization;

namespace StableDiffusion.Native;

/// <summary>Whether a GPU backend can be used here, and why not when it cannot.</summary>
/// <param name="Name">The backend as ggml names it: "CUDA", "ROCm", "Vulkan" or "Metal".</param>
/// <param name="Usable">Whether it registered at least one GPU device.</param>
/// <param name="Reason">
/// What was found: the device it would use, or why it was rejected — module missing, its libraries or driver not found
/// (with the loader's error), the machine unsupported, no device, or only software devices.
/// </param>
public sealed record GpuBackendStatus(string Name, bool Usable, string Reason)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Reason}";
}

/// <summary>
/// The default choice of device, CUDA → ROCm → Vulkan → Metal → CPU, and the overrides: <see cref="GeneratorOptions.Backend"/>,
/// else <c>SDNET_BACKEND</c> (<c>NativeRuntime.BackendVariable</c>). A value names a device ("Vulkan0"), a backend ("vulkan": its first
/// device), <c>cpu</c>, or is an upstream assignment spec passed on as it is.
/// </summary>
internal static class BackendSelector
{
    /// <summary>The environment variable that picks the device (public as <c>NativeRuntime.BackendVariable</c>); declared here, below the generation API, where the runtime facts can read it.</summary>
    internal const string Variable = "SDNET_BACKEND";

    /// <summary>The GPU backends in order of preference, with the module kind of each and what installing it takes.</summary>
    internal static readonly (string Name, string Kind, string Package, string Needs)[] GpuOrder =
    [
        ("CUDA", "cuda", "StableDiffusion.Native.Runtime.Cuda12", "an NVIDIA driver and the CUDA 12 runtime (cudart, cublas)"),
        ("ROCm", "hip", "StableDiffusion.Native.Runtime.Hip", "ROCm (hipblas, rocblas)"),
        ("Vulkan", "vulkan", "StableDiffusion.Native.Runtime.Vulkan", "a Vulkan loader (libvulkan) and a GPU driver"),
        ("Metal", "metal", "StableDiffusion.Native.Runtime.Cpu (osx-arm64)", "macOS on Apple silicon"),
    ];

    /// <summary>What each GPU backend's modules, registration and devices came to on this machine.</summary>
    internal static IReadOnlyList<GpuBackendStatus> Statuses(IReadOnlyList<NativeModule> modules, IReadOnlyList<string> backends,
        IReadOnlyList<NativeDevice> devices, IReadOnlyList<string> log)
    {
        var statuses = new List<GpuBackendStatus>();
        foreach (var (name, kind, package, needs) in GpuOrder)
        {
            var files = modules.Where(m => m.Kind == kind).ToList();
            bool registered = backends.Any(b => Is(b, name));
            var own = devices.Where(d => Is(d.Backend, name)).ToList();
            var gpus = own.Where(IsHardwareGpu).ToList();
            string reason;
            if (gpus.Count > 0)
                reason = "usable: " + string.Join(", ", gpus.Select(d => $"{Printable(d.Name)} ({Printable(d.Description)}{Memory(d)})"));
            else if (registered && own.Count > 0)
                reason = "only software devices: " + string.Join(", ", own.Select(d => $"{Printable(d.Name)} ({Printable(d.Description)}, {d.Type})"));
            else if (registered)
                reason = "registered, but found no device" + LastLogLine(log, name) + $" (needs {needs})";
            else if (files.Count == 0 && kind == "metal" && !OperatingSystem.IsMacOS())
                reason = "macOS only";
            else if (files.Count == 0 && kind is "cuda" or "hip" && OperatingSystem.IsMacOS())
                reason = "not available on macOS";
            else if (files.Count == 0)
                reason = $"module missing: no ggml-{kind} module beside the runtime (add {package})";
            else if (files.All(m => m.Status.StartsWith("load-failed", StringComparison.Ordinal)))
                reason = $"its libraries or driver were not found ({needs}): " + Printable(files[0].Status["load-failed: ".Length..].Trim());
            else if (files.All(m => m.Score == 0))
                reason = "the module reports this machine unsupported";
            else
                reason = "the module failed to register" + LastLogLine(log, name);
            statuses.Add(new GpuBackendStatus(name, gpus.Count > 0, reason));
        }
        return statuses;
    }

    /// <summary>The device a generator uses: the name to pass upstream (its own RPC server's device when <paramref name="rpcDevice"/> is given), and how it was chosen.</summary>
    /// <exception cref="GpuUnavailableException">A GPU is required (or a GPU backend named) and none is usable.</exception>
    /// <exception cref="ArgumentException">A GPU is required but CPU was asked for.</exception>
    internal static (string? Backend, string Why) Choose(NativeRuntimeInfo info, string? option, string? environment, bool requireGpu, string? rpcDevice)
    {
        string? requested = !string.IsNullOrWhiteSpace(option) ? option.Trim() : !string.IsNullOrWhiteSpace(environment) ? environment.Trim() : null;
        string source = !string.IsNullOrWhiteSpace(option) ? "GeneratorOptions.Backend" : $"{Variable}={requested}";
        var statuses = info.GpuBackends;
        if (requested is not null)
        {
            if (requested.Equals("cpu", StringComparison.OrdinalIgnoreCase))
            {
                if (requireGpu) throw new ArgumentException($"RequireGpu is set, but {source} asks for the CPU.", "RequireGpu");
                return (Device(info, d => d.Type == "cpu")?.Name ?? "CPU", $"CPU, as {source} asks");
            }
            var backend = GpuOrder.FirstOrDefault(g => requested.Equals(g.Name, StringComparison.OrdinalIgnoreCase) || requested.Equals(g.Kind, StringComparison.OrdinalIgnoreCase));
            if (backend.Name is not null)
            {
                var device = Device(info, d => Is(d.Backend, backend.Name) && IsHardwareGpu(d))
                    ?? throw new GpuUnavailableException($"{source} asks for {backend.Name}, which cannot be used here: {statuses.First(s => s.Name == backend.Name).Reason}.", statuses);
                return (device.Name, $"{device.Name} ({device.Description}), as {source} asks");
            }
            var named = info.Devices.FirstOrDefault(d => d.Name.Equals(requested, StringComparison.OrdinalIgnoreCase));
            if (requireGpu && named is not null && !IsHardwareGpu(named))
                throw new GpuUnavailableException($"RequireGpu is set, but {source} names {named.Name} ({named.Description}), which is not a hardware GPU.", statuses);
            // A device name, or an assignment spec upstream parses itself.
            return (named?.Name ?? requested, named is null ? $"'{requested}', as {source} gives it (an upstream assignment spec)" : $"{named.Name} ({named.Description}), as {source} asks");
        }
        if (rpcDevice is not null)
            return (rpcDevice, $"{rpcDevice}, the first device of this generator's own first RPC server (RpcServers is set)");
        var usable = statuses.FirstOrDefault(s => s.Usable);
        if (usable is not null)
        {
            var device = Device(info, d => Is(d.Backend, usable.Name) && IsHardwareGpu(d))!;
            return (device.Name, $"{device.Name} ({device.Description}), the first usable of CUDA → ROCm → Vulkan → Metal → CPU");
        }
        if (requireGpu)
            throw new GpuUnavailableException("RequireGpu is set, but no GPU backend can be used here:\n  " + string.Join("\n  ", statuses), statuses);
        // Only the CPU is left: name it, never leave the choice to upstream. Upstream's default is the first GPU-type
        // device in ggml's process-wide registry, and a generator with RpcServers registers RPC devices there for
        // good: a later generator would otherwise run on a server that may be gone (and a software Vulkan device
        // could win too).
        var cpu = Device(info, d => Is(d.Backend, "CPU")) ?? Device(info, d => d.Type == "cpu");
        return (cpu?.Name ?? "CPU", "CPU (no GPU backend can be used)");
    }

    /// <summary>The local device a context without a device of its own uses: what a generator would choose, never an RPC server's.</summary>
    internal static string? LocalDefault(NativeRuntimeInfo info) => Choose(info, null, Environment.GetEnvironmentVariable(Variable), false, null).Backend;

    private static NativeDevice? Device(NativeRuntimeInfo info, Func<NativeDevice, bool> match) => info.Devices.FirstOrDefault(match);

    // ggml-vulkan reports a CPU rasterizer it was told to use (GGML_VK_VISIBLE_DEVICES) as a GPU: it is known by name.
    private static readonly string[] s_softwareRenderers = ["llvmpipe", "lavapipe", "softpipe", "swiftshader"];

    /// <summary>A GPU or integrated GPU that is hardware: software rasterizers run on the CPU, slower than the CPU backend.</summary>
    internal static bool IsHardwareGpu(NativeDevice device)
        => device.Type is "gpu" or "igpu" && !s_softwareRenderers.Any(r => device.Description.Contains(r, StringComparison.OrdinalIgnoreCase));

    private static bool Is(string backend, string name)
        => backend.Equals(name, StringComparison.OrdinalIgnoreCase) || (name == "ROCm" && backend.Equals("HIP", StringComparison.OrdinalIgnoreCase));

    private static string Memory(NativeDevice d)
        => d.TotalMemory > 0 ? string.Create(CultureInfo.InvariantCulture, $", {d.FreeMemory / 1073741824.0:F1} of {d.TotalMemory / 1073741824.0:F1} GiB free") : "";

    /// <summary>Driver text with control characters shown as '?': it reaches terminals and logs.</summary>
    private static string Printable(string text)
        => string.Create(text.Length, text, static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++) span[i] = char.IsControl(source[i]) ? '?' : source[i];
        });

    private static string LastLogLine(IReadOnlyList<string> log, string name)
    {
        // The backend's own words ("ggml_vulkan: No devices found."), not the loader's note that the module loaded.
        string? line = log.LastOrDefault(l => l.Contains(name, StringComparison.OrdinalIgnoreCase) && !l.StartsWith("load_backend:", StringComparison.Ordinal));
        return line is null ? "" : $" (ggml: {Printable(line.Length > 200 ? line[..200] + "…" : line)})";
    }
}
