using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Cli.Serve;

/// <summary>
/// Upstream sd-server's native asynchronous API (<c>/sdcpp/v1</c>, its <c>examples/server/api.md</c> at the pin):
/// capabilities, <c>img_gen</c> and <c>vid_gen</c> jobs, their status and their cancellation. Fields are sd-server's names; errors are its
/// <c>{"error": message}</c>; a full queue is its 429. A running job can be cancelled too (<c>cancel_generating</c>).
/// </summary>
internal static class SdcppEndpoints
{
    /// <summary>Accepted in every name field for "the backend's default", as sd-server lists it first.</summary>
    private const string DefaultName = "default";

    public static void Map(WebApplication app, ServerState state)
    {
        app.MapGet("/sdcpp/v1/capabilities", (RequestDelegate)(context => Capabilities(context, state)));
        app.MapPost("/sdcpp/v1/img_gen", (RequestDelegate)(context => ImageJob(context, state)));
        app.MapPost("/sdcpp/v1/vid_gen", (RequestDelegate)(context => VideoJob(context, state)));
        app.MapGet("/sdcpp/v1/jobs/{id}", (RequestDelegate)(context => Job(context, state)));
        app.MapPost("/sdcpp/v1/jobs/{id}/cancel", (RequestDelegate)(context => Cancel(context, state)));
    }

    private static Task ImageJob(HttpContext context, ServerState state) => SubmitAsync(context, state, "img_gen", (json, model, quality) =>
    {
        var request = Checked(ReadRequest(json, state), Generator.Validate);
        var format = ServerImages.ParseFormat(json.String("output_format") ?? "png", "output_format");
        return state.Jobs.Submit(request, model, format, quality, json.Bool("embed_image_metadata") ?? true);
    });

    /// <summary>The video containers this server writes, its default first, as sd-server built with WebM lists them.</summary>
    private static readonly VideoContainer[] s_videoFormats = [VideoContainer.Webm, VideoContainer.Webp, VideoContainer.Avi];

    private static Task VideoJob(HttpContext context, ServerState state) => SubmitAsync(context, state, "vid_gen", (json, model, quality) =>
    {
        var request = Checked(ReadVideoRequest(json, state), Generator.Validate);
        // sd-server's default and its message for any other name.
        string name = (json.String("output_format") ?? VideoContainers.Name(s_videoFormats[0])).Trim().ToLowerInvariant();
        var container = s_videoFormats.Where(c => VideoContainers.Name(c) == name).Cast<VideoContainer?>().FirstOrDefault()
            ?? throw new BadRequestException($"invalid output_format, must be one of [{string.Join(", ", s_videoFormats.Select(VideoContainers.Name))}]", "output_format");
        return state.Jobs.SubmitVideo(request, model, container, quality);
    });

    /// <summary>
    /// sd-server's submission of a <paramref name="mode"/> job: its body, the model it names (sdnet's <c>model</c>: sd-server
    /// serves one; a server of several takes a name from capabilities' <c>models</c>), the quality it clamps (default 100),
    /// then <paramref name="submit"/>'s job answered 202, or 429 when the queue is full.
    /// </summary>
    private static async Task SubmitAsync(HttpContext context, ServerState state, string mode, Func<JsonInput, ServedModel, int, SdcppJob> submit)
    {
        if (context.Request.ContentLength == 0) throw new BadRequestException("empty body");
        var (document, json) = await JsonInput.ReadAsync(context.Request.Body, context.RequestAborted).ConfigureAwait(false);
        using (document)
        {
            var model = state.Catalog.Route(json.String("model"), "model");
            bool? supported = mode == "vid_gen" ? state.Queue.Pool.MakesVideos(model) : state.Queue.Pool.MakesImages(model);
            if (supported == false) throw new BadRequestException($"loaded model does not support {mode}");
            int quality = json.Has("output_compression") ? (int)Math.Clamp(json.Long("output_compression", long.MinValue, long.MaxValue)!.Value, 0, 100) : 100;
            SdcppJob job;
            try
            {
                job = submit(json, model, quality);
            }
            catch (QueueFullException full)
            {
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(full.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await ImageServer.ErrorAsync(context, StatusCodes.Status429TooManyRequests, "job queue is full", "queue_full", null).ConfigureAwait(false);
                return;
            }
            await Accepted(context, job).ConfigureAwait(false);
        }
    }

    private static Task Accepted(HttpContext context, SdcppJob job) => ImageServer.WriteJsonAsync(context, StatusCodes.Status202Accepted, w =>
    {
        w.WriteStartObject();
        w.WriteString("id", job.Id);
        w.WriteString("kind", job.Kind);
        w.WriteString("status", job.Status.ToString().ToLowerInvariant());
        w.WriteNumber("created", job.Created.ToUnixTimeSeconds());
        w.WriteString("poll_url", "/sdcpp/v1/jobs/" + job.Id);
        w.WriteEndObject();
    });

    private static Task Job(HttpContext context, ServerState state)
    {
        string id = (string)context.Request.RouteValues["id"]!;
        var (job, gone) = state.Jobs.Find(id);
        if (job is null) return NotFound(context, gone);
        return ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w => state.Jobs.Write(w, job));
    }

    private static async Task Cancel(HttpContext context, ServerState state)
    {
        string id = (string)context.Request.RouteValues["id"]!;
        var (job, gone) = state.Jobs.Find(id);
        if (job is null)
        {
            await NotFound(context, gone).ConfigureAwait(false);
            return;
        }
        if (job.Result is null)
        {
            job.Cancel();
            // A queued job ends at once; a running one at its next step.
            await Task.WhenAny(job.Done, Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted)).ConfigureAwait(false);
        }
        await ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w => state.Jobs.Write(w, job)).ConfigureAwait(false);
    }

    private static Task NotFound(HttpContext context, bool gone) => gone
        ? ImageServer.ErrorAsync(context, StatusCodes.Status410Gone, "job expired", "gone", null)
        : ImageServer.ErrorAsync(context, StatusCodes.Status404NotFound, "job not found", "not_found", null);

    /// <summary>
    /// An <c>img_gen</c> body (api.md's "Request Body") as the library's request, the library's bounds applying. Over
    /// <paramref name="over"/> (the request an OpenAI or A1111 route built, for <c>sd_cpp_extra_args</c>), only the
    /// fields present change; without one, the prompt is required and everything else has its default.
    /// </summary>
    internal static ImageRequest ReadRequest(JsonInput json, ServerState state, ImageRequest? over = null)
    {
        var b = over ?? new ImageRequest();
        string prompt = json.String("prompt") ?? (over is not null ? b.Prompt : throw new BadRequestException("prompt required", "prompt"));
        var sampling = ReadSampling(json.Object("sample_params"), b.Sampling, "sample_params");

        bool? autoResize = json.Bool("auto_resize_ref_image");
        bool? increase = json.Bool("increase_ref_index");
        var request = b with
        {
            Prompt = prompt,
            NegativePrompt = json.String("negative_prompt") ?? b.NegativePrompt,
            ClipSkip = Unset(json, "clip_skip", 12, b.ClipSkip),
            Width = Unset(json, "width", ImageRequest.MaxDimension, b.Width),
            Height = Unset(json, "height", ImageRequest.MaxDimension, b.Height),
            Strength = json.Float("strength", SettingRange.Of<ImageRequest>(nameof(ImageRequest.Strength))) ?? b.Strength,
            Seed = SeedOf(json, b.Seed),
            BatchCount = json.Int("batch_count", 1, ImageRequest.MaxBatchCount) ?? b.BatchCount,
            QwenImageLayers = json.Int("qwen_image_layers", SettingRange.Of<ImageRequest>(nameof(ImageRequest.QwenImageLayers))) ?? b.QwenImageLayers,
            ControlStrength = json.Float("control_strength", SettingRange.Of<ImageRequest>(nameof(ImageRequest.ControlStrength))) ?? b.ControlStrength,
            IpAdapterStrength = json.Float("ip_adapter_strength", SettingRange.Of<ImageRequest>(nameof(ImageRequest.IpAdapterStrength))) ?? b.IpAdapterStrength,
            InitImage = json.Has("init_image") ? Image(json, "init_image") : b.InitImage,
            Mask = json.String("mask_image") is { Length: > 0 } mask ? ServerImages.DecodeMask(ServerImages.FromBase64(mask, "mask_image"), "mask_image") : b.Mask,
            ControlImage = json.Has("control_image") ? Image(json, "control_image") : b.ControlImage,
            IpAdapterImage = json.Has("ip_adapter_image") ? Image(json, "ip_adapter_image") : b.IpAdapterImage,
            ReferenceImages = json.Has("ref_images")
                ? json.Strings("ref_images").Select((r, i) => ServerImages.DecodeRgb(ServerImages.FromBase64(r, "ref_images"), $"ref_images[{i}]")).ToList()
                : b.ReferenceImages,
            ReferenceImageOptions = autoResize is null && increase is null ? b.ReferenceImageOptions : (b.ReferenceImageOptions ?? new ReferenceImageOptions()) with
            {
                ResizeBeforeVae = autoResize ?? b.ReferenceImageOptions?.ResizeBeforeVae,
                IndexMode = increase is bool up ? (up ? ReferenceIndexMode.Increase : null) : b.ReferenceImageOptions?.IndexMode,
            },
            Loras = json.Has("lora") ? ServerFolders.ReadLoras(json, state.Options.LoraDirectory) : b.Loras,
            Sampling = sampling,
            Hires = json.Has("hires") ? Hires(json.Object("hires"), state) : b.Hires,
            VaeTilingOptions = json.Has("vae_tiling_params") ? Tiling(json.Object("vae_tiling_params")) : b.VaeTilingOptions,
            Cache = json.Has("cache_mode") || json.Has("cache_option") || json.Has("scm_mask") ? Cache(json) : b.Cache,
        };
        return request;
    }

    /// <summary>An api.md integer where 0 or -1 means "the backend's default" (null); absent keeps <paramref name="fallback"/>.</summary>
    private static int? Unset(JsonInput json, string name, int max, int? fallback)
        => json.Int(name, -1, max) is int value ? (value > 0 ? value : null) : fallback;

    /// <summary>api.md's <c>seed</c>: -1 is random (null); absent keeps <paramref name="fallback"/>.</summary>
    private static long? SeedOf(JsonInput json, long? fallback)
        => json.Long("seed", -1, uint.MaxValue) is long seed ? (seed >= 0 ? seed : null) : fallback;

    /// <summary>api.md's <c>sample_params</c> (or <c>high_noise_sample_params</c>, named by <paramref name="at"/>) over <paramref name="s"/>: only the fields present change.</summary>
    private static SamplingOptions ReadSampling(JsonInput sample, SamplingOptions s, string at)
    {
        var guidance = sample.Object("guidance");
        return s with
        {
            Sampler = sample.Has("sample_method") ? Name<Sampler>(sample.String("sample_method"), SamplingNames.TryParseSampler, at + ".sample_method") : s.Sampler,
            Scheduler = sample.Has("scheduler") ? Name<Scheduler>(sample.String("scheduler"), SamplingNames.TryParseScheduler, at + ".scheduler") : s.Scheduler,
            Steps = sample.Int("sample_steps", SettingRange.Of<SamplingOptions>(nameof(SamplingOptions.Steps))) ?? s.Steps,
            Eta = sample.Float("eta", SettingRange.Of<SamplingOptions>(nameof(SamplingOptions.Eta))) ?? s.Eta,
            ShiftedTimestep = sample.Int("shifted_timestep", SettingRange.Of<SamplingOptions>(nameof(SamplingOptions.ShiftedTimestep))) is int t ? (t > 0 ? t : null) : s.ShiftedTimestep,
            CustomSigmas = sample.Has("custom_sigmas") ? Floats(sample, "custom_sigmas") : s.CustomSigmas,
            FlowShift = sample.Float("flow_shift", SettingRange.Of<SamplingOptions>(nameof(SamplingOptions.FlowShift))) is float f ? (f != 0 ? f : null) : s.FlowShift,
            CfgScale = guidance.Float("txt_cfg", SettingRange.Of<SamplingOptions>(nameof(SamplingOptions.CfgScale))) ?? s.CfgScale,
            ImageCfgScale = guidance.Float("img_cfg", SettingRange.Of<SamplingOptions>(nameof(SamplingOptions.ImageCfgScale))) ?? s.ImageCfgScale,
            Guidance = guidance.Float("distilled_guidance", SettingRange.Of<SamplingOptions>(nameof(SamplingOptions.Guidance))) ?? s.Guidance,
            SkipLayerGuidance = guidance.Has("slg") ? SkipLayers(guidance.Object("slg")) : s.SkipLayerGuidance,
        };
    }

    /// <summary>
    /// A <c>vid_gen</c> body (api.md's video "Request Body") as the library's video request, the library's bounds
    /// applying; the prompt is required and everything else has its default. <c>high_noise_sample_params</c> with
    /// <c>sample_steps</c> -1 (sd-server's "unset") leaves the high-noise model's sampling to upstream.
    /// </summary>
    internal static VideoRequest ReadVideoRequest(JsonInput json, ServerState state)
    {
        var b = new VideoRequest();
        string prompt = json.String("prompt") ?? throw new BadRequestException("prompt required", "prompt");
        SamplingOptions? highNoise = null;
        if (json.Has("high_noise_sample_params"))
        {
            var high = json.Object("high_noise_sample_params");
            highNoise = high.Int("sample_steps", -1, 10_000) is -1 or 0 ? null : ReadSampling(high, new SamplingOptions(), "high_noise_sample_params");
        }
        var controlFrames = json.Strings("control_frames");
        if (controlFrames.Count > VideoRequest.MaxFrames) throw new BadRequestException($"At most {VideoRequest.MaxFrames} control_frames.", "control_frames");
        return b with
        {
            Prompt = prompt,
            NegativePrompt = json.String("negative_prompt") ?? b.NegativePrompt,
            ClipSkip = Unset(json, "clip_skip", 12, b.ClipSkip),
            Width = Unset(json, "width", ImageRequest.MaxDimension, b.Width),
            Height = Unset(json, "height", ImageRequest.MaxDimension, b.Height),
            Strength = json.Float("strength", SettingRange.Of<VideoRequest>(nameof(VideoRequest.Strength))) ?? b.Strength,
            Seed = SeedOf(json, b.Seed),
            Frames = json.Int("video_frames", SettingRange.Of<VideoRequest>(nameof(VideoRequest.Frames))) ?? b.Frames,
            Fps = json.Int("fps", SettingRange.Of<VideoRequest>(nameof(VideoRequest.Fps))) ?? b.Fps,
            MoeBoundary = json.Float("moe_boundary", SettingRange.Of<VideoRequest>(nameof(VideoRequest.MoeBoundary))) ?? b.MoeBoundary,
            VaceStrength = json.Float("vace_strength", SettingRange.Of<VideoRequest>(nameof(VideoRequest.VaceStrength))) ?? b.VaceStrength,
            InitImage = Image(json, "init_image"),
            EndImage = Image(json, "end_image"),
            ControlFrames = controlFrames.Select((f, i) => ServerImages.DecodeRgb(ServerImages.FromBase64(f, "control_frames"), $"control_frames[{i}]")).ToList(),
            Loras = ServerFolders.ReadLoras(json, state.Options.LoraDirectory),
            Sampling = ReadSampling(json.Object("sample_params"), b.Sampling, "sample_params"),
            HighNoiseSampling = highNoise,
            VaeTilingOptions = json.Has("vae_tiling_params") ? Tiling(json.Object("vae_tiling_params")) : null,
            Cache = json.Has("cache_mode") || json.Has("cache_option") || json.Has("scm_mask") ? Cache(json) : null,
        };
    }

    private static SkipLayerGuidance? SkipLayers(JsonInput slg)
    {
        var defaults = new SkipLayerGuidance();
        return slg.Float("scale", 0, 100) is float scale and > 0
            ? new SkipLayerGuidance
            {
                Scale = scale,
                Layers = Ints(slg, "layers") is { Count: > 0 } layers ? layers : defaults.Layers,
                Start = slg.Float("layer_start", 0, 1) ?? defaults.Start,
                End = slg.Float("layer_end", 0, 1) ?? defaults.End,
            }
            : null;
    }

    private const string ExtraArgsOpen = "<sd_cpp_extra_args>", ExtraArgsClose = "</sd_cpp_extra_args>";

    /// <summary>
    /// sd-server's <c>sd_cpp_extra_args</c>: a <c>&lt;sd_cpp_extra_args&gt;{json}&lt;/sd_cpp_extra_args&gt;</c> block in a
    /// prompt of the OpenAI or A1111 routes holds sdcpp fields that apply over <paramref name="request"/>. The first
    /// block is read and every block is taken out of the prompt, as sd-server does.
    /// </summary>
    /// <exception cref="BadRequestException">The block is not a JSON object of valid sdcpp fields ("invalid sd_cpp_extra_args").</exception>
    internal static ImageRequest ApplyExtraArgs(ImageRequest request, ServerState state)
    {
        string prompt = request.Prompt;
        int open = prompt.IndexOf(ExtraArgsOpen, StringComparison.Ordinal);
        if (open < 0) return request;
        string? first = null;
        var kept = new System.Text.StringBuilder(prompt.Length);
        int at = 0;
        while (open >= 0)
        {
            int close = prompt.IndexOf(ExtraArgsClose, open + ExtraArgsOpen.Length, StringComparison.Ordinal);
            if (close < 0) break; // an unclosed tag is prompt text, as sd-server's pattern leaves it
            kept.Append(prompt, at, open - at);
            first ??= prompt[(open + ExtraArgsOpen.Length)..close];
            at = close + ExtraArgsClose.Length;
            open = prompt.IndexOf(ExtraArgsOpen, at, StringComparison.Ordinal);
        }
        kept.Append(prompt, at, prompt.Length - at);
        if (first is null) return request;
        var stripped = request with { Prompt = kept.ToString() };
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(first, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException e)
        {
            throw new BadRequestException("invalid sd_cpp_extra_args: " + e.Message, "sd_cpp_extra_args");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new BadRequestException("invalid sd_cpp_extra_args: it must be a JSON object.", "sd_cpp_extra_args");
            try
            {
                return ReadRequest(JsonInput.Of(document.RootElement), state, stripped);
            }
            catch (BadRequestException e)
            {
                throw new BadRequestException("invalid sd_cpp_extra_args: " + e.Message, "sd_cpp_extra_args");
            }
        }
    }

    private delegate bool Parser<T>(string? name, out T value);

    private static T? Name<T>(string? name, Parser<T> parse, string param) where T : struct
    {
        if (string.IsNullOrWhiteSpace(name) || name.Equals(DefaultName, StringComparison.OrdinalIgnoreCase)) return null;
        return parse(name, out T value) ? value : throw new BadRequestException($"'{param}' does not know '{ModelFiles.DisplayText.Escape(name, 60)}'; GET /sdcpp/v1/capabilities lists the names.", param);
    }

    private static ImageBuffer? Image(JsonInput json, string name)
        => json.String(name) is { Length: > 0 } text ? ServerImages.DecodeRgb(ServerImages.FromBase64(text, name), name) : null;

    private static List<float> Floats(JsonInput json, string name) => json.Numbers(name, 1000).Select(d => (float)d).ToList();

    private static List<int> Ints(JsonInput json, string name)
    {
        var values = json.Numbers(name, 64);
        if (values.Any(v => v != Math.Floor(v) || v is < 0 or > 1000)) throw new BadRequestException($"'{name}' must be layer numbers, 0 to 1000.", name);
        return values.Select(v => (int)v).ToList();
    }

    private static HiresFix? Hires(JsonInput hires, ServerState state)
    {
        if (hires.Bool("enabled") != true) return null;
        var defaults = new HiresFix();
        var fix = new HiresFix(
            hires.Float("scale", SettingRange.Of<HiresFix>(nameof(HiresFix.Scale))) ?? defaults.Scale,
            hires.Int("steps", SettingRange.Of<HiresFix>(nameof(HiresFix.Steps))) ?? defaults.Steps,
            hires.Float("denoising_strength", SettingRange.Of<HiresFix>(nameof(HiresFix.DenoisingStrength))) ?? defaults.DenoisingStrength)
        {
            TargetWidth = hires.Int("target_width", 0, ImageRequest.MaxDimension) is int tw and > 0 ? tw : null,
            TargetHeight = hires.Int("target_height", 0, ImageRequest.MaxDimension) is int th and > 0 ? th : null,
            CustomSigmas = Floats(hires, "custom_sigmas"),
            UpscaleTileSize = hires.Int("upscale_tile_size", SettingRange.Of<HiresFix>(nameof(HiresFix.UpscaleTileSize))),
        };
        string? name = hires.String("upscaler")?.Trim();
        if (string.IsNullOrEmpty(name)) return fix;
        if (name.Equals("None", StringComparison.OrdinalIgnoreCase)) return null;
        if (UpstreamNames.TryParse(name, out HiresUpscaler upscaler) && upscaler != HiresUpscaler.Model) return fix with { Upscaler = upscaler };
        var model = ServerFolders.Upscalers(state.Options.UpscalersDirectory).FirstOrDefault(m => m.Name == name)
            ?? throw new BadRequestException($"hires.upscaler '{ModelFiles.DisplayText.Escape(name, 80)}' is not available; GET /sdcpp/v1/capabilities lists the upscalers.", "hires.upscaler");
        return fix with { Upscaler = HiresUpscaler.Model, UpscalerModelPath = model.FullPath };
    }

    internal static VaeTilingOptions? Tiling(JsonInput tiling)
    {
        bool spatial = tiling.Bool("enabled") == true, temporal = tiling.Bool("temporal_tiling") == true;
        const string ExtraField = "vae_tiling_params.extra_tiling_args";
        var extra = tiling.String("extra_tiling_args") is { Length: > 0 } text ? Upstream(() => SdCliSyntax.KeyValues(ExtraField, text)) : null;
        if (!spatial && !temporal) return null;
        var d = new VaeTilingOptions();
        var options = new VaeTilingOptions
        {
            Spatial = spatial,
            Temporal = temporal,
            TileWidth = tiling.Int("tile_size_x", 0, 4096) ?? d.TileWidth,
            TileHeight = tiling.Int("tile_size_y", 0, 4096) ?? d.TileHeight,
            TargetOverlap = tiling.Float("target_overlap", 0, 1) ?? d.TargetOverlap,
            RelativeWidth = tiling.Float("rel_size_x", 0, 64) ?? d.RelativeWidth,
            RelativeHeight = tiling.Float("rel_size_y", 0, 64) ?? d.RelativeHeight,
        };
        // LTX's temporal tile keys typed, as sd-cli's --extra-tiling-args; the library checks the keys it keeps.
        return extra is null ? options : Upstream(() => TypedArguments.Tiling(ExtraField, options, extra));
    }

    /// <summary>The server's fields for sd-cli's cache flags, so that errors name the field.</summary>
    private static readonly SdCliSyntax.CacheNames s_cacheFields = new("cache_mode", "cache_option", "scm_mask", "scm_policy_dynamic");

    /// <summary>
    /// sd-server's cache fields: <c>cache_mode</c>, with <c>cache_option</c> (<c>key=value,...</c>), <c>scm_mask</c>
    /// (<c>1,0,...</c>) and <c>scm_policy_dynamic</c>, read as sd-cli reads its <c>--cache-*</c> flags.
    /// </summary>
    internal static StepCacheOptions? Cache(JsonInput json)
    {
        string? mode = json.String("cache_mode");
        string? option = json.String("cache_option") is { Length: > 0 } o ? o : null;
        string? mask = json.String("scm_mask") is { Length: > 0 } m ? m : null;
        bool? dynamic = json.Bool("scm_policy_dynamic");
        if (string.IsNullOrWhiteSpace(mode) || mode.Equals("disabled", StringComparison.OrdinalIgnoreCase))
        {
            if (option is not null || mask is not null) throw new BadRequestException("cache_option and scm_mask need a cache_mode.", option is not null ? "cache_option" : "scm_mask");
            return null;
        }
        return Upstream(() => SdCliSyntax.Cache(mode, option, mask, dynamic is bool d ? (d ? "dynamic" : "static") : null, s_cacheFields));
    }

    /// <summary>
    /// The library's own checks of a job's request at submission, as sd-server validates its parameters before it answers
    /// 202: a bad job is a 400 now, not a job that fails in its turn. The message names the library's setting.
    /// </summary>
    private static T Checked<T>(T request, Action<T> validate) => Upstream(() =>
    {
        validate(request);
        return request;
    });

    /// <summary>sd-cli's syntax errors, which name the field given, as the server's 400.</summary>
    private static T Upstream<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (ArgumentException e)
        {
            // The message without .NET's " (Parameter 'x')" and "Actual value was …": the field already leads it.
            int cut = e.Message.IndexOf(" (Parameter '", StringComparison.Ordinal);
            throw new BadRequestException(cut >= 0 ? e.Message[..cut] : e.Message, e.ParamName);
        }
    }

    /// <summary>
    /// <c>GET /sdcpp/v1/capabilities</c>: what this server serves (modes, defaults, formats, features), the names it takes
    /// and its limits. The modes are the model's. <c>model</c> and the
    /// defaults are the default model's (a request's own <c>model</c> picks another); <c>models</c>, sdnet's, lists every
    /// model served and whether it is in memory now. A model never loaded is assumed to make images until it has been.
    /// </summary>
    private static Task Capabilities(HttpContext context, ServerState state) => ImageServer.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
    {
        var current = state.Catalog.Default;
        // A model never loaded yet is taken to make images, the common case, until its load says otherwise.
        bool images = state.Queue.Pool.MakesImages(current) != false;
        bool videos = state.Queue.Pool.MakesVideos(current) == true;
        var defaults = current.Defaults;
        w.WriteStartObject();
        w.WritePropertyName("model");
        Model(w, current);
        var resident = state.Queue.Pool.Resident.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        w.WriteStartArray("models");
        foreach (var model in state.Catalog.Models)
        {
            Model(w, model, resident.Contains(model.Name));
        }
        w.WriteEndArray();
        w.WriteString("current_mode", images ? "img_gen" : videos ? "vid_gen" : "");
        w.WriteStartArray("supported_modes");
        if (images) w.WriteStringValue("img_gen");
        if (videos) w.WriteStringValue("vid_gen");
        w.WriteEndArray();
        if (images || videos)
        {
            w.WritePropertyName("defaults");
            Defaults(w, defaults, video: !images);
            w.WritePropertyName("output_formats");
            Formats(w, video: !images);
            w.WritePropertyName("features");
            Features(w, video: !images);
        }
        foreach (var (name, write) in new (string, Action<bool>)[]
                 {
                     ("defaults_by_mode", video => Defaults(w, defaults, video)), ("output_formats_by_mode", video => Formats(w, video)),
                     ("features_by_mode", video => Features(w, video)),
                 })
        {
            w.WriteStartObject(name);
            if (images)
            {
                w.WritePropertyName("img_gen");
                write(false);
            }
            if (videos)
            {
                w.WritePropertyName("vid_gen");
                write(true);
            }
            w.WriteEndObject();
        }
        w.WriteStartArray("samplers");
        w.WriteStringValue(DefaultName);
        foreach (var sampler in Enum.GetValues<Sampler>()) w.WriteStringValue(sampler.Name());
        w.WriteEndArray();
        w.WriteStartArray("schedulers");
        w.WriteStringValue(DefaultName);
        foreach (var scheduler in Enum.GetValues<Scheduler>()) w.WriteStringValue(scheduler.Name());
        w.WriteEndArray();
        w.WritePropertyName("loras");
        ServerFolders.WriteLoras(w, state.Options.LoraDirectory);
        w.WriteStartArray("upscalers");
        foreach (string name in Enum.GetValues<HiresUpscaler>().Where(u => u != HiresUpscaler.Model).Select(u => u.Name()).Prepend("None")
                     .Concat(ServerFolders.Upscalers(state.Options.UpscalersDirectory).Select(u => u.Name)))
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartObject("limits");
        w.WriteNumber("min_width", 1);
        w.WriteNumber("max_width", ImageRequest.MaxDimension);
        w.WriteNumber("min_height", 1);
        w.WriteNumber("max_height", ImageRequest.MaxDimension);
        w.WriteNumber("max_batch_count", ImageRequest.MaxBatchCount);
        w.WriteNumber("max_queue_size", state.Queue.Capacity + 1);
        w.WriteEndObject();
        w.WriteEndObject();
    });

    private static void Model(Utf8JsonWriter w, ServedModel model, bool? loaded = null)
    {
        w.WriteStartObject();
        w.WriteString("name", model.FileName);
        w.WriteString("stem", model.Name);
        // The file name only, as in /sdapi/v1/sd-models: the server's folders are none of a client's business.
        w.WriteString("path", model.FileName);
        if (loaded is bool l) w.WriteBoolean("loaded", l);
        w.WriteEndObject();
    }

    private static void Formats(Utf8JsonWriter w, bool video)
    {
        w.WriteStartArray();
        foreach (string f in video ? s_videoFormats.Select(VideoContainers.Name) : ["png", "jpeg", "webp"]) w.WriteStringValue(f);
        w.WriteEndArray();
    }

    private static void Features(Utf8JsonWriter w, bool video)
    {
        w.WriteStartObject();
        string[] features = video
            ? ["init_image", "end_image", "control_frames", "high_noise_sample_params", "lora", "vae_tiling", "cache", "cancel_queued", "cancel_generating"]
            : ["init_image", "mask_image", "control_image", "ip_adapter_image", "ref_images", "lora", "vae_tiling", "hires", "cache", "cancel_queued", "cancel_generating"];
        foreach (string f in features) w.WriteBoolean(f, true);
        w.WriteEndObject();
    }

    /// <summary>The library's defaults under the model's manifest's, in api.md's shape; "default" where the backend (the model) decides.</summary>
    private static void Defaults(Utf8JsonWriter w, ModelDefaults? model, bool video)
    {
        var request = new ImageRequest();
        var clip = new VideoRequest();
        var hires = new HiresFix();
        var tiling = new VaeTilingOptions();
        w.WriteStartObject();
        w.WriteString("prompt", "");
        w.WriteString("negative_prompt", "");
        w.WriteNumber("clip_skip", -1);
        w.WriteNumber("width", ImageRequest.DefaultDimension);
        w.WriteNumber("height", ImageRequest.DefaultDimension);
        w.WriteNumber("strength", video ? clip.Strength : request.Strength);
        w.WriteNumber("seed", -1);
        if (video)
        {
            w.WriteNumber("video_frames", clip.Frames);
            w.WriteNumber("fps", clip.Fps);
            w.WriteNumber("moe_boundary", clip.MoeBoundary);
            w.WriteNumber("vace_strength", clip.VaceStrength);
        }
        else
        {
            w.WriteNumber("batch_count", 1);
            w.WriteBoolean("auto_resize_ref_image", true);
            w.WriteBoolean("increase_ref_index", false);
            w.WriteNumber("control_strength", request.ControlStrength);
            w.WriteNumber("ip_adapter_strength", request.IpAdapterStrength);
            w.WriteNumber("qwen_image_layers", 3);
        }
        w.WritePropertyName("sample_params");
        SampleParams(w, model);
        if (video)
        {
            // sd-server's "unset" high-noise sampling: -1 steps, the backend's choices.
            w.WritePropertyName("high_noise_sample_params");
            SampleParams(w, null, steps: -1);
        }
        w.WriteStartObject("hires");
        w.WriteBoolean("enabled", false);
        w.WriteString("upscaler", hires.Upscaler.Name());
        w.WriteNumber("scale", hires.Scale);
        w.WriteNumber("target_width", 0);
        w.WriteNumber("target_height", 0);
        w.WriteNumber("steps", hires.Steps);
        w.WriteNumber("denoising_strength", hires.DenoisingStrength);
        w.WriteStartArray("custom_sigmas");
        w.WriteEndArray();
        w.WriteNumber("upscale_tile_size", 128);
        w.WriteEndObject();
        w.WriteStartObject("vae_tiling_params");
        w.WriteBoolean("enabled", false);
        w.WriteBoolean("temporal_tiling", false);
        w.WriteNumber("tile_size_x", tiling.TileWidth);
        w.WriteNumber("tile_size_y", tiling.TileHeight);
        w.WriteNumber("target_overlap", tiling.TargetOverlap);
        w.WriteNumber("rel_size_x", tiling.RelativeWidth);
        w.WriteNumber("rel_size_y", tiling.RelativeHeight);
        w.WriteString("extra_tiling_args", "");
        w.WriteEndObject();
        w.WriteString("cache_mode", "disabled");
        w.WriteString("cache_option", "");
        w.WriteString("scm_mask", "");
        w.WriteBoolean("scm_policy_dynamic", true);
        w.WriteString("output_format", video ? VideoContainers.Name(s_videoFormats[0]) : "png");
        w.WriteNumber("output_compression", 100);
        w.WriteEndObject();
    }

    /// <summary>api.md's <c>sample_params</c> defaults: the model's manifest's over the library's, "default" where the backend decides.</summary>
    private static void SampleParams(Utf8JsonWriter w, ModelDefaults? model, int? steps = null)
    {
        var slg = new SkipLayerGuidance();
        w.WriteStartObject();
        w.WriteString("scheduler", model?.Scheduler?.Name() ?? DefaultName);
        w.WriteString("sample_method", model?.Sampler?.Name() ?? DefaultName);
        w.WriteNumber("sample_steps", steps ?? model?.Steps ?? SamplingOptions.DefaultSteps);
        w.WriteNull("eta");
        w.WriteNumber("shifted_timestep", 0);
        if (model?.FlowShift is float shift) w.WriteNumber("flow_shift", shift);
        else w.WriteNull("flow_shift");
        w.WriteStartObject("guidance");
        w.WriteNumber("txt_cfg", model?.CfgScale ?? SamplingOptions.DefaultCfgScale);
        w.WriteNull("img_cfg");
        w.WriteNumber("distilled_guidance", 3.5);
        w.WriteStartObject("slg");
        w.WriteStartArray("layers");
        foreach (int layer in slg.Layers) w.WriteNumberValue(layer);
        w.WriteEndArray();
        w.WriteNumber("layer_start", slg.Start);
        w.WriteNumber("layer_end", slg.End);
        w.WriteNumber("scale", 0);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
