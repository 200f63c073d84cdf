using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Quantization;
using StableDiffusion.Native.Hub;

namespace StableDiffusion.Native.Cli;

/// <summary>inspect, convert and models: the model-files commands.</summary>
internal static class ModelCommands
{
    /// <summary>The weight types whose memory <c>inspect</c> and <c>models</c> show.</summary>
    internal static readonly QuantizationType[] MemoryTypes =
        [QuantizationType.F16, QuantizationType.Q8_0, QuantizationType.Q5_0, QuantizationType.Q4_0, QuantizationType.Q4_K];

    public static IEnumerable<Command> Create() => Create(Environment.GetEnvironmentVariable);

    /// <summary>The commands, with <c>models pull</c> reading HF_ENDPOINT and HF_TOKEN through <paramref name="environment"/> (tests).</summary>
    internal static IEnumerable<Command> Create(Func<string, string?> environment) => [Inspect(), ConvertCommand(), Models(environment)];

    /// <summary>A path as given, or a model name looked up in the models folder.</summary>
    /// <exception cref="ArgumentException">Neither a file nor a unique model name (the message lists close names).</exception>
    public static string? ResolveModel(string? nameOrPath) => ResolveModel(nameOrPath, null);

    /// <summary>A path as given, or a model name looked up in <paramref name="directory"/> (default: the models folder).</summary>
    public static string? ResolveModel(string? nameOrPath, string? directory)
        => string.IsNullOrEmpty(nameOrPath) ? nameOrPath : new ModelsFolder(directory).Resolve(nameOrPath);

    private static Command Inspect()
    {
        var file = new Argument<string>("file") { Description = "Model file (.safetensors, .gguf, .safetensors.index.json) or a model name from the models folder" };
        var dir = new Option<string?>("--dir") { Description = "Models folder used to resolve a name (default: SDNET_MODELS_DIR or the per-user folder)" };
        var command = new Command("inspect", "Show what a model file holds: family, components, tensor types, metadata and memory per weight type")
        {
            file, dir,
        };
        command.SetAction(r =>
        {
            var output = r.InvocationConfiguration.Output;
            var error = r.InvocationConfiguration.Error;
            return RunReportingTo(error, () =>
            {
                string path = ResolveModel(r.GetValue(file), r.GetValue(dir))!;
                WriteInspection(output, ModelInfo.FromFile(path));
                return 0;
            });
        });
        return command;
    }

    private static Command ConvertCommand()
    {
        var input = new Argument<string>("input") { Description = "Model to convert (.safetensors or .gguf), or a model name from the models folder" };
        var output = new Option<string?>("--output", "-o") { Description = "File to write (.gguf; .safetensors writes safetensors). Default: INPUT.TYPE.gguf beside the input" };
        var type = new Option<string>("--type") { Description = "Weight type: f16, q8_0, q5_0, q4_0, q4_K, ...", Required = true };
        var rules = new Option<string?>("--tensor-type-rules") { Description = "Per-tensor types: regex=type,..." };
        var vae = new Option<string?>("--vae") { Description = "A separate VAE to merge into the output" };
        var threads = new Option<int?>("--threads", "-t") { Description = "Conversion threads (default: physical cores)" };
        var force = new Option<bool>("--force", "-f") { Description = "Replace an existing output file" };
        var dir = new Option<string?>("--dir") { Description = "Models folder used to resolve a name" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Show the native log" };
        var command = new Command("convert", "Convert a model to another weight type once (load the result without --type)")
        {
            input, output, type, rules, vae, threads, force, dir, verbose,
        };
        command.SetAction((r, cancellationToken) => Task.FromResult(RunReportingTo(r.InvocationConfiguration.Error, () =>
        {
            var stdout = r.InvocationConfiguration.Output;
            var stderr = r.InvocationConfiguration.Error;
            string typeName = r.GetValue(type)!;
            if (!QuantizationTypes.TryParse(typeName, out var quantization))
                throw new ArgumentException($"Unknown --type '{typeName}'.", "--type");
            string source = ResolveModel(r.GetValue(input), r.GetValue(dir))!;
            string target = r.GetValue(output) ?? DefaultOutput(source, quantization);
            var options = new ConvertOptions
            {
                TensorTypeRules = r.GetValue(rules),
                VaePath = r.GetValue(vae),
                Threads = r.GetValue(threads),
                Overwrite = r.GetValue(force),
                Logger = CliCommon.Logger(r.GetValue(verbose)),
            };
            bool live = ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected;
            ConversionStage? shown = null;
            var progress = new SyncProgress<ConversionProgress>(p =>
            {
                // Live: one rewritten status line. Redirected: one line per stage.
                if (live || p.Stage != shown) WriteProgress(stderr, p, live);
                shown = p.Stage;
            });
            var result = ModelConverter.Convert(source, target, quantization, options, progress, cancellationToken);
            if (live) stderr.WriteLine();
            stdout.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"wrote {result.OutputPath} ({result.TensorCount} tensors, {Mib(result.OutputBytes)}) in {result.Elapsed.TotalSeconds:F1}s"));
            return 0;
        })));
        return command;
    }

    private static Command Models(Func<string, string?> environment)
    {
        var dir = new Option<string?>("--dir") { Description = "Models folder (default: SDNET_MODELS_DIR or the per-user folder)" };
        var command = new Command("models", "List the models folder with what each file holds ('models pull' downloads one from the Hugging Face hub)")
        {
            dir, Pull(environment, dir),
        };
        command.SetAction(r => RunReportingTo(r.InvocationConfiguration.Error, () =>
        {
            var folder = new ModelsFolder(r.GetValue(dir));
            WriteModels(r.InvocationConfiguration.Output, folder, folder.List());
            return 0;
        }));
        return command;
    }

    /// <summary>The component options of <c>models pull</c>: sd-cli's flag, and the manifest field it fills.</summary>
    private static readonly (string Flag, string Field, string What)[] s_components =
    [
        ("--diffusion-model", "diffusion_model", "the diffusion model (Flux, SD3, Wan, ...), instead of a full checkpoint"),
        ("--high-noise-diffusion-model", "high_noise_diffusion_model", "the high-noise diffusion model (Wan 2.2 A14B)"),
        ("--vae", "vae", "the VAE"),
        ("--taesd", "taesd", "a tiny autoencoder"),
        ("--clip_l", "clip_l", "the CLIP-L text encoder"),
        ("--clip_g", "clip_g", "the CLIP-G text encoder"),
        ("--clip_vision", "clip_vision", "the CLIP vision encoder"),
        ("--t5xxl", "t5xxl", "the T5-XXL text encoder"),
        ("--llm", "llm", "the LLM text encoder"),
        ("--llm_vision", "llm_vision", "the LLM's vision tower"),
    ];

    private static Command Pull(Func<string, string?> environment, Option<string?> modelsDir)
    {
        var reference = new Argument<string?>("reference") { Description = "The file on the hub: hf:OWNER/REPO/PATH[@REVISION] (revision default: main); a full checkpoint when components are given", Arity = ArgumentArity.ZeroOrOne };
        var dir = new Option<string?>("--dir") { Description = "Models folder to download into (default: SDNET_MODELS_DIR or the per-user folder)" };
        var allowPickle = new Option<bool>("--allow-pickle") { Description = "Allow pickle-based checkpoints (.ckpt, .pt, .pth, .bin), which can run code when loaded" };
        var force = new Option<bool>("--force", "-f") { Description = "Download again and replace a file (and a manifest) of that name in the folder" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Also show resumes and reused files" };
        var components = s_components.Select(c => new Option<string?>(c.Flag) { Description = $"Also pull {c.What} (hf:...) and name it in the model's manifest" }).ToArray();
        var name = new Option<string?>("--name") { Description = "With components: the model's name, its manifest NAME.model.json (default: the main file's name)" };
        var steps = new Option<int?>("--steps") { Description = "The manifest's recommended steps" };
        var cfg = new Option<float?>("--cfg-scale") { Description = "The manifest's recommended CFG scale" };
        var sampler = new Option<string?>("--sampling-method", "--sampler") { Description = "The manifest's recommended sampler" };
        var scheduler = new Option<string?>("--scheduler") { Description = "The manifest's recommended scheduler" };
        var flowShift = new Option<float?>("--flow-shift") { Description = "The manifest's recommended flow shift" };
        var command = new Command(
            "pull",
            $"Download a model file from the Hugging Face hub into the models folder, resuming an interrupted download and verifying its size and sha256; with component files (--diffusion-model, --vae, --clip_l, --t5xxl, --llm, ...), download each and write the manifest NAME.model.json that loads them by one name. {ModelPullOptions.TokenVariable}: token for gated or private repositories; {ModelPullOptions.EndpointVariable}: another hub or a mirror")
        {
            reference, dir, allowPickle, force, verbose, name, steps, cfg, sampler, scheduler, flowShift,
        };
        foreach (var option in components) command.Options.Add(option);
        command.SetAction((r, cancellationToken) =>
        {
            var stdout = r.InvocationConfiguration.Output;
            var stderr = r.InvocationConfiguration.Error;
            return CliCommon.RunAsync(
                async () =>
                {
                    // Every reference and the manifest are checked before anything is downloaded.
                    var files = new List<(string? Field, HubFileReference File)>();
                    if (r.GetValue(reference) is { } main) files.Add(("model", HubFileReference.Parse(main)));
                    for (int i = 0; i < components.Length; i++)
                    {
                        if (r.GetValue(components[i]) is { } component) files.Add((s_components[i].Field, HubFileReference.Parse(component)));
                    }
                    var manifest = new ManifestPlan(r.GetValue(name), r.GetValue(steps), r.GetValue(cfg), r.GetValue(sampler), r.GetValue(scheduler), r.GetValue(flowShift));
                    bool writesManifest = files.Count > 1 || files.Any(f => f.Field == "diffusion_model") || manifest.IsGiven;
                    int mains = files.Count(f => f.Field is "model" or "diffusion_model");
                    if (mains != 1)
                        throw new ArgumentException(mains == 0
                            ? "models pull needs a file: hf:OWNER/REPO/PATH (a full checkpoint), or --diffusion-model hf:... with its components."
                            : "Give a full checkpoint or --diffusion-model, not both.", "reference");
                    // `sdnet models --dir D pull ...` names the folder on the parent command.
                    var folder = new ModelsFolder(r.GetValue(dir) ?? r.GetValue(modelsDir));
                    string? manifestPath = writesManifest ? manifest.PathIn(folder, files[0].File, r.GetValue(force)) : null;

                    var pulled = new List<(string Field, string Path)>();
                    foreach (var (field, file) in files.OrderBy(f => f.Field is "model" or "diffusion_model" ? 0 : 1))
                    {
                        bool live = ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected;
                        var view = new PullProgressView(stderr, file, live);
                        var options = new ModelPullOptions(environment)
                        {
                            AllowLegacyPickle = r.GetValue(allowPickle),
                            Overwrite = r.GetValue(force),
                            Logger = view.Logger(r.GetValue(verbose)),
                        };
                        string part = Path.Combine(folder.Directory, file.FileName + ".part");
                        try
                        {
                            string path = await folder.PullAsync(file, options, view, cancellationToken).ConfigureAwait(false);
                            view.Close();
                            stdout.WriteLine(path);
                            pulled.Add((field!, path));
                        }
                        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                        {
                            view.Close();
                            if (File.Exists(part))
                                stderr.WriteLine($"kept {DisplayText.Escape(part, int.MaxValue)}: run the same command again to resume the download");
                            throw;
                        }
                        finally
                        {
                            // The error line that follows starts on a line of its own.
                            view.Close();
                        }
                    }
                    if (manifestPath is not null)
                    {
                        manifest.Write(manifestPath, pulled);
                        stdout.WriteLine(manifestPath);
                    }
                    return CliCommon.Ok;
                },
                stderr);
        });
        return command;
    }

    /// <summary>The manifest <c>models pull</c> writes for a model of several files: its name and recommended settings.</summary>
    private sealed record ManifestPlan(string? Name, int? Steps, float? CfgScale, string? Sampler, string? Scheduler, float? FlowShift)
    {
        public bool IsGiven => Name is not null || Steps is not null || CfgScale is not null || Sampler is not null || Scheduler is not null || FlowShift is not null;

        /// <summary>Where the manifest goes, after checking the name and the settings; refuses to replace one without <c>--force</c>.</summary>
        public string PathIn(ModelsFolder folder, HubFileReference main, bool force)
        {
            string stem = Path.GetFileNameWithoutExtension(main.FileName);
            string name = Name ?? stem;
            if (name.Length is 0 or > 120 || name is "." or ".." || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
                throw new ArgumentException($"--name must be 1 to 120 letters, digits, '-', '_' or '.', not '{DisplayText.Escape(name, 60)}'.", "--name");
            if (Steps is < 1 or > 10_000) throw new ArgumentOutOfRangeException("--steps", Steps, "--steps must be 1 to 10000.");
            if (CfgScale is { } cfg && (!float.IsFinite(cfg) || cfg is < 0 or > 10_000)) throw new ArgumentOutOfRangeException("--cfg-scale", CfgScale, "--cfg-scale must be 0 to 10000.");
            if (FlowShift is { } shift && (!float.IsFinite(shift) || shift is < -1_000 or > 1_000)) throw new ArgumentOutOfRangeException("--flow-shift", FlowShift, "--flow-shift must be -1000 to 1000.");
            if (Sampler is { } s && !SamplingNames.TryParseSampler(s, out _)) throw new ArgumentException($"--sampler: unknown sampler '{DisplayText.Escape(s, 60)}'.", "--sampler");
            if (Scheduler is { } k && !SamplingNames.TryParseScheduler(k, out _)) throw new ArgumentException($"--scheduler: unknown scheduler '{DisplayText.Escape(k, 60)}'.", "--scheduler");
            string path = Path.Combine(folder.Directory, name + ModelManifest.Extension);
            if (File.Exists(path) && !force)
                throw new IOException($"The manifest {DisplayText.Escape(path, 300)} exists; --force replaces it.");
            return path;
        }

        /// <summary>Writes the manifest naming <paramref name="files"/> by file name (they sit beside it), then reads it back as every load will.</summary>
        public void Write(string path, IReadOnlyList<(string Field, string Path)> files)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var w = new System.Text.Json.Utf8JsonWriter(buffer, new System.Text.Json.JsonWriterOptions { Indented = true }))
            {
                w.WriteStartObject();
                foreach (var (field, file) in files) w.WriteString(field, Path.GetFileName(file));
                if (Steps is not null || CfgScale is not null || Sampler is not null || Scheduler is not null || FlowShift is not null)
                {
                    w.WriteStartObject("defaults");
                    if (Steps is int steps) w.WriteNumber("steps", steps);
                    if (CfgScale is float cfg) w.WriteNumber("cfg_scale", cfg);
                    if (Sampler is { } sampler) w.WriteString("sampler", sampler);
                    if (Scheduler is { } scheduler) w.WriteString("scheduler", scheduler);
                    if (FlowShift is float shift) w.WriteNumber("flow_shift", shift);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            string temporary = path + ".tmp";
            File.WriteAllBytes(temporary, buffer.WrittenSpan.ToArray());
            try
            {
                ModelManifest.Load(temporary);
            }
            catch
            {
                File.Delete(temporary);
                throw;
            }
            File.Move(temporary, path, overwrite: true);
        }
    }

    /// <summary><see cref="CliCommon.Run"/> writing its one-line errors to the invocation's error writer.</summary>
    internal static int RunReportingTo(TextWriter error, Func<int> body) => CliCommon.Run(body, error);

    internal static string DefaultOutput(string source, QuantizationType type)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(source))!;
        return Path.Combine(directory, $"{Path.GetFileNameWithoutExtension(source)}.{QuantizationTypes.Name(type)}.gguf");
    }

    /// <summary>
    /// Writes what <c>inspect</c> shows. Every string from the file (metadata keys and values, type names) and the
    /// path go through <see cref="DisplayText.Escape"/>, so each item stays on its own line and the file cannot send
    /// escape sequences to the terminal.
    /// </summary>
    internal static void WriteInspection(TextWriter w, ModelInfo info)
    {
        var inv = CultureInfo.InvariantCulture;
        w.WriteLine($"file:        {DisplayText.Escape(info.FilePath, int.MaxValue)}");
        w.WriteLine($"format:      {info.Format}");
        if (!info.IsInspected)
        {
            w.WriteLine("content:     not inspected (pickle-based; refused unless explicitly allowed)");
            return;
        }

        w.WriteLine($"family:      {info.Family}");
        w.WriteLine($"kind:        {info.Kind}");
        w.WriteLine(string.Create(inv, $"tensors:     {info.TensorCount:N0}"));
        w.WriteLine(string.Create(inv, $"parameters:  {info.ParameterCount:N0} ({Billions(info.ParameterCount)})"));
        w.WriteLine("components:");
        foreach (var c in info.Components)
            w.WriteLine(string.Create(inv, $"  {c.Component,-15} {c.TensorCount,6:N0} tensors {c.ParameterCount,16:N0} parameters {Mib(c.FileBytes),12} in file"));
        w.WriteLine("tensor types:");
        foreach (var (dtype, count) in info.DTypeHistogram.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
            w.WriteLine(string.Create(inv, $"  {DisplayText.Escape(dtype, 32),-8} {count,6:N0}"));
        if (info.UnloadableTypes.Count > 0)
            w.WriteLine($"loadable:    no (stable-diffusion.cpp cannot load {string.Join(", ", info.UnloadableTypes.Select(t => DisplayText.Escape(t, 32)))} tensors)");
        if (info.Metadata.Count > 0)
        {
            w.WriteLine("metadata:");
            foreach (var (key, value) in info.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal).Take(40))
                w.WriteLine($"  {DisplayText.Escape(key, 60)} = {DisplayText.Escape(value, 100)}");
            if (info.Metadata.Count > 40) w.WriteLine($"  ... {info.Metadata.Count - 40} more");
        }

        w.WriteLine("memory (parameters, as stable-diffusion.cpp allocates them):");
        WriteMemory(w, "as stored", info.EstimateMemory());
        foreach (var type in MemoryTypes)
            WriteMemory(w, QuantizationTypes.Name(type), info.EstimateMemory(type));
    }

    private static void WriteMemory(TextWriter w, string label, MemoryEstimate m)
        => w.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"  {label,-10} {Mib(m.TotalBytes),12}  (diffusion {Mib(m.DiffusionModelBytes)}, text encoders {Mib(m.TextEncoderBytes)}, vae {Mib(m.VaeBytes)}{(m.OtherBytes > 0 ? $", other {Mib(m.OtherBytes)}" : "")})"));

    /// <summary>Writes what <c>models</c> shows, one escaped line per file (see <see cref="WriteInspection"/>).</summary>
    internal static void WriteModels(TextWriter w, ModelsFolder folder, IReadOnlyList<ModelsFolderEntry> entries)
    {
        w.WriteLine($"models folder: {DisplayText.Escape(folder.Directory, int.MaxValue)}{(Directory.Exists(folder.Directory) ? "" : " (does not exist)")}");
        if (entries.Count == 0)
        {
            w.WriteLine($"no models (put .safetensors or .gguf files there, or set {ModelsFolder.DirectoryVariable})");
            return;
        }

        // File names are not model content, but on most systems they may hold control characters too.
        var names = entries.Select(e => DisplayText.Escape(e.Name, 80)).ToArray();
        int width = Math.Max(4, names.Max(n => n.Length));
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            string what = e.Info is { } info
                ? (info.IsInspected
                    ? string.Create(CultureInfo.InvariantCulture, $"{info.Family} {info.Kind}, {Billions(info.ParameterCount)} parameters, f16 {Mib(info.EstimateMemory(QuantizationType.F16).TotalBytes)} / q8_0 {Mib(info.EstimateMemory(QuantizationType.Q8_0).TotalBytes)} / q4_0 {Mib(info.EstimateMemory(QuantizationType.Q4_0).TotalBytes)}")
                    : $"{info.Format}, not inspected")
                : "invalid: " + CliCommon.OneLine(e.Error ?? "unreadable");
            w.WriteLine($"{names[i].PadRight(width)}  {Mib(e.Size),10}  {DisplayText.Escape(Path.GetExtension(e.Path), 16),-12}  {what}");
        }
    }

    private static void WriteProgress(TextWriter stderr, ConversionProgress p, bool live)
    {
        string text = p.Stage switch
        {
            ConversionStage.Writing when p.Tensors > 0 && p.TensorCount > 0 => $"converting: {p.Tensors}/{p.TensorCount} tensors",
            ConversionStage.Completed => "converted",
            _ => p.Stage.ToString().ToLowerInvariant(),
        };
        text = string.Create(CultureInfo.InvariantCulture, $"{text} ({p.Elapsed.TotalSeconds:F1}s)");
        if (live) stderr.Write("\r" + text.PadRight(60));
        else stderr.WriteLine(text);
    }

    internal static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB");

    private static string Billions(long n) => n >= 1_000_000_000
        ? string.Create(CultureInfo.InvariantCulture, $"{n / 1e9:F2}B")
        : string.Create(CultureInfo.InvariantCulture, $"{n / 1e6:F1}M");

    /// <summary>An IProgress that reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        private readonly object _gate = new();

        public void Report(T value)
        {
            lock (_gate) report(value);
        }
    }
}
