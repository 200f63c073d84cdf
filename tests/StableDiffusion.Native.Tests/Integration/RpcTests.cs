using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace StableDiffusion.Native.Tests.Integration;

/// <summary>ggml's own RPC: a generator whose compute runs in sdnet-rpc-server on loopback gives the local image.</summary>
[Collection(NativeCollection.Name)]
public sealed class RpcTests(TinyGeneratorFixture fixture)
{
    /// <summary>tools/sdnet-rpc-server beside the runtime's runtimes/&lt;rid&gt;/native folder (the build and the user cache both keep it there).</summary>
    internal static string? FindServer(NativeRuntimeInfo info)
    {
        string? native = Path.GetDirectoryName(info.LibraryPath);
        string? root = native is null ? null : Path.GetFullPath(Path.Combine(native, "..", "..", ".."));
        string file = OperatingSystem.IsWindows() ? "sdnet-rpc-server.exe" : "sdnet-rpc-server";
        string? path = root is null ? null : Path.Combine(root, "tools", file);
        return path is not null && File.Exists(path) ? path : null;
    }

    [SkippableFact]
    public async Task A_generation_on_an_rpc_server_on_loopback_equals_the_local_one_and_a_gone_server_kills_nothing()
    {
        var info = NativeTestEnvironment.Require();
        string? server = FindServer(info);
        Skip.If(server is null, $"no sdnet-rpc-server in tools/ beside {info.LibraryPath} (the cpu preset builds it with GGML_RPC=ON)");
        Skip.If(!info.Modules.Any(m => m.Kind == "rpc"), "this runtime has no RPC backend module");
        // Upstream registers an RPC server's devices in ggml's process-wide registry for good, numbered in order (RPC0, …),
        // and its default device is the first GPU-type one there. Every context is pinned to a device of its own choosing (a
        // generator with RpcServers to its own server's, the rest to a local one), so this runs in the suite's process.
        var request = NativeTestEnvironment.Small(seed: 42);
        var local = fixture.Generator.TextToImage(request)[0];

        int firstPort;
        Generator first;
        await using (var one = await RpcServer.StartAsync(server!))
        {
            firstPort = one.Port;
            var log = new LineLogger();
            first = Generator.Load(NativeTestEnvironment.TinyOptions with { RpcServers = $"127.0.0.1:{one.Port}", Logger = log });
            PixelAssert.Identical(local.Image, first.TextToImage(request)[0].Image);
            // Upstream computed on this generator's own server's device (weights in its memory, compute there).
            string device = ChosenDevice(log);
            Assert.Contains(log.Lines, l => l.Contains($"Initializing backend: {device}", StringComparison.Ordinal));
            Assert.Contains(one.Output, l => l.Contains("Accepted client connection", StringComparison.Ordinal));
        }

        using (first)
        {
            // The server is gone: ggml's RPC client would abort the process on the lost connection, so the call is refused
            // first, with a typed error that names the server.
            var gone = Assert.Throws<GenerationException>(() => first.TextToImage(request));
            Assert.Contains($"127.0.0.1:{firstPort} cannot be reached", gone.Message, StringComparison.Ordinal);
        }

        // A second server: its generator must compute on its own server's device, not on the first server's (registered
        // first, still in the registry, gone), which upstream's default would take.
        await using (var two = await RpcServer.StartAsync(server!))
        {
            var log = new LineLogger();
            using var second = Generator.Load(NativeTestEnvironment.TinyOptions with { RpcServers = $"127.0.0.1:{two.Port}", Logger = log });
            PixelAssert.Identical(local.Image, second.TextToImage(request)[0].Image);
            Assert.Contains(two.Output, l => l.Contains("Accepted client connection", StringComparison.Ordinal));
            Assert.NotEqual("RPC0", ChosenDevice(log));
        }

        // A generator without RpcServers, and an upscaler (which has no generator's device), compute locally.
        using var after = Generator.Load(NativeTestEnvironment.TinyOptions);
        PixelAssert.Identical(local.Image, after.TextToImage(request)[0].Image);
        using var upscaler = Upscaler.Load(StableDiffusion.Native.TestModels.ExtraTestModels.Esrgan());
        Assert.Equal(local.Image.Width * upscaler.Factor, upscaler.Upscale(local.Image).Width);
        // A generator whose server is gone at load time is refused the same way, before upstream sees it.
        var refused = Assert.Throws<GenerationException>(() => Generator.Load(NativeTestEnvironment.TinyOptions with { RpcServers = $"127.0.0.1:{firstPort}" }));
        Assert.Contains("cannot be reached", refused.Message, StringComparison.Ordinal);
        // Upstream's auto-fit asks every GPU-type device in the process for its memory, the gone servers' too.
        var autoFit = Assert.Throws<GenerationException>(() => Generator.Load(NativeTestEnvironment.TinyOptions with { AutoFit = true }));
        Assert.Contains("AutoFit", autoFit.Message, StringComparison.Ordinal);
    }

    /// <summary>The device the generator logged as its choice ("backend: RPC1, the first device of …").</summary>
    private static string ChosenDevice(LineLogger log)
    {
        string choice = Assert.Single(log.Lines, l => l.StartsWith("backend: RPC", StringComparison.Ordinal) && l.Contains("own first RPC server", StringComparison.Ordinal));
        return choice["backend: ".Length..choice.IndexOf(',', StringComparison.Ordinal)];
    }

    /// <summary>sdnet-rpc-server on a free loopback port, killed on disposal.</summary>
    private sealed class RpcServer : IAsyncDisposable
    {
        private readonly Process _process;

        private RpcServer(Process process, int port)
        {
            _process = process;
            Port = port;
        }

        public int Port { get; }

        public System.Collections.Concurrent.ConcurrentQueue<string> Output { get; } = new();

        public static async Task<RpcServer> StartAsync(string path)
        {
            int port;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }
            var psi = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in new[] { "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--threads", NativeTestEnvironment.ThreadsArgument }) psi.ArgumentList.Add(a);
            var server = new RpcServer(Process.Start(psi)!, port);
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            server._process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                server.Output.Enqueue(e.Data);
                if (e.Data.StartsWith("sdnet-rpc-server: serving", StringComparison.Ordinal)) ready.TrySetResult();
            };
            server._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) server.Output.Enqueue(e.Data); };
            server._process.BeginOutputReadLine();
            server._process.BeginErrorReadLine();
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }

    private sealed class LineLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines) Lines.Add(formatter(state, exception));
        }
    }
}
