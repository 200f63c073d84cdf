using System.Runtime.InteropServices;
using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Native;

/// <summary>Finds the native runtime: the probe order, the file names and the diagnostics of a failed load.</summary>
internal static class NativeLocator
{
    /// <summary>The library's file stem; every file of our runtime carries the "sdnet-" prefix (see CMakeLists.txt).</summary>
    public const string LibraryStem = "sdnet-stable-diffusion";

    /// <summary>Environment variable naming a directory that holds the runtime (checked before anything else).</summary>
    public const string PathVariable = "SDNET_NATIVE_PATH";

    /// <summary>Environment variable overriding the user-level cache of built runtimes.</summary>
    public const string CacheVariable = "SDNET_NATIVE_CACHE";

    /// <summary>
    /// Environment variable naming a checkout whose <c>artifacts/native</c> builds may be loaded by any app: the
    /// explicit opt-in for a developer running an app from outside the checkout.
    /// </summary>
    public const string DevCheckoutVariable = "SDNET_DEV_CHECKOUT";

    /// <summary>The assembly metadata key under which a developer build records the checkout it was built in.</summary>
    public const string CheckoutMetadataKey = "StableDiffusion.Native.Checkout";

    public static string LibraryFileName =>
        OperatingSystem.IsWindows() ? LibraryStem + ".dll"
        : OperatingSystem.IsMacOS() ? "lib" + LibraryStem + ".dylib"
        : "lib" + LibraryStem + ".so";

    /// <summary>The RIDs whose runtimes/&lt;rid&gt;/native folders may hold a runtime for this process, most specific first.</summary>
    public static IReadOnlyList<string> RidFallbacks()
    {
        string arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            Architecture.X86 => "x86",
            Architecture.Arm => "arm",
            var a => a.ToString().ToLowerInvariant(),
        };
        var rids = new List<string>();
        string current = RuntimeInformation.RuntimeIdentifier;
        if (OperatingSystem.IsWindows())
        {
            rids.Add("win-" + arch);
        }
        else if (OperatingSystem.IsMacOS())
        {
            rids.Add("osx-" + arch);
            rids.Add("osx");
        }
        else
        {
            // musl cannot load glibc binaries (and vice versa): never fall back across the two.
            if (IsMusl()) rids.Add("linux-musl-" + arch);
            else rids.Add("linux-" + arch);
        }
        if (!rids.Contains(current)) rids.Insert(0, current);
        return rids;
    }

    private static bool IsMusl()
    {
        if (RuntimeInformation.RuntimeIdentifier.Contains("musl", StringComparison.Ordinal)) return true;
        try
        {
            return Directory.Exists("/lib") && Directory.EnumerateFiles("/lib", "ld-musl-*").Any();
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Directories to probe, in order, each with the reason it is probed, and, for a place that must not be loaded
    /// from, the probe's outcome ("skipped: …" or "refused: …") that the probe list shows instead of a load.
    /// </summary>
    public static IEnumerable<(string Source, string Directory, string? Skip)> CandidateDirectories(string? explicitDirectory, string baseDirectory)
        => CandidateDirectories(explicitDirectory, baseDirectory, BuildCheckout);

    internal static IEnumerable<(string Source, string Directory, string? Skip)> CandidateDirectories(string? explicitDirectory, string baseDirectory, string? buildCheckout)
    {
        if (!string.IsNullOrEmpty(explicitDirectory))
            yield return ("NativeRuntime.SearchDirectory", explicitDirectory, null);
        string? fromEnv = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrEmpty(fromEnv))
            yield return (PathVariable, fromEnv, null);

        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searchDirs)
        {
            foreach (string dir in searchDirs.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                yield return ("NATIVE_DLL_SEARCH_DIRECTORIES", dir, null);
        }

        var rids = RidFallbacks();
        foreach (string rid in rids)
            yield return ($"app runtimes/{rid}/native", Path.Combine(baseDirectory, "runtimes", rid, "native"), null);
        yield return ("app directory", baseDirectory, null);

        // A checkout's preset builds (artifacts/native/<preset>/runtimes/<rid>/native), only where they belong.
        var (checkout, source, skip) = DevCheckout(baseDirectory, buildCheckout);
        if (checkout is null)
        {
            yield return ("dev build", buildCheckout is null ? "" : Path.Combine(buildCheckout, "artifacts", "native"), skip);
        }
        else
        {
            foreach (string preset in PresetPreference(Path.Combine(checkout, "artifacts", "native")))
                foreach (string rid in rids)
                    yield return ($"{source} ({preset})", Path.Combine(checkout, "artifacts", "native", preset, "runtimes", rid, "native"), null);
        }

        // The user-level cache of built runtimes, keyed by the pin. Native code is loaded from it only while no other
        // account can write there.
        string root = CacheRoot();
        string pinDir = Path.Combine(root, Interop.Sd.UpstreamCommit);
        foreach (string entry in PresetPreference(pinDir))
            foreach (string rid in rids)
            {
                string dir = Path.Combine(pinDir, entry, "runtimes", rid, "native");
                string? unsafeFolder = Directory.Exists(dir) ? UserDirectories.WhyNotPrivate(dir, root, CacheVariable) : null;
                yield return ($"runtime cache ({entry})", dir, unsafeFolder is null ? null : "refused: " + unsafeFolder);
            }
    }

    /// <summary>
    /// The checkout this copy of the library was built in (recorded at build time, never by packing), or null for a
    /// packaged or release build.
    /// </summary>
    internal static string? BuildCheckout { get; } = typeof(NativeLocator).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
        .OfType<System.Reflection.AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == CheckoutMetadataKey)?.Value is { Length: > 0 } value ? value : null;

    /// <summary>
    /// Which checkout's builds to probe. Never found by walking up the folders: that would run native code from any
    /// parent folder where someone placed the marker files and a library (the DLL search-order hijack). Instead: the
    /// checkout named by <see cref="DevCheckoutVariable"/>, or the one this library was built in, and the latter only
    /// when the app itself runs from inside it (the tests' and tools' output folders).
    /// </summary>
    internal static (string? Checkout, string Source, string? Skip) DevCheckout(string baseDirectory, string? buildCheckout)
    {
        string? optIn = Environment.GetEnvironmentVariable(DevCheckoutVariable);
        if (!string.IsNullOrWhiteSpace(optIn))
        {
            string root = Path.GetFullPath(optIn);
            return IsCheckout(root)
                ? (root, $"dev build ({DevCheckoutVariable})", null)
                : (null, "dev build", $"refused: {DevCheckoutVariable}={root} is not a StableDiffusion.Native checkout (no CMakePresets.json and StableDiffusion.Native.sln)");
        }
        if (buildCheckout is null)
            return (null, "dev build", $"skipped: a packaged build never looks above the app's folder (set {DevCheckoutVariable} to opt in)");
        string checkout = Path.GetFullPath(buildCheckout);
        if (!IsInside(Path.GetFullPath(baseDirectory), checkout))
            return (null, "dev build", $"skipped: the app does not run from inside the checkout this library was built in (set {DevCheckoutVariable} to opt in)");
        if (!IsCheckout(checkout))
            return (null, "dev build", "skipped: the checkout this library was built in is gone");
        return (checkout, "dev build", null);
    }

    private static bool IsCheckout(string dir)
        => File.Exists(Path.Combine(dir, "CMakePresets.json")) && File.Exists(Path.Combine(dir, "StableDiffusion.Native.sln"));

    private static bool IsInside(string path, string root)
    {
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        string prefix = Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar;
        return (Path.TrimEndingDirectorySeparator(path) + Path.DirectorySeparatorChar).StartsWith(prefix, comparison);
    }

    /// <summary>The user-level cache of built runtimes (<c>SDNET_NATIVE_CACHE</c> overrides it).</summary>
    public static string CacheRoot() => UserDirectories.FromEnvironment(CacheVariable, UserDirectories.CacheRoot);

    /// <summary>Sub-directories ordered so GPU flavors come before the portable CPU one, newest first within a flavor.</summary>
    private static List<string> PresetPreference(string dir)
    {
        if (!Directory.Exists(dir)) return [];
        string[] order = ["cuda", "hip", "vulkan", "metal", "cpu", "cpu-native"];
        return new DirectoryInfo(dir).EnumerateDirectories()
            .OrderBy(d => Rank(d.Name))
            .ThenByDescending(d => d.LastWriteTimeUtc)
            .Select(d => d.Name)
            .ToList();

        int Rank(string name)
        {
            for (int i = 0; i < order.Length; i++)
                if (name == order[i] || name.StartsWith(order[i] + "-", StringComparison.Ordinal) && !(order[i] == "cpu" && name.StartsWith("cpu-native", StringComparison.Ordinal)))
                    return i;
            return order.Length;
        }
    }

    /// <summary>Tries each candidate; returns the first handle that loads, recording every attempt.</summary>
    public static nint TryLoad(IEnumerable<(string Source, string Directory, string? Skip)> candidates, List<NativeProbe> probes, out string? loadedPath)
    {
        var seen = new HashSet<string>(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        foreach (var (source, dir, skip) in candidates)
        {
            if (skip is not null)
            {
                // Listed with the folder that was not loaded from, so doctor -v shows every place and why.
                probes.Add(new NativeProbe(source, dir.Length == 0 ? "(none)" : Path.GetFullPath(dir), skip));
                continue;
            }
            string path = Path.GetFullPath(Path.Combine(dir, LibraryFileName));
            if (!seen.Add(path)) continue;
            if (!File.Exists(path))
            {
                probes.Add(new NativeProbe(source, path, "not found"));
                continue;
            }
            try
            {
                // By absolute path, so the OS error text (missing dependency, wrong architecture...) is kept.
                nint handle = NativeLibrary.Load(path);
                probes.Add(new NativeProbe(source, path, "loaded"));
                loadedPath = path;
                return handle;
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                probes.Add(new NativeProbe(source, path, e.Message.ReplaceLineEndings(" ").Trim()));
            }
        }
        loadedPath = null;
        return 0;
    }

    public static string DescribeFailure(IReadOnlyList<NativeProbe> probes)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("The StableDiffusion.Native runtime (").Append(LibraryFileName).Append(") could not be loaded for ")
          .Append(RuntimeInformation.RuntimeIdentifier).Append(" (").Append(RuntimeInformation.OSDescription).Append(", ")
          .Append(RuntimeInformation.ProcessArchitecture).AppendLine(").")
          .AppendLine("Probed, in order:");
        foreach (var p in probes)
            sb.Append("  [").Append(p.Source).Append("] ").Append(p.Path).Append(": ").AppendLine(p.Outcome);
        var hints = Hints(probes).Distinct().ToList();
        string getOne = "Reference a StableDiffusion.Native.Runtime.* package, set " + PathVariable +
                        " (or NativeRuntime.SearchDirectory) to a folder holding " + LibraryFileName +
                        ", or build one from a checkout: cmake --workflow --preset cpu.";
        if (probes.All(p => p.Outcome == "not found" || p.Outcome.StartsWith("skipped", StringComparison.Ordinal))) hints.Insert(0, "No runtime file was found. " + getOne);
        else hints.Add("To get a working runtime: " + getOne);
        if (hints.Count > 0)
        {
            sb.AppendLine("Hints:");
            foreach (string h in hints) sb.Append("  - ").AppendLine(h);
        }
        return sb.ToString().TrimEnd();
    }

    private static IEnumerable<string> Hints(IEnumerable<NativeProbe> probes)
    {
        foreach (var p in probes)
        {
            string e = p.Outcome;
            if (e is "not found" or "loaded" || e.StartsWith("skipped", StringComparison.Ordinal)) continue;
            if (e.StartsWith("refused: ", StringComparison.Ordinal))
            {
                yield return e["refused: ".Length..];
                continue;
            }
            if (e.Contains("GLIBC_", StringComparison.Ordinal) || e.Contains("GLIBCXX_", StringComparison.Ordinal))
                yield return "The C/C++ runtime of this system is older than the one the runtime was built against (glibc/libstdc++ too old); use a newer distribution or build the runtime here.";
            if (e.Contains("libgomp", StringComparison.Ordinal) || e.Contains("vcomp", StringComparison.OrdinalIgnoreCase))
                yield return "The OpenMP runtime is missing (libgomp / vcomp140); install it, or use a runtime built with GGML_OPENMP=OFF (ours are).";
            if (e.Contains("VCRUNTIME", StringComparison.OrdinalIgnoreCase) || e.Contains("MSVCP", StringComparison.OrdinalIgnoreCase))
                yield return "The Microsoft Visual C++ Redistributable (x64, 2015-2022) is missing.";
            if (e.Contains("cudart", StringComparison.OrdinalIgnoreCase) || e.Contains("cublas", StringComparison.OrdinalIgnoreCase) || e.Contains("libcuda", StringComparison.OrdinalIgnoreCase))
                yield return "The CUDA runtime (cudart/cuBLAS 12+) or the NVIDIA driver is missing; install them or use the CPU/Vulkan runtime.";
            if (e.Contains("vulkan", StringComparison.OrdinalIgnoreCase))
                yield return "The Vulkan loader (libvulkan.so.1 / vulkan-1.dll) is missing; install your GPU driver's Vulkan support.";
            if (e.Contains("ELF class", StringComparison.Ordinal) || e.Contains("invalid ELF header", StringComparison.Ordinal) ||
                e.Contains("wrong architecture", StringComparison.OrdinalIgnoreCase) || e.Contains("mach-o", StringComparison.OrdinalIgnoreCase) ||
                e.Contains("not a valid", StringComparison.OrdinalIgnoreCase) || e.Contains("file too short", StringComparison.Ordinal))
                yield return $"{p.Path} is not a library for this OS/architecture ({RuntimeInformation.ProcessArchitecture}); the package for another RID was probably copied here.";
        }
    }
}
