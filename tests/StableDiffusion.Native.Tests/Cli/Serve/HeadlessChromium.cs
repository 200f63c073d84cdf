using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>
/// A headless Chromium driven over the DevTools protocol: navigate, evaluate, screenshot, and every console error,
/// uncaught exception and failed load the page produced. No driver package: the protocol is JSON over a WebSocket.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    /// <summary>Overrides where Chromium is looked for.</summary>
    public const string Variable = "SDNET_CHROMIUM";

    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<int, TaskCompletionSource<JsonNode>> _pending = [];
    private readonly List<string> _errors = [];
    private readonly List<string> _events = [];
    private Task _reader = Task.CompletedTask;
    private int _id;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>Console errors, uncaught exceptions and error log entries, in order.</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errors) return [.. _errors];
        }
    }

    /// <summary>The browser to use, or null with the reason none was found.</summary>
    public static (string? Path, string? Reason) Find()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } explicitPath)
            return File.Exists(explicitPath) ? (explicitPath, null) : (null, $"{Variable}={explicitPath} does not exist");
        string[] names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            foreach (string name in names)
                if (File.Exists(Path.Combine(dir, name))) return (Path.Combine(dir, name), null);
        return (null, $"no Chromium on PATH ({string.Join(", ", names)}; or set {Variable}); Debian: apt-get install chromium");
    }

    public static async Task<HeadlessChromium> StartAsync(string path)
    {
        string profile = Path.Combine(Path.GetTempPath(), "sdnet-chromium-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[]
        {
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
            "--window-size=1100,1300", $"--user-data-dir={profile}", "about:blank",
        })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException("Chromium did not start.");
        var browser = new HeadlessChromium(process, profile);
        try
        {
            // Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID" on stderr.
            string? endpoint = null;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (endpoint is null)
            {
                string line = await process.StandardError.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("Chromium exited before listening.");
                int at = line.IndexOf("ws://", StringComparison.Ordinal);
                if (line.Contains("DevTools listening", StringComparison.Ordinal) && at >= 0) endpoint = line[at..].Trim();
            }
            _ = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            var browserUri = new Uri(endpoint);
            using var http = new HttpClient();
            var targets = await http.GetFromJsonAsync<JsonElement>($"http://{browserUri.Authority}/json/list");
            string page = targets.EnumerateArray().First(t => t.GetProperty("type").GetString() == "page").GetProperty("webSocketDebuggerUrl").GetString()!;
            await browser._socket.ConnectAsync(new Uri(page), timeout.Token);
            browser._reader = Task.Run(browser.ReadLoop);
            await browser.SendAsync("Runtime.enable");
            await browser.SendAsync("Log.enable");
            await browser.SendAsync("Page.enable");
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    public async Task NavigateAsync(Uri url)
    {
        int before;
        lock (_events) before = _events.Count(e => e == "Page.loadEventFired");
        await SendAsync("Page.navigate", new JsonObject { ["url"] = url.ToString() });
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            lock (_events)
                if (_events.Count(e => e == "Page.loadEventFired") > before) return;
            await Task.Delay(50);
        }
        throw new TimeoutException($"{url} did not load within 30 s.");
    }

    /// <summary>Evaluates an expression in the page and returns its value as JSON (awaiting a promise).</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject
        {
            ["expression"] = expression,
            ["returnByValue"] = true,
            ["awaitPromise"] = true,
        });
        if (result["exceptionDetails"] is { } failure) throw new InvalidOperationException("The page threw: " + failure.ToJsonString());
        return result["result"]?["value"];
    }

    public async Task<byte[]> ScreenshotAsync()
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true });
        return Convert.FromBase64String(result["data"]!.GetValue<string>());
    }

    private async Task<JsonNode> SendAsync(string method, JsonObject? parameters = null)
    {
        var done = new TaskCompletionSource<JsonNode>(TaskCreationOptions.RunContinuationsAsynchronously);
        int id;
        lock (_pending)
        {
            id = ++_id;
            _pending[id] = done;
        }
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, _stop.Token);
        return await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private async Task ReadLoop()
    {
        var buffer = new byte[1 << 20];
        using var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                message.SetLength(0);
                WebSocketReceiveResult received;
                do
                {
                    received = await _socket.ReceiveAsync(buffer, _stop.Token);
                    if (received.MessageType == WebSocketMessageType.Close) return;
                    message.Write(buffer, 0, received.Count);
                }
                while (!received.EndOfMessage);
                var node = JsonNode.Parse(message.ToArray())!;
                if (node["id"] is { } idNode)
                {
                    TaskCompletionSource<JsonNode>? waiter;
                    lock (_pending) _pending.Remove(idNode.GetValue<int>(), out waiter);
                    if (node["error"] is { } failure) waiter?.TrySetException(new InvalidOperationException(failure.ToJsonString()));
                    else waiter?.TrySetResult(node["result"] ?? new JsonObject());
                    continue;
                }
                string method = node["method"]?.GetValue<string>() ?? "";
                lock (_events) _events.Add(method);
                var p = node["params"];
                string? error = method switch
                {
                    "Runtime.consoleAPICalled" when p?["type"]?.GetValue<string>() is "error" or "assert" => "console: " + p!["args"]?.ToJsonString(),
                    "Runtime.exceptionThrown" => "exception: " + p?["exceptionDetails"]?.ToJsonString(),
                    "Log.entryAdded" when p?["entry"]?["level"]?.GetValue<string>() == "error" => "log: " + p!["entry"]?.ToJsonString(),
                    _ => null,
                };
                if (error is not null) lock (_errors) _errors.Add(error);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // The browser is going away.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            // Already gone.
        }
        await _reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _socket.Dispose();
        _process.Dispose();
        _stop.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // Chromium may still hold a file for a moment; the temp folder is cleaned eventually.
        }
    }
}
