using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Native;

using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Quantization;

/// <summary>Options for <see cref="ModelConverter"/>.</summary>
public sealed record ConvertOptions
{
    /// <summary>A separate VAE merged into the output (its tensors get upstream's <c>vae.</c> prefix).</summary>
    public string? VaePath { get; init; }

    /// <summary>Per-tensor type overrides in upstream's syntax (<c>regex=type,...</c>); see <see cref="ModelFiles.TensorTypeRules"/>.</summary>
    public string? TensorTypeRules { get; init; }

    /// <summary>Rename tensors to upstream's canonical names while converting (upstream's <c>convert_name</c>).</summary>
    public bool ConvertNames { get; init; }

    /// <summary>
    /// An importance matrix (from <see cref="ImportanceMatrixCollector"/> or llama.cpp's legacy imatrix format) that
    /// guides low-bit quantization; null for none. Checked by a managed reader before upstream sees it.
    /// </summary>
    public string? ImportanceMatrixPath { get; init; }

    /// <summary>Replace an existing output file (default). When false an existing output is an error.</summary>
    public bool Overwrite { get; init; } = true;

    /// <summary>Accept pickle-based inputs (their content is parsed by upstream, not by this library). Off by default.</summary>
    public bool AllowLegacyPickle { get; init; }

    /// <summary>Worker threads upstream uses to convert; null uses its choice (physical cores).</summary>
    public int? Threads { get; init; }

    /// <summary>Receives the conversion's native log lines.</summary>
    public ILogger? Logger { get; init; }
}

/// <summary>Where a conversion is.</summary>
public enum ConversionStage
{
    /// <summary>Reading the input's tensor list.</summary>
    Reading,

    /// <summary>Converting and writing tensors.</summary>
    Writing,

    /// <summary>Checking the written file.</summary>
    Verifying,

    /// <summary>The output is in place.</summary>
    Completed,
}

/// <summary>A progress report of one conversion.</summary>
/// <param name="Stage">Where the conversion is.</param>
/// <param name="Tensors">Tensors written so far, when upstream reports them on the calling thread; otherwise 0 until completion.</param>
/// <param name="TensorCount">Tensors in the input (0 when unknown).</param>
/// <param name="Elapsed">Time since the conversion started.</param>
public readonly record struct ConversionProgress(ConversionStage Stage, int Tensors, int TensorCount, TimeSpan Elapsed);

/// <summary>What a conversion produced.</summary>
/// <param name="OutputPath">The full path of the output file.</param>
/// <param name="OutputBytes">Its length.</param>
/// <param name="TensorCount">Tensors in it.</param>
/// <param name="Elapsed">Wall time of the conversion, verification included.</param>
public sealed record ConversionResult(string OutputPath, long OutputBytes, int TensorCount, TimeSpan Elapsed);

/// <summary>
/// Converts a model file to another weight type with stable-diffusion.cpp's converter, writing GGUF (or
/// safetensors when the output name ends in <c>.safetensors</c>).
/// </summary>
/// <remarks>
/// <para>The input (and VAE) are validated with <see cref="ModelFile.Open(string, ModelFileOptions?)"/> first, so a
/// malformed or pickle-based file never reaches native code; a safetensors file with a tensor type upstream cannot
/// load (<see cref="SafetensorsDTypes.IsLoadable(SafetensorsDType)"/>) is refused too. The output is written to a temporary file beside it,
/// checked with the managed GGUF/safetensors reader, and only then renamed into place: a failed or cancelled
/// conversion never leaves half a file.</para>
/// <para>Cancellation: upstream's converter cannot be interrupted. The token is observed before the conversion
/// starts and after it returns; a cancellation in between lets the conversion finish, then deletes its output and
/// throws <see cref="OperationCanceledException"/>.</para>
/// <para>Conversions are serialized with model loading process-wide (upstream's loader shares static state).</para>
/// </remarks>
public static class ModelConverter
{
    /// <summary>Converts <paramref name="input"/> to <paramref name="output"/> with weights of <paramref name="type"/>.</summary>
    /// <param name="input">The source model (.safetensors or .gguf).</param>
    /// <param name="output">The file to write; its folder must exist. <c>.safetensors</c> writes safetensors, anything else GGUF.</param>
    /// <param name="type">The weight type. Tensors upstream keeps in their type (biases, norms, embeddings...) stay.</param>
    /// <returns>The written file.</returns>
    /// <exception cref="ArgumentException">A path is missing, the output folder does not exist, the output is the input, or a rule is invalid.</exception>
    /// <exception cref="InvalidModelFileException">The input is malformed or refused (pickle).</exception>
    /// <exception cref="GenerationException">Upstream failed to convert, or wrote a file that does not validate.</exception>
    public static ConversionResult Convert(string input, string output, QuantizationType type)
        => Convert(input, output, type, null, null, CancellationToken.None);

    /// <summary>Converts on a worker thread. See the class remarks for how cancellation behaves.</summary>
    /// <param name="input">The source model (.safetensors or .gguf).</param>
    /// <param name="output">The file to write; its folder must exist.</param>
    /// <param name="type">The weight type.</param>
    /// <param name="options">Optional settings.</param>
    /// <param name="progress">Receives stage reports.</param>
    /// <param name="cancellationToken">Observed before and after the native call.</param>
    /// <returns>A task with the written file; it faults with the exceptions of <see cref="Convert(string, string, QuantizationType, ConvertOptions?, IProgress{ConversionProgress}?, CancellationToken)"/>.</returns>
    /// <exception cref="ArgumentException">A path is missing, the output folder does not exist, the output is the input, or a rule is invalid (thrown synchronously).</exception>
    /// <exception cref="InvalidModelFileException">The input is malformed or refused (thrown synchronously).</exception>
    public static Task<ConversionResult> ConvertAsync(
        string input,
        string output,
        QuantizationType type,
        ConvertOptions? options = null,
        IProgress<ConversionProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var plan = Plan.Create(input, output, type, options ?? new ConvertOptions());
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<ConversionResult>(cancellationToken);
        return Task.Factory.StartNew(() => Run(plan, progress, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Converts on the calling thread, reporting progress and observing <paramref name="cancellationToken"/> before and after the native call.</summary>
    /// <param name="input">The source model (.safetensors or .gguf).</param>
    /// <param name="output">The file to write; its folder must exist.</param>
    /// <param name="type">The weight type.</param>
    /// <param name="options">Optional settings.</param>
    /// <param name="progress">Receives stage reports.</param>
    /// <param name="cancellationToken">Observed before and after the native call.</param>
    /// <returns>The written file.</returns>
    /// <exception cref="ArgumentException">A path is missing, the output folder does not exist, the output is the input, or a rule is invalid.</exception>
    /// <exception cref="InvalidModelFileException">The input is malformed or refused (pickle).</exception>
    /// <exception cref="NativeRuntimeException">No usable native runtime was found.</exception>
    /// <exception cref="GenerationException">Upstream failed to convert, or wrote a file that does not validate.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static ConversionResult Convert(
        string input,
        string output,
        QuantizationType type,
        ConvertOptions? options = null,
        IProgress<ConversionProgress>? progress = null,
        CancellationToken cancellationToken = default)
        => Run(Plan.Create(input, output, type, options ?? new ConvertOptions()), progress, cancellationToken);

    /// <summary>Whether <paramref name="path"/> would be written as safetensors (upstream decides by the name).</summary>
    /// <param name="path">An output path.</param>
    /// <returns>Whether the name ends in <c>.safetensors</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    public static bool WritesSafetensors(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);
    }

    private static ConversionResult Run(Plan plan, IProgress<ConversionProgress>? progress, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var clock = Stopwatch.StartNew();
        string directory = Path.GetDirectoryName(plan.Output)!;
        string temp = Path.Combine(
            directory,
            "." + Path.GetFileName(plan.Output) + "." + Guid.NewGuid().ToString("N")[..8] + ".partial" + (plan.Safetensors ? ".safetensors" : ".gguf"));
        bool keep = false;
        try
        {
            var stage = ConversionStage.Reading;
            int written = 0;
            void Report() => progress?.Report(new ConversionProgress(stage, written, plan.TensorCount, clock.Elapsed));
            void OnInfo(string line)
            {
                if (line.StartsWith("streaming convert", StringComparison.Ordinal))
                {
                    stage = ConversionStage.Writing;
                    Report();
                }
            }

            void OnProgress(int step, int steps, float _)
            {
                stage = ConversionStage.Writing;
                written = step;
                Report();
            }

            Report();
            bool ok;
            IReadOnlyList<string> problems;
            using (var scope = NativeCallScope.Enter(plan.Options.Logger, OnProgress, OnInfo))
            {
                // Upstream's tensor workers report per-tensor progress on their own threads, where no scope sees
                // it; a ticker keeps callers informed of the elapsed time meanwhile.
                using var ticker = progress is null ? null : new Timer(_ => Report(), null, 500, 500);
                ok = ImportanceMatrixFile.ConvertWith(plan.Options.ImportanceMatrixPath, plan.Options.Logger,
                    () => NativeConverter.Convert(plan.Input, plan.Vae, temp, (int)plan.Type, plan.Rules, plan.Options.ConvertNames, plan.Options.Threads ?? 0));

                problems = scope.Problems;
                if (!ok) throw scope.Failure($"stable-diffusion.cpp could not convert '{plan.Input}' to {QuantizationTypes.Name(plan.Type)}.");
            }

            cancellationToken.ThrowIfCancellationRequested();
            stage = ConversionStage.Verifying;
            Report();
            int tensorCount;
            try
            {
                tensorCount = plan.Safetensors ? SafetensorsFile.Open(temp).Tensors.Count : GgufFile.Open(temp).Tensors.Count;
            }
            catch (InvalidModelFileException e)
            {
                throw new GenerationException($"stable-diffusion.cpp wrote an invalid file converting '{plan.Input}': {e.Detail}", problems);
            }

            if (tensorCount == 0)
                throw new GenerationException($"stable-diffusion.cpp wrote no tensors converting '{plan.Input}'.", problems);
            cancellationToken.ThrowIfCancellationRequested();
            File.Move(temp, plan.Output, plan.Options.Overwrite);
            keep = true;
            long bytes = new FileInfo(plan.Output).Length;
            stage = ConversionStage.Completed;
            written = tensorCount;
            Report();
            return new ConversionResult(plan.Output, bytes, tensorCount, clock.Elapsed);
        }
        finally
        {
            if (!keep) TryDelete(temp);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Everything checked before any native call.</summary>
    private sealed record Plan(string Input, string? Vae, string Output, QuantizationType Type, string? Rules, bool Safetensors, int TensorCount, ConvertOptions Options)
    {
        public static Plan Create(string input, string output, QuantizationType type, ConvertOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            var inputFile = ExistingModel(input, nameof(input), options);
            string inputPath = inputFile.FilePath!;
            string? vaePath = options.VaePath is null ? null : ExistingModel(options.VaePath, nameof(options.VaePath), options).FilePath;
            if (!TensorTypeRules.IsRuleType(type))
                throw new ArgumentOutOfRangeException(nameof(type), type, "Upstream cannot convert weights to this type.");
            if (options.Threads is int t && (t < 1 || t > 1024))
                throw new ArgumentOutOfRangeException(nameof(options.Threads), t, "Threads must be between 1 and 1024 (or null for upstream's choice).");
            if (options.ImportanceMatrixPath is { } imatrix) ImportanceMatrixFile.Validate(imatrix, nameof(options.ImportanceMatrixPath));
            string? rules = string.IsNullOrEmpty(options.TensorTypeRules) ? null : options.TensorTypeRules;
            if (rules is not null)
            {
                try
                {
                    TensorTypeRules.Parse(rules);
                }
                catch (FormatException e)
                {
                    throw new ArgumentException(e.Message, nameof(options.TensorTypeRules), e);
                }
            }

            if (string.IsNullOrWhiteSpace(output)) throw new ArgumentException("The output path is empty.", nameof(output));
            string outputPath = Path.GetFullPath(output);
            string? directory = Path.GetDirectoryName(outputPath);
            if (directory is null || !Directory.Exists(directory))
                throw new ArgumentException($"The output folder '{directory}' does not exist.", nameof(output));
            if (Directory.Exists(outputPath)) throw new ArgumentException($"The output '{outputPath}' is a folder.", nameof(output));
            if (SamePath(outputPath, inputPath) || (vaePath is not null && SamePath(outputPath, vaePath)))
                throw new ArgumentException("The output must not be the input file.", nameof(output));
            if (!options.Overwrite && File.Exists(outputPath))
                throw new ArgumentException($"The output '{outputPath}' exists (set Overwrite to replace it).", nameof(output));

            return new Plan(inputPath, vaePath, outputPath, type, rules, WritesSafetensors(outputPath), inputFile.GetTensorDescriptors().Count(), options);
        }

        private static ModelFile ExistingModel(string path, string name, ConvertOptions options)
        {
            if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException($"{name}: the path is empty.", name);
            string full = Path.GetFullPath(path);
            if (!File.Exists(full)) throw new ArgumentException($"{name}: no file at '{path}'.", name, new FileNotFoundException(null, full));
            // Upstream's converter reads the input with its model loader, so what loading refuses is refused here too.
            var file = ModelFile.OpenForLoading(full, new ModelFileOptions { AllowLegacyPickle = options.AllowLegacyPickle });
            if (file is SafetensorsIndex)
                throw new ArgumentException($"{name}: '{path}' is a sharded checkpoint index; upstream converts single files only.", name);
            return file;
        }
    }

    internal static bool SamePath(string a, string b)
        => string.Equals(
            Path.GetFullPath(a),
            Path.GetFullPath(b),
            OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
}
