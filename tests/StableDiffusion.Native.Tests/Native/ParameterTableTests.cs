using System.Collections;
using System.Reflection;
using System.Text;
using StableDiffusion.Native.Imaging;
using StableDiffusion.Native.Interop;
using StableDiffusion.Native.Native;

namespace StableDiffusion.Native.Tests.Native;

/// <summary>
/// docs/parameters.md is generated from the code, and this test holds the file to it. Every public setting of the records
/// the mappers read is changed on its own (to another value, and to null or empty where it can be), both versions are
/// mapped over the same struct, and the struct fields that differ are the ones that setting reaches. The table lists,
/// for every field of every public parameter struct at the pin, the settings that reach it; a field no setting reaches,
/// or a table that no longer matches, fails. Set <c>SDNET_WRITE_PARAMETERS_DOC=1</c> to rewrite the file.
/// </summary>
public sealed unsafe class ParameterTableTests
{
    private const string WriteVariable = "SDNET_WRITE_PARAMETERS_DOC";

    /// <summary>The structs in the order the document shows them.</summary>
    private static readonly Type[] Structs =
    [
        typeof(sd_ctx_params_t), typeof(sd_embedding_t), typeof(sd_img_gen_params_t), typeof(sd_vid_gen_params_t), typeof(sd_sample_params_t),
        typeof(sd_guidance_params_t), typeof(sd_slg_params_t), typeof(sd_tiling_params_t), typeof(sd_cache_params_t), typeof(sd_hires_params_t),
        typeof(sd_pm_params_t), typeof(sd_pulid_params_t), typeof(sd_lora_t), typeof(sd_adetailer_params_t), typeof(sd_image_t), typeof(sd_audio_t),
        typeof(sd_ref_video_t),
    ];

    private static readonly DetailerRequest AllDetailer = new()
    {
        Inpaint = FieldCoverageTests.AllRequest, Prompt = "a face", NegativePrompt = "blurry", InputSize = 640, Confidence = 0.5f, NmsThreshold = 0.4f,
        MaxDetections = 5, MaskKLargest = 2, MaskMinRatio = 0.1f, MaskMaxRatio = 0.9f, DilateErode = 4, XOffset = 2, YOffset = 3,
        MaskMode = DetectionMaskMode.Merge, MaskBlur = 4, InpaintPadding = 32, Steps = 12,
    };

    private static readonly Lazy<Table> s_table = new(Build);

    [Fact]
    public void Every_field_of_every_struct_is_reached_by_a_setting()
    {
        var table = s_table.Value;
        var unreached = table.Fields.Where(f => table.Reached[f].Count == 0).ToList();
        Assert.True(unreached.Count == 0, "no setting reaches: " + string.Join(", ", unreached));
        Assert.True(table.Fields.Count >= 191, $"{table.Fields.Count} fields counted; the pin's structs have 191.");
    }

    [Fact]
    public void Each_setting_reaches_only_its_own_fields()
    {
        // Spot checks of the one-to-one mapping the table is made of: a swapped pair of fields would show here.
        // (Unsetting the whole record, as VideoRequest.HighNoiseSampling = null does, reaches all of its fields.)
        var reached = s_table.Value.Reached;
        Assert.Equal(["SamplingOptions.FlowShift", "VideoRequest.HighNoiseSampling"], reached["sd_sample_params_t.flow_shift"]);
        Assert.Equal(["ImageRequest.Cache", "StepCacheOptions.SpectrumWeight", "VideoRequest.Cache"], reached["sd_cache_params_t.spectrum_w"]);
        Assert.Equal(["ImageRequest.Cache", "StepCacheOptions.FirstComputeBlocks", "VideoRequest.Cache"], reached["sd_cache_params_t.Fn_compute_blocks"]);
        Assert.Equal(["GeneratorOptions.FlashAttention"], reached["sd_ctx_params_t.flash_attn"]);
        Assert.Equal(["GeneratorOptions.DiffusionFlashAttention", "GeneratorOptions.FlashAttention"], reached["sd_ctx_params_t.diffusion_flash_attn"]);
        Assert.Equal(["HiresFix.DenoisingStrength", "ImageRequest.Hires", "VideoRequest.Hires"], reached["sd_hires_params_t.denoising_strength"]);
        Assert.Equal(["ImageRequest.VaeTiling", "VaeTilingOptions.Spatial", "ImageRequest.VaeTilingOptions", "VideoRequest.VaeTiling", "VideoRequest.VaeTilingOptions"],
            reached["sd_tiling_params_t.enabled"]);
    }

    [Fact]
    public void The_parameters_document_is_the_generated_one()
    {
        string path = Path.Combine(Layering.LayeringProbe.Checkout(), "docs", "parameters.md");
        string expected = Render(s_table.Value);
        if (Environment.GetEnvironmentVariable(WriteVariable) == "1") File.WriteAllText(path, expected);
        string actual = File.ReadAllText(path).ReplaceLineEndings("\n");
        Assert.True(actual == expected,
            $"docs/parameters.md is not what the code maps; regenerate it with {WriteVariable}=1 dotnet test --filter ParameterTableTests. First difference at line "
            + FirstDifference(actual, expected));
    }

    private sealed record Table(List<string> Fields, Dictionary<string, SortedSet<string>> Reached, SortedSet<string> ManagedOnly);

    private static Table Build()
    {
        var fields = Structs.SelectMany(s => s.GetFields(BindingFlags.Public | BindingFlags.Instance).Select(f => s.Name + "." + f.Name)).ToList();
        var reached = fields.ToDictionary(f => f, _ => new SortedSet<string>(StringComparer.Ordinal));
        var settings = new SortedSet<string>(StringComparer.Ordinal);
        var reaching = new HashSet<string>();
        void Run<T>(T baseline, Func<T, NativeArena, object> map) where T : class
        {
            using var arena = new NativeArena();
            object before = map(baseline, arena);
            foreach (var (setting, variant) in Variants(baseline))
            {
                settings.Add(setting);
                object after;
                try
                {
                    after = map((T)variant, arena);
                }
                catch (ArgumentException)
                {
                    continue; // a value the record refuses (the detailer's ranges): another variant of the setting shows it
                }
                var changed = new HashSet<string>();
                Diff(before, after, changed);
                foreach (string field in changed)
                {
                    if (!reached.TryGetValue(field, out var set)) throw new InvalidOperationException($"{field} is not in the document's structs");
                    set.Add(setting);
                    reaching.Add(setting);
                }
            }
        }
        // From everything set, and from the defaults: a setting that only shows when another is unset (VaeTiling without
        // VaeTilingOptions) is found from the second.
        foreach (var options in new[] { FieldCoverageTests.AllOptions, new GeneratorOptions { ModelPath = "m.safetensors" } })
        {
            Run(options, (o, arena) =>
            {
                var p = Filled<sd_ctx_params_t>();
                ContextParamsMapper.Map(o, arena, ref p);
                return p;
            });
        }
        foreach (var request in new[] { FieldCoverageTests.AllRequest, new ImageRequest() })
        {
            Run(request, (r, arena) =>
            {
                var p = Filled<sd_img_gen_params_t>();
                ImageGenParamsMapper.Map(r, arena, ref p);
                return p;
            });
        }
        foreach (var video in new[] { FieldCoverageTests.AllVideo, new VideoRequest() })
        {
            Run(video, (r, arena) =>
            {
                var p = Filled<sd_vid_gen_params_t>();
                VideoGenParamsMapper.Map(r, arena, ref p);
                return p;
            });
        }
        foreach (var detailer in new[] { AllDetailer, new DetailerRequest() })
        {
            Run(detailer, (r, arena) =>
            {
                // What DetailerContext maps: the detailer's own struct, and its inpainting template as an image request.
                var ad = Filled<sd_adetailer_params_t>();
                DetailerParamsMapper.Map(r.Prompt, r.NegativePrompt, Detailer.ExtraArgs(r), arena, ref ad);
                var p = Filled<sd_img_gen_params_t>();
                ImageGenParamsMapper.Map(r.Inpaint, arena, ref p);
                return (ad, p);
            });
        }
        settings.ExceptWith(reaching);
        return new Table(fields, reached, settings);
    }

    /// <summary>Every single-setting change of a record: its leaf settings (recursively through nested records), each changed and, where it can be, emptied.</summary>
    private static IEnumerable<(string Setting, object Variant)> Variants(object record)
    {
        foreach (var property in record.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }))
        {
            var type = property.PropertyType;
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IProgress<>) || type.Name == "ILogger") continue;
            object? value = property.GetValue(record);
            string name = property.DeclaringType!.Name + "." + property.Name;
            bool canBeNull = s_nullability.Create(property).WriteState == NullabilityState.Nullable;
            foreach (var (setting, changed) in ValueVariants(name, type, value, canBeNull)) yield return (setting, With(record, property, changed));
        }
    }

    private static readonly NullabilityInfoContext s_nullability = new();

    private static IEnumerable<(string Setting, object? Value)> ValueVariants(string name, Type type, object? value, bool canBeNull)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (canBeNull && value is not null) yield return (name, null);
        if (IsRecord(underlying))
        {
            if (value is null) yield break;
            foreach (var variant in Variants(value)) yield return variant;
            yield break;
        }
        if (IsList(type))
        {
            var items = ((IEnumerable)value!).Cast<object?>().ToList();
            var element = type.GetGenericArguments()[0];
            yield return (name, List(element, []));
            // An empty list of records gains an element from the everything-set baseline instead.
            if (items.Count > 0 || !IsRecord(element)) yield return (name, List(element, [.. items, items.Count > 0 ? items[^1] : Sample(element)]));
            if (items.Count > 0)
            {
                foreach (var (setting, first) in ValueVariants(name, element, items[0], canBeNull: false))
                    yield return (setting, List(element, [first, .. items.Skip(1)]));
            }
            yield break;
        }
        if (IsDictionary(type))
        {
            var args = type.GetGenericArguments();
            var dictionary = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(args))!;
            yield return (name, dictionary);
            var more = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(args))!;
            foreach (object pair in (IEnumerable)value!)
                more[pair.GetType().GetProperty("Key")!.GetValue(pair)!] = pair.GetType().GetProperty("Value")!.GetValue(pair);
            object key = args[0] == typeof(string) ? "zz_probe" : Enum.GetValues(args[0]).Cast<object>().First(k => !more.Contains(k));
            more[key] = args[1] == typeof(string) ? "1" : Enum.GetValues(args[1]).GetValue(0)!;
            yield return (name, more);
            yield break;
        }
        foreach (var changed in Changed(underlying, value)) yield return (name, changed);
    }

    /// <summary>Other values of a leaf setting, a few in case the record refuses one.</summary>
    private static IEnumerable<object> Changed(Type type, object? value)
    {
        if (type == typeof(int)) return value is int i ? [i + 1, i - 1, i + 32, i * 2 + 64] : [1, 32];
        if (type == typeof(long)) return [value is long l ? l + 1 : 1L];
        if (type == typeof(float)) return value is float f ? [f + 0.25f, f / 2] : [0.5f];
        if (type == typeof(bool)) return [value is bool b ? !b : true];
        if (type == typeof(string)) return [value is string s ? s + "x" : "probe.safetensors"];
        if (type.IsEnum)
        {
            var all = Enum.GetValues(type).Cast<object>().ToList();
            return [all[(value is null ? 0 : all.IndexOf(value) + 1) % all.Count]];
        }
        if (type == typeof(ImageBuffer))
        {
            var image = value as ImageBuffer;
            return [ImageBuffer.Filled(image?.Format ?? PixelFormat.Rgb24, (image?.Width ?? 8) + 8, (image?.Height ?? 8) + 8, image?.Format == PixelFormat.Gray8 ? [7] : [7, 7, 7])];
        }
        if (type == typeof(AudioBuffer))
        {
            var audio = value as AudioBuffer;
            return [AudioBuffer.FromSamples((audio?.SampleRate ?? 16000) + 1, audio?.Channels == 1 ? 2 : 1, [0.25f, 0.25f, -0.25f, -0.25f])];
        }
        throw new InvalidOperationException($"no variant for a {type}");
    }

    private static object Sample(Type element) => Changed(element, null).First();

    private static bool IsRecord(Type type) => type.Assembly == typeof(ImageRequest).Assembly && type.IsClass && type.GetMethod("<Clone>$") is not null;

    private static bool IsList(Type type) => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>);

    private static bool IsDictionary(Type type) => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>);

    private static object List(Type element, List<object?> items)
    {
        var array = Array.CreateInstance(element, items.Count);
        for (int i = 0; i < items.Count; i++) array.SetValue(items[i], i);
        return array;
    }

    private static object With(object record, PropertyInfo property, object? value)
    {
        object clone = record.GetType().GetMethod("<Clone>$")!.Invoke(record, null)!;
        property.SetValue(clone, value);
        return clone;
    }

    /// <summary>A zeroed struct: both versions of a setting are mapped over the same one, and a field neither writes stays null.</summary>
    private static T Filled<T>() where T : unmanaged => default;

    /// <summary>The fields ("struct.field") that differ, following pointers to what they point at (its first element).</summary>
    private static bool Diff(object before, object after, HashSet<string> changed)
    {
        if (before is System.Runtime.CompilerServices.ITuple tb && after is System.Runtime.CompilerServices.ITuple ta)
        {
            bool anyOf = false;
            for (int i = 0; i < tb.Length; i++) anyOf |= Diff(tb[i]!, ta[i]!, changed);
            return anyOf;
        }
        bool any = false;
        foreach (var f in before.GetType().GetFields(BindingFlags.Public | BindingFlags.Instance))
        {
            string name = before.GetType().Name + "." + f.Name;
            bool differs = FieldDiffers(f.FieldType, f.GetValue(before), f.GetValue(after), changed);
            if (differs) changed.Add(name);
            any |= differs;
        }
        return any;
    }

    private static bool FieldDiffers(Type type, object? a, object? b, HashSet<string> changed)
    {
        if (type.IsPointer)
        {
            void* pa = Pointer.Unbox(a!), pb = Pointer.Unbox(b!);
            if (pa == pb) return false;
            if (pa == null || pb == null) return true;
            var element = type.GetElementType()!;
            if (element == typeof(sbyte))
                return System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)pa) != System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)pb);
            if (element.IsPointer) return FieldDiffers(element, Pointer.Box(*(void**)pa, element), Pointer.Box(*(void**)pb, element), changed);
            if (element == typeof(void)) return pa != pb;
            object ea = System.Runtime.InteropServices.Marshal.PtrToStructure((nint)pa, element)!;
            object eb = System.Runtime.InteropServices.Marshal.PtrToStructure((nint)pb, element)!;
            return element.IsPrimitive ? !Equals(ea, eb) : Diff(ea, eb, changed);
        }
        if (type.IsValueType && !type.IsPrimitive && !type.IsEnum) return Diff(a!, b!, changed);
        return !Equals(a, b);
    }

    private static string Render(Table table)
    {
        var text = new StringBuilder();
        int total = table.Fields.Count;
        text.Append("# Upstream parameters in C#\n\n");
        text.Append($"Every field of the public parameter structs of stable-diffusion.cpp at the pin ({total} fields) and the C# settings that reach it.\n");
        text.Append("Generated by `ParameterTableTests` from the mappers themselves: each setting of the public records is changed on its own, both\n");
        text.Append("versions are mapped, and the fields that differ are the ones it reaches (so a count travels with its collection, and an\n");
        text.Append("argument string such as `extra_sample_args` lists every typed setting composed into it). Upstream's `key=value` strings\n");
        text.Append("(`model_args`, `extra_sample_args`, `extra_tiling_args`, `ref_image_args`, `extra_ad_args`, `scm_mask`, `split_mode`) are\n");
        text.Append("built from typed settings in one place (`Native/UpstreamArgs`); the `ExtraArguments`-style dictionaries carry only keys a\n");
        text.Append("newer runtime may add, are checked so no pair can split another, and refuse the typed keys.\n\n");
        text.Append("| struct | fields | reached |\n|---|---|---|\n");
        foreach (var s in Structs)
        {
            var rows = table.Fields.Where(f => f.StartsWith(s.Name + ".", StringComparison.Ordinal)).ToList();
            text.Append($"| `{s.Name}` | {rows.Count} | {rows.Count(r => table.Reached[r].Count > 0)} |\n");
        }
        text.Append($"| **total** | **{total}** | **{table.Fields.Count(f => table.Reached[f].Count > 0)}** |\n");
        foreach (var s in Structs)
        {
            text.Append($"\n## `{s.Name}`\n\n| field | C# |\n|---|---|\n");
            foreach (string field in table.Fields.Where(f => f.StartsWith(s.Name + ".", StringComparison.Ordinal)))
            {
                var settings = table.Reached[field];
                text.Append($"| `{field[(s.Name.Length + 1)..]}` | {(settings.Count == 0 ? "—" : string.Join(", ", settings.Select(x => $"`{x}`")))} |\n");
            }
        }
        text.Append("\n## Settings that reach no struct\n\nManaged-only: they steer the library (callbacks, caching, checks) rather than a field.\n\n");
        foreach (string setting in table.ManagedOnly) text.Append($"- `{setting}`\n");
        return text.ToString();
    }

    private static int FirstDifference(string actual, string expected)
    {
        var a = actual.Split('\n');
        var e = expected.Split('\n');
        for (int i = 0; i < Math.Min(a.Length, e.Length); i++)
        {
            if (a[i] != e[i]) return i + 1;
        }
        return Math.Min(a.Length, e.Length) + 1;
    }
}
