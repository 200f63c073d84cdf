using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Cli.Serve;

/// <summary>
/// OpenAI's images API: <c>POST /v1/images/generations</c>, <c>POST /v1/images/edits</c> and <c>GET /v1/models</c>,
/// so that the OpenAI SDKs and <c>Microsoft.Extensions.AI.OpenAI</c> work against a local model unchanged.
/// </summary>
/// <remarks>
/// <c>model</c> picks one of the models served (<c>GET /v1/models</c>); OpenAI's own names (<c>dall-e-*</c>,
/// <c>gpt-image-*</c>) and, on a server of one model, any name mean the default one, so code written for a cloud model
/// keeps working.
/// <c>response_format</c> defaults as OpenAI's own models do: <c>url</c> for <c>dall-e-*</c>, <c>b64_json</c> otherwise.
/// <c>quality</c>, <c>style</c>, <c>user</c>, <c>background</c> and <c>moderation</c> are accepted and ignored.
/// Beyond OpenAI's fields, <c>negative_prompt</c>, <c>seed</c>, <c>steps</c>, <c>cfg_scale</c>, <c>sampler</c> and
/// <c>scheduler</c> (A1111's names) may be given.
/// </remarks>
internal static class OpenAiEndpoints
{
    public static void Map(WebApplication app, ServerState state)
    {
        app.MapPost("/v1/images/generations", (RequestDelegate)(context => Generations(context, state)));
        app.MapPost("/v1/images/edits", (RequestDelegate)(context => Edits(context, state)));
        app.MapGet("/v1/models", (RequestDelegate)(context => Models(context, state)));
        app.MapGet("/v1/models/{id}", (RequestDelegate)(context => Model(context, state)));
    }

    private static async Task Generations(HttpContext context, ServerState state)
    {
        var (document, json) = await JsonInput.ReadAsync(context.Request.Body, context.RequestAborted).ConfigureAwait(false);
        using (document)
        {
            // OpenAI and sd-server both refuse an empty prompt.
            string prompt = json.String("prompt") is { Length: > 0 } given ? given : throw new BadRequestException("'prompt' is required.", "prompt");
            var (width, height) = ParseSize(json.String("size"));
            var request = CommonFields.Apply(json, new ImageRequest
            {
                Prompt = prompt,
                BatchCount = json.Int("n", 1, ImageRequest.MaxBatchCount) ?? 1,
                Width = width,
                Height = height,
            });
            request = SdcppEndpoints.ApplyExtraArgs(request, state);
            var model = state.Catalog.RouteOpenAi(json.String("model"));
            var reply = ReplyFormat.Read(json.String("model"), json.String("response_format"), json.String("output_format"), json.Int("output_compression", 0, 100));
            var images = await state.Queue.RunAsync(request, model, context.RequestAborted).ConfigureAwait(false);
            await WriteImagesAsync(context, state, images, reply).ConfigureAwait(false);
        }
    }

    /// <summary>The library's bound on reference images.</summary>
    private const int MaxReferenceImages = 16;

    private static async Task Edits(HttpContext context, ServerState state)
    {
        if (!context.Request.HasFormContentType)
            throw new BadRequestException("images/edits takes multipart/form-data with 'image', 'prompt' and optionally 'mask'.");
        IFormCollection form;
        try
        {
            form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or IOException && !context.RequestAborted.IsCancellationRequested)
        {
            // A truncated or malformed body is the client's mistake, not the server's: the multipart reader says where.
            throw new BadRequestException("The multipart/form-data body is malformed: " + CliCommon.OneLine(e.Message));
        }
        // As sd-server: every image (image or image[]) is a reference image for models that edit from references
        // (Kontext, Qwen-Image-Edit, ...), and the first is also the image to edit.
        var imageFiles = form.Files.GetFiles("image").Concat(form.Files.GetFiles("image[]")).ToList();
        if (imageFiles.Count == 0) throw new BadRequestException("'image' is required (a PNG, JPEG or WebP file).", "image");
        if (imageFiles.Count > MaxReferenceImages) throw new BadRequestException($"At most {MaxReferenceImages} images.", "image");
        string prompt = Field(form, "prompt") ?? throw new BadRequestException("'prompt' is required.", "prompt");

        var inputs = new List<ImageBuffer>();
        foreach (var file in imageFiles) inputs.Add(ServerImages.DecodeRgb(await ReadAllAsync(file, context.RequestAborted).ConfigureAwait(false), "image"));
        var image = inputs[0];
        ImageBuffer? mask = form.Files.GetFile("mask") is { } maskFile
            ? ServerImages.DecodeOpenAiMask(await ReadAllAsync(maskFile, context.RequestAborted).ConfigureAwait(false), "mask")
            : null;
        if (mask is not null && (mask.Width != image.Width || mask.Height != image.Height))
            throw new BadRequestException($"'mask' is {mask.Width}x{mask.Height}; it must be the size of 'image' ({image.Width}x{image.Height}).", "mask");
        var (width, height) = ParseSize(Field(form, "size"));
        image = ServerImages.ResizeTo(image, width, height);
        mask = mask is null ? null : ServerImages.ResizeTo(mask, width, height);

        var fields = FormInput.From(form);
        var request = new ImageRequest
        {
            Prompt = prompt,
            BatchCount = fields.Int("n", 1, ImageRequest.MaxBatchCount) ?? 1,
            InitImage = image,
            ReferenceImages = inputs,
            Mask = mask,
            // OpenAI repaints the masked area from scratch; without a mask the whole image is reworked, keeping its layout.
            Strength = fields.Float("strength", SettingRange.Of<ImageRequest>(nameof(ImageRequest.Strength))) ?? (mask is null ? new ImageRequest().Strength : 1f),
            NegativePrompt = Field(form, "negative_prompt") ?? "",
            Seed = fields.Long("seed", -1, uint.MaxValue) is long seed and >= 0 ? seed : null,
            Sampling = new SamplingOptions
            {
                Steps = fields.Int("steps", CommonFields.Steps),
                CfgScale = fields.Float("cfg_scale", CommonFields.CfgScale),
                Sampler = CommonFields.Sampler(Field(form, "sampler")),
                Scheduler = CommonFields.Scheduler(Field(form, "scheduler")),
            },
        };
        request = SdcppEndpoints.ApplyExtraArgs(request, state);
        var model = state.Catalog.RouteOpenAi(Field(form, "model"));
        var reply = ReplyFormat.Read(Field(form, "model"), Field(form, "response_format"), Field(form, "output_format"), fields.Int("output_compression", 0, 100));
        var images = await state.Queue.RunAsync(request, model, context.RequestAborted).ConfigureAwait(false);
        await WriteImagesAsync(context, state, images, reply).ConfigureAwait(false);
    }

    private static Task Models(HttpContext context, ServerState state) => ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
    {
        w.WriteStartObject();
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        foreach (var model in state.Catalog.Models) WriteModel(w, state, model);
        w.WriteEndArray();
        w.WriteEndObject();
    });

    private static Task Model(HttpContext context, ServerState state)
    {
        string id = context.Request.RouteValues["id"] as string ?? "";
        var model = state.Catalog.Route(id, "model");
        return ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w => WriteModel(w, state, model));
    }

    private static void WriteModel(Utf8JsonWriter w, ServerState state, ServedModel model)
    {
        w.WriteStartObject();
        w.WriteString("id", model.Name);
        w.WriteString("object", "model");
        w.WriteNumber("created", state.Started.ToUnixTimeSeconds());
        w.WriteString("owned_by", "stable-diffusion.cpp");
        w.WriteEndObject();
    }

    private static async Task WriteImagesAsync(HttpContext context, ServerState state, IReadOnlyList<GeneratedImage> images, ReplyFormat reply)
    {
        var encoded = images.Select(i => ServerImages.Encode(i, reply.Format, reply.Quality)).ToList();
        string baseUrl = $"{context.Request.Scheme}://{context.Request.Host}";
        await ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("created", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            w.WriteStartArray("data");
            for (int i = 0; i < images.Count; i++)
            {
                w.WriteStartObject();
                if (reply.Url) w.WriteString("url", $"{baseUrl}/images/{state.Images.Add(encoded[i], ServerImages.MediaType(reply.Format))}");
                else w.WriteBase64String("b64_json", encoded[i]);
                // Not OpenAI's: what reproduces the image, for clients that want it (the SDKs ignore unknown fields).
                w.WriteNumber("seed", images[i].Seed);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("output_format", reply.Format.ToString().ToLowerInvariant());
            if (images.Count > 0) w.WriteString("size", $"{images[0].Width}x{images[0].Height}");
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    internal static (int? Width, int? Height) ParseSize(string? size)
    {
        if (size is null || size.Equals("auto", StringComparison.OrdinalIgnoreCase)) return (null, null);
        int x = size.IndexOf('x', StringComparison.OrdinalIgnoreCase);
        if (x > 0
            && int.TryParse(size.AsSpan(0, x), NumberStyles.None, CultureInfo.InvariantCulture, out int w)
            && int.TryParse(size.AsSpan(x + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int h)
            && w is >= 1 and <= ImageRequest.MaxDimension && h is >= 1 and <= ImageRequest.MaxDimension)
            return (w, h);
        throw new BadRequestException($"'size' must be WIDTHxHEIGHT (1 to {ImageRequest.MaxDimension} each) or auto.", "size");
    }

    private static string? Field(IFormCollection form, string name)
        => form.TryGetValue(name, out StringValues values) && values.Count > 0 ? values[^1] : null;

    private static async Task<byte[]> ReadAllAsync(IFormFile file, CancellationToken cancellationToken)
    {
        using var stream = file.OpenReadStream();
        using var copy = new MemoryStream((int)Math.Min(file.Length, int.MaxValue));
        await stream.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
        return copy.ToArray();
    }

    /// <summary>How the images go back: inline base64 or a URL to this server, and in which encoding.</summary>
    private sealed record ReplyFormat(bool Url, OutputFormat Format, int Quality)
    {
        public static ReplyFormat Read(string? model, string? responseFormat, string? outputFormat, int? compression)
        {
            bool url = responseFormat switch
            {
                null => model is not null && model.StartsWith("dall-e", StringComparison.OrdinalIgnoreCase),
                "url" => true,
                "b64_json" => false,
                _ => throw new BadRequestException("'response_format' must be b64_json or url.", "response_format"),
            };
            return new ReplyFormat(url, ServerImages.ParseFormat(outputFormat, "output_format"), compression ?? 90);
        }
    }

    /// <summary>Form fields read with the same rules as JSON ones (numbers from text, ranges checked).</summary>
    private readonly struct FormInput
    {
        private readonly IFormCollection _form;

        private FormInput(IFormCollection form) => _form = form;

        public static FormInput From(IFormCollection form) => new(form);

        public long? Long(string name, long min, long max)
        {
            string? text = Field(_form, name);
            if (text is null) return null;
            if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value))
                throw new BadRequestException($"'{name}' must be an integer.", name);
            if (value < min || value > max)
                throw new BadRequestException(string.Create(CultureInfo.InvariantCulture, $"'{name}' must be {min} to {max}; it is {value}."), name);
            return value;
        }

        public int? Int(string name, int min, int max) => (int?)Long(name, min, max);

        public int? Int(string name, SettingRange range) => Int(name, (int)range.Min, (int)range.Max);

        public float? Float(string name, SettingRange range) => Float(name, (float)range.Min, (float)range.Max);

        public float? Float(string name, float min, float max)
        {
            string? text = Field(_form, name);
            if (text is null) return null;
            if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value))
                throw new BadRequestException($"'{name}' must be a number.", name);
            if (value < min || value > max)
                throw new BadRequestException(string.Create(CultureInfo.InvariantCulture, $"'{name}' must be {min} to {max}; it is {value}."), name);
            return value;
        }
    }
}

/// <summary>The generation fields both APIs share, under A1111's names.</summary>
internal static class CommonFields
{
    public static readonly SettingRange Steps = SettingRange.Of<SamplingOptions>(nameof(SamplingOptions.Steps));
    public static readonly SettingRange CfgScale = SettingRange.Of<SamplingOptions>(nameof(SamplingOptions.CfgScale));
    public static readonly SettingRange Eta = SettingRange.Of<SamplingOptions>(nameof(SamplingOptions.Eta));
    public static readonly SettingRange Guidance = SettingRange.Of<SamplingOptions>(nameof(SamplingOptions.Guidance));

    public static ImageRequest Apply(JsonInput json, ImageRequest request)
    {
        var (sampler, legacySchedule) = SamplerAndSchedule(json.String("sampler") ?? json.String("sampler_name") ?? json.String("sampler_index"));
        return request with
        {
            NegativePrompt = json.String("negative_prompt") ?? request.NegativePrompt,
            // A1111's -1 means "random", as null does here.
            Seed = json.Long("seed", -1, uint.MaxValue) is long seed ? (seed >= 0 ? seed : null) : request.Seed,
            // The ranges are the library's own (one set of bounds for every front end), refused here under the field's name.
            Sampling = request.Sampling with
            {
                Steps = json.Int("steps", Steps) ?? request.Sampling.Steps,
                CfgScale = json.Float("cfg_scale", CfgScale) ?? request.Sampling.CfgScale,
                Sampler = sampler ?? request.Sampling.Sampler,
                Scheduler = Scheduler(json.String("scheduler")) ?? legacySchedule ?? request.Sampling.Scheduler,
            },
        };
    }

    public static Sampler? Sampler(string? name) => SamplerAndSchedule(name).Sampler;

    /// <summary>A sampler by any of its names, and the schedule a legacy A1111 name ("DPM++ 2M Karras") carries.</summary>
    public static (Sampler? Sampler, Scheduler? Schedule) SamplerAndSchedule(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return (null, null);
        return SamplingNames.TryParseSampler(name, out var sampler, out var schedule) ? (sampler, schedule)
            : throw new BadRequestException($"Unknown sampler '{ModelFiles.DisplayText.Escape(name, 80)}'; GET /sdapi/v1/samplers lists them.", "sampler_name");
    }

    public static Scheduler? Scheduler(string? name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Equals("automatic", StringComparison.OrdinalIgnoreCase)) return null;
        return SamplingNames.TryParseScheduler(name, out var scheduler) ? scheduler
            : throw new BadRequestException($"Unknown scheduler '{ModelFiles.DisplayText.Escape(name, 80)}'; GET /sdapi/v1/schedulers lists them.", "scheduler");
    }
}
