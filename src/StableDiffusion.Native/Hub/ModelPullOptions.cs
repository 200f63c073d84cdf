using System.Text;
using Microsoft.Extensions.Logging;

using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Hub;

/// <summary>
/// How <see cref="ModelsFolderHubExtensions.PullAsync(ModelsFolder, HubFileReference, ModelPullOptions?, IProgress{ModelPullProgress}?, CancellationToken)"/>
/// downloads. Immutable: a security switch such as <see cref="AllowLegacyPickle"/> is chosen per call.
/// </summary>
/// <remarks>
/// The hub and the token default to what the hub's own tools read: <c>HF_ENDPOINT</c> (a mirror, or a local hub)
/// and <c>HF_TOKEN</c>. <see cref="ToString"/> never shows the token.
/// </remarks>
public sealed record ModelPullOptions
{
    /// <summary>The environment variable that sets <see cref="Endpoint"/>.</summary>
    public const string EndpointVariable = "HF_ENDPOINT";

    /// <summary>The environment variable that sets <see cref="Token"/>.</summary>
    public const string TokenVariable = "HF_TOKEN";

    /// <summary>Options read from this process's environment (see <see cref="ModelPullOptions(Func{string, string?})"/>).</summary>
    /// <exception cref="ArgumentException"><c>HF_ENDPOINT</c> is set but is not an absolute http or https URL.</exception>
    public ModelPullOptions()
        : this(Environment.GetEnvironmentVariable)
    {
    }

    /// <summary>
    /// Options whose <see cref="Endpoint"/> and <see cref="Token"/> come from <paramref name="environment"/>:
    /// <c>HF_ENDPOINT</c> (else <see cref="DefaultEndpoint"/>) and <c>HF_TOKEN</c> (else none). Empty values count
    /// as unset. Lets an app or a test supply the variables without changing the process's environment.
    /// </summary>
    /// <param name="environment">Reads a variable by name; returns <see langword="null"/> when it is not set.</param>
    /// <exception cref="ArgumentNullException"><paramref name="environment"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><c>HF_ENDPOINT</c> is set but is not an absolute http or https URL.</exception>
    public ModelPullOptions(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        string? endpoint = environment(EndpointVariable);
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            this.Endpoint = DefaultEndpoint;
        }
        else
        {
            this.Endpoint = Uri.TryCreate(endpoint.Trim(), UriKind.Absolute, out var uri) && IsHttp(uri)
                ? uri
                : throw new ArgumentException(
                    $"{EndpointVariable} is '{DisplayText.Escape(endpoint)}', which is not an absolute http or https URL (such as {DefaultEndpoint.AbsoluteUri.TrimEnd('/')}).",
                    nameof(environment));
        }

        string? token = environment(TokenVariable);
        this.Token = string.IsNullOrWhiteSpace(token) ? null : token.Trim();
    }

    /// <summary>The public hub, <c>https://huggingface.co</c>.</summary>
    public static Uri DefaultEndpoint { get; } = new("https://huggingface.co", UriKind.Absolute);

    /// <summary>
    /// The hub: files are resolved at <c>{Endpoint}/{owner}/{repo}/resolve/{revision}/{path}</c>. An absolute http or
    /// https URL; it may have a path (a mirror under a folder). Default: <c>HF_ENDPOINT</c>, else
    /// <see cref="DefaultEndpoint"/>.
    /// </summary>
    public Uri Endpoint { get; init; }

    /// <summary>
    /// An access token for gated and private repositories, sent as <c>Authorization: Bearer</c> to the
    /// <see cref="Endpoint"/>'s host only — never to the host a download is redirected to (the hub's CDN). Default:
    /// <c>HF_TOKEN</c>, else none.
    /// </summary>
    public string? Token { get; init; }

    /// <summary>
    /// Whether pickle-based checkpoints (<c>.ckpt</c>, <c>.pt</c>, <c>.pth</c>, <c>.bin</c>, <c>.pkl</c>,
    /// <c>.pickle</c>) may be downloaded. Loading one can run code; off by default, so such a file is refused before
    /// anything is requested.
    /// </summary>
    public bool AllowLegacyPickle { get; init; }

    /// <summary>
    /// Whether to download the file again and replace a file of that name in the folder. Off: a file of that name
    /// whose size is the hub's is returned as is, and one of another size is refused.
    /// </summary>
    public bool Overwrite { get; init; }

    /// <summary>
    /// How many times a failed request is retried (a connection that failed, dropped or stalled; a 5xx, 408 or 429
    /// answer) before the pull fails; 0 never retries. A download that made progress before failing starts the
    /// count again, so a long download survives more than this many drops. Default 5.
    /// </summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>
    /// The wait before the first retry; each further retry waits twice as long (at most a minute). A
    /// <c>Retry-After</c> of at most a minute from the server is honoured instead. Default one second.
    /// </summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest wait for a response's headers, and for the next bytes of a body; a connection silent for longer
    /// counts as dropped (and is retried). <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> waits forever. Default one minute.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The HTTP handler to send requests with, for a proxy or client certificates, or a test; it is not disposed.
    /// It must not follow redirects itself (<c>AllowAutoRedirect = false</c>): the pull follows them, so that the
    /// token stays with the hub and the hub's size and hash headers are read from its own answer.
    /// <see langword="null"/> uses a shared handler (system proxy settings, no automatic redirects or
    /// decompression).
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>
    /// Gets told about retries (warning), about a file whose sha256 the hub does not announce so that only its size
    /// is verified (warning), and about reused and resumed files (information). <see langword="null"/> logs nothing.
    /// </summary>
    public ILogger? Logger { get; init; }

    internal static bool IsHttp(Uri uri)
        => uri.IsAbsoluteUri && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);

    // The synthesized ToString would print the token into logs and exception dumps.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Endpoint = ").Append(this.Endpoint)
            .Append(", Token = ").Append(this.Token is null ? "(none)" : "(set)")
            .Append(", AllowLegacyPickle = ").Append(this.AllowLegacyPickle)
            .Append(", Overwrite = ").Append(this.Overwrite)
            .Append(", MaxRetries = ").Append(this.MaxRetries)
            .Append(", RetryDelay = ").Append(this.RetryDelay)
            .Append(", Timeout = ").Append(this.Timeout)
            .Append(", HttpHandler = ").Append(this.HttpHandler is null ? "(shared)" : this.HttpHandler.GetType().Name)
            .Append(", Logger = ").Append(this.Logger is null ? "(none)" : "(set)");
        return true;
    }
}

/// <summary>What a pull is doing, in <see cref="ModelPullProgress.Stage"/>.</summary>
public enum ModelPullStage
{
    /// <summary>Bytes are arriving.</summary>
    Downloading = 0,

    /// <summary>The complete file is being hashed.</summary>
    Verifying = 1,

    /// <summary>The file is in the folder under its final name.</summary>
    Completed = 2,
}

/// <summary>How far a pull is.</summary>
/// <param name="Stage">What the pull is doing.</param>
/// <param name="BytesReceived">
/// <see cref="ModelPullStage.Downloading"/>: the bytes of the file on disk, a resumed part included;
/// <see cref="ModelPullStage.Verifying"/>: the bytes hashed so far; <see cref="ModelPullStage.Completed"/>: the
/// file's size.
/// </param>
/// <param name="TotalBytes">The file's size as the hub announced it; <see langword="null"/> when it did not.</param>
/// <param name="BytesPerSecond">The recent download speed (the last few seconds), or 0 before it is known.</param>
/// <param name="EstimatedRemaining">The time left at <paramref name="BytesPerSecond"/>; <see langword="null"/> when unknown.</param>
/// <param name="ResumedFrom">The bytes already on disk when the current request started (a resumed <c>.part</c>); 0 when it started from the beginning.</param>
/// <param name="Sha256">
/// The sha256 (64 lowercase hex digits) the file is verified against; <see langword="null"/> when the hub announces
/// none (a file outside Git LFS), so that only the size is verified.
/// </param>
public readonly record struct ModelPullProgress(
    ModelPullStage Stage,
    long BytesReceived,
    long? TotalBytes,
    double BytesPerSecond,
    TimeSpan? EstimatedRemaining,
    long ResumedFrom,
    string? Sha256);
