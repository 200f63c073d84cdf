namespace StableDiffusion.Native;

/// <summary>What was loaded: file, commits, the chosen CPU variant, registered devices and CPU features.</summary>
public sealed record NativeRuntimeInfo
{
    /// <summary>The runtime library file that was loaded.</summary>
    public required string LibraryPath { get; init; }
    /// <summary>The stable-diffusion.cpp commit it was built from.</summary>
    public required string SdCommit { get; init; }
    /// <summary>The ggml commit it was built from.</summary>
    public required string GgmlCommit { get; init; }
    /// <summary>stable-diffusion.cpp's own version string.</summary>
    public required string UpstreamVersion { get; init; }
    /// <summary>stable-diffusion.cpp's system description (<c>sd_get_system_info</c>).</summary>
    public required string SystemInfo { get; init; }

    /// <summary>The CPU module ggml scored best on this machine (e.g. "haswell", "zen4"), or null when the CPU backend is built in.</summary>
    public string? CpuVariant { get; init; }
    /// <summary>Every backend module file seen beside the runtime, with its score.</summary>
    public required IReadOnlyList<NativeModule> Modules { get; init; }
    /// <summary>The devices the backends registered.</summary>
    public required IReadOnlyList<NativeDevice> Devices { get; init; }
    /// <summary>The backends registered ("CPU", "CUDA", "Vulkan", ...).</summary>
    public required IReadOnlyList<string> Backends { get; init; }
    /// <summary>CPU features the chosen CPU module was built for (name → value).</summary>
    public required IReadOnlyDictionary<string, string> CpuFeatures { get; init; }
    /// <summary>Every place probed for the runtime, in order.</summary>
    public required IReadOnlyList<NativeProbe> Probes { get; init; }

    /// <summary>What ggml logged while the backend modules were loaded.</summary>
    public IReadOnlyList<string> LoadLog { get; init; } = [];

    /// <summary>
    /// Each GPU backend in the default order (CUDA, ROCm, Vulkan, Metal) and whether it can be used here; when it cannot,
    /// why: its module is missing, its libraries or driver were not found, or it found no (hardware) device.
    /// </summary>
    public IReadOnlyList<GpuBackendStatus> GpuBackends { get; init; } = [];

    /// <summary>
    /// The device a generator uses when <see cref="GeneratorOptions.Backend"/> is not set: the variable
    /// <c>SDNET_BACKEND</c> (<c>NativeRuntime.BackendVariable</c>) if set, else the first usable of CUDA → ROCm → Vulkan → Metal → CPU;
    /// with how it was chosen.
    /// </summary>
    public string DefaultDevice { get; init; } = "CPU";

    internal static NativeRuntimeInfo Parse(string path, string commit, string ggml, string version, string system, string report, IReadOnlyList<NativeProbe> probes)
    {
        var modules = new List<NativeModule>();
        var devices = new List<NativeDevice>();
        var backends = new List<string>();
        var deviceCounts = new List<(string Backend, int Count)>();
        var features = new Dictionary<string, string>(StringComparer.Ordinal);
        var log = new List<string>();
        string? cpu = null;
        foreach (string line in report.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split('\t');
            switch (f[0])
            {
                case "module" when f.Length >= 5:
                    modules.Add(new NativeModule(f[1], f[2], int.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture), f[4], Chosen: false));
                    break;
                case "chosen" when f.Length >= 5:
                    int i = modules.FindIndex(m => m.File == f[2]);
                    if (i >= 0)
                    {
                        // Keep the loader's reason for a moved score ("(+avx512_fp16)") on the chosen module.
                        string status = modules[i].Status;
                        int reason = status.IndexOf(" (", StringComparison.Ordinal);
                        string suffix = reason >= 0 ? status[reason..] : "";
                        modules[i] = modules[i] with { Chosen = f[4] == "registered", Status = (f[4] == "registered" ? "chosen" : "failed to register") + suffix };
                    }
                    if (f[1] == "cpu" && f[4] == "registered")
                    {
                        // libsdnet-ggml-cpu-haswell.so -> haswell
                        string stem = Path.GetFileNameWithoutExtension(f[2]);
                        int dash = stem.IndexOf("cpu-", StringComparison.Ordinal);
                        cpu = dash >= 0 ? stem[(dash + 4)..] : stem;
                    }
                    break;
                case "backend" when f.Length >= 2:
                    backends.Add(f[1]);
                    deviceCounts.Add((f[1], f.Length >= 3 && int.TryParse(f[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int count) ? count : 0));
                    break;
                case "feature" when f.Length >= 3:
                    features[f[1]] = f[2];
                    break;
                case "log" when f.Length >= 3:
                    log.Add(f[2]);
                    break;
                case "device" when f.Length >= 6:
                    devices.Add(new NativeDevice(f[1], f[2], f[3], long.Parse(f[4], System.Globalization.CultureInfo.InvariantCulture), long.Parse(f[5], System.Globalization.CultureInfo.InvariantCulture)));
                    break;
            }
        }
        // ggml lists devices registry by registry, in the order of the backend lines and their counts.
        int next = 0;
        foreach (var (backend, count) in deviceCounts)
            for (int k = 0; k < count && next < devices.Count; k++, next++)
                devices[next] = devices[next] with { Backend = backend };
        var info = new NativeRuntimeInfo
        {
            LibraryPath = path, SdCommit = commit, GgmlCommit = ggml, UpstreamVersion = version, SystemInfo = system.Trim(),
            CpuVariant = cpu, Modules = modules, Devices = devices, Backends = backends, CpuFeatures = features, Probes = probes, LoadLog = log,
            GpuBackends = BackendSelector.Statuses(modules, backends, devices, log),
        };
        string describe;
        try
        {
            describe = BackendSelector.Choose(info, null, Environment.GetEnvironmentVariable(BackendSelector.Variable), requireGpu: false, rpcDevice: null).Why;
        }
        catch (StableDiffusionException e)
        {
            describe = e.Message;
        }
        return info with { DefaultDevice = describe };
    }
}

/// <summary>A ggml backend module file seen beside the runtime and its score on this machine (0: unsupported).</summary>
/// <param name="Kind">Backend kind ("cpu", "cuda", "vulkan", ...).</param>
/// <param name="File">The module's file name.</param>
/// <param name="Score">ggml's score for this machine; the highest of a kind is chosen, 0 means unsupported.</param>
/// <param name="Status">"chosen", "skipped", "failed to register", ...</param>
/// <param name="Chosen">Whether this module was registered.</param>
public sealed record NativeModule(string Kind, string File, int Score, string Status, bool Chosen);

/// <summary>A device registered by a backend; <see cref="Name"/> is what <c>GeneratorOptions.Backend</c> accepts.</summary>
/// <param name="Name">Device name ("CPU", "CUDA0", "Vulkan0").</param>
/// <param name="Description">The backend's description of the device.</param>
/// <param name="Type">"cpu", "gpu", "igpu" or "accel".</param>
/// <param name="FreeMemory">Free memory in bytes, as the backend reported it at load.</param>
/// <param name="TotalMemory">Total memory in bytes.</param>
public sealed record NativeDevice(string Name, string Description, string Type, long FreeMemory, long TotalMemory)
{
    /// <summary>The backend that registered it ("CPU", "CUDA", "Vulkan", ...).</summary>
    public string Backend { get; init; } = "";
}
