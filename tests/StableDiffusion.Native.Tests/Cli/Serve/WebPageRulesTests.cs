using System.Text;
using StableDiffusion.Native.Cli.Serve;
using StableDiffusion.Native.Tests.Hostile;
using StableDiffusion.Native.Tests.Integration;
using static StableDiffusion.Native.Tests.Cli.Serve.ServerTestSupport;

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>
/// What a web page can make the server do, over raw sockets as a browser (or a rebinding page) sends it: each refused
/// request is followed by a good one that must still succeed.
/// </summary>
[Collection(NativeCollection.Name)]
public sealed class WebPageRulesTests(TinyGeneratorFixture fixture)
{
    private const string Txt2Img = """{"prompt":"a lighthouse","width":64,"height":64,"steps":1,"seed":5}""";

    private static string Post(int port, string body, string contentType = "application/json", string host = "127.0.0.1", string path = "/sdapi/v1/txt2img", string headers = "")
        => $"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {contentType}\r\n{headers}Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";

    private static string Preflight(int port, string origin)
        => $"OPTIONS /sdapi/v1/txt2img HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n";

    private static async Task<string> Send(int port, string request) => await NativeBoundaryHarnessTests.RawAsync(port, request);

    private static async Task AssertStillServes(int port)
    {
        string good = await Send(port, $"GET /sdapi/v1/options HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        Assert.Equal(200, NativeBoundaryHarnessTests.StatusOf(good));
    }

    [SkippableFact]
    public async Task Forged_hosts_simple_cross_site_requests_and_malformed_forms_are_refused_and_the_server_keeps_serving()
    {
        await using var server = await StartAsync(fixture.Generator);
        int port = server.Address.Port;
        (string Name, int Status, string Request)[] cases =
        [
            ("forged Host (DNS rebinding)", 421, Post(port, Txt2Img, host: "evil.example")),
            ("forged Host on a GET", 421, $"GET /sdapi/v1/progress HTTP/1.1\r\nHost: rebind.evil.example:{port}\r\nConnection: close\r\n\r\n"),
            ("text/plain txt2img", 415, Post(port, Txt2Img, contentType: "text/plain")),
            ("text/plain interrupt", 415, Post(port, "{}", contentType: "text/plain", path: "/sdapi/v1/interrupt")),
            ("form-encoded generations", 415, Post(port, "prompt=x", contentType: "application/x-www-form-urlencoded", path: "/v1/images/generations")),
            ("cross-origin interrupt without a body", 403, Post(port, "", contentType: "application/json", path: "/sdapi/v1/interrupt", headers: "Origin: https://evil.example\r\n")),
            ("cross-origin preflight", 403, Preflight(port, "https://evil.example")),
            ("truncated multipart", 400, Post(port, "--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nx\r\n--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n\u0089PNG", contentType: "multipart/form-data; boundary=b", path: "/v1/images/edits")),
            ("the 44 KB prompt", 400, Post(port, "{\"prompt\":\"" + HostileInputs.HostileCases.Fill("lighthouse ", 44_000) + "\",\"width\":64,\"height\":64,\"steps\":1}")),
        ];
        foreach (var (name, status, request) in cases)
        {
            string response = await Send(port, request);
            Assert.True(NativeBoundaryHarnessTests.StatusOf(response) == status, $"{name}: expected {status}, got:\n{(response.Length > 500 ? response[..500] : response)}");
            Assert.DoesNotContain("Access-Control-Allow-Origin", response, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("application/json", response, StringComparison.Ordinal);
            await AssertStillServes(port);
        }
        // The page's own requests (same origin) and clients without an Origin still generate.
        Assert.Equal(200, NativeBoundaryHarnessTests.StatusOf(await Send(port, Post(port, Txt2Img, headers: $"Origin: http://127.0.0.1:{port}\r\n"))));
        Assert.Equal(200, NativeBoundaryHarnessTests.StatusOf(await Send(port, Post(port, Txt2Img, host: "localhost"))));
    }

    [SkippableFact]
    public async Task Listed_origins_get_exactly_their_cors_headers_and_others_none()
    {
        await using var server = await StartAsync(fixture.Generator, new ServeOptions { CorsOrigins = ["https://app.example"], AllowedHosts = ["sd.lan"] });
        int port = server.Address.Port;
        string preflight = await Send(port, Preflight(port, "https://app.example"));
        Assert.Equal(204, NativeBoundaryHarnessTests.StatusOf(preflight));
        Assert.Contains("Access-Control-Allow-Origin: https://app.example", preflight, StringComparison.Ordinal);
        Assert.Contains("Access-Control-Allow-Headers: Authorization, Content-Type", preflight, StringComparison.Ordinal);
        string post = await Send(port, Post(port, Txt2Img, headers: "Origin: https://app.example\r\n"));
        Assert.Equal(200, NativeBoundaryHarnessTests.StatusOf(post));
        Assert.Contains("Access-Control-Allow-Origin: https://app.example", post, StringComparison.Ordinal);
        string other = await Send(port, Preflight(port, "https://app.example.evil"));
        Assert.Equal(403, NativeBoundaryHarnessTests.StatusOf(other));
        Assert.DoesNotContain("Access-Control-Allow-Origin", other, StringComparison.OrdinalIgnoreCase);
        // --allowed-host adds a name; others stay refused.
        Assert.Equal(200, NativeBoundaryHarnessTests.StatusOf(await Send(port, $"GET /sdapi/v1/options HTTP/1.1\r\nHost: SD.LAN:{port}\r\nConnection: close\r\n\r\n")));
        Assert.Equal(421, NativeBoundaryHarnessTests.StatusOf(await Send(port, $"GET /sdapi/v1/options HTTP/1.1\r\nHost: other.lan:{port}\r\nConnection: close\r\n\r\n")));
    }
}
