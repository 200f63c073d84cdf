using System.CommandLine;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Cli.Serve;

/// <summary>
/// <c>sdnet serve</c>: serves one model (<c>-m</c>, loaded at start), or every model of a folder (<c>--models-dir</c>, or
/// the models folder when no model is given; each loaded on first use under <c>--max-memory</c>), over HTTP until Ctrl+C.
/// </summary>
internal static class ServeCommand
{
    /// <summary>Read when <c>--api-key</c> is not given, so the key need not appear in the process list.</summary>
    public const string ApiKeyVariable = "SDNET_API_KEY";

    /// <summary>
    /// How long the process may take to exit after Ctrl+C or SIGTERM when <paramref name="parse"/> runs <c>serve</c>: its
    /// <c>--shutdown-timeout</c> for the requests in flight, and a few seconds to stop; null for any other command.
    /// </summary>
    public static TimeSpan? TerminationTimeout(ParseResult parse)
    {
        if (parse.CommandResult.Command.Name != "serve") return null;
        int seconds = parse.GetValue<int>("--shutdown-timeout");
        return TimeSpan.FromSeconds(Math.Clamp(seconds, 0, 3600) + 10);
    }

    public static Command Create()
    {
        var load = new ModelLoadOptions();
        var host = new Option<string>("--host") { Description = "Address to listen on (an IP address or localhost); loopback unless you say otherwise", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port (0: any free one)", DefaultValueFactory = _ => 7860 };
        var apiKey = new Option<string?>("--api-key") { Description = $"Require 'Authorization: Bearer KEY' on API requests (default: ${ApiKeyVariable})" };
        var queue = new Option<int>("--queue") { Description = "Requests that may wait while one generates; more get 503", DefaultValueFactory = _ => 4 };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Show the native log and each request" };
        var allowedHost = new Option<string[]>("--allowed-host") { Description = "Also accept requests whose Host header is NAME (repeatable); loopback and the listen address always are", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false };
        var shutdownTimeout = new Option<int>("--shutdown-timeout") { Description = "Seconds that requests in flight may take to finish on Ctrl+C or SIGTERM before they are cancelled", DefaultValueFactory = _ => 30 };
        var loraDir = new Option<string?>("--lora-model-dir", "--lora-dir") { Description = "Folder of LoRAs that requests may name (its tree is searched; GET /sdapi/v1/loras lists them)" };
        var upscalersDir = new Option<string?>("--hires-upscalers-dir") { Description = "Folder of upscaler models that hr_upscaler may name (top level only)" };
        var modelsDir = new Option<string?>("--models-dir") { Description = "Serve every model in this folder (checkpoints and NAME.model.json manifests), each loaded when first asked for; -m then names the default one. Without -m or --models-dir: the models folder" };
        var maxMemory = new Option<string?>("--max-memory") { Description = "With several models: memory their weights may take together (GiB, or 512M, 12G); the least recently used are unloaded to make room (default: 3/4 of this machine's memory)" };
        var corsOrigin = new Option<string[]>("--cors-origin") { Description = "Let pages of ORIGIN (https://host[:port]) call the API (repeatable); no CORS headers without it", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false };

        var command = new Command("serve", "Serve a model over HTTP: OpenAI's images API (/v1), AUTOMATIC1111's (/sdapi/v1) and a page (/)")
        {
            host, port, apiKey, queue, verbose, allowedHost, corsOrigin, shutdownTimeout, loraDir, upscalersDir, modelsDir, maxMemory,
        };
        foreach (var option in load.All) command.Options.Add(option);
        command.SetAction(async (r, cancellationToken) =>
        {
            var stderr = r.InvocationConfiguration.Error;
            Generator? generator = null;
            ImageServer? server = null;
            try
            {
                bool isVerbose = r.GetValue(verbose);
                var logger = CliCommon.Logger(isVerbose);
                NativeRuntime.Logger = logger;
                string? key = r.GetValue(apiKey) ?? Environment.GetEnvironmentVariable(ApiKeyVariable);
                var serveOptions = new ServeOptions
                {
                    Host = r.GetValue(host)!,
                    Port = r.GetValue(port),
                    ApiKey = string.IsNullOrEmpty(key) ? null : key,
                    Queue = r.GetValue(queue),
                    AllowedHosts = r.GetValue(allowedHost) ?? [],
                    CorsOrigins = r.GetValue(corsOrigin) ?? [],
                    ShutdownTimeout = TimeSpan.FromSeconds(r.GetValue(shutdownTimeout)),
                    LoraDirectory = r.GetValue(loraDir),
                    UpscalersDirectory = r.GetValue(upscalersDir),
                    LogLevel = isVerbose ? LogLevel.Information : LogLevel.Warning,
                };
                if (r.GetValue(maxMemory) is { } budget) serveOptions = serveOptions with { MaxMemory = ModelCatalog.ParseSize(budget, "--max-memory") };
                serveOptions.Validate(); // before the model loads: a typo must not cost a load
                string? folder = r.GetValue(modelsDir);
                bool several = folder is not null || (r.GetValue(load.Model) is null && r.GetValue(load.DiffusionModel) is null);
                if (several)
                {
                    var models = new ModelsFolder(folder ?? r.GetValue(load.Directory));
                    if (r.GetValue(load.DiffusionModel) is not null)
                        throw new ArgumentException("--diffusion-model names one model: serve it with its encoders and VAE without --models-dir, or write a NAME.model.json for it in the folder.", "--diffusion-model");
                    var catalog = ModelCatalog.FromFolder(models, load.Read(r, logger, withModel: false), r.GetValue(load.Model), logger);
                    server = await ImageServer.StartAsync(catalog, serveOptions, logger, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    serveOptions = serveOptions with { MaxMemory = null };
                    var options = load.Read(r, logger);
                    generator = await Generator.LoadAsync(options, cancellationToken).ConfigureAwait(false);
                    server = await ImageServer.StartAsync(generator, serveOptions, load.Manifest?.Defaults, cancellationToken).ConfigureAwait(false);
                }
                var served = server.State.Catalog;
                var stdout = r.InvocationConfiguration.Output;
                if (served.IsSingle)
                {
                    stdout.WriteLine($"serving {DisplayText.Escape(served.Default.FileName, 200)} on {server.Address}");
                }
                else
                {
                    stdout.WriteLine($"serving {served.Models.Count} models from {DisplayText.Escape(new ModelsFolder(folder ?? r.GetValue(load.Directory)).Directory, 300)} (up to {ModelCatalog.Gib(server.State.Queue.Pool.Budget)} resident; default {DisplayText.Escape(served.Default.Name, 120)}) on {server.Address}");
                    foreach (var model in served.Models)
                        stdout.WriteLine($"  {DisplayText.Escape(model.Name, 120)}  about {ModelCatalog.Gib(model.EstimatedBytes)}"
                            + (model.EstimatedBytes > server.State.Queue.Pool.Budget ? "  (more than --max-memory: requests for it are refused)" : ""));
                }
                bool loopback = serveOptions.Host is "127.0.0.1" or "::1" || serveOptions.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase);
                stdout.WriteLine($"  page {server.Address}   OpenAI {server.Address}v1   A1111 {server.Address}sdapi/v1");
                if (!loopback && serveOptions.ApiKey is null)
                    stderr.WriteLine($"warning: listening on {serveOptions.Host} without --api-key: anyone who can reach this port can generate.");
                stdout.Flush();
                await server.WaitAsync(cancellationToken).ConfigureAwait(false);
                return CliCommon.Ok;
            }
            catch (Exception e) when (CliCommon.Map(e) is { } failure)
            {
                stderr.WriteLine(failure.Message);
                return failure.ExitCode;
            }
            finally
            {
                if (server is not null) await server.DisposeAsync().ConfigureAwait(false);
                generator?.Dispose();
            }
        });
        return command;
    }
}
