using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http;

namespace StableDiffusion.Native.Cli.Serve;

/// <summary>
/// What an operator watches on a replica, as <see cref="System.Diagnostics.Metrics"/> instruments of the meter
/// <see cref="MeterName"/>; <c>GET /metrics</c> exports them in Prometheus' text format through OpenTelemetry's exporter
/// (<c>sdnet_http_requests_total</c>, <c>sdnet_queue_depth</c>, <c>sdnet_generation_duration_seconds</c>, ...).
/// </summary>
internal sealed class ServerMetrics
{
    /// <summary>The meter's name, which the exporter subscribes to.</summary>
    public const string MeterName = "sdnet.serve";

    /// <summary>The routes requests are counted under; anything else is "other", so a client cannot mint label values.</summary>
    private static readonly string[] s_routes =
    [
        "/", "/app.js", "/app.css", "/healthz", "/readyz", "/metrics", "/images", "/v1/images/generations", "/v1/images/edits", "/v1/models",
        "/sdapi/v1/txt2img", "/sdapi/v1/img2img", "/sdapi/v1/samplers", "/sdapi/v1/schedulers", "/sdapi/v1/sd-models", "/sdapi/v1/options",
        "/sdapi/v1/progress", "/sdapi/v1/interrupt", "/sdapi/v1/loras", "/sdapi/v1/upscalers", "/sdapi/v1/latent-upscale-modes",
        "/sdcpp/v1/capabilities", "/sdcpp/v1/img_gen", "/sdcpp/v1/vid_gen",
    ];

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _generationSeconds;
    private readonly Counter<long> _images;
    private readonly Counter<long> _failures;

    /// <param name="factory">The server's meter factory: its meter lives and dies with the server's services.</param>
    /// <param name="queue">Reads the queue's state when a scrape asks.</param>
    /// <param name="resident">Reads the models in memory when a scrape asks.</param>
    public ServerMetrics(IMeterFactory factory, Func<ProgressSnapshot> queue, Func<IReadOnlyList<ResidentModel>> resident)
    {
        _meter = factory.Create(MeterName);
        _requests = _meter.CreateCounter<long>("sdnet.http.requests", "{request}", "HTTP requests answered, by route, method and status.");
        _generationSeconds = _meter.CreateHistogram<double>("sdnet.generation.duration", "s", "Time of each generation, from its turn to its last image.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800] });
        _images = _meter.CreateCounter<long>("sdnet.images.generated", "{image}", "Images generated.");
        _failures = _meter.CreateCounter<long>("sdnet.generation.failures", "{generation}", "Generations that ended without images, by reason.");
        _meter.CreateObservableGauge("sdnet.queue.depth", () => Depth(queue()), "{request}", "Requests generating or waiting for their turn.");
        _meter.CreateObservableGauge("sdnet.queue.waiting", () => queue().Waiting, "{request}", "Requests waiting for their turn.");
        _meter.CreateObservableGauge("sdnet.models.resident", () => resident().Count, "{model}", "Models loaded and ready to generate.");
        _meter.CreateObservableGauge("sdnet.model.memory",
            () => resident().Select(m => new Measurement<long>(m.EstimatedBytes, new KeyValuePair<string, object?>("model", m.Name))),
            "By", "Estimated memory of each resident model's weights (ModelInfo.EstimateMemory).");
    }

    private static int Depth(ProgressSnapshot s) => s.Waiting + (s.Busy ? 1 : 0);

    /// <summary>Counts one answered request under its route template, never the raw path.</summary>
    public void Request(HttpContext context)
    {
        string path = context.Request.Path.Value ?? "/";
        string route = path.StartsWith("/images/", StringComparison.Ordinal) ? "/images"
            : path.StartsWith("/v1/models/", StringComparison.Ordinal) ? "/v1/models"
            : path.StartsWith("/sdcpp/v1/jobs/", StringComparison.Ordinal) ? (path.EndsWith("/cancel", StringComparison.Ordinal) ? "/sdcpp/v1/jobs/{id}/cancel" : "/sdcpp/v1/jobs/{id}")
            : s_routes.Contains(path, StringComparer.Ordinal) ? path : "other";
        string method = context.Request.Method is "GET" or "POST" or "OPTIONS" or "HEAD" ? context.Request.Method : "other";
        _requests.Add(1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("method", method),
            new KeyValuePair<string, object?>("status", context.Response.StatusCode));
    }

    /// <summary>A generation that produced <paramref name="images"/> images in <paramref name="elapsed"/>.</summary>
    public void Generated(int images, TimeSpan elapsed)
    {
        _generationSeconds.Record(elapsed.TotalSeconds);
        _images.Add(images);
    }

    /// <summary>A generation that ended without images: "refused", "interrupted", "cancelled" or "failed".</summary>
    public void Failed(string reason) => _failures.Add(1, new KeyValuePair<string, object?>("reason", reason));
}
