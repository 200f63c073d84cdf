using System.Buffers;
using System.Diagnostics.Metrics;
using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Cli.Serve;

/// <summary>How <c>sdnet serve</c> listens and admits requests.</summary>
internal sealed record ServeOptions
{
    /// <summary>Listen address: an IP address or <c>localhost</c>. Loopback by default: nothing is exposed unless asked.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (tests).</summary>
    public int Port { get; init; } = 7860;

    /// <summary>With a key, every API request needs <c>Authorization: Bearer KEY</c>.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Requests that may wait while one generates; one more gets 503.</summary>
    public int Queue { get; init; } = 4;

    /// <summary>Largest accepted request body (base64 images make A1111 bodies large).</summary>
    public long MaxRequestBodyBytes { get; init; } = 64L << 20;

    /// <summary>Host names accepted besides loopback and the listen address (<c>--allowed-host</c>); any other Host gets 421.</summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    /// <summary>Origins whose pages may call the API (<c>--cors-origin</c>); none by default, and then no CORS headers at all.</summary>
    public IReadOnlyList<string> CorsOrigins { get; init; } = [];

    /// <summary>
    /// On shutdown (Ctrl+C, SIGTERM), how long requests in flight and in the queue may take to finish after the server
    /// stops accepting; what is still running then is cancelled. Default 30 s.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The folder whose LoRAs requests may name (<c>--lora-model-dir</c>, searched recursively; sd-server's structured
    /// <c>lora</c> field and <c>GET /sdapi/v1/loras</c>); none by default, and then no request may name a LoRA.
    /// </summary>
    public string? LoraDirectory { get; init; }

    /// <summary>The folder of upscaler models <c>hr_upscaler</c> may name (<c>--hires-upscalers-dir</c>, top level only).</summary>
    public string? UpscalersDirectory { get; init; }

    /// <summary>
    /// With several models (<c>--models-dir</c>): how much their estimated weight memory may add up to while resident
    /// (<c>--max-memory</c>); the least recently used are unloaded to make room. Default: three quarters of this
    /// machine's memory.
    /// </summary>
    public long? MaxMemory { get; init; }

    /// <summary>Server log (requests refused, failures) at or above this level; the native log has its own logger.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Warning;

    /// <summary>Checks the options before anything is loaded; returns the address to bind (null with <c>localhost</c>) and the request rules they set.</summary>
    /// <exception cref="ArgumentException">The host is not an IP address or <c>localhost</c>, or a value is out of range.</exception>
    public (IPAddress? Address, bool Localhost, RequestRules Rules) Validate()
    {
        if (Port is < 0 or > 65535) throw new ArgumentOutOfRangeException("--port", Port, "--port must be 0 to 65535.");
        if (Queue is < 0 or > 1000) throw new ArgumentOutOfRangeException("--queue", Queue, "--queue must be 0 to 1000.");
        if (ShutdownTimeout < TimeSpan.Zero || ShutdownTimeout > TimeSpan.FromHours(1))
            throw new ArgumentOutOfRangeException("--shutdown-timeout", ShutdownTimeout.TotalSeconds, "--shutdown-timeout must be 0 to 3600 seconds.");
        if (LoraDirectory is { } loras && !Directory.Exists(loras))
            throw new DirectoryNotFoundException($"--lora-model-dir: the folder '{DisplayText.Escape(loras, 200)}' does not exist.");
        if (UpscalersDirectory is { } upscalers && !Directory.Exists(upscalers))
            throw new DirectoryNotFoundException($"--hires-upscalers-dir: the folder '{DisplayText.Escape(upscalers, 200)}' does not exist.");
        if (MaxMemory is <= 0) throw new ArgumentOutOfRangeException("--max-memory", MaxMemory, "--max-memory must be positive.");
        if (ApiKey is { Length: 0 }) throw new ArgumentException("--api-key must not be empty.", "--api-key");
        if (ApiKey is { } key && key.Any(char.IsControl)) throw new ArgumentException("--api-key must not contain control characters.", "--api-key");
        bool localhost = string.Equals(Host, "localhost", StringComparison.OrdinalIgnoreCase);
        IPAddress? ip = null;
        if (!localhost && !IPAddress.TryParse(Host, out ip))
            throw new ArgumentException($"--host must be an IP address or localhost, not '{DisplayText.Escape(Host, 80)}'.", "--host");
        if (localhost && Port == 0) throw new ArgumentException("--port 0 needs an IP address as --host (Kestrel binds localhost on fixed ports only).", "--port");
        var rules = new RequestRules(ip, AllowedHosts.Select(RequestRules.ValidateHost), CorsOrigins.Select(RequestRules.ValidateOrigin));
        return (ip, localhost, rules);
    }
}

/// <summary>What the endpoints share: the models served, the one queue, this session's images.</summary>
internal sealed class ServerState(ModelCatalog catalog, GenerationQueue queue, ServeOptions options, ILogger log, RequestRules rules, ServerMetrics metrics)
{
    /// <summary>The models served and the default one.</summary>
    public ModelCatalog Catalog { get; } = catalog;

    /// <summary>sd-server's asynchronous jobs (<c>/sdcpp/v1</c>), waiting in the same queue as every other request.</summary>
    public SdcppJobs Jobs { get; } = new(queue);

    /// <summary>The instruments behind <c>/metrics</c>.</summary>
    public ServerMetrics Metrics { get; } = metrics;

    /// <summary>Completes when the accepted jobs have ended or the shutdown timeout cancelled them.</summary>
    public Task JobsDrained { get; set; } = Task.CompletedTask;

    /// <summary>Set when shutdown begins: <c>/readyz</c> answers 503 from then on, so balancers stop sending requests.</summary>
    public volatile bool Draining;

    /// <summary>Which Hosts, origins and body types are admitted.</summary>
    public RequestRules Rules { get; } = rules;

    private readonly object _previewGate = new();
    private (long Job, int Step, byte[] Png)? _previewCache;

    public GenerationQueue Queue { get; } = queue;

    public ImageStore Images { get; } = new();

    public ServeOptions Options { get; } = options;

    public ILogger Log { get; } = log;

    public DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;

    /// <summary>The preview as PNG, encoded once per step however often clients poll.</summary>
    public byte[]? PreviewPng(ProgressSnapshot snapshot)
    {
        if (snapshot.Preview is not { } preview) return null;
        lock (_previewGate)
        {
            if (_previewCache is { } cached && cached.Job == snapshot.JobNumber && cached.Step == preview.Step) return cached.Png;
            byte[] png = ServerImages.EncodePreview(preview.Image);
            _previewCache = (snapshot.JobNumber, preview.Step, png);
            return png;
        }
    }
}

/// <summary>
/// <c>sdnet serve</c>: one model, or every model of a folder, behind OpenAI's images API (<c>/v1</c>), AUTOMATIC1111's (<c>/sdapi/v1</c>)
/// and a small page (<c>/</c>), on ASP.NET Core's Kestrel. Handlers are plain <see cref="RequestDelegate"/>s over
/// <see cref="JsonDocument"/> and <see cref="Utf8JsonWriter"/>: no reflection, so the tool still publishes NativeAOT.
/// </summary>
internal sealed class ImageServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ImageServer(WebApplication app, ServerState state, Uri address)
    {
        _app = app;
        State = state;
        Address = address;
    }

    public ServerState State { get; }

    /// <summary>Where it listens, e.g. <c>http://127.0.0.1:7860/</c>.</summary>
    public Uri Address { get; }

    /// <summary>Starts serving <paramref name="generator"/>, which the caller keeps owning.</summary>
    /// <param name="generator">The one model served.</param>
    /// <param name="options">How to listen and admit requests.</param>
    /// <param name="defaults">The model's recommended settings (its manifest's), for what requests leave unset.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="ArgumentException">The host is not an IP address or <c>localhost</c>, or a limit is out of range.</exception>
    /// <exception cref="IOException">The address is in use.</exception>
    public static Task<ImageServer> StartAsync(Generator generator, ServeOptions options, ModelDefaults? defaults = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var catalog = ModelCatalog.Single(generator.Options, defaults);
        return StartAsync(catalog, new ModelPool(long.MaxValue, NullLogger.Instance, (catalog.Default, generator)), options, cancellationToken);
    }

    /// <summary>Starts serving the models of <paramref name="catalog"/>, each loaded when a request first needs it, under <see cref="ServeOptions.MaxMemory"/>.</summary>
    /// <exception cref="ArgumentException">The host is not an IP address or <c>localhost</c>, or a limit is out of range.</exception>
    /// <exception cref="IOException">The address is in use.</exception>
    public static Task<ImageServer> StartAsync(ModelCatalog catalog, ServeOptions options, ILogger log, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return StartAsync(catalog, new ModelPool(options.MaxMemory ?? ModelCatalog.DefaultBudget, log), options, cancellationToken);
    }

    private static async Task<ImageServer> StartAsync(ModelCatalog catalog, ModelPool pool, ServeOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        (IPAddress? ip, bool localhost, RequestRules rules) validated;
        try
        {
            validated = options.Validate();
        }
        catch
        {
            pool.Dispose();
            throw;
        }
        var (ip, localhost, rules) = validated;

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddProvider(new StderrLoggerProvider(options.LogLevel));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            if (localhost) kestrel.ListenLocalhost(options.Port);
            else kestrel.Listen(ip!, options.Port);
        });
        // Shutdown lets requests in flight finish within --shutdown-timeout (Kestrel stops accepting at once).
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout);
        builder.Services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService("sdnet")).WithMetrics(metrics => metrics.AddMeter(ServerMetrics.MeterName)
            .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        var app = builder.Build();
        GenerationQueue? queue = null;
        var metrics = new ServerMetrics(app.Services.GetRequiredService<IMeterFactory>(), () => queue!.Snapshot(), () => pool.Resident);
        queue = new GenerationQueue(pool, options.Queue, metrics);
        var state = new ServerState(catalog, queue, options, app.Logger, rules, metrics);
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            state.Draining = true;
            // Jobs are not HTTP requests in flight, so Kestrel's drain does not wait for them: this does, as long.
            state.JobsDrained = state.Jobs.DrainAsync(options.ShutdownTimeout);
        });

        app.Use(async (context, next) =>
        {
            try
            {
                await next(context).ConfigureAwait(false);
            }
            finally
            {
                state.Metrics.Request(context);
            }
        });
        app.Use((context, next) => Guard(context, next, state));
        app.MapGet("/healthz", (RequestDelegate)(context => Health(context)));
        app.MapGet("/readyz", (RequestDelegate)(context => Ready(context, state)));
        app.MapPrometheusScrapingEndpoint("/metrics");
        MapPage(app);
        app.MapGet("/images/{id}", (RequestDelegate)(context => ServeImage(context, state)));
        OpenAiEndpoints.Map(app, state);
        A1111Endpoints.Map(app, state);
        SdcppEndpoints.Map(app, state);
        app.MapFallback((RequestDelegate)(context => ErrorAsync(context, StatusCodes.Status404NotFound, $"No route {context.Request.Method} {context.Request.Path}.", "not_found", null)));

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            queue.Dispose();
            throw;
        }
        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ImageServer(app, state, new Uri(bound.EndsWith('/') ? bound : bound + "/"));
    }

    /// <summary>Completes when the server stops: Ctrl+C (through <paramref name="cancellationToken"/> or the host's own handler).</summary>
    public Task WaitAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>
    /// Stops accepting, lets the requests in flight and in the queue finish within <see cref="ServeOptions.ShutdownTimeout"/>,
    /// then cancels what is left (their generations stop with <c>RequestAborted</c>).
    /// </summary>
    public async Task StopAsync()
    {
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await State.JobsDrained.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        State.Draining = true;
        await StopAsync().ConfigureAwait(false);
        State.Queue.Interrupt();
        await _app.DisposeAsync().ConfigureAwait(false);
        State.Queue.Dispose();
    }

    /// <summary>The request rules (Host, origin, body type), authorization, then the one map from a handler's exception to an HTTP error.</summary>
    private static async Task Guard(HttpContext context, RequestDelegate next, ServerState state)
    {
        var path = context.Request.Path;
        var request = context.Request;
        // Balancers and orchestrators probe with whatever Host they like, or none (HTTP/1.0); the probes say only whether
        // this replica takes work, so they skip the Host rule that guards everything else against DNS rebinding.
        if ((HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) && (path.Equals("/healthz") || path.Equals("/readyz")))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        string? origin = request.Headers.Origin.Count > 0 ? request.Headers.Origin.ToString() : null;
        var (verdict, status, code, message) = state.Rules.Check(request.Method, path.Value ?? "/", request.Headers.Host.Count > 0 ? request.Headers.Host.ToString() : null,
            origin, request.ContentType, request.ContentLength, request.Headers.TransferEncoding.Count > 0);
        if (verdict == RequestVerdict.Refuse)
        {
            state.Log.LogWarning("{Method} {Path}: {Status} {Message}", request.Method, DisplayText.Escape(path.Value, 200), status, message);
            await ErrorAsync(context, status, message, code, null).ConfigureAwait(false);
            return;
        }
        if (state.Rules.CorsOrigin(origin) is { } allowed)
        {
            context.Response.Headers.AccessControlAllowOrigin = allowed;
            context.Response.Headers.Vary = "Origin";
        }
        if (verdict == RequestVerdict.Preflight)
        {
            context.Response.Headers.AccessControlAllowMethods = "GET, POST, OPTIONS";
            context.Response.Headers.AccessControlAllowHeaders = "Authorization, Content-Type";
            context.Response.Headers.AccessControlMaxAge = "600";
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        // The probes answer anyone (balancers send no key); the metrics and the API need the key when there is one.
        bool api = path.StartsWithSegments("/v1") || path.StartsWithSegments("/sdapi") || path.StartsWithSegments("/sdcpp") || path.StartsWithSegments("/metrics");
        if (api && state.Options.ApiKey is { } key && !Authorized(context.Request.Headers.Authorization.ToString(), key))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await ErrorAsync(context, StatusCodes.Status401Unauthorized, "Missing or wrong API key: send 'Authorization: Bearer KEY'.", "invalid_api_key", null).ConfigureAwait(false);
            return;
        }
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; its generation stopped with it. There is no one to answer.
        }
        catch (Exception e) when (!context.Response.HasStarted && Status(e) is { } failure)
        {
            if (e is QueueFullException full)
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(full.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (failure.Status >= 500)
                state.Log.LogError("{Method} {Path}: {Message}", context.Request.Method, path.ToString(), CliCommon.OneLine(e.Message));
            await ErrorAsync(context, failure.Status, CliCommon.OneLine(e.Message), failure.Code, (e as BadRequestException)?.Param ?? (e as ModelNotFoundException)?.Param).ConfigureAwait(false);
        }
    }

    /// <summary><c>GET /healthz</c>: the process is up and answering.</summary>
    private static Task Health(HttpContext context) => WriteJsonAsync(context, StatusCodes.Status200OK, w =>
    {
        w.WriteStartObject();
        w.WriteString("status", "ok");
        w.WriteEndObject();
    });

    /// <summary>
    /// <c>GET /readyz</c>: 200 when a model is loaded and a request would be admitted now; 503 with <c>Retry-After</c> when
    /// the queue is full or the server is shutting down, so a balancer sends the request to another replica.
    /// </summary>
    private static Task Ready(HttpContext context, ServerState state)
    {
        string? reason = state.Draining ? "shutting_down" : state.Queue.IsFull ? "queue_full" : null;
        if (reason is not null)
        {
            var wait = state.Draining ? state.Options.ShutdownTimeout : state.Queue.RetryAfter;
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        var snapshot = state.Queue.Snapshot();
        return WriteJsonAsync(context, reason is null ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, w =>
        {
            w.WriteStartObject();
            w.WriteString("status", reason is null ? "ready" : "not_ready");
            if (reason is not null) w.WriteString("reason", reason);
            w.WriteNumber("generating", snapshot.Busy ? 1 : 0);
            w.WriteNumber("waiting", snapshot.Waiting);
            w.WriteNumber("capacity", state.Queue.Capacity);
            w.WriteEndObject();
        });
    }

    private static (int Status, string Code)? Status(Exception e) => e switch
    {
        BadRequestException bad => (StatusCodes.Status400BadRequest, bad.Code),
        ModelNotFoundException => (StatusCodes.Status404NotFound, "model_not_found"),
        // The operator's budget, not the request, stands in the way: nothing the client can change but the model.
        ModelTooLargeException => (StatusCodes.Status507InsufficientStorage, "insufficient_memory"),
        // The request's size needs more working memory than the server has: a smaller size (or flash attention) would do.
        GenerationTooLargeException => (StatusCodes.Status507InsufficientStorage, "insufficient_memory"),
        ArgumentException or FormatException or InvalidModelFileException => (StatusCodes.Status400BadRequest, "invalid_request"),
        // The loaded model cannot do what was asked (a video model asked for an image): the request's fault, not a bug.
        NotSupportedException => (StatusCodes.Status400BadRequest, "unsupported_by_model"),
        Microsoft.AspNetCore.Http.BadHttpRequestException bad => (bad.StatusCode, "invalid_request"),
        QueueFullException => (StatusCodes.Status503ServiceUnavailable, "queue_full"),
        InterruptedException => (StatusCodes.Status409Conflict, "interrupted"),
        GenerationException => (StatusCodes.Status500InternalServerError, "generation_failed"),
        _ => null, // a bug: Kestrel logs it and answers 500
    };

    private static bool Authorized(string header, string key)
    {
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        // Fixed-time: the comparison must not tell an attacker how much of a guess was right.
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()), Encoding.UTF8.GetBytes(key));
    }

    /// <summary>An error in the shape of the API asked: OpenAI's <c>{"error":{...}}</c> under /v1, sd-server's <c>{"error": message}</c> under /sdcpp, A1111's <c>{"error","detail"}</c> elsewhere.</summary>
    internal static Task ErrorAsync(HttpContext context, int status, string message, string code, string? param)
    {
        bool openAi = context.Request.Path.StartsWithSegments("/v1");
        bool sdcpp = context.Request.Path.StartsWithSegments("/sdcpp");
        return WriteJsonAsync(context, status, w =>
        {
            w.WriteStartObject();
            if (sdcpp)
            {
                // sd-server's shape: the message itself, and for a body that is not JSON its "invalid json" and the parser's message.
                if (code == BadRequestException.InvalidJson)
                {
                    w.WriteString("error", "invalid json");
                    w.WriteString("message", message);
                }
                else
                {
                    w.WriteString("error", message);
                }
            }
            else if (openAi)
            {
                w.WriteStartObject("error");
                w.WriteString("message", message);
                w.WriteString("type", status == StatusCodes.Status401Unauthorized ? "authentication_error" : status >= 500 ? "server_error" : "invalid_request_error");
                if (param is null) w.WriteNull("param");
                else w.WriteString("param", param);
                w.WriteString("code", code);
                w.WriteEndObject();
            }
            else
            {
                w.WriteString("error", code);
                w.WriteString("detail", message);
            }
            w.WriteEndObject();
        });
    }

    internal static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping: the body is application/json, never inlined into HTML, so '+' and quotes need no \u escapes.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer);
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    private static Task ServeImage(HttpContext context, ServerState state)
    {
        string id = context.Request.RouteValues["id"] as string ?? "";
        if (!state.Images.TryGet(id, out var data, out var mediaType))
            return ErrorAsync(context, StatusCodes.Status404NotFound, "No such image (this server keeps its latest results only).", "not_found", null);
        context.Response.ContentType = mediaType;
        context.Response.ContentLength = data.Length;
        context.Response.Headers.CacheControl = "private, max-age=3600";
        return context.Response.Body.WriteAsync(data, context.RequestAborted).AsTask();
    }

    /// <summary>The page: three embedded files, a strict content policy (no inline script, nothing from elsewhere).</summary>
    private static void MapPage(WebApplication app)
    {
        (string Route, string Resource, string Type)[] files =
        [
            ("/", "index.html", "text/html; charset=utf-8"),
            ("/app.js", "app.js", "text/javascript; charset=utf-8"),
            ("/app.css", "app.css", "text/css; charset=utf-8"),
        ];
        foreach (var (route, resource, type) in files)
        {
            byte[] content = ReadResource(resource);
            app.MapGet(route, (RequestDelegate)(context =>
            {
                context.Response.ContentType = type;
                context.Response.ContentLength = content.Length;
                context.Response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";
                context.Response.Headers.XContentTypeOptions = "nosniff";
                context.Response.Headers.CacheControl = "no-cache";
                return context.Response.Body.WriteAsync(content, context.RequestAborted).AsTask();
            }));
        }
    }

    private static byte[] ReadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("sdnet.wwwroot." + name)
            ?? throw new InvalidOperationException($"The page resource '{name}' is missing from the build.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Kestrel's and the server's own log lines to stderr, the way the CLI prints everything else.</summary>
    private sealed class StderrLoggerProvider(LogLevel minimum) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new StderrLogger(minimum);

        public void Dispose()
        {
        }
    }
}
