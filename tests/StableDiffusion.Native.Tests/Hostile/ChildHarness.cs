using System.Diagnostics;
using System.Text;

namespace StableDiffusion.Native.Tests.Hostile;

/// <summary>What one hostile case ended in.</summary>
/// <param name="Name">The case.</param>
/// <param name="Outcome">"ran …", "refused TYPE: …", "failed TYPE: …", or for a death/hang what the process did.</param>
/// <param name="Died">The process did not survive the case (a signal, an abort, a stack overflow).</param>
/// <param name="Hung">The case did not end within its time and the process was killed.</param>
internal sealed record CaseResult(string Name, string Outcome, bool Died = false, bool Hung = false);

/// <summary>
/// Runs hostile cases in child processes so that a case that ends its process is counted instead of taking the test host
/// down. The child says "begin NAME" and "end NAME: OUTCOME" per case; when it dies, the case it began last is a death,
/// and a new child takes the cases after it.
/// </summary>
internal static class ChildHarness
{
    /// <summary>The harness child (tests/StableDiffusion.Native.HostileInputs), built beside the tests.</summary>
    public static string HostileDll => Path.Combine(AppContext.BaseDirectory, "sdnet-hostile.dll");

    /// <param name="model">The child's model arguments: <c>sd1 MODEL</c> or <c>zimage DIT LLM VAE</c>.</param>
    /// <param name="names">The cases to run, in order.</param>
    /// <param name="perCase">How long one case may take before it counts as a hang.</param>
    public static IReadOnlyList<CaseResult> RunLibraryCases(IReadOnlyList<string> model, IReadOnlyList<string> names, TimeSpan perCase)
    {
        var results = new List<CaseResult>();
        var remaining = names.ToList();
        while (remaining.Count > 0)
        {
            var psi = new ProcessStartInfo(Cli.ChildProcess.DotnetHost)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add(HostileDll);
            foreach (string a in model) psi.ArgumentList.Add(a);
            foreach (string n in remaining) psi.ArgumentList.Add(n);
            using var process = Process.Start(psi)!;
            var stderr = new StringBuilder();
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
            process.BeginErrorReadLine();

            string? current = null;
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2); // the model load
            while (true)
            {
                var read = process.StandardOutput.ReadLineAsync();
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !read.Wait(left))
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                    if (current is null) throw new TimeoutException("The harness child did not load the model within 2 minutes:\n" + stderr);
                    results.Add(new CaseResult(current, $"no end within {perCase.TotalSeconds:F0} s", Hung: true));
                    remaining.Remove(current);
                    break;
                }
                string? line = read.Result;
                if (line is null)
                {
                    process.WaitForExit();
                    if (current is not null)
                    {
                        results.Add(new CaseResult(current, Death(process.ExitCode, stderr.ToString()), Died: true));
                        remaining.Remove(current);
                    }
                    else if (remaining.Count > 0 && process.ExitCode != 0)
                    {
                        throw new InvalidOperationException($"The harness child failed before any case (exit {process.ExitCode}):\n{stderr}");
                    }
                    break;
                }
                if (line.StartsWith("begin ", StringComparison.Ordinal))
                {
                    current = line["begin ".Length..];
                    deadline = DateTime.UtcNow + perCase;
                }
                else if (line.StartsWith("end ", StringComparison.Ordinal) && current is not null && line.StartsWith($"end {current}: ", StringComparison.Ordinal))
                {
                    results.Add(new CaseResult(current, line[$"end {current}: ".Length..]));
                    remaining.Remove(current);
                    current = null;
                }
            }
        }
        return results;
    }

    /// <summary>How a child process ended, in words: a signal number, or .NET's own last words.</summary>
    public static string Death(int exitCode, string stderr)
    {
        string signal = exitCode > 128 && exitCode < 160 ? $" (signal {exitCode - 128})" : "";
        string last = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(3).FirstOrDefault() ?? "";
        return $"died: exit code {exitCode}{signal} {last}".Trim();
    }

    /// <summary>Whether an exit code means the process was killed rather than exiting on its own terms.</summary>
    public static bool IsDeath(int exitCode, string stderr)
        => exitCode < 0 || exitCode > 128 && exitCode != global::StableDiffusion.Native.Cli.CliCommon.Cancelled
           || stderr.Contains("Stack overflow", StringComparison.Ordinal) || stderr.Contains("terminate called", StringComparison.Ordinal);
}
