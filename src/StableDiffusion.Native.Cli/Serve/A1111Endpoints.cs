using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Cli.Serve;

/// <summary>
/// AUTOMATIC1111's web API, the routes its clients (Krita, Open WebUI, SillyTavern, scripts) use: txt2img, img2img,
/// the sampler/scheduler/model lists, options, progress with the live preview, and interrupt.
/// </summary>
/// <remarks>
/// Unknown fields are ignored, as A1111 does (clients send every option it has); a known field with a wrong type or
/// value is a 400. <c>override_settings.sd_model_checkpoint</c> picks one of the models served for one request, and
/// <c>POST /sdapi/v1/options</c> the model of the requests that name none; an unknown name is a 404 listing the models,
/// never a silent substitute. An interrupted request answers 409.
/// </remarks>
internal static class A1111Endpoints
{
    public static void Map(WebApplication app, ServerState state)
    {
        app.MapPost("/sdapi/v1/txt2img", (RequestDelegate)(context => Generate(context, state, image: false)));
        app.MapPost("/sdapi/v1/img2img", (RequestDelegate)(context => Generate(context, state, image: true)));
        app.MapGet("/sdapi/v1/samplers", (RequestDelegate)(context => Samplers(context)));
        app.MapGet("/sdapi/v1/schedulers", (RequestDelegate)(context => Schedulers(context)));
        app.MapGet("/sdapi/v1/sd-models", (RequestDelegate)(context => Models(context, state)));
        app.MapGet("/sdapi/v1/loras", (RequestDelegate)(context => Loras(context, state)));
        app.MapGet("/sdapi/v1/upscalers", (RequestDelegate)(context => Upscalers(context, state)));
        app.MapGet("/sdapi/v1/latent-upscale-modes", (RequestDelegate)(context => LatentUpscaleModes(context)));
        app.MapGet("/sdapi/v1/options", (RequestDelegate)(context => Options(context, state)));
        app.MapPost("/sdapi/v1/options", (RequestDelegate)(context => SetOptions(context, state)));
        app.MapGet("/sdapi/v1/progress", (RequestDelegate)(context => Progress(context, state)));
        app.MapPost("/sdapi/v1/interrupt", (RequestDelegate)(context => Interrupt(context, state)));
    }

    private static async Task Generate(HttpContext context, ServerState state, bool image)
    {
        var (document, json) = await JsonInput.ReadAsync(context.Request.Body, context.RequestAborted).ConfigureAwait(false);
        using (document)
        {
            var model = state.Catalog.Route(json.Object("override_settings").String("sd_model_checkpoint"), "override_settings.sd_model_checkpoint");
            var request = SdcppEndpoints.ApplyExtraArgs(ReadRequest(json, state, image), state);
            var images = await state.Queue.RunAsync(request, model, context.RequestAborted).ConfigureAwait(false);
            bool send = json.Bool("send_images") ?? true;
            var encoded = send ? images.Select(i => ServerImages.Encode(i, OutputFormat.Png)).ToList() : [];
            var root = document.RootElement;
            await ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("images");
                foreach (var png in encoded) w.WriteBase64StringValue(png);
                w.WriteEndArray();
                w.WritePropertyName("parameters");
                WriteParameters(w, root);
                w.WriteString("info", Info(images, request, model));
                w.WriteEndObject();
            }).ConfigureAwait(false);
        }
    }

    /// <summary>The request echoed as A1111 does, without the images it was sent (they would double the reply).</summary>
    private static void WriteParameters(Utf8JsonWriter w, JsonElement root)
    {
        w.WriteStartObject();
        foreach (var property in root.EnumerateObject())
        {
            if (property.NameEquals("init_images") || property.NameEquals("mask")) w.WriteNull(property.Name);
            else property.WriteTo(w);
        }
        w.WriteEndObject();
    }

    internal static ImageRequest ReadRequest(JsonInput json, ServerState state, bool image)
    {
        var overrides = json.Object("override_settings");

        int batch = json.Int("batch_size", 1, ImageRequest.MaxBatchCount) ?? 1;
        int iterations = json.Int("n_iter", 1, ImageRequest.MaxBatchCount) ?? 1;
        if (batch * iterations > ImageRequest.MaxBatchCount)
            throw new BadRequestException($"batch_size × n_iter must be at most {ImageRequest.MaxBatchCount}.", "n_iter");

        var request = CommonFields.Apply(json, new ImageRequest
        {
            Prompt = json.String("prompt") ?? "",
            BatchCount = batch * iterations,
            Width = json.Int("width", 1, ImageRequest.MaxDimension),
            Height = json.Int("height", 1, ImageRequest.MaxDimension),
            Sampling = new SamplingOptions { Eta = json.Float("eta", CommonFields.Eta), Guidance = json.Float("distilled_cfg_scale", CommonFields.Guidance) },
            ClipSkip = overrides.Int("CLIP_stop_at_last_layers", -1, 12) ?? json.Int("clip_skip", -1, 12),
            Loras = ServerFolders.ReadLoras(json, state.Options.LoraDirectory),
            // sd-server's extra_images: reference images for the models that edit from them.
            ReferenceImages = json.Strings("extra_images").Select((text, i) => ServerImages.DecodeRgb(ServerImages.FromBase64(text, "extra_images"), $"extra_images[{i}]")).ToList(),
        });

        if (!image)
        {
            request = request with { Width = request.Width ?? ImageRequest.DefaultDimension, Height = request.Height ?? ImageRequest.DefaultDimension };
            if (json.Bool("enable_hr") == true && Hires(json, state) is { } hires) request = request with { Hires = hires };
            return request;
        }

        var inits = json.Strings("init_images");
        if (inits.Count == 0) throw new BadRequestException("'init_images' needs one base64 image.", "init_images");
        if (inits.Count > 1) throw new BadRequestException("Give one image in 'init_images': this model edits one image at a time.", "init_images");
        var init = ServerImages.DecodeRgb(ServerImages.FromBase64(inits[0], "init_images"), "init_images");
        ImageBuffer? mask = json.String("mask") is { } maskText ? ServerImages.DecodeMask(ServerImages.FromBase64(maskText, "mask"), "mask") : null;
        if (mask is not null && json.Bool("inpainting_mask_invert") == true)
            mask = Invert(mask);
        if (mask is not null && (mask.Width != init.Width || mask.Height != init.Height))
            mask = ServerImages.ResizeTo(mask, init.Width, init.Height);
        request = request with
        {
            InitImage = ServerImages.ResizeTo(init, request.Width, request.Height),
            Mask = mask is null ? null : ServerImages.ResizeTo(mask, request.Width, request.Height),
            Strength = json.Float("denoising_strength", SettingRange.Of<ImageRequest>(nameof(ImageRequest.Strength))) ?? request.Strength,
        };
        return request;
    }

    /// <summary>The library's defaults of a hires pass, for the fields a client leaves out.</summary>
    private static readonly HiresFix s_hires = new();


    /// <summary>
    /// The hires pass as sd-server reads it: <c>hr_scale</c>, or a target <c>hr_resize_x</c>/<c>hr_resize_y</c> (0: by
    /// scale); <c>hr_steps</c> (A1111's <c>hr_second_pass_steps</c> too; 0: the request's steps); <c>hr_upscaler</c> by
    /// upstream's names, a model of <c>--hires-upscalers-dir</c> by its name, or "None", which turns the pass off.
    /// </summary>
    private static HiresFix? Hires(JsonInput json, ServerState state)
    {
        var steps = SettingRange.Of<HiresFix>(nameof(HiresFix.Steps));
        var size = SettingRange.Of<HiresFix>(nameof(HiresFix.TargetWidth));
        int? targetWidth = json.Int("hr_resize_x", 0, (int)size.Max) is int x and > 0 ? x : null;
        int? targetHeight = json.Int("hr_resize_y", 0, (int)size.Max) is int y and > 0 ? y : null;
        var hires = new HiresFix(
            json.Float("hr_scale", SettingRange.Of<HiresFix>(nameof(HiresFix.Scale))) ?? s_hires.Scale,
            json.Int("hr_steps", steps) ?? json.Int("hr_second_pass_steps", steps) ?? s_hires.Steps,
            json.Float("denoising_strength", SettingRange.Of<HiresFix>(nameof(HiresFix.DenoisingStrength))) ?? s_hires.DenoisingStrength)
        {
            TargetWidth = targetWidth,
            TargetHeight = targetHeight,
        };
        string? name = json.String("hr_upscaler")?.Trim();
        if (string.IsNullOrEmpty(name)) return hires;
        if (name.Equals("None", StringComparison.OrdinalIgnoreCase)) return null;
        if (UpstreamNames.TryParse(name, out StableDiffusion.Native.HiresUpscaler upscaler) && upscaler != StableDiffusion.Native.HiresUpscaler.Model)
            return hires with { Upscaler = upscaler };
        var models = ServerFolders.Upscalers(state.Options.UpscalersDirectory);
        if (models.FirstOrDefault(m => m.Name == name || m.FileName == name) is { } model)
            return hires with { Upscaler = StableDiffusion.Native.HiresUpscaler.Model, UpscalerModelPath = model.FullPath };
        var available = Enum.GetValues<StableDiffusion.Native.HiresUpscaler>().Where(u => u != StableDiffusion.Native.HiresUpscaler.Model).Select(u => u.Name())
            .Prepend("None").Concat(models.Select(m => m.Name));
        throw new BadRequestException($"hr_upscaler '{ModelFiles.DisplayText.Escape(name, 80)}' is not available: use {string.Join(", ", available)}.", "hr_upscaler");
    }

    private static ImageBuffer Invert(ImageBuffer mask)
    {
        var gray = mask.ToGray8();
        return ImageBuffer.Create(PixelFormat.Gray8, gray.Width, gray.Height, gray, static (span, source) =>
        {
            source.Pixels.Span.CopyTo(span);
            for (int i = 0; i < span.Length; i++) span[i] = (byte)(255 - span[i]);
        });
    }

    /// <summary>A1111's <c>info</c>: a JSON string (not an object) with the seeds and one infotext per image.</summary>
    private static string Info(IReadOnlyList<GeneratedImage> images, ImageRequest request, ServedModel model)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            var first = images.Count > 0 ? images[0].Parameters : null;
            w.WriteStartObject();
            w.WriteString("prompt", request.Prompt);
            w.WriteStartArray("all_prompts");
            foreach (var _ in images) w.WriteStringValue(request.Prompt);
            w.WriteEndArray();
            w.WriteString("negative_prompt", request.NegativePrompt);
            w.WriteStartArray("all_negative_prompts");
            foreach (var _ in images) w.WriteStringValue(request.NegativePrompt);
            w.WriteEndArray();
            w.WriteNumber("seed", first?.Seed ?? -1);
            w.WriteStartArray("all_seeds");
            foreach (var i in images) w.WriteNumberValue(i.Seed);
            w.WriteEndArray();
            w.WriteNumber("subseed", -1);
            w.WriteNumber("subseed_strength", 0);
            w.WriteNumber("width", first?.Width ?? 0);
            w.WriteNumber("height", first?.Height ?? 0);
            if (first?.Sampler is { } sampler) w.WriteString("sampler_name", sampler.A1111Name());
            else w.WriteNull("sampler_name");
            if (first?.Scheduler is { } scheduler) w.WriteString("scheduler", scheduler.Name());
            else w.WriteNull("scheduler");
            w.WriteNumber("cfg_scale", request.Sampling.CfgScale ?? SamplingOptions.DefaultCfgScale);
            w.WriteNumber("steps", request.Sampling.Steps ?? SamplingOptions.DefaultSteps);
            w.WriteNumber("batch_size", images.Count);
            w.WriteBoolean("restore_faces", false);
            w.WriteString("sd_model_name", model.Name);
            w.WriteNull("sd_model_hash");
            if (request.InitImage is not null) w.WriteNumber("denoising_strength", request.Strength);
            else if (request.Hires is { } hires) w.WriteNumber("denoising_strength", hires.DenoisingStrength);
            else w.WriteNull("denoising_strength");
            w.WriteNumber("clip_skip", request.ClipSkip ?? -1);
            w.WriteNumber("index_of_first_image", 0);
            w.WriteStartArray("infotexts");
            foreach (var i in images) w.WriteStringValue(i.Parameters.ToString());
            w.WriteEndArray();
            w.WriteStartArray("styles");
            w.WriteEndArray();
            w.WriteString("job_timestamp", DateTime.Now.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture));
            w.WriteString("version", "sdnet");
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }

    private static Task Samplers(HttpContext context) => ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
    {
        w.WriteStartArray();
        foreach (var sampler in Enum.GetValues<Sampler>())
        {
            w.WriteStartObject();
            w.WriteString("name", sampler.A1111Name());
            w.WriteStartArray("aliases");
            foreach (var alias in sampler.A1111Aliases()) w.WriteStringValue(alias);
            w.WriteEndArray();
            w.WriteStartObject("options");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });

    private static Task Schedulers(HttpContext context) => ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
    {
        w.WriteStartArray();
        w.WriteStartObject();
        w.WriteString("name", "automatic");
        w.WriteString("label", "Automatic");
        w.WriteNull("aliases");
        w.WriteEndObject();
        foreach (var scheduler in Enum.GetValues<Scheduler>())
        {
            w.WriteStartObject();
            w.WriteString("name", scheduler.Name());
            w.WriteString("label", scheduler.A1111Name());
            w.WriteNull("aliases");
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });

    /// <summary>Every model served; the default (the one <c>/options</c> names) first, as a client picking "the current one" expects.</summary>
    private static Task Models(HttpContext context, ServerState state) => ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
    {
        var current = state.Catalog.Default;
        w.WriteStartArray();
        foreach (var model in state.Catalog.Models.OrderBy(m => m == current ? 0 : 1))
        {
            w.WriteStartObject();
            w.WriteString("title", model.FileName);
            w.WriteString("model_name", model.Name);
            // Unknown (hashing a checkpoint of gigabytes is not worth a list call), but strings, as clients typed for
            // A1111 and sd-server (which sends placeholder digits) expect.
            w.WriteString("hash", "");
            w.WriteString("sha256", "");
            // The file name only: the server's own folders are none of a client's business.
            w.WriteString("filename", model.FileName);
            w.WriteNull("config");
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });

    /// <summary>sd-server's LoRA list: <c>[{"name": stem, "path": path under --lora-model-dir}]</c>, what <c>lora[].path</c> takes.</summary>
    private static Task Loras(HttpContext context, ServerState state)
        => ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w => ServerFolders.WriteLoras(w, state.Options.LoraDirectory));

    /// <summary>
    /// sd-server's upscaler list: None, Lanczos, Nearest, then the models of <c>--hires-upscalers-dir</c>. Where sd-server
    /// gives a model's absolute path, this gives its file name: the server's folders are none of a client's business.
    /// </summary>
    private static Task Upscalers(HttpContext context, ServerState state) => ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
    {
        w.WriteStartArray();
        foreach (string builtin in new[] { "None", StableDiffusion.Native.HiresUpscaler.Lanczos.Name(), StableDiffusion.Native.HiresUpscaler.Nearest.Name() })
            Upscaler(w, builtin, null, null);
        foreach (var model in ServerFolders.Upscalers(state.Options.UpscalersDirectory)) Upscaler(w, model.Name, "ESRGAN_4x", model.FileName);
        w.WriteEndArray();
    });

    private static void Upscaler(System.Text.Json.Utf8JsonWriter w, string name, string? modelName, string? path)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("model_name", modelName);
        w.WriteString("model_path", path);
        w.WriteNull("model_url");
        w.WriteNumber("scale", 4);
        w.WriteEndObject();
    }

    /// <summary>The latent upscale modes <c>hr_upscaler</c> takes, by upstream's names.</summary>
    private static Task LatentUpscaleModes(HttpContext context) => ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
    {
        w.WriteStartArray();
        foreach (var mode in Enum.GetValues<StableDiffusion.Native.HiresUpscaler>().Where(u => u.Name().StartsWith("Latent", StringComparison.Ordinal)))
        {
            w.WriteStartObject();
            w.WriteString("name", mode.Name());
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });

    private static Task Options(HttpContext context, ServerState state) => ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
    {
        w.WriteStartObject();
        w.WriteString("sd_model_checkpoint", state.Catalog.Default.FileName);
        w.WriteString("samples_format", "png");
        w.WriteNumber("CLIP_stop_at_last_layers", 1);
        w.WriteEndObject();
    });

    /// <summary>
    /// A1111's checkpoint switch: <c>sd_model_checkpoint</c> becomes the model of requests that name none. The model loads
    /// when a request needs it, in its turn, rather than now: a switch never waits behind, nor stalls, the queue.
    /// </summary>
    private static async Task SetOptions(HttpContext context, ServerState state)
    {
        var (document, json) = await JsonInput.ReadAsync(context.Request.Body, context.RequestAborted).ConfigureAwait(false);
        using (document)
        {
            if (json.String("sd_model_checkpoint") is { } checkpoint)
                state.Catalog.Default = state.Catalog.Route(checkpoint, "sd_model_checkpoint");
        }
        await ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private static Task Progress(HttpContext context, ServerState state)
    {
        var snapshot = state.Queue.Snapshot();
        bool skipImage = string.Equals(context.Request.Query["skip_current_image"], "true", StringComparison.OrdinalIgnoreCase);
        byte[]? preview = skipImage ? null : state.PreviewPng(snapshot);
        return ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("progress", Math.Round(snapshot.Progress, 4));
            w.WriteNumber("eta_relative", Math.Round(snapshot.Eta.TotalSeconds, 2));
            w.WriteStartObject("state");
            w.WriteBoolean("skipped", false);
            w.WriteBoolean("interrupted", snapshot.Interrupted);
            w.WriteString("job", snapshot.Busy ? $"job({snapshot.JobNumber})" : "");
            w.WriteNumber("job_count", snapshot.Waiting + (snapshot.Busy ? 1 : 0));
            w.WriteString("job_timestamp", (snapshot.Started ?? state.Started).ToLocalTime().ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture));
            w.WriteNumber("job_no", snapshot.Busy ? snapshot.Image : 0);
            w.WriteNumber("sampling_step", snapshot.Step);
            w.WriteNumber("sampling_steps", snapshot.Steps);
            w.WriteEndObject();
            if (preview is null) w.WriteNull("current_image");
            else w.WriteBase64String("current_image", preview);
            w.WriteNull("textinfo");
            w.WriteEndObject();
        });
    }

    private static Task Interrupt(HttpContext context, ServerState state)
    {
        bool stopped = state.Queue.Interrupt();
        return ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteBoolean("interrupted", stopped);
            w.WriteEndObject();
        });
    }
}
