using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Interop;

namespace StableDiffusion.Native.Native;

/// <summary>Upstream's image preprocessing that works in place on an <c>sd_image_t</c>.</summary>
internal static unsafe class NativeImageFilters
{
    /// <summary>Upstream's <c>preprocess_canny</c> on a copy of an RGB image; the edges come back as RGB.</summary>
    /// <exception cref="GenerationException">Upstream reported failure.</exception>
    public static NativeImage Canny(NativeImage rgb, float high, float low, float weak, float strong, bool inverse, ILogger? logger)
    {
        NativeRuntimeLoader.EnsureLoaded();
        using var arena = new NativeArena();
        var image = arena.Image(rgb);
        using var scope = NativeCallScope.Enter(logger);
        if (Sd.preprocess_canny(image, high, low, weak, strong, inverse ? (byte)1 : (byte)0) == 0)
            throw scope.Failure("stable-diffusion.cpp could not run the Canny preprocessor.");
        return SdContext.Copy(image) ?? throw scope.Failure("The Canny preprocessor returned no image.");
    }
}

/// <summary>
/// Upstream's importance-matrix (imatrix) state: one collector per process, fed by every generation while enabled,
/// and one loaded matrix that conversions use. Serialized with model loading, which reads it.
/// </summary>
internal static unsafe class NativeImatrix
{
    public static void Enable(bool on)
    {
        NativeRuntimeLoader.EnsureLoaded();
        lock (NativeLocks.ModelLoading)
        {
            if (on) Sd.enable_imatrix_collection();
            else Sd.disable_imatrix_collection();
        }
    }

    public static void Save(string path, ILogger? logger)
    {
        using var arena = new NativeArena();
        using var scope = NativeCallScope.Enter(logger);
        lock (NativeLocks.ModelLoading) Sd.save_imatrix(arena.FilePath(path));
        if (scope.Problems.Any(p => p.StartsWith("error:", StringComparison.Ordinal)))
            throw scope.Failure($"stable-diffusion.cpp could not save the importance matrix to '{path}'.");
    }

    /// <summary>
    /// Empties upstream's statistics. Upstream has no call for it, but its loader resets them whenever a file is
    /// malformed: a one-entry file with zero values is that file, and nothing else in the process is touched.
    /// </summary>
    public static void Clear()
    {
        string temp = Path.Combine(Path.GetTempPath(), "sdnet-imatrix-reset-" + Environment.ProcessId + ".dat");
        using (var w = new BinaryWriter(File.Create(temp)))
        {
            w.Write(1); // entries
            w.Write(1); // name length
            w.Write((byte)'x');
            w.Write(0); // calls
            w.Write(0); // values: invalid, so upstream clears its statistics and returns false
        }
        try
        {
            using var arena = new NativeArena();
            using var scope = NativeCallScope.Enter(null);
            lock (NativeLocks.ModelLoading) Sd.load_imatrix(arena.FilePath(temp));
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <exception cref="GenerationException">Upstream could not read the file.</exception>
    public static void Load(string path, ILogger? logger)
    {
        NativeRuntimeLoader.EnsureLoaded();
        using var arena = new NativeArena();
        using var scope = NativeCallScope.Enter(logger);
        bool ok;
        lock (NativeLocks.ModelLoading) ok = Sd.load_imatrix(arena.FilePath(path)) != 0;
        if (!ok) throw scope.Failure($"stable-diffusion.cpp could not load the importance matrix '{path}'.");
    }
}
