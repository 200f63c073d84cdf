using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Hub;

/// <summary>
/// One pull of a hub file into a folder, following the hub client's conventions: a HEAD on the resolve URL (relative
/// redirects followed, cross-host ones not) gives the size and sha256 from <c>X-Linked-Size</c>/<c>X-Linked-Etag</c>;
/// a GET, following redirects to the CDN, fills <c>NAME.part</c>, resumed with <c>Range</c>; the complete part is
/// verified and only then renamed to <c>NAME</c>.
/// </summary>
/// <remarks>
/// Transient failures (a connection that fails, drops or stalls; 5xx, 408, 429) travel as
/// <see cref="HttpRequestException"/> inside this class, with the status when a server answered; every other failure
/// (a refused or missing file, a verification failure, a local I/O error) is final. Only the former are retried.
/// </remarks>
internal sealed class HubDownload
{
    /// <summary>The suffix of the file a download fills before it is verified.</summary>
    internal const string PartSuffix = ".part";

    private const int MaxRedirects = 10;
    private const int BufferSize = 1 << 20;
    private const int ErrorBodyLimit = 2048;
    private const int ShownLength = 160;
    private static readonly TimeSpan ReportInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan SpeedWindow = TimeSpan.FromSeconds(5);

    // One handler for the process, so connections are pooled across pulls. Redirects are followed by hand (see
    // ModelPullOptions.HttpHandler); no decompression, so Content-Length and ranges count the file's own bytes.
    private static readonly Lazy<HttpMessageHandler> s_sharedHandler = new(() => new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(30),
    });

    private static readonly ProductInfoHeaderValue s_userAgent =
        new("StableDiffusion.Native", typeof(HubDownload).Assembly.GetName().Version?.ToString(3) ?? "0");

    private readonly HubFileReference _file;
    private readonly ModelPullOptions _options;
    private readonly IProgress<ModelPullProgress>? _progress;
    private readonly HttpClient _client;
    private readonly string _directory;
    private readonly string _finalPath;
    private readonly string _partPath;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Queue<(TimeSpan At, long Bytes)> _samples = new();
    private int _failures;
    private TimeSpan? _retryAfter;
    private TimeSpan _lastReport = -ReportInterval; // The first report is always due.

    private HubDownload(string directory, HubFileReference file, ModelPullOptions options, IProgress<ModelPullProgress>? progress, HttpClient client)
    {
        _file = file;
        _options = options;
        _progress = progress;
        _client = client;
        _directory = directory;
        _finalPath = Path.Combine(directory, file.FileName);
        _partPath = _finalPath + PartSuffix;
    }

    /// <summary>The size and hash the hub announces, and where to download from.</summary>
    private sealed record Metadata(Uri ResolveUri, long? Size, string? Sha256, string? ETag);

    /// <summary>Checks what can be checked without the network; throws <see cref="ArgumentException"/>s.</summary>
    public static void Validate(HubFileReference file, ModelPullOptions options)
    {
        if (options.Endpoint is null || !ModelPullOptions.IsHttp(options.Endpoint))
        {
            throw new ArgumentException($"The hub endpoint '{DisplayText.Escape(options.Endpoint?.ToString())}' is not an absolute http or https URL.", nameof(options.Endpoint));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxRetries, nameof(options.MaxRetries));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RetryDelay, TimeSpan.Zero, nameof(options.RetryDelay));
        if (options.Timeout != Timeout.InfiniteTimeSpan && options.Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options.Timeout), options.Timeout, "The timeout must be positive or Timeout.InfiniteTimeSpan.");
        }

        if (!IsPlainFileName(file.FileName, out string? why))
        {
            throw new ArgumentException($"{file} cannot be saved in a folder: its name '{DisplayText.Escape(file.FileName)}' {why}.", nameof(file));
        }
    }

    /// <summary>Pulls <paramref name="file"/> into <paramref name="directory"/> and returns the final path.</summary>
    public static async Task<string> RunAsync(string directory, HubFileReference file, ModelPullOptions options, IProgress<ModelPullProgress>? progress, CancellationToken cancellationToken)
    {
        // Refused before any request: the extension is all that is known, and it is what loaders go by.
        if (!options.AllowLegacyPickle && ModelFile.PickleExtensions.Any(e => file.FileName.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
        {
            throw new ModelDownloadException(
                $"Refusing to download {file}: it is a pickle-based checkpoint, which can run code when it is loaded; pick the repository's .safetensors or .gguf file, or allow pickles (ModelPullOptions.AllowLegacyPickle; sdnet: --allow-pickle).",
                ModelDownloadFailure.UnsafeFormat,
                null,
                file);
        }

        using var client = new HttpClient(options.HttpHandler ?? s_sharedHandler.Value, disposeHandler: false)
        {
            // Timeouts are per wait (headers, each read of the body), not per download: see ModelPullOptions.Timeout.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        return await new HubDownload(directory, file, options, progress, client).PullAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether <paramref name="name"/> names a file directly in a folder on this system.</summary>
    internal static bool IsPlainFileName(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? why)
    {
        why = null;
        if (name.Length == 0 || name is "." or "..")
        {
            why = "is not a file name";
        }
        else if (name.AsSpan().IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal) || name.Contains(Path.AltDirectorySeparatorChar, StringComparison.Ordinal))
        {
            why = "holds a character that file names on this system cannot";
        }
        else if (OperatingSystem.IsWindows() && (name.EndsWith('.') || name.EndsWith(' ') || IsWindowsDeviceName(name)))
        {
            // Windows drops a trailing dot or space, and opens a device for CON, NUL, COM1...: another file than named.
            why = "is a device name or ends with a dot or space, which Windows does not keep";
        }

        return why is null;
    }

    private static bool IsWindowsDeviceName(string name)
    {
        string stem = name.Split('.')[0].TrimEnd(' ').ToUpperInvariant();
        return stem is "CON" or "PRN" or "AUX" or "NUL" or "CONIN$" or "CONOUT$"
            || (stem.Length == 4 && (stem.StartsWith("COM", StringComparison.Ordinal) || stem.StartsWith("LPT", StringComparison.Ordinal)) && stem[3] is >= '0' and <= '9' or '¹' or '²' or '³');
    }

    private async Task<string> PullAsync(CancellationToken ct)
    {
        Metadata meta = await this.ResolveAsync(ct).ConfigureAwait(false);
        if (File.Exists(_finalPath) && !_options.Overwrite)
        {
            // Not hashed again: a pulled file only gets its name after it was verified, and hashing gigabytes on every
            // call would cost seconds each time. Overwrite downloads and verifies it anew.
            long length = new FileInfo(_finalPath).Length;
            if (meta.Size is null || meta.Size == length)
            {
                this.Log(LogLevel.Information, $"{_file}: {_finalPath} is already there with the hub's size; not downloaded (Overwrite downloads it again).");
                this.Report(ModelPullStage.Completed, length, meta, 0, force: true);
                return _finalPath;
            }

            throw new ModelDownloadException(
                string.Create(CultureInfo.InvariantCulture, $"Not downloading {_file}: {_finalPath} already exists with {length} bytes, but the hub's file has {meta.Size}; allow replacing it (ModelPullOptions.Overwrite; sdnet: --force)."),
                ModelDownloadFailure.ExistingFileDiffers,
                null,
                _file);
        }

        if (meta.Sha256 is null)
        {
            string etag = meta.ETag is null ? "none" : $"'{DisplayText.Escape(meta.ETag, ShownLength)}'";
            this.Log(LogLevel.Warning, $"{_file}: the hub announces no sha256 for this file (ETag {etag} is not one; files outside Git LFS carry a git hash): only its size is verified.");
        }

        if (meta.Size is null)
        {
            this.Log(LogLevel.Warning, $"{_file}: the hub announces no size for this file: only the download's own length is checked.");
        }

        Directory.CreateDirectory(_directory);

        // Held exclusively for the whole pull (a lock on Unix too), so two pulls of one file cannot interleave.
        var part = new FileStream(_partPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1, FileOptions.Asynchronous);
        bool keep = true;
        try
        {
            await this.DownloadAsync(meta, part, ct).ConfigureAwait(false);
            await this.VerifyAsync(meta, part, ct).ConfigureAwait(false);
        }
        catch (ModelDownloadException e) when (e.Reason is ModelDownloadFailure.SizeMismatch or ModelDownloadFailure.HashMismatch)
        {
            // A corrupt part must not be resumed forever: the next pull starts from the beginning.
            keep = false;
            throw;
        }
        finally
        {
            await part.DisposeAsync().ConfigureAwait(false);
            if (!keep)
            {
                File.Delete(_partPath);
            }
        }

        // Atomic on one volume: the final name only ever holds a verified file.
        File.Move(_partPath, _finalPath, overwrite: _options.Overwrite);
        this.Report(ModelPullStage.Completed, new FileInfo(_finalPath).Length, meta, 0, force: true);
        return _finalPath;
    }

    private async Task<Metadata> ResolveAsync(CancellationToken ct)
    {
        while (true)
        {
            try
            {
                return await this.ResolveOnceAsync(ct).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                await this.BackOffAsync(e, ct).ConfigureAwait(false);
            }
        }
    }

    private async Task<Metadata> ResolveOnceAsync(CancellationToken ct)
    {
        Uri uri = _file.ResolveUri(_options.Endpoint);
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
        for (int hop = 0; ; hop++)
        {
            using HttpResponseMessage response = await this.SendAsync(HttpMethod.Head, uri, 0, timer, ct).ConfigureAwait(false);
            if (this.RedirectTarget(uri, response) is { } target)
            {
                // A relative redirect (a renamed repository) stays with the hub and is followed with the same headers;
                // one to another host is the file's download location, and this answer carries the hub's metadata.
                if (!SameOrigin(target, uri))
                {
                    return Describe(uri, response, linkedOnly: true);
                }

                if (hop == MaxRedirects)
                {
                    throw this.TooManyRedirects();
                }

                uri = target;
                continue;
            }

            if (response.IsSuccessStatusCode)
            {
                return Describe(uri, response, linkedOnly: false);
            }

            throw await this.FailureAsync(uri, response, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The hub's metadata: <c>X-Linked-Size</c> and <c>X-Linked-Etag</c> (the sha256 of a Git LFS file), else — for
    /// an answer that is the file itself — <c>Content-Length</c> and <c>ETag</c>. An ETag that is not 64 hex digits
    /// (a non-LFS file's git hash) is no sha256.
    /// </summary>
    private static Metadata Describe(Uri uri, HttpResponseMessage response, bool linkedOnly)
    {
        long? size = long.TryParse(Header(response, "X-Linked-Size"), NumberStyles.None, CultureInfo.InvariantCulture, out long linked) ? linked : null;
        string? etag = Header(response, "X-Linked-Etag");
        if (!linkedOnly)
        {
            size ??= response.Content.Headers.ContentLength;
            etag ??= Header(response, "ETag");
        }

        etag = etag?.Trim();
        if (etag is not null && etag.StartsWith("W/", StringComparison.Ordinal))
        {
            etag = etag[2..];
        }

        etag = etag?.Trim('"');
        string? sha = etag is { Length: 64 } && etag.All(char.IsAsciiHexDigit) ? etag.ToLowerInvariant() : null;
        return new Metadata(uri, size, sha, string.IsNullOrEmpty(etag) ? null : etag);
    }

    private static string? Header(HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? values.FirstOrDefault()
            : null;

    private async Task DownloadAsync(Metadata meta, FileStream part, CancellationToken ct)
    {
        _failures = 0;
        while (true)
        {
            long offset = part.Length;
            if (meta.Size is long size)
            {
                if (offset == size)
                {
                    if (offset > 0)
                    {
                        this.Log(LogLevel.Information, $"{_file}: {_partPath} is complete; verifying it.");
                    }

                    this.Report(ModelPullStage.Downloading, offset, meta, offset, force: true);
                    return;
                }

                if (offset > size)
                {
                    this.Log(LogLevel.Warning, string.Create(CultureInfo.InvariantCulture, $"{_file}: {_partPath} has {offset} bytes, more than the file's {size}; starting over."));
                    part.SetLength(0);
                    continue;
                }
            }

            try
            {
                if (await this.AttemptAsync(meta, part, offset, ct).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (HttpRequestException e)
            {
                if (part.Length > offset)
                {
                    _failures = 0; // It made progress: the retry budget counts failures in a row.
                }

                await this.BackOffAsync(e, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One GET from the bytes on disk on. True when the body is complete; false to start again at once.</summary>
    private async Task<bool> AttemptAsync(Metadata meta, FileStream part, long offset, CancellationToken ct)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);

        // Always from the resolve URL: the hub signs a fresh CDN URL each time, so a retry hours later still works.
        Uri uri = meta.ResolveUri;
        HttpResponseMessage response = await this.SendAsync(HttpMethod.Get, uri, offset, timer, ct).ConfigureAwait(false);
        for (int hop = 0; this.RedirectTarget(uri, response) is { } target; hop++)
        {
            response.Dispose();
            if (hop == MaxRedirects)
            {
                throw this.TooManyRedirects();
            }

            uri = target;
            response = await this.SendAsync(HttpMethod.Get, uri, offset, timer, ct).ConfigureAwait(false);
        }

        using (response)
        {
            switch (response.StatusCode)
            {
                case HttpStatusCode.PartialContent when offset > 0:
                    if (response.Content.Headers.ContentRange?.From != offset)
                    {
                        part.SetLength(0);
                        throw new HttpRequestException(string.Create(CultureInfo.InvariantCulture, $"{DisplayText.Escape(uri.Host)} sent another range than bytes {offset}- ({DisplayText.Escape(response.Content.Headers.ContentRange?.ToString(), ShownLength)}); starting over"));
                    }

                    this.Log(LogLevel.Information, string.Create(CultureInfo.InvariantCulture, $"{_file}: resuming {_partPath} at byte {offset}."));
                    break;
                case HttpStatusCode.OK or HttpStatusCode.PartialContent:
                    if (offset > 0)
                    {
                        // The server ignored the Range header and sends the whole file.
                        this.Log(LogLevel.Information, $"{_file}: {DisplayText.Escape(uri.Host)} cannot resume; downloading from the beginning.");
                        part.SetLength(0);
                        offset = 0;
                    }

                    break;
                case HttpStatusCode.RequestedRangeNotSatisfiable when offset > 0:
                    this.Log(LogLevel.Warning, string.Create(CultureInfo.InvariantCulture, $"{_file}: {DisplayText.Escape(uri.Host)} cannot resume at byte {offset}; starting over."));
                    part.SetLength(0);
                    return false;
                default:
                    throw await this.FailureAsync(uri, response, ct).ConfigureAwait(false);
            }

            part.Position = offset;
            long? bodyLength = response.Content.Headers.ContentLength;
            long received = 0;
            // The speed counts this request's bytes only: not a resumed prefix, nor the wait before a retry.
            _samples.Clear();
            this.Report(ModelPullStage.Downloading, offset, meta, offset, force: true);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                Stream body = await Network(() => response.Content.ReadAsStreamAsync(timer.Token), uri, offset, ct).ConfigureAwait(false);
                await using (body.ConfigureAwait(false))
                {
                    while (true)
                    {
                        timer.CancelAfter(_options.Timeout);
                        int n = await Network(() => body.ReadAsync(buffer, timer.Token).AsTask(), uri, offset + received, ct).ConfigureAwait(false);
                        if (n == 0)
                        {
                            break;
                        }

                        await part.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                        received += n;
                        if (meta.Size is long size && part.Length > size)
                        {
                            throw this.SizeMismatch(meta, $"more than the {size} bytes the hub announced arrived");
                        }

                        this.Report(ModelPullStage.Downloading, offset + received, meta, offset);
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            this.Report(ModelPullStage.Downloading, offset + received, meta, offset, force: true);
            if (bodyLength is long announced && received < announced)
            {
                throw new HttpRequestException(string.Create(CultureInfo.InvariantCulture, $"the connection to {DisplayText.Escape(uri.Host)} ended after {received} of {announced} bytes"));
            }

            if (meta.Size is long total && part.Length < total)
            {
                // A body that ended as its own length said is the server's whole file: shorter than the hub's size.
                if (bodyLength is not null)
                {
                    throw this.SizeMismatch(meta, string.Create(CultureInfo.InvariantCulture, $"{DisplayText.Escape(uri.Host)} sent a file of {part.Length} bytes"));
                }

                throw new HttpRequestException(string.Create(CultureInfo.InvariantCulture, $"the connection to {DisplayText.Escape(uri.Host)} ended at byte {part.Length} of {total}"));
            }

            return true;
        }
    }

    private async Task VerifyAsync(Metadata meta, FileStream part, CancellationToken ct)
    {
        long length = part.Length;
        if (meta.Size is long size && length != size)
        {
            throw this.SizeMismatch(meta, string.Create(CultureInfo.InvariantCulture, $"{length} bytes arrived"));
        }

        part.Flush(flushToDisk: true);
        if (meta.Sha256 is not { } expected)
        {
            return;
        }

        // The whole file, a resumed prefix included: that prefix may be from an earlier, interrupted process.
        part.Position = 0;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long hashed = 0;
            int n;
            this.Report(ModelPullStage.Verifying, 0, meta, 0, force: true);
            while ((n = await part.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                sha.AppendData(buffer, 0, n);
                hashed += n;
                this.Report(ModelPullStage.Verifying, hashed, meta, 0);
            }

            this.Report(ModelPullStage.Verifying, hashed, meta, 0, force: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        string actual = Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
        if (actual != expected)
        {
            throw new ModelDownloadException(
                $"The download of {_file} is corrupt: its sha256 is {actual}, but the hub announced {expected}; the partial file was deleted, so the next pull starts over.",
                ModelDownloadFailure.HashMismatch,
                null,
                _file);
        }
    }

    /// <summary>Sends one request; every network failure (a timeout included) becomes an <see cref="HttpRequestException"/>.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, long offset, CancellationTokenSource timer, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, uri);
        request.Headers.UserAgent.Add(s_userAgent);
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));

        // The token is for the hub: a redirect to another host (the CDN, which signs its own URLs) never gets it.
        if (_options.Token is { } token && SameOrigin(uri, _options.Endpoint))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (offset > 0)
        {
            request.Headers.Range = new RangeHeaderValue(offset, null);
        }

        timer.CancelAfter(_options.Timeout);
        return await Network(() => _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timer.Token), uri, offset, ct).ConfigureAwait(false);
    }

    private async Task<T> Network<T>(Func<Task<T>> operation, Uri uri, long at, CancellationToken ct)
    {
        try
        {
            return await operation().ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new HttpRequestException(string.Create(CultureInfo.InvariantCulture, $"{DisplayText.Escape(uri.Host)} sent nothing for {_options.Timeout.TotalSeconds:0.#} s"), e);
        }
        catch (IOException e)
        {
            // A dropped connection: the bytes already written stay, and the retry resumes after them.
            throw new HttpRequestException(string.Create(CultureInfo.InvariantCulture, $"the connection to {DisplayText.Escape(uri.Host)} dropped at byte {at}: {DisplayText.Escape(e.Message, ShownLength)}"), e);
        }
    }

    /// <summary>Where a redirect points; null when <paramref name="response"/> is not a redirect.</summary>
    private Uri? RedirectTarget(Uri uri, HttpResponseMessage response)
    {
        if (response.StatusCode is not (HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect))
        {
            return null;
        }

        Uri? target = response.Headers.Location is { } location ? new Uri(uri, location) : null;
        if (target is null || !ModelPullOptions.IsHttp(target))
        {
            throw new ModelDownloadException(
                $"Could not download {_file}: {DisplayText.Escape(uri.Host)} redirected to '{DisplayText.Escape(response.Headers.Location?.OriginalString, ShownLength)}', which is not an http or https URL.",
                ModelDownloadFailure.InvalidResponse,
                response.StatusCode,
                _file);
        }

        return target;
    }

    private static bool SameOrigin(Uri a, Uri b)
        => string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase)
        && a.Port == b.Port;

    /// <summary>
    /// The failure an error status means: a transient one (5xx, 408, 429) as an <see cref="HttpRequestException"/>
    /// to retry, anything else as the final <see cref="ModelDownloadException"/>, in one line.
    /// </summary>
    private async Task<Exception> FailureAsync(Uri uri, HttpResponseMessage response, CancellationToken ct)
    {
        HttpStatusCode code = response.StatusCode;
        string status = Enum.IsDefined(code) ? string.Create(CultureInfo.InvariantCulture, $"{(int)code} {code}") : ((int)code).ToString(CultureInfo.InvariantCulture);
        bool hub = SameOrigin(uri, _options.Endpoint);
        string who = hub ? "the hub" : DisplayText.Escape(uri.Host);
        string detail = await ErrorDetailAsync(response, ct).ConfigureAwait(false);
        if ((int)code >= 500 || code is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)
        {
            _retryAfter = response.Headers.RetryAfter?.Delta ?? (response.Headers.RetryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
            return new HttpRequestException($"{who} answered {status}{detail}", null, code);
        }

        string repo = _file.RepositoryId;
        string? errorCode = Header(response, "X-Error-Code");
        string what = code switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden when _options.Token is null =>
                $"{who} answered {status}: {repo} is gated or private (or does not exist); set {ModelPullOptions.TokenVariable} to an access token of an account that may read it (for a gated repository, accept its terms on its page first){detail}",
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden =>
                $"{who} answered {status}: the token ({ModelPullOptions.TokenVariable}) gives no access to {repo}; it is gated (accept its terms on its page with that account) or private{detail}",
            HttpStatusCode.NotFound => $"{who} answered {status}: " + errorCode switch
            {
                "RepoNotFound" => $"there is no repository {repo}",
                "RevisionNotFound" => $"{repo} has no revision '{_file.Revision}'",
                "EntryNotFound" => $"{repo} has no file '{_file.Path}' at revision '{_file.Revision}'",
                _ => "no such repository, file or revision",
            } + detail,
            _ => $"{who} answered {status}{detail}",
        };
        var reason = code switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => ModelDownloadFailure.Unauthorized,
            HttpStatusCode.NotFound => ModelDownloadFailure.NotFound,
            _ => ModelDownloadFailure.HttpError,
        };
        return new ModelDownloadException($"Could not download {_file}: {what}.", reason, code, _file);
    }

    /// <summary>The hub's X-Error-Message, else the start of the error body, escaped and shortened; empty when none.</summary>
    private static async Task<string> ErrorDetailAsync(HttpResponseMessage response, CancellationToken ct)
    {
        string? text = Header(response, "X-Error-Message");
        if (string.IsNullOrWhiteSpace(text))
        {
            try
            {
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
                limit.CancelAfter(TimeSpan.FromSeconds(5));
                Stream body = await response.Content.ReadAsStreamAsync(limit.Token).ConfigureAwait(false);
                await using (body.ConfigureAwait(false))
                {
                    byte[] buffer = new byte[ErrorBodyLimit];
                    int total = 0, n;
                    while (total < buffer.Length && (n = await body.ReadAsync(buffer.AsMemory(total), limit.Token).ConfigureAwait(false)) > 0)
                    {
                        total += n;
                    }

                    text = Encoding.UTF8.GetString(buffer, 0, total);
                }
            }
            catch (Exception e) when (e is IOException or HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                // The body only adds detail; the status already says what failed.
                text = null;
            }
        }

        // Line breaks of a JSON or HTML body become spaces before escaping, so the result reads as one line.
        text = string.Join(' ', (text ?? string.Empty).Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return text.Length == 0 ? string.Empty : $" (\"{DisplayText.Escape(text, ShownLength)}\")";
    }

    private async Task BackOffAsync(HttpRequestException failure, CancellationToken ct)
    {
        _failures++;
        TimeSpan? retryAfter = _retryAfter;
        _retryAfter = null;
        if (_failures > _options.MaxRetries)
        {
            string attempts = _failures == 1 ? "1 attempt" : string.Create(CultureInfo.InvariantCulture, $"{_failures} attempts in a row");
            string resume = File.Exists(_partPath) ? $"; {_partPath} is kept, and the next pull resumes it" : string.Empty;
            throw new ModelDownloadException(
                $"Could not download {_file}: {failure.Message} ({attempts}){resume}.",
                failure.StatusCode is null ? ModelDownloadFailure.NetworkError : ModelDownloadFailure.HttpError,
                failure.StatusCode,
                _file,
                failure);
        }

        double factor = Math.Pow(2, _failures - 1);
        TimeSpan delay = retryAfter is { } wanted && wanted >= TimeSpan.Zero && wanted <= MaxDelay
            ? wanted
            : TimeSpan.FromTicks((long)Math.Min(_options.RetryDelay.Ticks * factor, MaxDelay.Ticks));
        this.Log(LogLevel.Warning, string.Create(CultureInfo.InvariantCulture, $"{_file}: {failure.Message}; retrying in {delay.TotalSeconds:0.##} s ({_failures} of {_options.MaxRetries})."));
        await Task.Delay(delay, ct).ConfigureAwait(false);
    }

    private ModelDownloadException SizeMismatch(Metadata meta, string what)
        => new(
            string.Create(CultureInfo.InvariantCulture, $"The download of {_file} is not the hub's file: {what}, but the hub announced {meta.Size} bytes; the partial file was deleted, so the next pull starts over."),
            ModelDownloadFailure.SizeMismatch,
            null,
            _file);

    private ModelDownloadException TooManyRedirects()
        => new(
            string.Create(CultureInfo.InvariantCulture, $"Could not download {_file}: more than {MaxRedirects} redirects."),
            ModelDownloadFailure.InvalidResponse,
            null,
            _file);

    /// <summary>
    /// Reports at most every <see cref="ReportInterval"/> unless <paramref name="force"/>d. The speed is over the last
    /// few seconds of samples (one per report), so it follows the connection's current pace.
    /// </summary>
    private void Report(ModelPullStage stage, long bytes, Metadata meta, long resumedFrom, bool force = false)
    {
        TimeSpan now = _clock.Elapsed;
        if (!force && now - _lastReport < ReportInterval)
        {
            return;
        }

        _lastReport = now;
        double speed = 0;
        if (stage == ModelPullStage.Downloading)
        {
            _samples.Enqueue((now, bytes));
            while (_samples.Count > 2 && now - _samples.Peek().At > SpeedWindow)
            {
                _samples.Dequeue();
            }

            var (at, first) = _samples.Peek();
            double seconds = (now - at).TotalSeconds;
            speed = seconds > 0 ? Math.Max(0, bytes - first) / seconds : 0;
        }

        if (_progress is null)
        {
            return;
        }

        TimeSpan? eta = stage switch
        {
            ModelPullStage.Downloading when speed > 0 && meta.Size is long size => TimeSpan.FromSeconds(Math.Min(Math.Max(0, size - bytes) / speed, TimeSpan.FromDays(365).TotalSeconds)),
            ModelPullStage.Completed => TimeSpan.Zero,
            _ => null,
        };
        _progress.Report(new ModelPullProgress(stage, bytes, meta.Size, speed, eta, resumedFrom, meta.Sha256));
    }

    private void Log(LogLevel level, string message)
    {
        if (_options.Logger is { } logger && logger.IsEnabled(level))
        {
            logger.Log(level, new EventId(0, "pull"), message, null, static (s, _) => s);
        }
    }
}
