using System.Globalization;
using System.Net.Sockets;

namespace StableDiffusion.Native;

/// <summary>
/// Checks a generator's RPC servers before each call. ggml's RPC client aborts the process when a server it uses does not
/// answer (its failed sends end in <c>GGML_ABORT</c>, which nothing can catch), so a server that went away since the
/// load must be found here, by a plain TCP connect, and reported as a <see cref="GenerationException"/>. A server that
/// dies in the middle of a call still takes the process with it: that is upstream's, and the README says so.
/// </summary>
internal static class RpcServers
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The servers of an <c>RpcServers</c> list, in order, trimmed, as upstream splits it.</summary>
    public static string[] List(string? servers)
        => string.IsNullOrWhiteSpace(servers) ? [] : servers.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// The device a generator with <c>RpcServers</c> computes on: its first server's first device, registered now. Upstream's
    /// own default would take the first GPU-type device of any server ever registered in this process, also one that is gone.
    /// </summary>
    /// <exception cref="GenerationException">A server cannot be reached or serves no device.</exception>
    public static string? Device(string? servers)
    {
        string[] list = List(servers);
        if (list.Length == 0) return null;
        EnsureReachable(servers);
        string? first = null;
        foreach (string server in list)
        {
            string device = Native.NativeRuntimeLoader.RpcServerDevice(server)
                ?? throw new GenerationException($"The RPC server {ModelFiles.DisplayText.Escape(server, 80)} answered, but serves no device (is it a ggml RPC server of the same ggml?).");
            lock (s_registered) s_registered.Add(server);
            first ??= device;
        }
        return first;
    }

    // Every server registered in this process: upstream keeps their devices for good.
    private static readonly HashSet<string> s_registered = new(StringComparer.Ordinal);

    /// <summary>
    /// Upstream's auto-fit asks every GPU-type device in the process for its free memory, RPC devices of other generators
    /// included, and ggml aborts the process when such a server is gone: such a load is refused while one is.
    /// </summary>
    /// <exception cref="GenerationException">A server registered in this process does not answer.</exception>
    public static void EnsureEveryRegisteredReachable(string what)
    {
        string[] registered;
        lock (s_registered) registered = [.. s_registered];
        foreach (string server in registered)
        {
            if (!AreReachable(server))
                throw new GenerationException($"{what} asks every device in the process for its memory, and the RPC server {ModelFiles.DisplayText.Escape(server, 80)}, "
                    + "registered by an earlier generator, is gone (upstream would abort the process). Load it without AutoFit, or in a new process.");
        }
    }

    /// <summary>Whether every server accepts connections now (a context on them may be freed).</summary>
    public static bool AreReachable(string? servers)
    {
        try
        {
            EnsureReachable(servers);
            return true;
        }
        catch (GenerationException)
        {
            return false;
        }
    }

    /// <summary>
    /// One server as ggml's RPC client reads it, split at its last ':': a host name, an IPv4 address or a bracketed IPv6
    /// address, and a port from 1 to 65535.
    /// </summary>
    public static bool TryParse(string server, out string host, out int port)
    {
        host = "";
        port = 0;
        int colon = server.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(server.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            return false;
        string name = server[..colon];
        bool ok = name.StartsWith('[') && name.EndsWith(']')
            ? System.Net.IPAddress.TryParse(name[1..^1], out _)
            : Uri.CheckHostName(name) is UriHostNameType.Dns or UriHostNameType.IPv4;
        host = name.Trim('[', ']');
        return ok;
    }

    /// <exception cref="GenerationException">A server does not accept connections.</exception>
    public static void EnsureReachable(string? servers)
    {
        foreach (string server in List(servers))
        {
            if (!TryParse(server, out string host, out int port))
                throw new GenerationException($"The RPC server '{ModelFiles.DisplayText.Escape(server, 80)}' is not HOST:PORT.");
            try
            {
                using var client = new TcpClient();
                using var timeout = new CancellationTokenSource(ConnectTimeout);
                client.ConnectAsync(host, port, timeout.Token).AsTask().GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                throw new GenerationException(
                    $"The RPC server {ModelFiles.DisplayText.Escape(server, 80)} cannot be reached ({(e is SocketException s ? s.SocketErrorCode.ToString() : "no answer in 3 s")}): "
                    + "nothing was sent to it. Start it again, or load the model without RpcServers.");
            }
        }
    }
}
