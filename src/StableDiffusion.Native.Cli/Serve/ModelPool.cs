using Microsoft.Extensions.Logging;

namespace StableDiffusion.Native.Cli.Serve;

/// <summary>A model in memory, as <c>/metrics</c> and the model lists report it.</summary>
internal sealed record ResidentModel(string Name, long EstimatedBytes);

/// <summary>
/// The loaded models of one server, under a memory budget (<c>--max-memory</c>, against <see cref="ServedModel.EstimatedBytes"/>).
/// A model loads when a request's turn comes and stays resident; when the next one would not fit, the least recently used
/// are unloaded first. Only <see cref="GenerationQueue"/> acquires, and only inside its turn, so no model is ever
/// generating while another is unloaded or loaded: one generation at a time is also one model at work at a time.
/// </summary>
internal sealed class ModelPool : IDisposable
{
    private readonly Dictionary<string, Entry> _resident = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (bool Images, bool Videos)> _makes = new(StringComparer.Ordinal);
    private readonly ILogger _log;
    private readonly Generator? _given;
    private long _clock;
    private bool _disposed;

    /// <param name="budget">Bytes the resident models' estimates may add up to.</param>
    /// <param name="log">Told of each load and unload.</param>
    /// <param name="preloaded">A model already loaded (<c>-m</c>, or the tests' shared generator) and its generator, which the caller keeps owning.</param>
    public ModelPool(long budget, ILogger log, (ServedModel Model, Generator Generator)? preloaded = null)
    {
        Budget = budget;
        _log = log;
        if (preloaded is { } p)
        {
            _given = p.Generator;
            _resident[p.Model.Name] = new Entry(p.Model, p.Generator, 0);
            _makes[p.Model.Name] = (p.Generator.CanGenerateImages, p.Generator.CanGenerateVideos);
        }
    }

    /// <summary>The budget, in bytes.</summary>
    public long Budget { get; }

    /// <summary>Models loaded now, most recently used first.</summary>
    public IReadOnlyList<ResidentModel> Resident
    {
        get
        {
            lock (_resident) return _resident.Values.OrderByDescending(e => e.LastUsed).Select(e => new ResidentModel(e.Model.Name, e.Model.EstimatedBytes)).ToList();
        }
    }

    /// <summary>Whether <paramref name="model"/> makes images, once it has been loaded; null before.</summary>
    public bool? MakesImages(ServedModel model)
    {
        lock (_resident) return _makes.TryGetValue(model.Name, out var makes) ? makes.Images : null;
    }

    /// <summary>Whether <paramref name="model"/> makes videos, once it has been loaded; null before.</summary>
    public bool? MakesVideos(ServedModel model)
    {
        lock (_resident) return _makes.TryGetValue(model.Name, out var makes) ? makes.Videos : null;
    }

    /// <summary>
    /// The generator of <paramref name="model"/>, loading it (and unloading the least recently used others until it
    /// fits the budget) when it is not resident. Called by the queue inside its turn only.
    /// </summary>
    /// <exception cref="ModelTooLargeException">It does not fit the budget even alone.</exception>
    public async Task<Generator> AcquireAsync(ServedModel model, CancellationToken cancellationToken)
    {
        lock (_resident)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_resident.TryGetValue(model.Name, out var entry))
            {
                entry.LastUsed = ++_clock;
                return entry.Generator;
            }
        }
        if (model.EstimatedBytes > Budget) throw new ModelTooLargeException(model, Budget);
        cancellationToken.ThrowIfCancellationRequested();
        MakeRoom(model.EstimatedBytes);
        _log.LogInformation("loading {Model} (about {Size})", model.Name, ModelCatalog.Gib(model.EstimatedBytes));
        var generator = await Generator.LoadAsync(model.Options, cancellationToken).ConfigureAwait(false);
        lock (_resident)
        {
            if (_disposed)
            {
                generator.Dispose();
                throw new ObjectDisposedException(nameof(ModelPool));
            }
            _resident[model.Name] = new Entry(model, generator, ++_clock);
            _makes[model.Name] = (generator.CanGenerateImages, generator.CanGenerateVideos);
        }
        return generator;
    }

    /// <summary>Unloads the least recently used models until <paramref name="bytes"/> more fit the budget.</summary>
    private void MakeRoom(long bytes)
    {
        while (true)
        {
            Entry victim;
            lock (_resident)
            {
                long used = _resident.Values.Sum(e => e.Model.EstimatedBytes);
                if (used + bytes <= Budget || _resident.Count == 0) return;
                victim = _resident.Values.MinBy(e => e.LastUsed)!;
                _resident.Remove(victim.Model.Name);
            }
            _log.LogInformation("unloading {Model} to make room (--max-memory {Budget})", victim.Model.Name, ModelCatalog.Gib(Budget));
            if (!ReferenceEquals(victim.Generator, _given)) victim.Generator.Dispose();
        }
    }

    public void Dispose()
    {
        List<Entry> loaded;
        lock (_resident)
        {
            if (_disposed) return;
            _disposed = true;
            loaded = [.. _resident.Values];
            _resident.Clear();
        }
        foreach (var entry in loaded.Where(e => !ReferenceEquals(e.Generator, _given))) entry.Generator.Dispose();
    }

    private sealed class Entry(ServedModel model, Generator generator, long lastUsed)
    {
        public ServedModel Model { get; } = model;

        public Generator Generator { get; } = generator;

        public long LastUsed { get; set; } = lastUsed;
    }
}
