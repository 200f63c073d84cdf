using System.Net;
using StableDiffusion.Native.Cli.Serve;

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>Which requests a web page can make <c>sdnet serve</c> do: Host allow-list, origins, body types, CORS.</summary>
public sealed class RequestRulesTests
{
    private static readonly RequestRules Loopback = new(IPAddress.Loopback, [], []);

    private static RequestVerdict Verdict(RequestRules rules, string method, string path, string? host, string? origin = null, string? contentType = null, long? length = null)
        => rules.Check(method, path, host, origin, contentType, length, chunked: false).Verdict;

    [Theory]
    [InlineData("127.0.0.1:7860", true)]
    [InlineData("127.0.0.5", true)]
    [InlineData("localhost:7860", true)]
    [InlineData("LOCALHOST.", true)]
    [InlineData("[::1]:7860", true)]
    [InlineData("evil.example:7860", false)]
    [InlineData("localhost.evil.example", false)]
    [InlineData("192.168.1.5:7860", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("a:b:c", false)]
    public void Only_hosts_that_name_this_server_are_served(string? host, bool allowed)
    {
        Assert.Equal(allowed, Loopback.IsAllowedHost(host));
        var (verdict, status, _, message) = Loopback.Check("GET", "/sdapi/v1/samplers", host, null, null, null, false);
        Assert.Equal(allowed ? RequestVerdict.Pass : RequestVerdict.Refuse, verdict);
        if (!allowed)
        {
            Assert.Equal(421, status);
            Assert.Contains("--allowed-host", message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Allowed_hosts_and_the_listen_address_are_added_and_any_ip_literal_passes_when_listening_on_all()
    {
        var lan = new RequestRules(IPAddress.Parse("192.168.1.5"), ["sd.lan", RequestRules.ValidateHost("10.0.0.9")], []);
        Assert.True(lan.IsAllowedHost("10.0.0.9:7860")); // a proxy's address, named with --allowed-host
        Assert.True(lan.IsAllowedHost("192.168.1.5:7860"));
        Assert.True(lan.IsAllowedHost("SD.LAN:7860"));
        Assert.False(lan.IsAllowedHost("10.0.0.1"));
        var any = new RequestRules(IPAddress.Any, [], []);
        Assert.True(any.IsAllowedHost("10.1.2.3:7860"));
        Assert.False(any.IsAllowedHost("rebound.example:7860"));
    }

    [Theory]
    [InlineData("POST", "/sdapi/v1/txt2img", "text/plain", 10, true)]
    [InlineData("POST", "/sdapi/v1/txt2img", "application/x-www-form-urlencoded", 10, true)]
    [InlineData("POST", "/sdapi/v1/txt2img", "multipart/form-data; boundary=x", 10, true)]
    [InlineData("POST", "/sdapi/v1/txt2img", null, 10, true)]
    [InlineData("POST", "/sdapi/v1/txt2img", "application/json; charset=utf-8", 10, false)]
    [InlineData("POST", "/sdapi/v1/interrupt", "text/plain", 0, true)]
    [InlineData("POST", "/sdapi/v1/interrupt", null, 0, false)]
    [InlineData("POST", "/v1/images/edits", "multipart/form-data; boundary=x", 10, false)]
    [InlineData("POST", "/v1/images/edits", "application/x-www-form-urlencoded", 10, true)]
    [InlineData("POST", "/v1/images/edits", "text/plain", 10, true)]
    [InlineData("GET", "/sdapi/v1/progress", "text/plain", -1, false)]
    public void Only_json_and_the_form_endpoint_s_multipart_start_work(string method, string path, string? type, int length, bool refused)
    {
        var (verdict, status, _, _) = Loopback.Check(method, path, "127.0.0.1:7860", null, type, length < 0 ? null : length, false);
        Assert.Equal(refused ? RequestVerdict.Refuse : RequestVerdict.Pass, verdict);
        if (refused) Assert.Equal(415, status);
    }

    [Fact]
    public void Other_origins_change_nothing_and_get_no_cors_headers_unless_listed()
    {
        Assert.Equal(RequestVerdict.Refuse, Verdict(Loopback, "POST", "/sdapi/v1/interrupt", "127.0.0.1:7860", "https://evil.example"));
        Assert.Equal(RequestVerdict.Refuse, Verdict(Loopback, "POST", "/sdapi/v1/interrupt", "127.0.0.1:7860", "null"));
        Assert.Equal(RequestVerdict.Pass, Verdict(Loopback, "POST", "/sdapi/v1/interrupt", "127.0.0.1:7860", "http://127.0.0.1:7860"));
        Assert.Equal(RequestVerdict.Pass, Verdict(Loopback, "GET", "/sdapi/v1/progress", "127.0.0.1:7860", "https://evil.example"));
        Assert.Equal(RequestVerdict.Refuse, Verdict(Loopback, "OPTIONS", "/sdapi/v1/txt2img", "127.0.0.1:7860", "https://evil.example"));
        Assert.Null(Loopback.CorsOrigin("https://evil.example"));

        var cors = new RequestRules(IPAddress.Loopback, [], [RequestRules.ValidateOrigin("https://app.example/")]);
        Assert.Equal(RequestVerdict.Preflight, Verdict(cors, "OPTIONS", "/sdapi/v1/txt2img", "127.0.0.1:7860", "https://app.example"));
        Assert.Equal(RequestVerdict.Pass, Verdict(cors, "POST", "/sdapi/v1/txt2img", "127.0.0.1:7860", "https://app.example", "application/json", 2));
        Assert.Equal("https://app.example", cors.CorsOrigin("https://app.example"));
        Assert.Null(cors.CorsOrigin("https://app.example.evil"));
        Assert.Equal(RequestVerdict.Refuse, Verdict(cors, "OPTIONS", "/sdapi/v1/txt2img", "127.0.0.1:7860", "https://other.example"));
    }

    [Theory]
    [InlineData("*")]
    [InlineData("app.example")]
    [InlineData("https://app.example/path")]
    [InlineData("ftp://app.example")]
    [InlineData("https://user@app.example")]
    public void Cors_origins_must_be_exact_origins(string origin)
        => Assert.Equal("--cors-origin", Assert.Throws<ArgumentException>(() => RequestRules.ValidateOrigin(origin)).ParamName);

    [Theory]
    [InlineData("http://evil.example")]
    [InlineData("evil.example:80")]
    [InlineData("a b")]
    public void Allowed_hosts_must_be_names_or_addresses(string host)
        => Assert.Equal("--allowed-host", Assert.Throws<ArgumentException>(() => RequestRules.ValidateHost(host)).ParamName);
}
