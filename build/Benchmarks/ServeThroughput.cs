using System.Diagnostics;
using System.Net.Http;
using System.Text;
using System.Text.Json;

namespace StableDiffusion.Native.Benchmarks;

/// <summary>
/// Throughput of <c>sdnet serve</c> against the library, both in their steady state: one server process and one loaded
/// <see cref="Generator"/> live through every round, each warmed up once (a server runs for days; its steady state is what
/// a queue meets). A round sends a queue of identical jobs to the server at once (A1111 txt2img, PNG in base64 back) and
/// runs the same jobs back to back on the generator (each encoded to PNG). The result is the median of the rounds' ratios.
/// </summary>
/// <remarks>
/// On a shared machine the speed drifts by more than 10% from one ten-second span to the next, for both contenders alike.
/// Two ways to cancel it: <b>in turn</b> (the default), every core to one contender at a time, alternating which goes
/// first; or <b>side by side</b> (<c>SIDE_BY_SIDE=1</c>), both at once, each pinned to its own core (the server's
/// client with the server), swapping cores every round, so both always run under the same drift.
/// </remarks>
internal static class ServeThroughput
{
    public sealed record Settings(string SdnetDll, string Model, int Size, int Steps, int Threads, int Jobs, int Runs, int Port, bool SideBySide);

    private interface IContender
    {
        Task<(double Wall, double Cpu)> RoundAsync(int jobs);
    }

    public static async Task<int> RunAsync(Settings s)
    {
        Console.WriteLine($"job: {s.Size}x{s.Size}, {s.Steps} step(s), euler_a, cfg 7, {s.Threads} thread(s) each; {s.Jobs} jobs per round; "
            + $"{s.Runs} rounds, {(s.SideBySide ? "side by side on one core each" : "in turn")}");
        var children = new List<Process>();
        try
        {
            var server = Start(children, s.SideBySide ? 0 : null, "dotnet", s.SdnetDll, "serve", "-m", s.Model, "--host", "127.0.0.1",
                "--port", s.Port.ToString(), "-t", s.Threads.ToString(), "--queue", s.Jobs.ToString());
            var serve = await ServeContender.StartAsync(server, s);
            IContender library = s.SideBySide
                ? await WorkerContender.StartAsync(Start(children, 1, Environment.ProcessPath!, typeof(ServeThroughput).Assembly.Location,
                    "library-worker", s.Model, s.Size.ToString(), s.Steps.ToString(), s.Threads.ToString()))
                : InProcessContender.Load(s);
            if (s.SideBySide) Pin(Environment.ProcessId, 0); // the client goes with the server: its cost is the server's

            // Warm-up: the first job of each pays for the JIT and the first allocations.
            await serve.RoundAsync(1);
            await library.RoundAsync(1);

            var ratios = new List<double>();
            var serveTimes = new List<double>();
            var libraryTimes = new List<double>();
            for (int r = 1; r <= s.Runs; r++)
            {
                (double Wall, double Cpu) st, lt;
                if (s.SideBySide)
                {
                    int serveCore = (r - 1) % 2;
                    foreach (var p in new[] { server.Id, Environment.ProcessId }) Pin(p, serveCore);
                    Pin(children[1].Id, 1 - serveCore);
                    var both = (serve.RoundAsync(s.Jobs), library.RoundAsync(s.Jobs));
                    st = await both.Item1;
                    lt = await both.Item2;
                }
                else if (r % 2 == 1)
                {
                    st = await serve.RoundAsync(s.Jobs);
                    lt = await library.RoundAsync(s.Jobs);
                }
                else
                {
                    lt = await library.RoundAsync(s.Jobs);
                    st = await serve.RoundAsync(s.Jobs);
                }
                double ratio = lt.Wall / st.Wall;
                ratios.Add(ratio);
                serveTimes.Add(st.Wall);
                libraryTimes.Add(lt.Wall);
                Console.WriteLine($"round {r}: serve {st.Wall:F3} s (server CPU {st.Cpu:F1} s), library {lt.Wall:F3} s (CPU {lt.Cpu:F1} s), "
                    + $"serve / library throughput {ratio:F4}");
            }

            double serveMedian = Median(serveTimes), libraryMedian = Median(libraryTimes);
            Console.WriteLine();
            Console.WriteLine($"{"contender",-8} {"wall (s)",12} {"jobs per s",14}");
            Console.WriteLine($"{"serve",-8} {serveMedian,12:F3} {s.Jobs / serveMedian,14:F4}");
            Console.WriteLine($"{"library",-8} {libraryMedian,12:F3} {s.Jobs / libraryMedian,14:F4}");
            Console.WriteLine($"serve / library throughput: {Median(ratios):F4} (median of rounds: {string.Join(' ', ratios.Select(x => x.ToString("F4")))})");
            return 0;
        }
        finally
        {
            foreach (var child in children)
                if (!child.HasExited) child.Kill(entireProcessTree: true);
        }
    }

    /// <summary>The library side of a side-by-side run, in its own process: "run N" on stdin, "done WALL CPU" back.</summary>
    public static int LibraryWorker(string model, int size, int steps, int threads)
    {
        var contender = InProcessContender.Load(new Settings("", model, size, steps, threads, 0, 0, 0, true));
        Console.WriteLine("ready");
        while (Console.ReadLine() is { } line && line.StartsWith("run ", StringComparison.Ordinal))
        {
            var (wall, cpu) = contender.RoundAsync(int.Parse(line[4..])).GetAwaiter().GetResult();
            Console.WriteLine($"done {wall:R} {cpu:R}");
        }
        return 0;
    }

    private sealed class ServeContender(HttpClient client, string body, Process server) : IContender
    {
        public static async Task<ServeContender> StartAsync(Process server, Settings s)
        {
            var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{s.Port}/"), Timeout = TimeSpan.FromHours(1) };
            var deadline = DateTime.UtcNow.AddMinutes(5);
            while (true)
            {
                if (server.HasExited) throw new InvalidOperationException($"sdnet serve exited with {server.ExitCode}");
                if (DateTime.UtcNow > deadline) throw new TimeoutException("sdnet serve was not ready within 5 minutes");
                try
                {
                    using var response = await client.GetAsync("readyz");
                    if (response.IsSuccessStatusCode) break;
                }
                catch (HttpRequestException)
                {
                }
                await Task.Delay(200);
            }
            string body = $$"""{"prompt":"a lighthouse","width":{{s.Size}},"height":{{s.Size}},"steps":{{s.Steps}},"seed":42,"sampler_name":"Euler a","cfg_scale":7}""";
            return new ServeContender(client, body, server);
        }

        public async Task<(double Wall, double Cpu)> RoundAsync(int jobs)
        {
            server.Refresh();
            var cpu = server.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            int[] sizes = await Task.WhenAll(Enumerable.Range(0, jobs).Select(_ => SendAsync()));
            double wall = clock.Elapsed.TotalSeconds;
            server.Refresh();
            if (sizes.Any(n => n == 0)) throw new InvalidOperationException("an empty image came back");
            return (wall, (server.TotalProcessorTime - cpu).TotalSeconds);
        }

        private async Task<int> SendAsync()
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await client.PostAsync("sdapi/v1/txt2img", content);
            string reply = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{(int)response.StatusCode}: {reply}");
            using var json = JsonDocument.Parse(reply);
            return Convert.FromBase64String(json.RootElement.GetProperty("images")[0].GetString()!).Length;
        }
    }

    private sealed class InProcessContender(Generator generator, ImageRequest request) : IContender
    {
        public static InProcessContender Load(Settings s)
        {
            // LIBRARY_LOGGER=1 hands the generator a logger at Warning, as sdnet does; LIBRARY_PREVIEW=1 asks for a preview
            // every step, as the server does for its progress route: to tell the server's costs apart.
            var logger = Environment.GetEnvironmentVariable("LIBRARY_LOGGER") == "1" ? new WarningLogger() : null;
            var generator = Generator.Load(new GeneratorOptions { ModelPath = s.Model, Threads = s.Threads, Logger = logger });
            var preview = Environment.GetEnvironmentVariable("LIBRARY_PREVIEW") == "1" ? new CountingPreview() : null;
            var request = new ImageRequest
            {
                Prompt = "a lighthouse", Width = s.Size, Height = s.Size, Seed = 42,
                Sampling = new SamplingOptions { Steps = s.Steps, Sampler = Sampler.EulerAncestral, CfgScale = 7 },
                Preview = preview,
            };
            return new InProcessContender(generator, request);
        }

        public Task<(double Wall, double Cpu)> RoundAsync(int jobs)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            long bytes = 0;
            for (int i = 0; i < jobs; i++) bytes += generator.Generate(request)[0].EncodePng().Length;
            double wall = clock.Elapsed.TotalSeconds;
            if (bytes == 0) throw new InvalidOperationException("an empty image was made");
            return Task.FromResult((wall, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds));
        }
    }

    private sealed class WorkerContender(Process worker) : IContender
    {
        public static async Task<WorkerContender> StartAsync(Process worker)
        {
            string? line = await worker.StandardOutput.ReadLineAsync();
            if (line != "ready") throw new InvalidOperationException($"the library worker said '{line}' (exit {(worker.HasExited ? worker.ExitCode : 0)})");
            return new WorkerContender(worker);
        }

        public async Task<(double Wall, double Cpu)> RoundAsync(int jobs)
        {
            await worker.StandardInput.WriteLineAsync($"run {jobs}");
            await worker.StandardInput.FlushAsync();
            string line = await worker.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the library worker ended");
            string[] parts = line.Split(' ');
            if (parts is not ["done", _, _]) throw new InvalidOperationException($"the library worker said '{line}'");
            return (double.Parse(parts[1]), double.Parse(parts[2]));
        }
    }

    private static Process Start(List<Process> children, int? core, string program, params string[] args)
    {
        var psi = new ProcessStartInfo(core is null ? program : "taskset")
        {
            UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        if (core is int c)
        {
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(c.ToString());
            psi.ArgumentList.Add(program);
        }
        foreach (string a in args) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        children.Add(process);
        string name = Path.GetFileNameWithoutExtension(args[0]);
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"{name}: {e.Data}"); };
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Pins every thread of a process to one core (threads it starts later inherit it).</summary>
    private static void Pin(int pid, int core)
    {
        // A thread that ends while taskset walks the list fails the walk: try again.
        for (int attempt = 1; ; attempt++)
        {
            using var taskset = Process.Start(new ProcessStartInfo("taskset", ["-a", "-p", "-c", core.ToString(), pid.ToString()])
            {
                RedirectStandardOutput = true, RedirectStandardError = true,
            })!;
            taskset.StandardOutput.ReadToEnd();
            string error = taskset.StandardError.ReadToEnd();
            taskset.WaitForExit();
            if (taskset.ExitCode == 0) return;
            if (attempt == 10) throw new InvalidOperationException($"taskset could not pin {pid} to core {core}: {error}");
            Thread.Sleep(50);
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private sealed class WarningLogger : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Warning;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) Console.Error.WriteLine(formatter(state, exception));
        }
    }

    private sealed class CountingPreview : IProgress<PreviewFrame>
    {
        public int Count;

        public void Report(PreviewFrame value) => Count++;
    }
}
