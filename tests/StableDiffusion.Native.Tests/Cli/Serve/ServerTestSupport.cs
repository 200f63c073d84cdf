using System.Buffers.Binary;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using StableDiffusion.Native.Cli.Serve;

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>Servers on loopback port 0 over the shared tiny model, and the requests the tests repeat.</summary>
internal static class ServerTestSupport
{
    public static Task<ImageServer> StartAsync(Generator generator, ServeOptions? options = null)
        => ImageServer.StartAsync(generator, (options ?? new ServeOptions()) with { Host = "127.0.0.1", Port = 0 });

    public static Task<ImageServer> StartAsync(ModelCatalog catalog, ServeOptions options, Microsoft.Extensions.Logging.ILogger log)
        => ImageServer.StartAsync(catalog, options with { Host = "127.0.0.1", Port = 0 }, log);

    /// <summary>A loopback port free now, for a process the test starts beside its servers (HAProxy, sd-server).</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static HttpClient Client(ImageServer server, string? key = null)
    {
        var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(5) };
        if (key is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>A txt2img that samples for minutes unless stopped: 10000 steps.</summary>
    public static Task<HttpResponseMessage> LongTxt2Img(HttpClient client, CancellationToken cancellationToken = default)
        => client.PostAsync("sdapi/v1/txt2img", Json("""{"prompt":"long","width":64,"height":64,"steps":10000,"seed":1,"sampler_name":"Euler"}"""), cancellationToken);

    /// <summary>Polls /sdapi/v1/progress until a generation is sampling; returns that report.</summary>
    public static async Task<JsonElement> WaitUntilSamplingAsync(HttpClient client, int minimumStep = 1)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            var report = await client.GetFromJsonAsync<JsonElement>("sdapi/v1/progress");
            if (report.GetProperty("state").GetProperty("sampling_step").GetInt32() >= minimumStep) return report;
            await Task.Delay(100);
        }
        throw new TimeoutException("No generation started sampling within 2 minutes.");
    }

    /// <summary>Polls until no generation runs (the job was cancelled or finished).</summary>
    public static async Task<TimeSpan> WaitUntilIdleAsync(HttpClient client, TimeSpan limit)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            var report = await client.GetFromJsonAsync<JsonElement>("sdapi/v1/progress?skip_current_image=true");
            if (report.GetProperty("state").GetProperty("job").GetString() == "") return clock.Elapsed;
            await Task.Delay(50);
        }
        throw new TimeoutException($"The generation still ran after {limit.TotalSeconds} s.");
    }

    /// <summary>Width and height from a PNG's IHDR, after checking the signature.</summary>
    public static (int Width, int Height) PngSize(ReadOnlySpan<byte> png)
    {
        Assert.True(png.Length > 24 && png[..8].SequenceEqual(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 }), "not a PNG");
        return (BinaryPrimitives.ReadInt32BigEndian(png[16..]), BinaryPrimitives.ReadInt32BigEndian(png[20..]));
    }

    public static string? PngParameters(byte[] png) => Imaging.GenerationParameters.Read(new MemoryStream(png))?.ToString();

    /// <summary>The value of the one sample of <paramref name="metric"/> whose labels include every one of <paramref name="labels"/>.</summary>
    public static double Sample(string exposition, string metric, params string[] labels)
    {
        var values = new List<double>();
        foreach (string line in exposition.Split('\n'))
        {
            var match = Regex.Match(line, @"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)");
            if (!match.Success || match.Groups["name"].Value != metric) continue;
            string found = match.Groups["labels"].Value;
            if (labels.All(l => found.Contains(l, StringComparison.Ordinal)))
                values.Add(double.Parse(match.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        Assert.True(values.Count == 1, $"{values.Count} samples of {metric}{{{string.Join(',', labels)}}} in:\n{exposition}");
        return values[0];
    }
}
