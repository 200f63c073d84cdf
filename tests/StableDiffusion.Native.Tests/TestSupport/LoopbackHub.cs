using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace StableDiffusion.Native.Tests;

/// <summary>One request the hub saw: method, target and headers (names case-insensitive).</summary>
internal sealed record HubRequest(string Method, string Target, IReadOnlyDictionary<string, string> Headers)
{
    public string? Header(string name) => this.Headers.TryGetValue(name, out var value) ? value : null;

    public string Host => this.Header("Host") ?? string.Empty;

    public override string ToString() => $"{this.Method} {this.Host}{this.Target}";
}

/// <summary>A file the hub serves, and what it announces about it.</summary>
internal sealed class HubFile(byte[] content)
{
    /// <summary>The bytes served.</summary>
    public byte[] Content { get; set; } = content;

    /// <summary>The size announced in X-Linked-Size (or Content-Length for a non-LFS file); default the content's.</summary>
    public long? AnnouncedSize { get; set; }

    /// <summary>The sha256 announced in X-Linked-Etag; default the content's.</summary>
    public string? AnnouncedSha256 { get; set; }

    /// <summary>False: served by the hub itself with a git-style (sha1) ETag, as files outside Git LFS are.</summary>
    public bool Lfs { get; set; } = true;

    /// <summary>The CDN answers every GET with the whole file (200), ignoring Range.</summary>
    public bool IgnoreRange { get; set; }

    /// <summary>When set, the hub answers 401 unless this Bearer token is sent (a gated repository).</summary>
    public string? RequiredToken { get; set; }

    public static string Sha256Of(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
}

/// <summary>What the server sends back.</summary>
internal sealed class HubResponse
{
    public int Status { get; init; } = 200;

    public List<(string Name, string Value)> Headers { get; } = [];

    public byte[] Body { get; init; } = [];

    /// <summary>Close the connection after this many body bytes (Content-Length still announces them all).</summary>
    public int? DropAfter { get; init; }

    /// <summary>Send this many body bytes, then go silent until the server stops (a stalled connection).</summary>
    public int? StallAfter { get; init; }

    public HubResponse With(string name, string value)
    {
        this.Headers.Add((name, value));
        return this;
    }
}

/// <summary>
/// A Hugging Face hub on a loopback port, over raw HTTP/1.1 so that every header, status and dropped connection is
/// under the test's control. <c>/{owner}/{repo}/resolve/{revision}/{path}</c> answers HEAD and GET like the hub: a
/// Git LFS file with 302 to a CDN path on another host name (<c>localhost</c> instead of <c>127.0.0.1</c>) with
/// X-Linked-Size and X-Linked-Etag; the CDN path serves the bytes with Range support. A renamed repository answers
/// with a relative 307; unknown ones 404 with X-Error-Code. <see cref="Intercept"/> answers a request first when it
/// returns a response (failures, drops, stalls).
/// </summary>
internal sealed class LoopbackHub : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, HubFile> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _renamed = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _accepting;
    private bool _disposed;

    public LoopbackHub()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        this.Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = Task.Run(this.AcceptAsync);
    }

    public int Port { get; }

    /// <summary>The hub, as HF_ENDPOINT would name it.</summary>
    public Uri Endpoint => new($"http://127.0.0.1:{this.Port}");

    /// <summary>Every request, in arrival order.</summary>
    public ConcurrentQueue<HubRequest> Requests { get; } = new();

    /// <summary>Answers a request before the hub does, when it returns a response.</summary>
    public Func<HubRequest, HubResponse?>? Intercept { get; set; }

    public IEnumerable<HubRequest> CdnRequests => this.Requests.Where(r => r.Target.StartsWith("/cdn/", StringComparison.Ordinal));

    public IEnumerable<HubRequest> ResolveRequests => this.Requests.Where(r => r.Target.Contains("/resolve/", StringComparison.Ordinal));

    /// <summary>Serves <paramref name="file"/> as <c>owner/repo/path</c> at <paramref name="revision"/>.</summary>
    public HubFile Add(string repoAndPath, HubFile file, string revision = "main")
    {
        _files[Key(repoAndPath, revision)] = file;
        return file;
    }

    public HubFile Add(string repoAndPath, byte[] content) => this.Add(repoAndPath, new HubFile(content));

    /// <summary><paramref name="from"/> (<c>owner/repo</c>) was renamed to <paramref name="to"/>.</summary>
    public void Rename(string from, string to) => _renamed[from] = to;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop.Cancel();
        _listener.Stop();
        try
        {
            Task.WaitAll([_accepting, .. _connections], TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // Connections end with the listener; how they end is not what a test checks.
        }

    }

    private static string Key(string repoAndPath, string revision) => revision + "|" + repoAndPath;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _connections.Add(Task.Run(() => this.ServeAsync(client)));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var request = await ReadRequestAsync(stream, _stop.Token);
                if (request is null) return;
                this.Requests.Enqueue(request);
                var response = this.Intercept?.Invoke(request) ?? this.Handle(request);
                await WriteAsync(stream, request, response, _stop.Token);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away (a cancelled download) or the server stops.
            }
        }
    }

    private static async Task<HubRequest?> ReadRequestAsync(NetworkStream stream, CancellationToken ct)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || !(head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await stream.ReadAsync(one, ct) == 0) return null;
            head.Add(one[0]);
            if (head.Count > 64 * 1024) return null;
        }

        string[] lines = Encoding.ASCII.GetString([.. head]).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        string[] start = lines[0].Split(' ');
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0) headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        return new HubRequest(start[0], start[1], headers);
    }

    private static async Task WriteAsync(NetworkStream stream, HubRequest request, HubResponse response, CancellationToken ct)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.Status} {Reason(response.Status)}\r\n");
        foreach (var (name, value) in response.Headers) text.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        if (!response.Headers.Any(h => h.Name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)))
            text.Append(CultureInfo.InvariantCulture, $"Content-Length: {response.Body.Length}\r\n");
        text.Append("Connection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(text.ToString()), ct);
        if (request.Method == "HEAD") return;

        int send = Math.Min(response.Body.Length, response.DropAfter ?? response.StallAfter ?? response.Body.Length);
        await stream.WriteAsync(response.Body.AsMemory(0, send), ct);
        await stream.FlushAsync(ct);
        if (response.StallAfter is not null)
        {
            await Task.Delay(Timeout.Infinite, ct);
        }
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };

    private HubResponse Handle(HubRequest request)
    {
        string[] segments = request.Target.Split('?')[0].Split('/');
        if (segments.Length == 3 && segments[1] == "cdn")
        {
            return _files.TryGetValue(Uri.UnescapeDataString(segments[2]), out var cdnFile)
                ? Serve(request, cdnFile)
                : new HubResponse { Status = 404 };
        }

        // /{owner}/{repo}/resolve/{revision}/{path...}
        if (segments.Length < 6 || segments[3] != "resolve")
        {
            return new HubResponse { Status = 404 }.With("X-Error-Code", "RepoNotFound");
        }

        string repo = $"{segments[1]}/{segments[2]}";
        if (_renamed.TryGetValue(repo, out string? renamed))
        {
            // A relative redirect, as the hub sends for a renamed repository.
            return new HubResponse { Status = 307 }.With("Location", "/" + renamed + "/" + string.Join('/', segments.Skip(3)));
        }

        string revision = Uri.UnescapeDataString(segments[4]);
        string path = string.Join('/', segments.Skip(5).Select(Uri.UnescapeDataString));
        string key = Key($"{repo}/{path}", revision);
        if (!_files.TryGetValue(key, out var file))
        {
            return new HubResponse { Status = 404 }
                .With("X-Error-Code", "EntryNotFound")
                .With("X-Error-Message", $"{path} does not exist on \"{revision}\"");
        }

        if (file.RequiredToken is { } token && request.Header("Authorization") != "Bearer " + token)
        {
            return new HubResponse { Status = 401 }
                .With("X-Error-Code", "GatedRepo")
                .With("X-Error-Message", $"Access to model {repo} is restricted. You must have access to it and be authenticated to access it. Please log in.");
        }

        string sha = file.AnnouncedSha256 ?? HubFile.Sha256Of(file.Content);
        long size = file.AnnouncedSize ?? file.Content.Length;
        if (!file.Lfs)
        {
            // Served by the hub itself; its ETag is the git blob's hash (40 hex digits), not a sha256.
            string gitSha = sha[..40];
            return Serve(request, file).With("ETag", $"\"{gitSha}\"").With("X-Repo-Commit", new string('c', 40));
        }

        return new HubResponse { Status = 302 }
            .With("Location", $"http://localhost:{this.Port}/cdn/{Uri.EscapeDataString(key)}")
            .With("X-Linked-Size", size.ToString(CultureInfo.InvariantCulture))
            .With("X-Linked-Etag", $"\"{sha}\"")
            .With("ETag", "\"0123456789abcdef0123456789abcdef01234567\"")
            .With("X-Repo-Commit", new string('c', 40));
    }

    private static HubResponse Serve(HubRequest request, HubFile file)
    {
        byte[] content = file.Content;
        if (!file.IgnoreRange && request.Header("Range") is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            long from = long.Parse(range["bytes=".Length..^1], CultureInfo.InvariantCulture);
            if (from >= content.Length)
            {
                return new HubResponse { Status = 416 }.With("Content-Range", $"bytes */{content.Length}");
            }

            return new HubResponse { Status = 206, Body = content[(int)from..] }
                .With("Content-Range", $"bytes {from}-{content.Length - 1}/{content.Length}")
                .With("Accept-Ranges", "bytes");
        }

        return new HubResponse { Status = 200, Body = content }.With("Accept-Ranges", "bytes");
    }
}
