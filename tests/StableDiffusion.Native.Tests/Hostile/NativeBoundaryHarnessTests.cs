using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StableDiffusion.Native.HostileInputs;
using StableDiffusion.Native.Tests.Cli;
using StableDiffusion.Native.TestModels;
using StableDiffusion.Native.Tests.Integration;
using Xunit.Abstractions;

namespace StableDiffusion.Native.Tests.Hostile;

/// <summary>
/// The native-boundary harness: hostile inputs through the library, <c>sdnet generate</c> and <c>sdnet serve</c>, each in a
/// child process, so that a case that kills its process is counted. Each prints <c>cases N, deaths D</c>; any death, hang or
/// case that ends otherwise than it expects fails the test. The library's cases run in the library lane, the tool's in the
/// tool lane (see <see cref="NativeCollection"/>).
/// </summary>
[Collection(NativeCollection.Name)]
public sealed class NativeBoundaryHarnessTests(ITestOutputHelper output)
{
    private static readonly TimeSpan PerCase = TimeSpan.FromMinutes(3);

    /// <summary>Writes each case's outcome and the summary line .ci/run repeats; fails on any death or hang.</summary>
    internal static void Report(ITestOutputHelper output, string surface, IReadOnlyList<CaseResult> results)
    {
        foreach (var r in results) output.WriteLine($"  {r.Name}: {r.Outcome}");
        int deaths = results.Count(r => r.Died), hangs = results.Count(r => r.Hung);
        output.WriteLine($"hostile inputs through {surface}: cases {results.Count}, deaths {deaths}" + (hangs > 0 ? $", hangs {hangs}" : ""));
        Assert.True(deaths == 0 && hangs == 0, $"{surface}: " + string.Join("; ", results.Where(r => r.Died || r.Hung).Select(r => $"{r.Name}: {r.Outcome}")));
    }

    [SkippableFact]
    public void Hostile_inputs_through_the_library_kill_no_process()
    {
        NativeTestEnvironment.Require();
        var z = FamilyTestModels.ZImage();
        var results = new List<CaseResult>();
        foreach (var (family, model) in new (HostileCases.Family, string[])[]
        {
            (HostileCases.Family.Sd1, ["sd1", NativeTestEnvironment.TinySd1]),
            (HostileCases.Family.ZImage, ["zimage", z.DiffusionModel, z.Llm!, z.Vae]),
        })
        {
            var names = HostileCases.All.Where(c => c.Family == family).Select(c => c.Name).ToList();
            var ran = ChildHarness.RunLibraryCases(model, names, PerCase);
            Assert.Equal(names, ran.Select(r => r.Name));
            results.AddRange(ran);
        }
        Report(output, "the library", results);
        foreach (var c in HostileCases.All)
        {
            string outcome = results.Single(r => r.Name == c.Name).Outcome;
            string expected = c.Expect == HostileCases.Expect.Runs ? "ran " : "refused ";
            Assert.True(outcome.StartsWith(expected, StringComparison.Ordinal), $"{c.Name}: expected '{expected.Trim()}', got '{outcome}'");
        }
    }
}

/// <summary>The harness's cases through <c>sdnet generate</c> and <c>sdnet serve</c> (see <see cref="NativeBoundaryHarnessTests"/>).</summary>
[Collection(NativeToolCollection.Name)]
public sealed class ToolBoundaryHarnessTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void Hostile_inputs_through_sdnet_generate_kill_no_process()
    {
        NativeTestEnvironment.Require();
        string dir = Directory.CreateTempSubdirectory("sdnet-hostile-cli-").FullName;
        try
        {
            string model = NativeTestEnvironment.TinySd1;
            string bigFile = Path.Combine(dir, "prompt-2mb.txt");
            File.WriteAllText(bigFile, HostileCases.Fill("lighthouse ", 2_200_000));
            string atLimitFile = Path.Combine(dir, "prompt-at-limit.txt");
            File.WriteAllText(atLimitFile, HostileCases.Fill("lighthouse ", ImageRequest.MaxPromptLength));
            string[] common = ["-m", model, "-W", "64", "-H", "64", "--steps", "1", "-s", "5", "-t", NativeTestEnvironment.ThreadsArgument];
            (string Name, int Exit, string[] Args)[] cases =
            [
                ("prompt-file-at-limit", 0, ["--prompt-file", atLimitFile, "-o", Path.Combine(dir, "a.png")]),
                ("prompt-file-2mb", 2, ["--prompt-file", bigFile, "-o", Path.Combine(dir, "b.png")]),
                ("prompt-over-limit", 2, ["-p", HostileCases.Fill("lighthouse ", 44_000), "-o", Path.Combine(dir, "c.png")]),
                ("prompt-weight-dot", 2, ["-p", "a (cat:.)", "-o", Path.Combine(dir, "d.png")]),
                ("prompt-nested", 0, ["-p", new string('(', 8000) + "x", "-o", Path.Combine(dir, "e.png")]),
                ("tensor-rule-nested-repetition", 2, ["-p", "x", "--tensor-type-rules", "(a+)+b=q8_0", "-o", Path.Combine(dir, "f.png")]),
                ("tensor-rule-backreference", 2, ["-p", "x", "--tensor-type-rules", "(a)\\1=q8_0", "-o", Path.Combine(dir, "g.png")]),
                ("tensor-rule-invalid", 2, ["-p", "x", "--tensor-type-rules", "[z-a]=q8_0", "-o", Path.Combine(dir, "h.png")]),
                ("steps-negative", 2, ["-p", "x", "--steps", "-5", "-o", Path.Combine(dir, "i.png")]),
                ("width-huge", 2, ["-p", "x", "-W", "99999999", "-o", Path.Combine(dir, "j.png")]),
            ];
            var results = new List<CaseResult>();
            foreach (var (name, exit, args) in cases)
            {
                // The case's own flags, then each common flag/value pair the case does not set itself.
                var all = new List<string> { "generate" };
                all.AddRange(args);
                for (int i = 0; i < common.Length; i += 2)
                    if (!args.Contains(common[i])) all.AddRange([common[i], common[i + 1]]);
                var result = Cli.ChildProcess.RunSdnet(Cli.ChildProcess.SdnetDll, dir, new Dictionary<string, string?>(), [.. all]);
                bool died = ChildHarness.IsDeath(result.ExitCode, result.Stderr);
                results.Add(new CaseResult(name, died ? ChildHarness.Death(result.ExitCode, result.Stderr) : $"exit {result.ExitCode}: {FirstLine(result.Stderr)}", Died: died));
                if (!died) Assert.True(result.ExitCode == exit, $"{name}: expected exit {exit}\n{result}");
            }
            NativeBoundaryHarnessTests.Report(output, "sdnet generate", results);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableFact]
    public async Task Hostile_requests_to_sdnet_serve_kill_no_process()
    {
        NativeTestEnvironment.Require();
        var psi = new ProcessStartInfo(Cli.ChildProcess.DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { Cli.ChildProcess.SdnetDll, "serve", "-m", NativeTestEnvironment.TinySd1, "--host", "127.0.0.1", "--port", "0", "-t", NativeTestEnvironment.ThreadsArgument })
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        try
        {
            Uri? address = null;
            while (address is null)
            {
                string? line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2));
                Assert.True(line is not null, "sdnet serve exited before serving:\n" + stderr);
                int on = line!.IndexOf(" on http://", StringComparison.Ordinal);
                if (line.StartsWith("serving ", StringComparison.Ordinal) && on > 0) address = new Uri(line[(on + 4)..].Trim());
            }
            _ = process.StandardOutput.ReadToEndAsync();
            int port = address.Port;
            string Json(string body, string contentType = "application/json", string host = "127.0.0.1", string path = "/sdapi/v1/txt2img", string extra = "")
                => RawHttp.Post(port, body, contentType, host, path, extra);
            string Txt2Img(string prompt) => "{\"prompt\":" + System.Text.Json.JsonSerializer.Serialize(prompt) + ",\"width\":64,\"height\":64,\"steps\":1,\"seed\":3}";
            const string boundary = "b0undary";
            string truncated = $"--{boundary}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na lighthouse\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n\u0089PNG";

            (string Name, int Status, string Request)[] cases =
            [
                ("long-prompt-44kb", 400, Json(Txt2Img(HostileCases.Fill("lighthouse ", 44_000)))),
                ("prompt-at-limit", 200, Json(Txt2Img(HostileCases.Fill("lighthouse ", ImageRequest.MaxPromptLength)))),
                ("prompt-weight-dot", 400, Json(Txt2Img("a (cat:.)"))),
                ("prompt-lone-surrogate", 400, Json("{\"prompt\":\"a \\ud800 b\",\"width\":64,\"height\":64,\"steps\":1}")),
                ("prompt-nul", 400, Json("{\"prompt\":\"a \\u0000 b\",\"width\":64,\"height\":64,\"steps\":1}")),
                ("deeply-nested-json", 400, Json(new string('[', 5000) + new string(']', 5000))),
                ("steps-negative", 400, Json("{\"prompt\":\"x\",\"steps\":-1}")),
                ("width-huge", 400, Json("{\"prompt\":\"x\",\"width\":2147483647}")),
                // Within the size limit, but its attention scores (35 TB) would not fit any machine: refused, not attempted.
                ("size-past-memory", 507, Json("{\"prompt\":\"x\",\"width\":8192,\"height\":8192,\"steps\":1}")),
                ("forged-host", 421, Json(Txt2Img("x"), host: "evil.example")),
                ("text-plain-txt2img", 415, Json(Txt2Img("x"), contentType: "text/plain")),
                ("text-plain-interrupt", 415, Json("{}", contentType: "text/plain", path: "/sdapi/v1/interrupt")),
                ("cross-origin-post", 403, Json(Txt2Img("x"), extra: "Origin: https://evil.example\r\n")),
                ("cross-origin-preflight", 403, RawHttp.Preflight(port, "https://evil.example")),
                ("truncated-multipart", 400, Json(truncated, contentType: $"multipart/form-data; boundary={boundary}", path: "/v1/images/edits")),
                ("form-urlencoded-edits", 415, Json("prompt=x", contentType: "application/x-www-form-urlencoded", path: "/v1/images/edits")),
            ];
            var results = new List<CaseResult>();
            foreach (var (name, status, request) in cases)
            {
                string response = await RawHttp.SendAsync(port, request);
                int got = RawHttp.StatusOf(response);
                bool died = process.HasExited;
                // Each is followed by a good request, which must still be answered.
                int after = died ? -1 : RawHttp.StatusOf(await RawHttp.SendAsync(port, RawHttp.Get(port, "/sdapi/v1/options")));
                died |= process.HasExited;
                results.Add(new CaseResult(name, died ? ChildHarness.Death(process.ExitCode, stderr.ToString()) : $"{got}, then {after}", Died: died));
                if (died) break;
                Assert.True(got == status, $"{name}: expected {status}, got:\n{Head(response)}");
                Assert.Equal(200, after);
                Assert.DoesNotContain("Access-Control-Allow-Origin", response, StringComparison.OrdinalIgnoreCase);
            }
            // After all of it, a good request still succeeds.
            string good = await RawHttp.SendAsync(port, Json(Txt2Img("a lighthouse")));
            results.Add(new CaseResult("good-request-after", process.HasExited ? ChildHarness.Death(process.ExitCode, stderr.ToString()) : $"{RawHttp.StatusOf(good)}", Died: process.HasExited));
            NativeBoundaryHarnessTests.Report(output, "sdnet serve", results);
            Assert.Equal(200, RawHttp.StatusOf(good));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static string Head(string response) => response.Length > 600 ? response[..600] : response;

    private static string FirstLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() is { } l ? (l.Length > 160 ? l[..160] : l) : "";
}
