using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using StableDiffusion.Native.Tests;
using StableDiffusion.Native.Tests.ModelFiles;
using StableDiffusion.Native.TestModels;

namespace StableDiffusion.Native.WineCheck;

/// <summary>
/// The Windows check's cases, run under Wine against a win-x64 runtime and a self-contained win-x64 sdnet.exe. Prints one
/// line per case, "&lt;case&gt;: ok" or "&lt;case&gt;: FAIL &lt;reason&gt;", and exits 1 when any failed.
/// </summary>
/// <remarks>
/// Usage: WineCheck --wine WINE --prefix WINEPREFIX --sdnet DIR --tools DIR --work DIR [case...]. The sdnet folder holds
/// sdnet.exe with the runtime in runtimes/win-x64/native (as a published app has it); tools holds sd-cli.exe.
/// </remarks>
internal static class Program
{
    private static readonly string[] AllCases =
    [
        "sd-cli-generate", "sdnet-doctor", "sdnet-generate", "sdnet-inspect-bad-files", "sdnet-pull-resume",
        "sdnet-pull-corrupt", "sdnet-pull-reserved-name", "sdnet-models-by-name", "sdnet-serve", "rpc-server", "path-spaces-non-ascii",
        "path-other-drive", "path-long",
    ];

    /// <summary>
    /// The threads of every generation here: one. .ci/run runs this check beside the native tests at idle priority, where
    /// a second ggml thread mostly waits at every graph node for a core the tests hold.
    /// </summary>
    private const string Threads = "1";

    private static string wine = "wine";
    private static string prefix = "";
    private static string sdnetDir = "";
    private static string toolsDir = "";
    private static string work = "";
    private static string model = "";
    private static string? cpuVariant;

    public static int Main(string[] args)
    {
        var cases = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--wine": wine = args[++i]; break;
                case "--prefix": prefix = args[++i]; break;
                case "--sdnet": sdnetDir = Path.GetFullPath(args[++i]); break;
                case "--tools": toolsDir = Path.GetFullPath(args[++i]); break;
                case "--work": work = Path.GetFullPath(args[++i]); break;
                default: cases.Add(args[i]); break;
            }
        }
        if (cases.Count == 0) cases.AddRange(AllCases);
        foreach (string c in cases)
        {
            if (!AllCases.Contains(c))
            {
                Console.Error.WriteLine($"unknown case '{c}'; the cases are: {string.Join(' ', AllCases)}");
                return 2;
            }
        }
        Directory.CreateDirectory(work);
        model = TestModelFactory.Sd1();

        bool failed = false;
        foreach (string c in cases)
        {
            var clock = Stopwatch.StartNew();
            string? problem;
            try
            {
                problem = Run(c);
            }
            catch (Exception e)
            {
                problem = $"{e.GetType().Name}: {e.Message}";
            }
            Console.Error.WriteLine($"  ({c}: {clock.Elapsed.TotalSeconds:F1} s)");
            Console.WriteLine(problem is null ? $"{c}: ok" : $"{c}: FAIL {OneLine(problem)}");
            Console.Out.Flush();
            failed |= problem is not null;
        }
        return failed ? 1 : 0;
    }

    private static string? Run(string name) => name switch
    {
        "sd-cli-generate" => SdCliGenerate(),
        "sdnet-doctor" => Doctor(),
        "sdnet-generate" => Generate(),
        "sdnet-inspect-bad-files" => InspectBadFiles(),
        "sdnet-pull-resume" => PullResume(),
        "sdnet-pull-corrupt" => PullCorrupt(),
        "sdnet-pull-reserved-name" => PullReservedName(),
        "sdnet-models-by-name" => ModelsByName(),
        "sdnet-serve" => Serve(),
        "rpc-server" => RpcServer(),
        "path-spaces-non-ascii" => PathCase(Path.Combine(DriveC, "users", "Zoë", "モデル", "my models"), "C:", DriveC),
        "path-other-drive" => OtherDrive(),
        "path-long" => LongPath(),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    // ------------------------------------------------------------------------------------------------- the cases

    /// <summary>Upstream's own sd-cli.exe, linked against the runtime: 64x64, the same pixels for the same seed.</summary>
    private static string? SdCliGenerate()
    {
        string runtime = Path.Combine(sdnetDir, "runtimes", "win-x64", "native");
        string variant = CpuVariant() ?? "x64";
        var env = new Dictionary<string, string>
        {
            // Windows finds a program's DLLs beside it or on PATH; sd-cli sits in tools/. Our modules carry a prefix that
            // ggml's own scan does not know, so the CPU module is named (the one the library picks for this CPU).
            ["WINEPATH"] = WindowsPath(runtime),
            ["GGML_BACKEND_PATH"] = WindowsPath(Path.Combine(runtime, $"sdnet-ggml-cpu-{variant}.dll")),
        };
        string dir = Fresh("sd-cli");
        var outputs = new List<string>();
        foreach (string name in new[] { "a.png", "b.png" })
        {
            string output = Path.Combine(dir, name);
            var r = Wine(Path.Combine(toolsDir, "sd-cli.exe"),
                ["-m", WindowsPath(model), "-p", "a lighthouse", "-W", "64", "-H", "64", "--steps", "1", "-t", Threads, "-s", "42", "-o", WindowsPath(output)], env);
            if (r.Exit != 0) return $"sd-cli.exe exited with {r.Exit}: {Tail(r)}";
            outputs.Add(output);
        }
        return SamePixels(outputs[0], outputs[1], 64, 64);
    }

    /// <summary>doctor -v: the runtime from the app's runtimes/win-x64/native, a CPU variant chosen, every probe listed.</summary>
    private static string? Doctor()
    {
        var r = Sdnet(["doctor", "-v"]);
        if (r.Exit != 0) return $"doctor exited with {r.Exit}: {Tail(r)}";
        string? runtime = Line(r.Out, "runtime:");
        string expected = WindowsPath(Path.Combine(sdnetDir, "runtimes", "win-x64", "native", "sdnet-stable-diffusion.dll"));
        if (!string.Equals(runtime, expected, StringComparison.OrdinalIgnoreCase)) return $"runtime: '{runtime}', expected {expected}";
        string? variant = Line(r.Out, "cpu variant:");
        if (variant is null || variant.StartsWith("built in", StringComparison.Ordinal)) return $"no CPU variant chosen ('{variant}')";
        if (!r.Out.Contains("probe:        [app runtimes/win-x64/native] " + expected + ": loaded", StringComparison.OrdinalIgnoreCase))
            return "the probe list does not show the app's runtimes/win-x64/native folder as loaded";
        if (!r.Out.Split('\n').Any(l => l.StartsWith("module:", StringComparison.Ordinal) && l.Contains(".dll", StringComparison.Ordinal)))
            return "no backend module (.dll) listed";
        Console.Error.WriteLine($"  doctor: cpu variant {variant}");
        return null;
    }

    /// <summary>generate: 64x64, the same pixels for the same seed, other pixels for another seed.</summary>
    private static string? Generate()
    {
        string dir = Fresh("generate");
        string Output(string n) => Path.Combine(dir, n);
        foreach (var (file, seed) in new[] { ("a.png", "42"), ("b.png", "42"), ("c.png", "43") })
        {
            var r = Sdnet(["generate", "-m", WindowsPath(model), "-p", "a lighthouse", "-W", "64", "-H", "64", "--steps", "1", "-t", Threads, "-s", seed, "-o", WindowsPath(Output(file))]);
            if (r.Exit != 0) return $"generate -s {seed} exited with {r.Exit}: {Tail(r)}";
        }
        if (SamePixels(Output("a.png"), Output("b.png"), 64, 64) is { } problem) return problem;
        return SamePixels(Output("a.png"), Output("c.png"), 64, 64) is null ? "seeds 42 and 43 gave the same pixels" : null;
    }

    /// <summary>inspect on crafted files: one error line naming the file and the reason, exit code 1, never a crash.</summary>
    private static string? InspectBadFiles()
    {
        string dir = Fresh("inspect");
        var files = new (string Name, byte[] Bytes, string Reason)[]
        {
            ("header-past-end.safetensors", RawModelBytes.Safetensors("{}"u8.ToArray(), 0, declaredLength: 1UL << 40), "HeaderTooLarge"),
            ("not-json.safetensors", RawModelBytes.Safetensors("{\"t\":", 0), "InvalidJson"),
            ("size-overflow.safetensors", RawModelBytes.OneTensor("U8", "[4294967296,4294967296]", "[0,2]", 2), "SizeOverflow"),
            ("offsets-reversed.safetensors", RawModelBytes.OneTensor("U8", "[2]", "[2,0]", 2), "InvalidDataOffsets"),
            ("truncated.gguf", RawModelBytes.Gguf(3, 1, 0, _ => { }), ""),
        };
        foreach (var (name, bytes, reason) in files)
        {
            string path = Path.Combine(dir, name);
            File.WriteAllBytes(path, bytes);
            var r = Sdnet(["inspect", WindowsPath(path)]);
            if (r.Exit != 1) return $"inspect {name} exited with {r.Exit} (expected 1): {Tail(r)}";
            string[] lines = Lines(r.Err);
            if (lines.Length != 1 || !lines[0].StartsWith("error: ", StringComparison.Ordinal)) return $"inspect {name}: expected one error line, got: {Tail(r)}";
            if (!lines[0].Contains(name, StringComparison.Ordinal) || !lines[0].Contains(reason, StringComparison.Ordinal))
                return $"inspect {name}: the error names neither the file nor {reason}: {lines[0]}";
        }
        var good = Sdnet(["inspect", WindowsPath(model)]);
        return good.Exit == 0 ? null : $"inspect of the good model exited with {good.Exit}: {Tail(good)}";
    }

    /// <summary>models pull: a connection dropped mid-file is retried from where it stopped (a Range request).</summary>
    private static string? PullResume()
    {
        byte[] content = Bytes(300_000, 5);
        using var hub = new LoopbackHub();
        hub.Add("o/r/model.safetensors", content);
        int gets = 0;
        hub.Intercept = r => r.Method == "GET" && r.Target.StartsWith("/cdn/", StringComparison.Ordinal) && Interlocked.Increment(ref gets) == 1
            ? new HubResponse { Status = 200, Body = content, DropAfter = 120_000 }
            : null;
        string dir = Fresh("pull-resume");
        var r = Pull(hub, "hf:o/r/model.safetensors", dir);
        if (r.Exit != 0) return $"pull exited with {r.Exit}: {Tail(r)}";
        string final = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(final) || !File.ReadAllBytes(final).AsSpan().SequenceEqual(content)) return "the pulled file differs from the hub's";
        string[] ranges = hub.CdnRequests.Select(q => q.Header("Range") ?? "(none)").ToArray();
        if (!ranges.SequenceEqual(["(none)", "bytes=120000-"])) return $"expected a first request and one resuming at 120000, saw: {string.Join(", ", ranges)}";
        if (Directory.EnumerateFiles(dir, "*.part").Any()) return "a .part file was left behind";
        return r.Out.Trim() == WindowsPath(final) ? null : $"stdout is '{r.Out.Trim()}', not the final path {WindowsPath(final)}";
    }

    /// <summary>models pull: a file whose sha256 is not the announced one is refused, and neither it nor its .part stays.</summary>
    private static string? PullCorrupt()
    {
        byte[] content = Bytes(200_000, 6);
        byte[] corrupt = [.. content];
        corrupt[150_000] ^= 1;
        using var hub = new LoopbackHub();
        hub.Add("o/r/model.safetensors", new HubFile(corrupt) { AnnouncedSha256 = HubFile.Sha256Of(content) });
        string dir = Fresh("pull-corrupt");
        var r = Pull(hub, "hf:o/r/model.safetensors", dir);
        if (r.Exit != 1) return $"pull exited with {r.Exit} (expected 1): {Tail(r)}";
        if (!r.Err.Contains(HubFile.Sha256Of(content), StringComparison.Ordinal)) return $"the error does not name the expected sha256: {Tail(r)}";
        string[] left = Directory.Exists(dir) ? Directory.GetFiles(dir) : [];
        return left.Length == 0 ? null : $"files left behind: {string.Join(", ", left.Select(Path.GetFileName))}";
    }

    /// <summary>models pull: names Windows reserves (devices, a trailing dot) are refused before any request.</summary>
    private static string? PullReservedName()
    {
        using var hub = new LoopbackHub();
        foreach (string name in new[] { "CON.safetensors", "nul.gguf", "COM1.safetensors", "model." })
        {
            hub.Add("o/r/" + name, Bytes(1000, 7));
            string dir = Fresh("pull-reserved");
            int before = hub.Requests.Count;
            var r = Pull(hub, "hf:o/r/" + name, dir);
            if (r.Exit is not (1 or 2)) return $"pull of '{name}' exited with {r.Exit}: {Tail(r)}";
            if (hub.Requests.Count != before) return $"pull of '{name}' sent {hub.Requests.Count - before} request(s) before refusing";
            if (!r.Err.Contains(name, StringComparison.Ordinal)) return $"the refusal does not name '{name}': {Tail(r)}";
            if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any()) return $"pull of '{name}' wrote into the folder";
        }
        return null;
    }

    /// <summary>
    /// The per-user folders under the Windows profile (%LOCALAPPDATA%; the prefix's user is "Zoë", so the profile path is
    /// not ASCII, as for many Windows users): a model pulled into the default models folder, used by a name in another
    /// case, and converted once into the quantization cache and reused from there.
    /// </summary>
    private static string? ModelsByName()
    {
        string user = Environment.GetEnvironmentVariable("USER") ?? "";
        string local = Path.Combine(DriveC, "users", user, "AppData", "Local", "stable-diffusion-native");
        if (Directory.Exists(local)) Directory.Delete(local, recursive: true);
        using var hub = new LoopbackHub();
        hub.Add("o/r/Tiny-SD1.safetensors", File.ReadAllBytes(model));
        var pull = Sdnet(["models", "pull", "hf:o/r/Tiny-SD1.safetensors"], new() { ["HF_ENDPOINT"] = hub.Endpoint.ToString() });
        if (pull.Exit != 0) return $"pull into the default folder exited with {pull.Exit}: {Tail(pull)}";
        string pulled = Path.Combine(local, "models", "Tiny-SD1.safetensors");
        if (!File.Exists(pulled)) return $"the pulled model is not in %LOCALAPPDATA%\\stable-diffusion-native\\models (looked for {pulled}; stdout: {pull.Out.Trim()})";

        string dir = Fresh("by-name");
        var byName = Sdnet(["generate", "-m", "tiny-sd1", "-p", "a lighthouse", "-W", "64", "-H", "64", "--steps", "1", "-t", Threads, "-s", "42", "-o", WindowsPath(Path.Combine(dir, "a.png"))]);
        if (byName.Exit != 0) return $"generate -m tiny-sd1 (the file is Tiny-SD1.safetensors) exited with {byName.Exit}: {Tail(byName)}";

        string cache = Path.Combine(local, "cache", "models");
        for (int run = 1; run <= 2; run++)
        {
            var q = Sdnet(["generate", "-m", "Tiny-SD1", "--type", "q8_0", "-p", "a lighthouse", "-W", "64", "-H", "64", "--steps", "1", "-t", Threads, "-s", "42", "-o", WindowsPath(Path.Combine(dir, $"q{run}.png"))]);
            if (q.Exit != 0) return $"generate --type q8_0 (run {run}) exited with {q.Exit}: {Tail(q)}";
        }
        string[] converted = Directory.Exists(cache) ? Directory.GetFiles(cache, "*", SearchOption.AllDirectories) : [];
        if (converted.Length != 1) return $"expected one converted model in {cache}, found {converted.Length}: {string.Join(", ", converted.Select(Path.GetFileName))}";
        return SamePixels(Path.Combine(dir, "q1.png"), Path.Combine(dir, "q2.png"), 64, 64);
    }

    /// <summary>serve: one A1111 txt2img and one OpenAI images/generations request, each a 64x64 PNG.</summary>
    private static string? Serve()
    {
        using var server = WineServer.Start(WineStart(Path.Combine(sdnetDir, "sdnet.exe"), ["serve", "-m", WindowsPath(model), "--port", "0", "-t", Threads]),
            l => l.StartsWith("serving ", StringComparison.Ordinal) && l.LastIndexOf(" on ", StringComparison.Ordinal) > 0);
        if (server.WaitReady(TimeSpan.FromSeconds(180)) is not { } serving) return $"the server did not start in 180 s: {server.Tail()}";
        string address = serving[(serving.LastIndexOf(" on ", StringComparison.Ordinal) + 4)..].Trim();
        var baseUri = new Uri(address);
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(300) };

        using var a1111 = http.PostAsync("sdapi/v1/txt2img", Json("""{"prompt":"a lighthouse","width":64,"height":64,"steps":1,"seed":42}""")).Result;
        string body = a1111.Content.ReadAsStringAsync().Result;
        if (a1111.StatusCode != HttpStatusCode.OK) return $"A1111 txt2img answered {(int)a1111.StatusCode}: {Cut(body)}";
        using (var doc = JsonDocument.Parse(body))
        {
            if (PngProblem(Convert.FromBase64String(doc.RootElement.GetProperty("images")[0].GetString()!), 64, 64) is { } p) return "A1111 txt2img: " + p;
        }

        using var openai = http.PostAsync("v1/images/generations", Json("""{"prompt":"a lighthouse","size":"64x64","steps":1,"seed":42,"response_format":"b64_json"}""")).Result;
        body = openai.Content.ReadAsStringAsync().Result;
        if (openai.StatusCode != HttpStatusCode.OK) return $"OpenAI images/generations answered {(int)openai.StatusCode}: {Cut(body)}";
        using (var doc = JsonDocument.Parse(body))
        {
            if (PngProblem(Convert.FromBase64String(doc.RootElement.GetProperty("data")[0].GetProperty("b64_json").GetString()!), 64, 64) is { } p) return "OpenAI: " + p;
        }
        return server.HasExited ? "the server exited" : null;
    }

    /// <summary>
    /// sdnet-rpc-server.exe from tools\ (the runtime in ..\runtimes\win-x64\native, which Windows would not search), and
    /// sdnet.exe generating through it: the pixels of a local generation.
    /// </summary>
    private static string? RpcServer()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        using var server = WineServer.Start(
            WineStart(Path.Combine(toolsDir, "sdnet-rpc-server.exe"), ["--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--threads", Threads]),
            l => l.StartsWith("sdnet-rpc-server: serving", StringComparison.Ordinal));
        if (server.WaitReady(TimeSpan.FromSeconds(60)) is null) return $"the server did not start in 60 s: {server.Tail()}";
        string dir = Fresh("rpc");
        foreach (var (file, rpc) in new[] { ("local.png", (string?)null), ("rpc.png", $"127.0.0.1:{port}") })
        {
            List<string> args = ["generate", "-m", WindowsPath(model), "-p", "a lighthouse", "-W", "64", "-H", "64", "--steps", "1", "-t", Threads, "-s", "42", "-o", WindowsPath(Path.Combine(dir, file))];
            if (rpc is not null) args.AddRange(["--rpc-servers", rpc]);
            var r = Sdnet(args);
            if (r.Exit != 0) return $"generate {(rpc is null ? "locally" : "through " + rpc)} exited with {r.Exit}: {Tail(r)}";
        }
        if (!server.Output.Any(l => l.Contains("Accepted client connection", StringComparison.Ordinal))) return "the server saw no client";
        return SamePixels(Path.Combine(dir, "local.png"), Path.Combine(dir, "rpc.png"), 64, 64);
    }

    /// <summary>A model and an output in a folder with spaces and non-ASCII names, as Windows users have them.</summary>
    private static string? PathCase(string unixDir, string drive, string driveRoot)
    {
        Directory.CreateDirectory(unixDir);
        string local = Path.Combine(unixDir, "sd1 tiny ë.safetensors");
        File.Copy(model, local, overwrite: true);
        string output = Path.Combine(unixDir, "out put ë.png");
        File.Delete(output);
        string winModel = DrivePath(local, drive, driveRoot);
        var r = Sdnet(["generate", "-m", winModel, "-p", "a lighthouse", "-W", "64", "-H", "64", "--steps", "1", "-t", Threads, "-s", "42", "-o", DrivePath(output, drive, driveRoot)]);
        if (r.Exit != 0) return $"generate from {winModel} exited with {r.Exit}: {Tail(r)}";
        if (PngProblem(File.ReadAllBytes(output), 64, 64) is { } p) return p;
        var inspect = Sdnet(["inspect", winModel]);
        return inspect.Exit == 0 ? null : $"inspect {winModel} exited with {inspect.Exit}: {Tail(inspect)}";
    }

    /// <summary>A model on another drive letter (D:, mapped by the Wine prefix to a folder of this run).</summary>
    private static string? OtherDrive()
    {
        string root = Fresh("drive-d");
        string link = Path.Combine(prefix, "dosdevices", "d:");
        if (File.Exists(link) || Directory.Exists(link)) File.Delete(link);
        File.CreateSymbolicLink(link, root);
        return PathCase(Path.Combine(root, "Models", "SD 1"), "D:", root);
    }

    /// <summary>A model and an output whose full paths are longer than MAX_PATH (260 characters).</summary>
    private static string? LongPath()
    {
        string dir = Path.Combine(DriveC, "long");
        while (DrivePath(dir, "C:", DriveC).Length < 280) dir = Path.Combine(dir, "a folder name of forty characters, twice");
        return PathCase(dir, "C:", DriveC);
    }

    // ------------------------------------------------------------------------------------------------- helpers

    private sealed record Result(int Exit, string Out, string Err);

    /// <summary>A server under Wine: its output lines collected, ready at the first line <c>ready</c> accepts, killed on disposal.</summary>
    private sealed class WineServer : IDisposable
    {
        private readonly Process _process;
        private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private WineServer(Process process) => _process = process;

        public System.Collections.Concurrent.ConcurrentQueue<string> Output { get; } = new();

        public bool HasExited => _process.HasExited;

        public static WineServer Start(ProcessStartInfo psi, Func<string, bool> ready)
        {
            var server = new WineServer(Process.Start(psi) ?? throw new InvalidOperationException("wine did not start"));
            void Seen(string? line)
            {
                if (line is null) return;
                server.Output.Enqueue(line);
                if (ready(line)) server._ready.TrySetResult(line);
            }
            server._process.OutputDataReceived += (_, e) => Seen(e.Data);
            server._process.ErrorDataReceived += (_, e) => Seen(e.Data);
            server._process.BeginOutputReadLine();
            server._process.BeginErrorReadLine();
            return server;
        }

        /// <summary>The ready line, or null when it did not come in time.</summary>
        public string? WaitReady(TimeSpan timeout) => _ready.Task.Wait(timeout) ? _ready.Task.Result : null;

        public string Tail() => OneLine(string.Join(" | ", Output.TakeLast(3)));

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
            _process.Dispose();
        }
    }

    private static Result Sdnet(IReadOnlyList<string> args, Dictionary<string, string>? env = null)
        => Wine(Path.Combine(sdnetDir, "sdnet.exe"), args, env);

    private static Result Pull(LoopbackHub hub, string reference, string dir)
        => Sdnet(["models", "pull", reference, "--dir", WindowsPath(dir)], new() { ["HF_ENDPOINT"] = hub.Endpoint.ToString() });

    private static ProcessStartInfo WineStart(string exe, IReadOnlyList<string> args, Dictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(wine)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
            WorkingDirectory = work,
        };
        psi.ArgumentList.Add(exe);
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment["WINEPREFIX"] = prefix;
        psi.Environment["WINEDEBUG"] = "-all";
        // Wine names the profile after $USER: run.sh makes the prefix as "Zoë", and every later process must match.
        psi.Environment["USER"] = psi.Environment["LOGNAME"] = Environment.GetEnvironmentVariable("USER");
        // Nothing of the Linux side may stand in for what the Windows app finds itself.
        psi.Environment.Remove("SDNET_NATIVE_PATH");
        psi.Environment.Remove("SDNET_NATIVE_CACHE");
        psi.Environment.Remove("SDNET_DEV_CHECKOUT");
        psi.Environment.Remove("HF_ENDPOINT");
        psi.Environment.Remove("HF_TOKEN");
        foreach (var (k, v) in env ?? []) psi.Environment[k] = v;
        return psi;
    }

    private static Result Wine(string exe, IReadOnlyList<string> args, Dictionary<string, string>? env = null)
    {
        var result = WineOnce(exe, args, env);
        // Wine's own plumbing failing ("wine client error: ... recvmsg: Connection reset by peer": its wineserver went away
        // under the app) says nothing about the app, which never ran; it gets one more try. Any other failure stands.
        if (result.Exit != 0 && result.Err.Contains("wine client error", StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"  (wine itself failed under {Path.GetFileName(exe)}; trying once more: {result.Err.Trim().Split('\n')[0]})");
            result = WineOnce(exe, args, env);
        }
        return result;
    }

    private static Result WineOnce(string exe, IReadOnlyList<string> args, Dictionary<string, string>? env)
    {
        using var p = Process.Start(WineStart(exe, args, env)) ?? throw new InvalidOperationException("wine did not start");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            return new Result(-1, stdout.Result, "timed out after 5 minutes; " + stderr.Result);
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    private static string? CpuVariant()
    {
        if (cpuVariant is null)
        {
            var r = Sdnet(["doctor"]);
            string? line = Line(r.Out, "cpu variant:");
            cpuVariant = line?.Split(' ')[0];
        }
        return cpuVariant;
    }

    /// <summary>The Windows form of a Linux path under Wine's Z: drive (the whole Linux file system).</summary>
    private static string WindowsPath(string path) => "Z:" + Path.GetFullPath(path).Replace('/', '\\');

    private static string DriveC => Path.Combine(prefix, "drive_c");

    /// <summary>The Windows form of a path below <paramref name="root"/>, the folder that <paramref name="drive"/> maps.</summary>
    private static string DrivePath(string path, string drive, string root)
        => drive + "\\" + Path.GetRelativePath(root, path).Replace('/', '\\');

    private static string Fresh(string name)
    {
        string dir = Path.Combine(work, name);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string? Line(string text, string label)
        => Lines(text).FirstOrDefault(l => l.StartsWith(label, StringComparison.Ordinal))?[label.Length..].Trim();

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string Tail(Result r) => Cut(string.Join(" | ", Lines(r.Err + "\n" + r.Out).TakeLast(3)));

    private static string Cut(string s) => s.Length <= 400 ? s : s[..400] + "…";

    private static string OneLine(string s) => Cut(s.ReplaceLineEndings(" ").Trim());

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Null when both files are PNGs of the size with the same image data (IDAT), else why not.</summary>
    private static string? SamePixels(string a, string b, int width, int height)
    {
        foreach (string f in new[] { a, b })
        {
            if (!File.Exists(f)) return $"{Path.GetFileName(f)} was not written";
            if (PngProblem(File.ReadAllBytes(f), width, height) is { } p) return $"{Path.GetFileName(f)}: {p}";
        }
        return ImageData(File.ReadAllBytes(a)).AsSpan().SequenceEqual(ImageData(File.ReadAllBytes(b)))
            ? null
            : $"{Path.GetFileName(a)} and {Path.GetFileName(b)} differ for the same seed";
    }

    private static string? PngProblem(byte[] png, int width, int height)
    {
        if (png.Length < 24 || !png.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A })) return "not a PNG";
        int w = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), h = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20));
        return w == width && h == height ? null : $"the PNG is {w}x{h}, not {width}x{height}";
    }

    /// <summary>The concatenated IDAT chunks: the pixels, without text chunks that may carry times or paths.</summary>
    private static byte[] ImageData(byte[] png)
    {
        using var data = new MemoryStream();
        for (int at = 8; at + 8 <= png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = Encoding.ASCII.GetString(png, at + 4, 4);
            if (type == "IDAT") data.Write(png, at + 8, length);
            at += 12 + length;
        }
        return data.ToArray();
    }
}
