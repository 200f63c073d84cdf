using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace StableDiffusion.Native.Tests.Integration;

/// <summary>ggml's own RPC: a generator whose compute runs in sdnet-rpc-server on loopback gives the local image.</summary>
[Collection(NativeCollection.Name)]
public sealed class RpcTests(TinyGeneratorFixture fixture)
{
    /// <summary>Set to 1 to run the RPC test (in a test process of its own).</summary>
    public const string IsolatedVariable = "SDNET_RPC_TEST";

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
    public async Task A_generation_on_an_rpc_server_on_loopback_equals_the_local_one()
    {
        var info = NativeTestEnvironment.Require();
        string? server = FindServer(info);
        Skip.If(server is null, $"no sdnet-rpc-server in tools/ beside {info.LibraryPath} (the cpu preset builds it with GGML_RPC=ON)");
        Skip.If(!info.Modules.Any(m => m.Kind == "rpc"), "this runtime has no RPC backend module");
        // Upstream registers an RPC server's device in ggml's process-wide registry for good, and calls that take no
        // device (upscaler, conversion, ...) then reach for it after the server is gone: the test host crashed. Until
        // every native call is pinned to a device, this test runs in a process of its own.
        Skip.If(Environment.GetEnvironmentVariable(IsolatedVariable) != "1",
            $"upstream keeps RPC devices registered for the whole process; run alone: {IsolatedVariable}=1 dotnet test --filter FullyQualifiedName~RpcTests");

        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var psi = new ProcessStartInfo(server!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--threads", "2" }) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            output.Enqueue(e.Data);
            if (e.Data.StartsWith("sdnet-rpc-server: serving", StringComparison.Ordinal)) ready.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var request = NativeTestEnvironment.Small(seed: 42);
            var local = fixture.Generator.TextToImage(request)[0];

            var log = new LineLogger();
            using var remote = Generator.Load(NativeTestEnvironment.TinyOptions with { RpcServers = $"127.0.0.1:{port}", Logger = log });
            var image = remote.TextToImage(request)[0];
            // Upstream chose the server's device (weights in its memory, compute there), not the local CPU.
            Assert.Contains(log.Lines, l => l.Contains("Initializing backend: RPC0", StringComparison.Ordinal));
            Assert.Contains(output, l => l.Contains("Accepted client connection", StringComparison.Ordinal));
            PixelAssert.Identical(local.Image, image.Image);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        // Upstream keeps the server's device in ggml's process-wide registry: a later generator without RpcServers
        // must still compute locally, not on the server that is now gone.
        using var after = Generator.Load(NativeTestEnvironment.TinyOptions);
        PixelAssert.Identical(fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 42))[0].Image, after.TextToImage(NativeTestEnvironment.Small(seed: 42))[0].Image);
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
