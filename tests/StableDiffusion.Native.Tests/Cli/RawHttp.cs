using System.Net;
using System.Net.Sockets;
using System.Text;

namespace StableDiffusion.Native.Tests.Cli;

/// <summary>Requests written byte for byte, as a browser, a rebinding page or a broken client sends them (HttpClient would fix them up).</summary>
internal static class RawHttp
{
    /// <summary>A POST with <c>Connection: close</c>; <paramref name="headers"/> are extra lines, each ending in CRLF.</summary>
    public static string Post(int port, string body, string contentType = "application/json", string host = "127.0.0.1", string path = "/sdapi/v1/txt2img", string headers = "")
        => $"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {contentType}\r\n{headers}Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";

    public static string Get(int port, string path, string host = "127.0.0.1")
        => $"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n";

    public static string Preflight(int port, string origin)
        => $"OPTIONS /sdapi/v1/txt2img HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n";

    /// <summary>Sends one request (it says <c>Connection: close</c>) and reads until the server closes.</summary>
    public static async Task<string> SendAsync(int port, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request));
        // No half-close: Kestrel takes the end of the request stream as the client going away.
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(3));
    }

    /// <summary>The status code of a raw response; -1 when there is none.</summary>
    public static int StatusOf(string response)
    {
        string[] parts = response.Split("\r\n", 2)[0].Split(' ');
        return parts.Length > 1 && int.TryParse(parts[1], out int s) ? s : -1;
    }
}
