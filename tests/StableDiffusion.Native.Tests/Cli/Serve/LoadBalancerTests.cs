using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StableDiffusion.Native.Cli.Serve;
using StableDiffusion.Native.Tests.Integration;
using static StableDiffusion.Native.Tests.Cli.Serve.ServerTestSupport;

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>
/// Two replicas behind HAProxy on loopback, configured as the README's "Running replicas" section says: while one is
/// busy, its 503 sends requests to the other, and its <c>/readyz</c> takes it out of rotation.
/// </summary>
[Collection(NativeAloneCollection.Name)]
public sealed class LoadBalancerTests(TinyGeneratorFixture fixture)
{
    private const string Short = """{"prompt":"x","width":64,"height":64,"steps":1,"seed":1}""";

    [SkippableFact]
    public async Task Haproxy_sends_requests_around_a_busy_replica_by_its_503_and_its_readyz()
    {
        string? haproxy = FindHaproxy();
        Skip.If(haproxy is null, "haproxy is not installed (Debian: apt-get install haproxy); it is the balancer this test drives");
        // Replica a takes one generation and no queue, so one long job fills it (on one core, leaving the other to b); b has
        // room to wait.
        using var second = Generator.Load(NativeTestEnvironment.TinyOptions);
        await using var a = await StartAsync(second, new ServeOptions { Queue = 0 });
        await using var b = await StartAsync(fixture.Generator, new ServeOptions { Queue = 4 });
        int retrying = FreePort(), checking = FreePort();
        string dir = Directory.CreateTempSubdirectory("sdnet-haproxy-").FullName;
        try
        {
            string config = Path.Combine(dir, "haproxy.cfg");
            // The README's example on loopback, split in two so that each mechanism is seen alone: "retrying" has no health
            // check, so only the 503 sends requests elsewhere; "checking" takes a replica out when its /readyz fails.
            File.WriteAllText(config, $"""
                global
                  log stderr format raw local0
                defaults
                  log global
                  option httplog
                  mode http
                  timeout connect 2s
                  timeout client 5m
                  timeout server 5m
                  timeout check 10s
                  retries 3
                  retry-on 503 conn-failure empty-response
                  option redispatch 1
                frontend retrying
                  bind 127.0.0.1:{retrying}
                  default_backend unchecked
                frontend checking
                  bind 127.0.0.1:{checking}
                  default_backend checked
                backend unchecked
                  balance roundrobin
                  server a 127.0.0.1:{a.Address.Port}
                  server b 127.0.0.1:{b.Address.Port}
                backend checked
                  balance roundrobin
                  option httpchk
                  http-check send meth GET uri /readyz
                  http-check expect status 200
                  default-server inter 500ms fall 2 rise 1
                  server a 127.0.0.1:{a.Address.Port} check
                  server b 127.0.0.1:{b.Address.Port} check

                """);
            using var process = Process.Start(new ProcessStartInfo(haproxy!, ["-db", "-f", config])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            var log = process.StandardError.ReadToEndAsync();
            try
            {
                await WaitForListenerAsync(retrying, process, log);
                await WaitForListenerAsync(checking, process, log);
                using var viaRetry = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{retrying}/"), Timeout = TimeSpan.FromMinutes(2) };
                using var viaCheck = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{checking}/"), Timeout = TimeSpan.FromMinutes(2) };
                using var directA = Client(a);
                using var directB = Client(b);

                using var stop = new CancellationTokenSource();
                var running = LongTxt2Img(directA, stop.Token);
                await WaitUntilSamplingAsync(directA);

                // Round robin sends half of these to the busy replica; its 503 makes HAProxy retry them on the other.
                for (int i = 0; i < 4; i++) await ExpectOk(viaRetry, process, log, $"retried request {i}");
                double refused = Count(await directA.GetStringAsync("metrics"), "/sdapi/v1/txt2img", 503);
                Assert.True(refused >= 1, "no request reached the busy replica, so its 503 was never tried");
                Assert.Equal(4, Count(await directB.GetStringAsync("metrics"), "/sdapi/v1/txt2img", 200));

                // Once two of a's /readyz checks have failed, the checked backend sends it nothing.
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (Count(await directA.GetStringAsync("metrics"), "/readyz", 503) < 3 && DateTime.UtcNow < deadline) await Task.Delay(100);
                if (Count(await directA.GetStringAsync("metrics"), "/readyz", 503) < 3)
                {
                    string readyz = await (await directA.GetAsync("readyz")).Content.ReadAsStringAsync();
                    string progress = await directA.GetStringAsync("sdapi/v1/progress?skip_current_image=true");
                    process.Kill();
                    Assert.Fail($"a's /readyz did not answer 503 to three of HAProxy's checks; it answers {readyz}, its progress {progress}\nhaproxy:\n{await log}");
                }
                for (int i = 0; i < 4; i++) await ExpectOk(viaCheck, process, log, $"checked request {i}");
                Assert.Equal(refused, Count(await directA.GetStringAsync("metrics"), "/sdapi/v1/txt2img", 503));
                Assert.Equal(8, Count(await directB.GetStringAsync("metrics"), "/sdapi/v1/txt2img", 200));

                await stop.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
                await WaitUntilIdleAsync(directA, TimeSpan.FromSeconds(15));
            }
            finally
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task ExpectOk(HttpClient balancer, Process haproxy, Task<string> log, string what)
    {
        var response = await balancer.PostAsync("sdapi/v1/txt2img", Json(Short));
        if (response.StatusCode == HttpStatusCode.OK) return;
        string body = await response.Content.ReadAsStringAsync();
        haproxy.Kill();
        Assert.Fail($"{what}: {(int)response.StatusCode} {body}\nhaproxy:\n{await log}");
    }

    private static double Count(string exposition, string route, int status)
    {
        foreach (string line in exposition.Split('\n'))
        {
            if (!line.StartsWith("sdnet_http_requests_total{", StringComparison.Ordinal)) continue;
            if (line.Contains($"route=\"{route}\"", StringComparison.Ordinal) && line.Contains($"status=\"{status}\"", StringComparison.Ordinal))
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
        return 0;
    }

    private static string? FindHaproxy()
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Concat(["/usr/sbin", "/usr/local/sbin", "/opt/homebrew/bin"]);
        return directories.Select(d => Path.Combine(d, OperatingSystem.IsWindows() ? "haproxy.exe" : "haproxy")).FirstOrDefault(File.Exists);
    }

    private static async Task WaitForListenerAsync(int port, Process process, Task<string> log)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"haproxy exited with {process.ExitCode}: {await log}");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        throw new TimeoutException("haproxy did not listen within 20 s");
    }
}
