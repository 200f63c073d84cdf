using System.Runtime.InteropServices;
using StableDiffusion.Native.Interop;
using StableDiffusion.Native.Tests.Integration;

using StableDiffusion.Native.Native;

namespace StableDiffusion.Native.Tests.Native;

/// <summary>The ABI check against the real runtime: its facts equal the bindings', and one altered fact is refused.</summary>
[Collection(NativeCollection.Name)]
public sealed class LiveAbiTests
{
    private static unsafe (string Commit, Dictionary<string, long> Facts) ReadRuntime()
    {
        string commit = Marshal.PtrToStringUTF8((nint)SdnetShim.sdnet_sd_commit()) ?? "";
        int n = SdnetShim.sdnet_abi_fact_count();
        sdnet_abi_fact_t* p = SdnetShim.sdnet_abi_facts();
        var facts = new Dictionary<string, long>(n, StringComparer.Ordinal);
        for (int i = 0; i < n; i++) facts.Add(Marshal.PtrToStringUTF8((nint)p[i].name)!, p[i].value);
        return (commit, facts);
    }

    [SkippableFact]
    public void The_runtime_reports_exactly_the_facts_of_the_bindings()
    {
        var info = NativeTestEnvironment.Require();
        var (commit, facts) = ReadRuntime();

        Assert.Equal(Sd.UpstreamCommit, commit);
        Assert.Equal(info.SdCommit, commit);
        Assert.Equal(SdnetShim.SDNET_SHIM_API_VERSION, SdnetShim.sdnet_shim_api_version());
        Assert.Equal(SdLayout.Facts.Length, facts.Count);
        foreach (var fact in SdLayout.Facts)
        {
            Assert.True(facts.TryGetValue(fact.Name, out long value), "runtime lacks " + fact.Name);
            Assert.True(value == fact.Value, $"{fact.Name}: runtime {value}, bindings {fact.Value}");
        }
        Assert.Null(NativeRuntimeLoader.CompareAbi(commit, facts, Sd.UpstreamCommit, SdLayout.Facts));
    }

    [SkippableFact]
    public void The_real_facts_with_one_value_altered_are_refused()
    {
        NativeTestEnvironment.Require();
        var (commit, facts) = ReadRuntime();
        var field = SdLayout.Facts.First(f => f.Name == "sd_img_gen_params_t.sample_params" || (f.Name.StartsWith("sd_img_gen_params_t.", StringComparison.Ordinal) && f.Value > 0));
        facts[field.Name] += 8;

        string? message = NativeRuntimeLoader.CompareAbi(commit, facts, Sd.UpstreamCommit, SdLayout.Facts);

        Assert.NotNull(message);
        Assert.Contains(field.Name, message);
        Assert.Contains(commit, message);
        Assert.Contains((field.Value + 8).ToString(), message);
    }

    [SkippableFact]
    public void CheckAbi_accepts_the_real_runtime_and_refuses_a_library_without_the_shim()
    {
        var info = NativeTestEnvironment.Require();
        nint handle = NativeLibrary.Load(info.LibraryPath);
        try
        {
            NativeRuntimeLoader.CheckAbi(handle, info.LibraryPath);
        }
        finally
        {
            NativeLibrary.Free(handle);
        }

        // ggml's base library sits beside it: a real shared library, but not ours.
        string dir = Path.GetDirectoryName(info.LibraryPath)!;
        string? ggml = Directory.EnumerateFiles(dir).FirstOrDefault(f => Path.GetFileName(f).Contains("ggml-base", StringComparison.Ordinal));
        Skip.If(ggml is null, "no ggml-base library beside the runtime");
        nint other = NativeLibrary.Load(ggml!);
        try
        {
            var e = Assert.Throws<NativeAbiMismatchException>(() => NativeRuntimeLoader.CheckAbi(other, ggml!));
            Assert.Equal(ggml, e.LibraryPath);
            Assert.Contains("sdnet_* shim exports", e.Message);
            Assert.Contains(Sd.UpstreamCommit, e.Message);
        }
        finally
        {
            NativeLibrary.Free(other);
        }
    }
}
