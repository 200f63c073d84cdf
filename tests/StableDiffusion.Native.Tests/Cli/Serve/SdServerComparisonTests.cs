using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using StableDiffusion.Native.Cli.Serve;
using StableDiffusion.Native.Tests.Integration;
using static StableDiffusion.Native.Tests.Cli.Serve.ServerTestSupport;

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>
/// The same requests to upstream's sd-server (built from the pin beside sd-cli with <c>-DSDNET_BUILD_SD_CLI=ON</c> and kept
/// with the runtime in the user cache; never shipped) and to <c>sdnet serve</c>, over the same tiny model: the status codes and the shapes of the JSON answers
/// (every field's path and kind) must agree, except for the differences listed here with their reasons.
/// </summary>
[Collection(NativeToolCollection.Name)]
public sealed class SdServerComparisonTests(TinyGeneratorFixture fixture)
{
    /// <summary>Overrides where sd-server is looked for (else this checkout's artifacts/native/cpu/tools).</summary>
    public const string Variable = "SDNET_SD_SERVER";

    /// <summary>Each known difference: request, path, and why ours differs. Anything else that differs fails the test.</summary>
    private static readonly Dictionary<string, string> s_known = new(StringComparer.Ordinal)
    {
        // Extras: fields sd-server lacks, which its clients ignore.
        ["GET /sdapi/v1/schedulers only in sdnet $[].aliases"] = "A1111's shape has aliases (null here)",
        ["GET /sdapi/v1/options only in sdnet $.CLIP_stop_at_last_layers"] = "A1111's clip skip setting",
        ["POST /v1/images/generations only in sdnet $.data[].seed"] = "each image's seed, for reproducing it",
        ["POST /v1/images/generations only in sdnet $.size"] = "OpenAI's newer response echoes the size",
        ["GET /sdcpp/v1/capabilities only in sdnet $.models"] = "every model a server of several serves, and whether it is loaded",
        ["GET /sdcpp/v1/capabilities only in sdnet $.models[]"] = "every model a server of several serves, and whether it is loaded",
        ["GET /sdcpp/v1/capabilities only in sdnet $.models[].name"] = "every model a server of several serves, and whether it is loaded",
        ["GET /sdcpp/v1/capabilities only in sdnet $.models[].stem"] = "every model a server of several serves, and whether it is loaded",
        ["GET /sdcpp/v1/capabilities only in sdnet $.models[].path"] = "every model a server of several serves, and whether it is loaded",
        ["GET /sdcpp/v1/capabilities only in sdnet $.models[].loaded"] = "every model a server of several serves, and whether it is loaded",
        ["GET /v1/models only in sdnet $.object"] = "OpenAI's list shape",
        ["GET /v1/models only in sdnet $.data[].created"] = "OpenAI's model shape",
        // Error shapes: each face answers in its own API's shape, which its clients and SDKs parse.
        ["POST /sdapi/v1/txt2img only in sdnet $.detail"] = "A1111's error shape: error holds the kind, detail the message",
        ["POST /v1/images/generations kind of $.error: sd-server string, sdnet object"] = "OpenAI's error object {message, type, param, code}, which OpenAI's SDKs read",
        ["POST /v1/images/generations only in sdnet $.error.message"] = "OpenAI's error object",
        ["POST /v1/images/generations only in sdnet $.error.type"] = "OpenAI's error object",
        ["POST /v1/images/generations only in sdnet $.error.param"] = "OpenAI's error object",
        ["POST /v1/images/generations only in sdnet $.error.code"] = "OpenAI's error object",
    };

    private static readonly (string Method, string Path, string? Body)[] s_requests =
    [
        ("GET", "/sdcpp/v1/capabilities", null),
        ("POST", "/sdcpp/v1/img_gen", """{"prompt":"a lighthouse","width":64,"height":64,"seed":3,"sample_params":{"sample_steps":2}}"""),
        ("JOB", "", null),
        ("GET", "/sdcpp/v1/jobs/job_nope", null),
        ("POST", "/sdcpp/v1/jobs/job_nope/cancel", null),
        ("GET", "/sdapi/v1/loras", null),
        ("GET", "/sdapi/v1/upscalers", null),
        ("GET", "/sdapi/v1/latent-upscale-modes", null),
        ("GET", "/sdapi/v1/samplers", null),
        ("GET", "/sdapi/v1/schedulers", null),
        ("GET", "/sdapi/v1/sd-models", null),
        ("GET", "/sdapi/v1/options", null),
        ("POST", "/sdapi/v1/txt2img", """{"prompt":"a lighthouse","width":64,"height":64,"steps":2,"seed":3}"""),
        ("POST", "/v1/images/generations", """{"prompt":"a lighthouse","size":"64x64","n":1}"""),
        ("GET", "/v1/models", null),
        ("POST", "/sdcpp/v1/img_gen", "{not json"),
        ("POST", "/sdapi/v1/txt2img", """{"prompt":"x","width":-5}"""),
        ("POST", "/v1/images/generations", """{"prompt":""}"""),
    ];

    [SkippableFact]
    public async Task Sd_server_and_sdnet_serve_answer_the_same_requests_with_the_same_shapes()
    {
        var (sdServer, reason) = Find();
        Skip.If(sdServer is null, reason);
        await using var ours = await StartAsync(fixture.Generator);
        int port = FreePort();
        var psi = new ProcessStartInfo(sdServer!, ["-m", NativeTestEnvironment.TinySd1, "--listen-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", NativeTestEnvironment.ThreadsArgument])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // sd-server scans ggml's stock names only: hand it the CPU module our loader chose.
        psi.Environment["GGML_BACKEND_PATH"] = CpuModule();
        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var log = process.StandardError.ReadToEndAsync();
        try
        {
            using var upstream = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromMinutes(2) };
            await WaitForAsync(upstream, process, log);
            using var client = Client(ours);

            var differences = new List<string>();
            var theirs = await RunAsync(upstream);
            var mine = await RunAsync(client);
            for (int i = 0; i < s_requests.Length; i++)
            {
                string name = s_requests[i].Method == "JOB" ? "GET /sdcpp/v1/jobs/{id} (completed)" : $"{s_requests[i].Method} {s_requests[i].Path}";
                var (theirStatus, theirBody) = theirs[i];
                var (myStatus, myBody) = mine[i];
                if (theirStatus != myStatus) differences.Add($"{name} status sd-server {theirStatus} sdnet {myStatus}");
                var a = Shape(theirBody);
                var b = Shape(myBody);
                foreach (var path in a.Keys.Except(b.Keys)) differences.Add($"{name} missing in sdnet {path}");
                foreach (var path in b.Keys.Except(a.Keys)) differences.Add($"{name} only in sdnet {path}");
                foreach (var path in a.Keys.Intersect(b.Keys).Where(p => !a[p].SetEquals(b[p])))
                    differences.Add($"{name} kind of {path}: sd-server {string.Join('|', a[path].Order())}, sdnet {string.Join('|', b[path].Order())}");
            }
            var unexpected = differences.Where(d => !s_known.ContainsKey(d)).ToList();
            Assert.True(unexpected.Count == 0, "differences from sd-server not listed in s_known:\n" + string.Join('\n', unexpected));
            var stale = s_known.Keys.Except(differences).ToList();
            Assert.True(stale.Count == 0, "listed differences that no longer occur:\n" + string.Join('\n', stale));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static async Task<List<(int Status, JsonElement? Body)>> RunAsync(HttpClient client)
    {
        var results = new List<(int, JsonElement?)>();
        string? job = null;
        foreach (var (method, path, body) in s_requests)
        {
            if (method == "JOB")
            {
                var deadline = DateTime.UtcNow.AddMinutes(2);
                while (true)
                {
                    var (status, reply) = await SendAsync(client, "GET", "/sdcpp/v1/jobs/" + job, null);
                    if (reply?.GetProperty("status").GetString() is "completed" or "failed" or "cancelled" || DateTime.UtcNow > deadline)
                    {
                        results.Add((status, reply));
                        break;
                    }
                    await Task.Delay(100);
                }
                continue;
            }
            var result = await SendAsync(client, method, path, body);
            if (path == "/sdcpp/v1/img_gen" && result.Status == 202) job = result.Body!.Value.GetProperty("id").GetString();
            results.Add(result);
        }
        return results;
    }

    private static async Task<(int Status, JsonElement? Body)> SendAsync(HttpClient client, string method, string path, string? body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path.TrimStart('/'));
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        JsonElement? parsed = null;
        try
        {
            parsed = JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException)
        {
            // Not JSON (an empty body): compared by status only.
        }
        return ((int)response.StatusCode, parsed);
    }

    /// <summary>Every path of <paramref name="value"/> ("$.a.b[].c") with the kinds seen there; array items share one path.</summary>
    private static Dictionary<string, HashSet<string>> Shape(JsonElement? value)
    {
        var shape = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        if (value is { } v) Walk(v, "$", shape);
        return shape;

        static void Walk(JsonElement e, string path, Dictionary<string, HashSet<string>> into)
        {
            string kind = e.ValueKind switch
            {
                JsonValueKind.Object => "object",
                JsonValueKind.Array => "array",
                JsonValueKind.String => "string",
                JsonValueKind.Number => "number",
                JsonValueKind.True or JsonValueKind.False => "bool",
                _ => "null",
            };
            if (!into.TryGetValue(path, out var kinds)) into[path] = kinds = [];
            kinds.Add(kind);
            if (e.ValueKind == JsonValueKind.Object)
                foreach (var p in e.EnumerateObject()) Walk(p.Value, path + "." + p.Name, into);
            else if (e.ValueKind == JsonValueKind.Array)
                foreach (var item in e.EnumerateArray()) Walk(item, path + "[]", into);
        }
    }

    /// <summary>
    /// sd-server beside the runtime the tests load: a build tree's or the user cache's <c>tools/</c>, three folders above
    /// <c>runtimes/RID/native</c> (the cache keeps it there when the build made it).
    /// </summary>
    private static (string? Path, string? Reason) Find()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } explicitPath)
            return File.Exists(explicitPath) ? (explicitPath, null) : (null, $"{Variable}={explicitPath} does not exist");
        if (!OperatingSystem.IsLinux()) return (null, "sd-server is compared on Linux only (its CPU module is found by the runtime's Linux name)");
        NativeTestEnvironment.Require();
        string native = Path.GetDirectoryName(StableDiffusion.Native.NativeRuntime.Describe().LibraryPath)!;
        string candidate = Path.GetFullPath(Path.Combine(native, "..", "..", "..", "tools", "sd-server"));
        return File.Exists(candidate)
            ? (candidate, null)
            : (null, $"no sd-server beside the runtime ({candidate}): build it from the pin with -DSDNET_BUILD_SD_CLI=ON and the sdnet-cache target, or set {Variable}");
    }

    /// <summary>The CPU module of the runtime the tests load, as our loader picked it for this machine.</summary>
    private static string CpuModule()
    {
        var info = StableDiffusion.Native.NativeRuntime.Describe();
        string variant = info.CpuVariant ?? throw new InvalidOperationException("no CPU variant was chosen");
        return Path.Combine(Path.GetDirectoryName(info.LibraryPath)!, $"libsdnet-ggml-cpu-{variant}.so");
    }

    private static async Task WaitForAsync(HttpClient upstream, Process process, Task<string> log)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"sd-server exited with {process.ExitCode}: {await log}");
            try
            {
                using var probe = await upstream.GetAsync("sdapi/v1/options");
                if (probe.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("sd-server did not answer within a minute");
    }
}
