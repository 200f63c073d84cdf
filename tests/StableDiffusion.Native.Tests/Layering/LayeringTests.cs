using Microsoft.CodeAnalysis;

namespace StableDiffusion.Native.Tests.Layering;

/// <summary>
/// The rooms of the core library and the one direction they depend in, checked on its source with the compiler's own
/// binding (method bodies and documentation crefs count, not only signatures). Bottom first:
/// <list type="number">
/// <item>Interop: the generated bindings.</item>
/// <item>Names: the root's vocabulary of names (the sampler and scheduler enums and their names, upstream's other
/// enums, the exception family), declared below by name; they use nothing above them.</item>
/// <item>Imaging, then ModelFiles: pure managed pixels, PNG and audio; model files and the user's folders.</item>
/// <item>Records: the public options and requests, each upstream setting declared once with its bounds (and the
/// one guard that checks them), and the runtime's facts the loader fills in; declared below by name.</item>
/// <item>Native: the only room that touches pointers; it maps the records straight into upstream's structs.</item>
/// <item>Hub, Quantization, then the generation API (the rest of the root).</item>
/// </list>
/// A room may use the rooms before it, never one after it.
/// </summary>
public sealed class LayeringTests
{
    private const string Core = "StableDiffusion.Native";

    /// <summary>The rooms, bottom first. Names and Records are root types listed in <see cref="Names"/> and <see cref="Records"/>.</summary>
    private static readonly string[] Rooms = ["Interop", "Names", "Imaging", "ModelFiles", "Records", "Native", "Hub", "Quantization", ""];

    /// <summary>Root types that every room may use: names and the exception family. Each is pinned so the rule cannot drift.</summary>
    internal static readonly string[] Names =
    [
        "Sampler", "Scheduler", "SamplingNames", "LoraApplyMode", "RngType", "Prediction", "VaeFormat", "SplitMode", "ModelModule",
        "CacheMode", "PreviewMode", "HiresUpscaler", "ReferenceImagePreset", "ReferenceIndexMode", "VlmResizeMode",
        "StableDiffusionException", "GenerationException", "NativeRuntimeException", "NativeAbiMismatchException", "NativeProbe",
    ];

    /// <summary>The public records (and their one guard) that Native maps straight into upstream's structs.</summary>
    internal static readonly string[] Records =
    [
        "GeneratorOptions", "Embedding", "LoraReference", "ImageRequest", "VideoRequest", "SamplingOptions", "SkipLayerGuidance",
        "AdaptiveProjectedGuidance", "VaeTilingOptions", "StepCacheOptions", "HiresFix", "PhotoMakerOptions", "PulidOptions", "PreviewOptions",
        "ReferenceImageOptions", "ReferenceVideo", "PreviewFrame", "QuantizationCacheMode",
        "BoundsAttribute", "Guard",
        "NativeRuntimeInfo", "NativeDevice", "NativeModule", "GpuBackendStatus", "BackendSelector", "GpuUnavailableException",
    ];

    private static readonly Lazy<(LayeringProbe Probe, IReadOnlyList<TypeUse> Uses, IReadOnlyList<string> Unsafe)> s_core = new(() =>
    {
        var probe = new LayeringProbe(Core, (type, room) => room.Length > 0 ? room
            : Names.Contains(type.Name) ? "Names" : Records.Contains(type.Name) ? "Records" : room);
        // The framework the tests run on, plus the library's own package dependencies (loaded beside it).
        var (uses, unsafeFiles) = probe.Analyze(probe.TrustedReferences(n => n.StartsWith("System.", StringComparison.Ordinal)
            || n is "mscorlib.dll" or "netstandard.dll" or "Microsoft.Win32.Primitives.dll"
            || n.StartsWith("Microsoft.Extensions.Logging", StringComparison.Ordinal) || n.StartsWith("CommunityToolkit.", StringComparison.Ordinal)));
        return (probe, uses, unsafeFiles);
    });

    [Fact]
    public void Every_namespace_equals_its_folder_in_every_project()
    {
        var projects = Directory.GetDirectories(Path.Combine(LayeringProbe.Checkout(), "src")).Select(Path.GetFileName).ToList();
        Assert.Contains("StableDiffusion.Native.Cli", projects);
        Assert.Contains("StableDiffusion.Native.AI", projects);
        var wrong = projects.Where(p => Directory.EnumerateFiles(Path.Combine(LayeringProbe.Checkout(), "src", p!), "*.csproj").Any())
            .SelectMany(p => new LayeringProbe(p!).NamespaceMismatches().Select(m => p + "/" + m))
            // Dependency-injection registrations live where the container's own do, so AddX() is found without a using.
            .Where(m => !m.EndsWith("namespace Microsoft.Extensions.DependencyInjection, folder says StableDiffusion.Native.AI", StringComparison.Ordinal)).ToList();
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void Every_folder_is_a_known_room()
        => Assert.DoesNotContain(new LayeringProbe(Core).Folders(), f => !Rooms.Contains(f) || f is "Names" or "Records");

    [Fact]
    public void Rooms_depend_only_on_rooms_below_them()
    {
        var (_, uses, _) = s_core.Value;
        Assert.True(uses.Count > 500, $"the analysis saw only {uses.Count} cross-room uses: it is not looking");
        Assert.Contains(uses, u => u.InCref);
        var violations = uses.Where(u => Rank(u.FromRoom) < Rank(u.ToRoom) && u.FromType != u.ToType)
            .Select(u => $"{u.FromType} ({Name(u.FromRoom)}) uses {u.ToType} ({Name(u.ToRoom)}) at {u.Location}{(u.InCref ? " (cref)" : "")}")
            .Distinct().Order().ToList();
        Assert.True(violations.Count == 0, $"{violations.Count} uses climb upward:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void Native_maps_the_public_records_themselves()
    {
        // No mirror between the records and the mappers: Native reads the records that users build.
        var uses = s_core.Value.Uses.Where(u => u.FromRoom == "Native" && u.ToRoom == "Records").Select(u => u.ToType).ToHashSet();
        foreach (string record in new[] { "GeneratorOptions", "ImageRequest", "VideoRequest", "SamplingOptions", "StepCacheOptions", "VaeTilingOptions", "HiresFix" })
            Assert.Contains($"{Core}.{record}", uses);
    }

    [Fact]
    public void The_declared_vocabulary_exists_and_is_used_from_below()
    {
        var root = s_core.Value.Probe.RootTypes().ToHashSet();
        var stale = Names.Concat(Records).Where(n => !root.Contains($"{Core}.{n}")).ToList();
        Assert.Empty(stale);
        // A declared type that no folder room below the generation API needs, directly or through another declared type,
        // does not need the exception: it belongs to the generation API.
        var uses = s_core.Value.Uses;
        var needed = uses.Where(u => u.FromRoom is not ("" or "Names" or "Records") && u.ToRoom is "Names" or "Records").Select(u => u.ToType).ToHashSet();
        for (int before = -1; before != needed.Count;)
        {
            before = needed.Count;
            needed.UnionWith(uses.Where(u => needed.Contains(u.FromType) && u.ToRoom is "Names" or "Records").Select(u => u.ToType).ToList());
        }
        var unneeded = Names.Concat(Records).Where(n => !needed.Contains($"{Core}.{n}")).ToList();
        Assert.True(unneeded.Count == 0, "declared but not needed below the generation API: " + string.Join(", ", unneeded));
    }

    [Fact]
    public void Only_Native_and_Interop_touch_pointers_or_the_interop_types()
    {
        var (_, uses, unsafeFiles) = s_core.Value;
        var leaks = uses.Where(u => u.ToRoom == "Interop" && u.FromRoom is not ("Interop" or "Native"))
            .Select(u => $"{u.FromType} uses {u.ToType} at {u.Location}").Distinct().ToList();
        Assert.Empty(leaks);
        Assert.DoesNotContain(unsafeFiles, u => !u.StartsWith("Interop", StringComparison.Ordinal) && !u.StartsWith("Native", StringComparison.Ordinal));
    }

    private static int Rank(string room) => Array.IndexOf(Rooms, room);

    private static string Name(string room) => room.Length == 0 ? "generation API" : room;
}
