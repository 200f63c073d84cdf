using System.Net;
using Microsoft.AspNetCore.Http;
using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Cli.Serve;

/// <summary>What <see cref="RequestRules.Check"/> decided: pass it on, answer a CORS preflight, or refuse it.</summary>
internal enum RequestVerdict
{
    Pass,
    Preflight,
    Refuse,
}

/// <summary>
/// Which requests a web page may make a local server do. A server on loopback is still reachable from every page the
/// user opens: a page can rebind its own DNS name to 127.0.0.1 (its requests then carry <c>Host: its-name</c>), and a
/// page may send "simple" cross-site requests — <c>text/plain</c>, form bodies, no body — without asking first. So,
/// before routing: the Host must name this server (loopback, the listen address, an IP literal when listening on every
/// address, or an <c>--allowed-host</c>); a request from another origin may change nothing unless <c>--cors-origin</c>
/// names it; JSON endpoints take only <c>application/json</c> and the form endpoint only <c>multipart/form-data</c>,
/// so no simple request can start or stop work; and CORS headers go to exactly the listed origins, never to others.
/// </summary>
internal sealed class RequestRules
{
    private readonly HashSet<string> _hosts;
    private readonly HashSet<string> _origins;
    private readonly bool _anyAddress;

    /// <param name="listen">The address bound (null for <c>localhost</c>).</param>
    /// <param name="allowedHosts">Names added by <c>--allowed-host</c> (already validated).</param>
    /// <param name="corsOrigins">Origins given by <c>--cors-origin</c> (already validated and normalized).</param>
    public RequestRules(IPAddress? listen, IEnumerable<string> allowedHosts, IEnumerable<string> corsOrigins)
    {
        _hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost" };
        foreach (string h in allowedHosts) _hosts.Add(h.TrimEnd('.'));
        _origins = new HashSet<string>(corsOrigins, StringComparer.OrdinalIgnoreCase);
        _anyAddress = listen is not null && (listen.Equals(IPAddress.Any) || listen.Equals(IPAddress.IPv6Any));
        _listen = listen;
    }

    private readonly IPAddress? _listen;

    /// <summary>The paths whose POST body is a form (OpenAI's image edits); every other POST body is JSON.</summary>
    private static bool IsFormEndpoint(string path) => path.Equals("/v1/images/edits", StringComparison.OrdinalIgnoreCase);

    /// <summary>Decides one request from its method, path and headers.</summary>
    /// <returns>The verdict, and for a refusal the status, error code and message.</returns>
    public (RequestVerdict Verdict, int Status, string Code, string Message) Check(string method, string path, string? host, string? origin,
        string? contentType, long? contentLength, bool chunked)
    {
        if (!IsAllowedHost(host))
            return (RequestVerdict.Refuse, 421, "misdirected_request",
                $"The Host header '{DisplayText.Escape(host ?? "", 80)}' does not name this server; start it with --allowed-host NAME to accept that name.");

        bool safe = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
        if (HttpMethods.IsOptions(method))
        {
            if (origin is not null && _origins.Contains(origin)) return (RequestVerdict.Preflight, 204, "", "");
            return (RequestVerdict.Refuse, 403, "cross_origin",
                origin is null ? "OPTIONS is only answered as a CORS preflight." : "Cross-origin requests are refused; start the server with --cors-origin ORIGIN to allow one.");
        }
        if (!safe && origin is not null && !IsSameOrigin(origin, host) && !_origins.Contains(origin))
            return (RequestVerdict.Refuse, 403, "cross_origin",
                $"A request from the origin '{DisplayText.Escape(origin, 80)}' may not change anything here; start the server with --cors-origin ORIGIN to allow one.");

        if (HttpMethods.IsPost(method))
        {
            bool hasBody = chunked || contentLength is > 0 || contentType is not null;
            string media = MediaType(contentType);
            if (IsFormEndpoint(path))
            {
                if (!media.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
                    return (RequestVerdict.Refuse, 415, "unsupported_media_type", "This endpoint takes multipart/form-data.");
            }
            else if (hasBody && !media.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            {
                return (RequestVerdict.Refuse, 415, "unsupported_media_type",
                    $"The body must be sent as application/json, not '{DisplayText.Escape(contentType ?? "(none)", 80)}'.");
            }
        }
        return (RequestVerdict.Pass, 0, "", "");
    }

    /// <summary>The origin to echo in <c>Access-Control-Allow-Origin</c>, or null (no CORS headers at all).</summary>
    public string? CorsOrigin(string? origin) => origin is not null && _origins.Contains(origin) ? origin : null;

    /// <summary>Whether the Host header (name or address, with or without port) names this server.</summary>
    public bool IsAllowedHost(string? host)
    {
        if (string.IsNullOrEmpty(host)) return false;
        string name = HostName(host);
        if (name.Length == 0) return false;
        if (IPAddress.TryParse(name, out var ip))
        {
            // An IP literal cannot be rebound by DNS: loopback, the address bound, any when bound to all of them, or one
            // given with --allowed-host (a proxy's address in front of a loopback server).
            return IPAddress.IsLoopback(ip) || ip.Equals(_listen) || _anyAddress || _hosts.Contains(ip.ToString());
        }
        return _hosts.Contains(name.TrimEnd('.'));
    }

    /// <summary>The host part of a Host header: "[::1]:7860" → "::1", "name:80" → "name".</summary>
    internal static string HostName(string host)
    {
        host = host.Trim();
        if (host.StartsWith('['))
        {
            int close = host.IndexOf(']');
            return close < 0 ? "" : host[1..close];
        }
        int colon = host.LastIndexOf(':');
        // More than one colon without brackets is not a valid Host.
        if (colon >= 0 && host.IndexOf(':') != colon) return "";
        return colon < 0 ? host : host[..colon];
    }

    /// <summary>The page's own requests: an origin whose authority is the Host this request was sent to.</summary>
    private static bool IsSameOrigin(string origin, string? host)
        => host is not null && Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
           && string.Equals(uri.Authority, host, StringComparison.OrdinalIgnoreCase);

    private static string MediaType(string? contentType)
    {
        if (contentType is null) return "";
        int semicolon = contentType.IndexOf(';');
        return (semicolon < 0 ? contentType : contentType[..semicolon]).Trim();
    }

    /// <summary>Checks an <c>--allowed-host</c> value: a DNS name or an IP address, without scheme, port or path.</summary>
    public static string ValidateHost(string value)
    {
        string v = value.Trim();
        if (IPAddress.TryParse(v.Trim('[', ']'), out var ip)) return ip.ToString();
        if (v.Length is 0 or > 253 || Uri.CheckHostName(v) != UriHostNameType.Dns)
            throw new ArgumentException($"--allowed-host takes a host name or IP address without scheme or port, not '{DisplayText.Escape(value, 80)}'.", "--allowed-host");
        return v;
    }

    /// <summary>Checks a <c>--cors-origin</c> value: <c>http(s)://host[:port]</c> exactly as browsers send it in <c>Origin</c>.</summary>
    public static string ValidateOrigin(string value)
    {
        string v = value.Trim().TrimEnd('/');
        if (!Uri.TryCreate(v, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.PathAndQuery != "/" || uri.UserInfo.Length > 0
            || v.Contains('#'))
            throw new ArgumentException($"--cors-origin takes an origin like https://app.example or http://localhost:3000, not '{DisplayText.Escape(value, 80)}'.", "--cors-origin");
        return uri.IsDefaultPort ? $"{uri.Scheme}://{uri.Host}" : $"{uri.Scheme}://{uri.Host}:{uri.Port}";
    }
}
