using System.Globalization;
using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native;

/// <summary>
/// The least working memory a generation of a given size needs, from the loaded model's attention layers. Upstream's
/// attention without flash attention holds the whole score matrix, 4 bytes × positions² × heads, so the memory grows with
/// the fourth power of the side: SD 1.x at 1280×1280 wants some 21 GB in its first UNet level. Where the operating system
/// overcommits, such an allocation succeeds and the process is killed when the pages are touched. Refusing a generation
/// whose lower bound exceeds the memory the process can still get keeps it alive.
/// </summary>
/// <param name="PixelsPerPosition">The side in pixels of one position of the diffusion model's widest attention: 8 for the
/// first UNet level of SD 1.x/2.x, 16 for SDXL's and for the diffusion transformers (a 2×2 patch of an 8× latent); 0 when
/// none is known.</param>
/// <param name="Heads">Attention heads there.</param>
/// <param name="Network">"UNet" or "diffusion transformer", for the message.</param>
/// <param name="VaeAttention">The VAE decoder has its one-head mid-block attention over every latent position.</param>
internal sealed record AttentionProfile(int PixelsPerPosition, int Heads, string Network, bool VaeAttention)
{
    /// <summary>No attention layer this estimate knows: nothing is refused.</summary>
    public static AttentionProfile None { get; } = new(0, 0, "", false);

    /// <summary>Reads the profile from the tensors of the files a load opens (the checkpoint, a separate diffusion model, a separate VAE).</summary>
    public static AttentionProfile Of(ModelFile? checkpoint, ModelFile? diffusion, ModelFile? vae)
    {
        (int Pixels, int Heads, string Network) widest = (0, 0, "");
        foreach (var file in new[] { diffusion, checkpoint })
        {
            if (file is null || widest.Pixels > 0) continue;
            widest = WidestAttention([.. file.GetTensorDescriptors()]);
        }
        bool vaeAttention = new[] { vae, checkpoint }.Any(f => f is not null && f.GetTensorDescriptors().Any(t =>
            t.Name.EndsWith("decoder.mid.attn_1.q.weight", StringComparison.Ordinal)
            || t.Name.EndsWith("decoder.mid_block.attentions.0.to_q.weight", StringComparison.Ordinal)));
        return new AttentionProfile(widest.Pixels, widest.Heads, widest.Network, vaeAttention);
    }

    /// <summary>
    /// The UNet's first attention level (input block i sits at level (i − 1) / 3 of the LDM layout, downsampled 2^level;
    /// heads as upstream's UNet: 8 for SD 1.x with its 768-wide context, one per 64 channels for SD 2.x and SDXL), or a
    /// diffusion transformer's joint attention over its image tokens, with heads as upstream sets them from the width:
    /// one per 128 channels for Flux, Flux.2, Qwen-Image and Z-Image, one per 64 for SD3. Text tokens are left out: the
    /// bound stays a lower one.
    /// </summary>
    private static (int Pixels, int Heads, string Network) WidestAttention(IReadOnlyList<TensorDescriptor> tensors)
    {
        for (int block = 1; block <= 11; block++)
        {
            string prefix = $"input_blocks.{block}.1.transformer_blocks.0.";
            var q = Find(tensors, prefix + "attn1.to_q.weight");
            if (q.Ne is null) continue;
            var k = Find(tensors, prefix + "attn2.to_k.weight");
            long heads = k.Ne is not null && k.Ne[0] == 768 ? 8 : q.Ne[1] / 64;
            return (8 << ((block - 1) / 3), HeadCount(heads), "UNet");
        }
        foreach (var (name, headWidth) in new[]
        {
            ("double_blocks.0.img_attn.qkv.weight", 128), // Flux, Flux.2, Chroma
            ("transformer_blocks.0.attn.to_q.weight", 128), // Qwen-Image
            ("layers.0.attention.qkv.weight", 128), // Z-Image
            ("joint_blocks.0.x_block.attn.qkv.weight", 64), // SD3
        })
        {
            var t = Find(tensors, name);
            if (t.Ne is not null) return (16, HeadCount(t.Ne[0] / headWidth), "diffusion transformer");
        }
        return (0, 0, "");
    }

    private static int HeadCount(long heads) => (int)Math.Clamp(heads, 1, 1024);

    private static TensorDescriptor Find(IReadOnlyList<TensorDescriptor> tensors, string suffix)
        => tensors.FirstOrDefault(t => t.Name.EndsWith(suffix, StringComparison.Ordinal) && t.Ne.Length >= 2);
}

/// <summary>Estimates a generation's least working memory and what the process can still get.</summary>
internal static class ComputeMemory
{
    /// <summary>One attention score matrix in bytes: 4 × positions² × heads.</summary>
    public static double ScoreMatrixBytes(double positions, int heads) => 4.0 * positions * positions * heads;

    /// <summary>
    /// The largest attention score matrix a <paramref name="width"/>×<paramref name="height"/> generation computes: the
    /// diffusion model's widest attention (unless flash attention runs there) or the VAE decoder's (unless the decode is tiled,
    /// a TAESD decodes, or flash attention runs in the VAE). Each is allocated whole, one image at a time; what else a
    /// generation holds only adds to it, so this is a lower bound.
    /// </summary>
    public static (double Bytes, string What) LowerBound(AttentionProfile profile, GeneratorOptions options, int width, int height, bool vaeTiled)
    {
        double best = 0;
        string what = "";
        double latent = Math.Ceiling(width / 8.0) * Math.Ceiling(height / 8.0);
        bool diffusionFlash = options.FlashAttention == true || options.DiffusionFlashAttention == true;
        if (profile.PixelsPerPosition > 0 && !diffusionFlash)
        {
            int p = profile.PixelsPerPosition;
            double positions = Math.Ceiling(width / (double)p) * Math.Ceiling(height / (double)p);
            best = ScoreMatrixBytes(positions, profile.Heads);
            what = $"the {profile.Network}'s attention ({profile.Heads} heads over {positions.ToString("F0", CultureInfo.InvariantCulture)} positions)";
        }
        bool taesdDecodes = options.TaesdPath is not null && options.TaePreviewOnly != true;
        if (profile.VaeAttention && !vaeTiled && !taesdDecodes && options.FlashAttention != true)
        {
            double vae = ScoreMatrixBytes(latent, 1);
            if (vae > best)
            {
                best = vae;
                what = $"the VAE decoder's attention (1 head over {latent.ToString("F0", CultureInfo.InvariantCulture)} positions)";
            }
        }
        return (best, what);
    }

    /// <summary>
    /// Refuses the generation when its least working memory exceeds what the process can get now.
    /// </summary>
    /// <exception cref="GenerationTooLargeException">It does not fit.</exception>
    public static void EnsureFits(AttentionProfile profile, GeneratorOptions options, int width, int height, bool vaeTiled)
    {
        var (need, what) = LowerBound(profile, options, width, height, vaeTiled);
        if (need <= 0) return;
        long available = AvailableMemory.Bytes();
        if (need <= available) return;
        string hint = what.StartsWith("the VAE", StringComparison.Ordinal)
            ? "VAE tiling (ImageRequest.VaeTiling) or FlashAttention"
            : "GeneratorOptions.DiffusionFlashAttention (or FlashAttention)";
        throw new GenerationTooLargeException(
            $"A {width}x{height} generation needs at least {Gb(need)} of working memory for {what}, and this process can get {Gb(available)} now. "
            + $"Generate smaller (the need grows with the fourth power of the side), or use {hint}, which computes attention without the whole score matrix.",
            (long)Math.Min(need, long.MaxValue), available);
    }

    private static string Gb(double bytes) => (bytes / 1e9).ToString("F1", CultureInfo.InvariantCulture) + " GB";
}

/// <summary>
/// What the process can still allocate without being killed: on Linux the kernel's MemAvailable plus free swap, within
/// the memory cgroup's limit (v1 or v2) less what the group holds beyond reclaimable file pages; elsewhere the GC's view
/// (the physical memory, or a container's limit, less the load at the last collection).
/// </summary>
internal static class AvailableMemory
{
    public static long Bytes()
    {
        if (OperatingSystem.IsLinux() && Linux() is long linux) return linux;
        var info = GC.GetGCMemoryInfo();
        return Math.Max(0, info.TotalAvailableMemoryBytes - info.MemoryLoadBytes);
    }

    private static long? Linux()
    {
        try
        {
            long? available = null, swapFree = null;
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)) available = Kib(line);
                else if (line.StartsWith("SwapFree:", StringComparison.Ordinal)) swapFree = Kib(line);
            }
            if (available is not long bytes) return null;
            bytes += swapFree ?? 0;
            if (CgroupRoom() is long room) bytes = Math.Min(bytes, room);
            return Math.Max(0, bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
    }

    private static long? Kib(string line)
    {
        string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long kib) ? kib * 1024 : null;
    }

    /// <summary>The room left under the memory cgroup's limit: limit − (usage − inactive file pages), or null when unlimited.</summary>
    private static long? CgroupRoom()
    {
        foreach (string line in File.ReadLines("/proc/self/cgroup"))
        {
            string[] parts = line.Split(':', 3);
            if (parts.Length != 3) continue;
            string path = parts[2].TrimStart('/');
            if (parts[0] == "0" && parts[1].Length == 0)
            {
                string dir = Path.Combine("/sys/fs/cgroup", path);
                if (Room(Path.Combine(dir, "memory.max"), Path.Combine(dir, "memory.current"), Path.Combine(dir, "memory.stat"), "inactive_file") is long v2) return v2;
            }
            else if (parts[1].Split(',').Contains("memory"))
            {
                string dir = Path.Combine("/sys/fs/cgroup/memory", path);
                if (Room(Path.Combine(dir, "memory.limit_in_bytes"), Path.Combine(dir, "memory.usage_in_bytes"), Path.Combine(dir, "memory.stat"), "total_inactive_file") is long v1) return v1;
            }
        }
        return null;
    }

    private static long? Room(string limitFile, string usageFile, string statFile, string inactiveKey)
    {
        if (!File.Exists(limitFile) || !File.Exists(usageFile)) return null;
        string limitText = File.ReadAllText(limitFile).Trim();
        // "max" (v2) or a page-rounded long.MaxValue (v1): no limit.
        if (!long.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out long limit) || limit >= long.MaxValue / 2) return null;
        long usage = long.Parse(File.ReadAllText(usageFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture);
        long inactive = 0;
        if (File.Exists(statFile))
        {
            foreach (string line in File.ReadLines(statFile))
            {
                string[] kv = line.Split(' ');
                if (kv.Length == 2 && kv[0] == inactiveKey && long.TryParse(kv[1], NumberStyles.None, CultureInfo.InvariantCulture, out long v)) inactive = v;
            }
        }
        return Math.Max(0, limit - Math.Max(0, usage - inactive));
    }
}
