using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Interop;

namespace StableDiffusion.Native.Native;

/// <summary>
/// Finds, loads and checks the native runtime once per process: where it is loaded from, the check that it
/// is the build these bindings were generated for, and what it registered (CPU variant, GPU devices).
/// <c>NativeRuntime</c> is its public face.
/// </summary>
internal static class NativeRuntimeLoader
{
    /// <summary>The stable-diffusion.cpp commit the bindings were generated from (the runtime must match it).</summary>
    public const string UpstreamCommit = Sd.UpstreamCommit;

    private static readonly object s_gate = new();

    // Every path into native code passes EnsureLoaded first, so counting its calls per thread tells a test
    // whether a call that should have been refused up front reached for the runtime (whoever loaded it).
    [ThreadStatic] private static int t_loadRequests;

    /// <summary>How often this thread has asked for the runtime (tests prove that bad input never gets this far).</summary>
    internal static int LoadRequestsOnThisThread => t_loadRequests;
    private static nint s_handle;
    private static NativeRuntimeInfo? s_info;
    private static string? s_searchDirectory;

    static NativeRuntimeLoader()
    {
        NativeLibrary.SetDllImportResolver(typeof(NativeRuntimeLoader).Assembly, Resolve);
        Sd.ExportResolver = GetExport;
    }

    /// <summary>The directory probed before anything else; see <c>NativeRuntime.SearchDirectory</c>.</summary>
    public static string? SearchDirectory
    {
        get => s_searchDirectory;
        set
        {
            lock (s_gate)
            {
                if (s_handle != 0 && !string.Equals(value, s_searchDirectory, StringComparison.Ordinal))
                    throw new InvalidOperationException("The native runtime is already loaded; set SearchDirectory before the first use.");
                s_searchDirectory = value;
            }
        }
    }

    /// <summary>Receives native log lines that belong to no particular call.</summary>
    public static ILogger? Logger
    {
        get => NativeCallScope.GlobalLogger;
        set => NativeCallScope.GlobalLogger = value;
    }

    public static bool IsLoaded => Volatile.Read(ref s_info) is not null;

    /// <summary>Loads and checks the runtime if that has not happened yet, and describes it.</summary>
    /// <exception cref="NativeRuntimeException">No loadable runtime was found; the message lists every probe.</exception>
    /// <exception cref="NativeAbiMismatchException">The runtime is of another upstream commit or struct layout.</exception>
    public static NativeRuntimeInfo EnsureLoaded()
    {
        t_loadRequests++;
        var info = Volatile.Read(ref s_info);
        if (info is not null) return info;
        lock (s_gate)
        {
            if (s_info is not null) return s_info;
            var probes = new List<NativeProbe>();
            nint handle = NativeLocator.TryLoad(
                NativeLocator.CandidateDirectories(s_searchDirectory, AppContext.BaseDirectory), probes, out string? path);
            if (handle == 0)
                throw new NativeRuntimeException(NativeLocator.DescribeFailure(probes), probes);

            CheckAbi(handle, path!);
            Volatile.Write(ref s_handle, handle);
            NativeCallScope.Install();
            info = LoadBackends(path!, probes);
            Volatile.Write(ref s_info, info);
            return info;
        }
    }

    public static nint GetExport(string name)
    {
        EnsureLoaded();
        return NativeLibrary.GetExport(s_handle, name);
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != Sd.LibraryName) return 0;
        // Set before the first interop call of EnsureLoaded (which runs inside the load itself).
        nint loaded = Volatile.Read(ref s_handle);
        if (loaded != 0) return loaded;
        try
        {
            EnsureLoaded();
            return s_handle;
        }
        catch (Exception)
        {
            // Public entry points call EnsureLoaded first and surface the detailed exception; here the
            // runtime's default DllNotFoundException is all that can be raised.
            return 0;
        }
    }

    /// <summary>Refuses a runtime whose commit or struct layout differs from the generated bindings.</summary>
    internal static unsafe void CheckAbi(nint handle, string path)
    {
        if (!NativeLibrary.TryGetExport(handle, "sdnet_shim_api_version", out nint versionFn) ||
            !NativeLibrary.TryGetExport(handle, "sdnet_sd_commit", out nint commitFn) ||
            !NativeLibrary.TryGetExport(handle, "sdnet_abi_facts", out nint factsFn) ||
            !NativeLibrary.TryGetExport(handle, "sdnet_abi_fact_count", out nint countFn))
        {
            throw new NativeAbiMismatchException(
                $"{path} is not a StableDiffusion.Native runtime: it lacks the sdnet_* shim exports (a stock stable-diffusion.cpp build?). " +
                $"These bindings need stable-diffusion.cpp {Sd.UpstreamCommit} built with this repository's CMakeLists.txt.", path);
        }
        int version = ((delegate* unmanaged[Cdecl]<int>)versionFn)();
        if (version != SdnetShim.SDNET_SHIM_API_VERSION)
            throw new NativeAbiMismatchException($"{path} has shim API version {version}; these bindings need {SdnetShim.SDNET_SHIM_API_VERSION}.", path);

        string native = Marshal.PtrToStringUTF8(((delegate* unmanaged[Cdecl]<nint>)commitFn)()) ?? "";
        var facts = ReadFacts((delegate* unmanaged[Cdecl]<int>)countFn, (delegate* unmanaged[Cdecl]<sdnet_abi_fact_t*>)factsFn);
        string? problem = CompareAbi(native, facts, Sd.UpstreamCommit, SdLayout.Facts);
        if (problem is not null) throw new NativeAbiMismatchException($"{path}: {problem}", path);
    }

    private static unsafe Dictionary<string, long> ReadFacts(delegate* unmanaged[Cdecl]<int> count, delegate* unmanaged[Cdecl]<sdnet_abi_fact_t*> facts)
    {
        int n = count();
        sdnet_abi_fact_t* p = facts();
        var result = new Dictionary<string, long>(n, StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
            result[Marshal.PtrToStringUTF8((nint)p[i].name) ?? ""] = p[i].value;
        return result;
    }

    /// <summary>Null when the runtime matches; otherwise one sentence naming both commits and the first difference.</summary>
    internal static string? CompareAbi(string nativeCommit, IReadOnlyDictionary<string, long> nativeFacts, string expectedCommit, IReadOnlyList<AbiFact> expected)
    {
        if (!string.Equals(nativeCommit, expectedCommit, StringComparison.OrdinalIgnoreCase))
            return $"the runtime was built from stable-diffusion.cpp {nativeCommit}, but these bindings were generated from {expectedCommit}. " +
                   "Use the runtime package of the same version as StableDiffusion.Native, or rebuild the runtime.";
        foreach (var fact in expected)
        {
            bool isField = fact.Name.Contains('.');
            if (!nativeFacts.TryGetValue(fact.Name, out long actual))
                return $"the runtime (commit {nativeCommit}) reports no {(isField ? "field" : "struct")} {fact.Name}, which the bindings (commit {expectedCommit}) use.";
            if (actual != fact.Value)
                return isField
                    ? $"field {fact.Name} is at offset {actual} in the runtime (commit {nativeCommit}) but at {fact.Value} in the bindings (commit {expectedCommit})."
                    : $"struct {fact.Name} is {actual} bytes in the runtime (commit {nativeCommit}) but {fact.Value} in the bindings (commit {expectedCommit}).";
        }
        if (nativeFacts.Count != expected.Count)
            return $"the runtime reports {nativeFacts.Count} layout facts, the bindings {expected.Count} (commit {expectedCommit}).";
        return null;
    }

    /// <summary>The shim's report of modules, registries and devices as they are now.</summary>
    private static unsafe string Report()
    {
        nuint needed = SdnetShim.sdnet_backend_report(null, 0);
        byte[] buffer = new byte[(int)needed + 1];
        fixed (byte* b = buffer) needed = SdnetShim.sdnet_backend_report((sbyte*)b, (nuint)buffer.Length);
        return Encoding.UTF8.GetString(buffer, 0, Math.Min((int)needed, buffer.Length - 1));
    }

    /// <summary>
    /// Registers the ggml RPC server at <paramref name="endpoint"/> (as upstream does for <c>rpc_servers</c>, which then
    /// finds it registered) and names its first device (<c>RPC3</c>): upstream numbers RPC devices process-wide in the
    /// order servers were first added, so only the registry says which one is this server's. Null when it serves none.
    /// </summary>
    internal static unsafe string? RpcServerDevice(string endpoint)
    {
        EnsureLoaded();
        byte[] utf8 = Encoding.UTF8.GetBytes(endpoint + "\0");
        int count;
        lock (NativeLocks.ModelLoading)
        {
            fixed (byte* e = utf8) count = SdnetShim.sdnet_rpc_add_server((sbyte*)e);
        }
        if (count <= 0) return null;
        foreach (string line in Report().Split('\n'))
        {
            string[] f = line.Split('\t');
            if (f.Length >= 3 && f[0] == "device" && f[2] == endpoint) return f[1];
        }
        return null;
    }

    private static unsafe NativeRuntimeInfo LoadBackends(string path, List<NativeProbe> probes)
    {
        string dir = Path.GetDirectoryName(path)!;
        byte[] dirUtf8 = Encoding.UTF8.GetBytes(dir + "\0");
        int loaded;
        fixed (byte* d = dirUtf8) loaded = SdnetShim.sdnet_load_backends((sbyte*)d);

        string report = Report();

        string version = Marshal.PtrToStringUTF8((nint)Sd.sd_version()) ?? "";
        string system = Marshal.PtrToStringUTF8((nint)Sd.sd_get_system_info()) ?? "";
        string ggml = Marshal.PtrToStringUTF8((nint)SdnetShim.sdnet_ggml_commit()) ?? "";
        var info = NativeRuntimeInfo.Parse(path, Sd.UpstreamCommit, ggml, version, system, report, probes);
        if (Logger is { } logger)
        {
            foreach (string line in info.LoadLog) logger.LogDebug("{Line}", line);
        }
        if (!info.Devices.Any(d => d.Type == "cpu"))
        {
            throw new NativeRuntimeException(
                $"The runtime at {dir} loaded, but no CPU backend module registered (loaded {loaded} module(s)). " +
                "Either the libsdnet-ggml-cpu-* files are missing beside it, or none of them supports this CPU (no CPU variant scored). Modules seen:" +
                Environment.NewLine + string.Join(Environment.NewLine, info.Modules.Select(m => $"  {m.File}: score {m.Score}, {m.Status}")),
                probes);
        }
        return info;
    }
}
