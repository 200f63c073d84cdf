using System.Text;
using StableDiffusion.Native.Cli.Serve;
using StableDiffusion.Native.Tests.Integration;
using static StableDiffusion.Native.Tests.Cli.Serve.ServerTestSupport;

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>
/// What a web page can make the server do, over raw sockets as a browser (or a rebinding page) sends it: each refused
/// request is followed by a good one that must still succeed.
/// </summary>
[Collection(NativeToolCollection.Name)]
public sealed class WebPageRulesTests(TinyGeneratorFixture fixture)
{
    private const string Txt2Img = """{"prompt":"a lighthouse","width":64,"height":64,"steps":1,"seed":5}""";

    private static async Task AssertStillServes(int port)
    {
        Assert.Equal(200, RawHttp.StatusOf(await RawHttp.SendAsync(port, RawHttp.Get(port, "/sdapi/v1/options"))));
    }

    [SkippableFact]
    public async Task Forged_hosts_simple_cross_site_requests_and_malformed_forms_are_refused_and_the_server_keeps_serving()
    {
        await using var server = await StartAsync(fixture.Generator);
        int port = server.Address.Port;
        (string Name, int Status, string Request)[] cases =
        [
            ("forged Host (DNS rebinding)", 421, RawHttp.Post(port, Txt2Img, host: "evil.example")),
            ("forged Host on a GET", 421, RawHttp.Get(port, "/sdapi/v1/progress", host: "rebind.evil.example")),
            ("text/plain txt2img", 415, RawHttp.Post(port, Txt2Img, contentType: "text/plain")),
            ("text/plain interrupt", 415, RawHttp.Post(port, "{}", contentType: "text/plain", path: "/sdapi/v1/interrupt")),
            ("form-encoded generations", 415, RawHttp.Post(port, "prompt=x", contentType: "application/x-www-form-urlencoded", path: "/v1/images/generations")),
            ("cross-origin interrupt without a body", 403, RawHttp.Post(port, "", contentType: "application/json", path: "/sdapi/v1/interrupt", headers: "Origin: https://evil.example\r\n")),
            ("cross-origin preflight", 403, RawHttp.Preflight(port, "https://evil.example")),
            ("truncated multipart", 400, RawHttp.Post(port, "--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nx\r\n--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n\u0089PNG", contentType: "multipart/form-data; boundary=b", path: "/v1/images/edits")),
            ("the 44 KB prompt", 400, RawHttp.Post(port, "{\"prompt\":\"" + HostileInputs.HostileCases.Fill("lighthouse ", 44_000) + "\",\"width\":64,\"height\":64,\"steps\":1}")),
        ];
        foreach (var (name, status, request) in cases)
        {
            string response = await RawHttp.SendAsync(port, request);
            Assert.True(RawHttp.StatusOf(response) == status, $"{name}: expected {status}, got:\n{(response.Length > 500 ? response[..500] : response)}");
            Assert.DoesNotContain("Access-Control-Allow-Origin", response, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("application/json", response, StringComparison.Ordinal);
            await AssertStillServes(port);
        }
        // The page's own requests (same origin) and clients without an Origin still generate.
        Assert.Equal(200, RawHttp.StatusOf(await RawHttp.SendAsync(port, RawHttp.Post(port, Txt2Img, headers: $"Origin: http://127.0.0.1:{port}\r\n"))));
        Assert.Equal(200, RawHttp.StatusOf(await RawHttp.SendAsync(port, RawHttp.Post(port, Txt2Img, host: "localhost"))));
    }

    [SkippableFact]
    public async Task Listed_origins_get_exactly_their_cors_headers_and_others_none()
    {
        await using var server = await StartAsync(fixture.Generator, new ServeOptions { CorsOrigins = ["https://app.example"], AllowedHosts = ["sd.lan"] });
        int port = server.Address.Port;
        string preflight = await RawHttp.SendAsync(port, RawHttp.Preflight(port, "https://app.example"));
        Assert.Equal(204, RawHttp.StatusOf(preflight));
        Assert.Contains("Access-Control-Allow-Origin: https://app.example", preflight, StringComparison.Ordinal);
        Assert.Contains("Access-Control-Allow-Headers: Authorization, Content-Type", preflight, StringComparison.Ordinal);
        string post = await RawHttp.SendAsync(port, RawHttp.Post(port, Txt2Img, headers: "Origin: https://app.example\r\n"));
        Assert.Equal(200, RawHttp.StatusOf(post));
        Assert.Contains("Access-Control-Allow-Origin: https://app.example", post, StringComparison.Ordinal);
        string other = await RawHttp.SendAsync(port, RawHttp.Preflight(port, "https://app.example.evil"));
        Assert.Equal(403, RawHttp.StatusOf(other));
        Assert.DoesNotContain("Access-Control-Allow-Origin", other, StringComparison.OrdinalIgnoreCase);
        // --allowed-host adds a name; others stay refused.
        Assert.Equal(200, RawHttp.StatusOf(await RawHttp.SendAsync(port, RawHttp.Get(port, "/sdapi/v1/options", host: "SD.LAN"))));
        Assert.Equal(421, RawHttp.StatusOf(await RawHttp.SendAsync(port, RawHttp.Get(port, "/sdapi/v1/options", host: "other.lan"))));
    }
}
