using System.CommandLine;

namespace StableDiffusion.Native.Cli;

internal static class DoctorCommand
{
    public static Command Create()
    {
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Also list every probe and every backend module with its score" };
        var command = new Command("doctor", "Show which native runtime loads, its commit, CPU variant and devices") { verbose };
        command.SetAction(r => CliCommon.Run(() =>
        {
            NativeRuntime.Logger = CliCommon.Logger(r.GetValue(verbose));
            NativeRuntimeInfo info;
            try
            {
                info = NativeRuntime.Describe();
            }
            catch (NativeRuntimeException e) when (e.Probes.Count > 0)
            {
                // Diagnosing a runtime that does not load is what doctor is for (on Windows, the DllNotFoundException
                // of a missing or misplaced DLL): every place probed and its outcome gets a line of its own, before the
                // one error line and exit code every command gives for it.
                Console.WriteLine("runtime:      (none loaded)");
                foreach (var p in e.Probes) Console.WriteLine(ProbeLine(p));
                throw;
            }
            Console.WriteLine($"runtime:      {info.LibraryPath}");
            Console.WriteLine($"sd.cpp:       {info.SdCommit} ({info.UpstreamVersion})");
            Console.WriteLine($"ggml:         {info.GgmlCommit}");
            Console.WriteLine($"cpu variant:  {info.CpuVariant ?? "built in"}{WhyChosen(info)}");
            Console.WriteLine($"backends:     {string.Join(", ", info.Backends)}");
            foreach (var d in info.Devices)
            {
                string mem = d.TotalMemory > 0 ? $", {d.FreeMemory / (1 << 20)} MiB free of {d.TotalMemory / (1 << 20)} MiB" : "";
                Console.WriteLine($"device:       {d.Name} ({d.Type}) {d.Description}{mem}");
            }
            Console.WriteLine($"backend:      {info.DefaultDevice}");
            foreach (var gpu in info.GpuBackends) Console.WriteLine($"gpu:          {gpu}");
            var on = info.CpuFeatures.Where(f => f.Value == "1").Select(f => f.Key).ToList();
            if (on.Count > 0) Console.WriteLine($"cpu features: {string.Join(' ', on)}");
            if (r.GetValue(verbose))
            {
                Console.WriteLine($"system:       {info.SystemInfo}");
                foreach (var m in info.Modules) Console.WriteLine($"module:       {m.File} score {m.Score} {m.Status}");
                foreach (var p in info.Probes) Console.WriteLine(ProbeLine(p));
            }
            return 0;
        }));
        return command;
    }

    /// <summary>One probe, terminal-safe: its folder may come from an environment variable or a recorded path.</summary>
    private static string ProbeLine(NativeProbe p) => CliCommon.OneLine($"probe:        [{p.Source}] {p.Path}: {p.Outcome}");

    /// <summary>Why the loader chose the CPU module it did: its score against the others, and any feature it checked itself.</summary>
    internal static string WhyChosen(NativeRuntimeInfo info)
    {
        var cpu = info.Modules.Where(m => m.Kind == "cpu").ToList();
        var chosen = cpu.FirstOrDefault(m => m.Chosen);
        if (chosen is null) return "";
        int supported = cpu.Count(m => m.Score > 0);
        string extra = chosen.Status.Contains("+avx512_fp16", StringComparison.Ordinal) ? "; needs AVX512-FP16, which this CPU has" : "";
        return $" (score {chosen.Score}, the highest of {supported} supported CPU module{(supported == 1 ? "" : "s")}{extra})";
    }
}
