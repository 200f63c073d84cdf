using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Native;

namespace StableDiffusion.Native.Quantization;

/// <summary>
/// Collects an importance matrix (imatrix) from the generations that run while it is open, for better low-bit
/// quantization (<see cref="ConvertOptions.ImportanceMatrixPath"/>). Upstream keeps one collector per
/// process: only one may be open at a time, and it sees every generator's work.
/// </summary>
public sealed class ImportanceMatrixCollector : IDisposable
{
    private readonly ILogger? _logger;
    private bool _disposed;

    private ImportanceMatrixCollector(ILogger? logger) => _logger = logger;

    /// <summary>Starts collecting; generate with the model to quantize, then <see cref="Save"/>.</summary>
    /// <param name="logger">Receives the native log lines of saving.</param>
    /// <returns>The collector; dispose it to stop collecting.</returns>
    /// <exception cref="InvalidOperationException">Another collector is open.</exception>
    /// <exception cref="NativeRuntimeException">No usable native runtime was found.</exception>
    public static ImportanceMatrixCollector Start(ILogger? logger = null)
    {
        if (!ImportanceMatrixCollectorState.TryOpen())
            throw new InvalidOperationException("An importance-matrix collector is already open; upstream has one per process.");
        try
        {
            NativeImatrix.Enable(true);
        }
        catch
        {
            ImportanceMatrixCollectorState.Close();
            throw;
        }
        return new ImportanceMatrixCollector(logger);
    }

    /// <summary>Writes what was collected so far (upstream's imatrix GGUF format).</summary>
    /// <param name="path">The file to write; its folder must exist.</param>
    /// <exception cref="ArgumentException">The path is empty or its folder does not exist.</exception>
    /// <exception cref="GenerationException">stable-diffusion.cpp could not write it.</exception>
    /// <exception cref="ObjectDisposedException">The collector was disposed.</exception>
    public void Save(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("The path is empty.", nameof(path));
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is null || !Directory.Exists(folder)) throw new ArgumentException($"No folder for '{path}'.", nameof(path));
        NativeImatrix.Save(path, _logger);
        ImportanceMatrixFile.Validate(path, nameof(path));
    }

    /// <summary>Stops collecting.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        NativeImatrix.Enable(false);
        NativeImatrix.Clear();
        ImportanceMatrixCollectorState.Close();
    }
}
