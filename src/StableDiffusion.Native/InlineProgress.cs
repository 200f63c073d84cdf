namespace StableDiffusion.Native;

/// <summary>
/// An <see cref="IProgress{T}"/> that handles each report where it is made: for a generation, on the generating
/// thread, in step order, and all of them before the call returns.
/// </summary>
/// <remarks>
/// The library reports that way to whatever progress it is given. <see cref="Progress{T}"/> then posts each report to
/// the synchronization context it was created on, or, in a console app or a service, to the thread pool, where reports
/// can arrive out of order and after the call has returned. Use this class (or any progress that does its work in
/// <see cref="Report"/>) when order matters; keep the handler short, since sampling waits for it.
/// </remarks>
/// <typeparam name="T">The report: <see cref="GenerationProgress"/>, or <see cref="PreviewFrame"/> for previews.</typeparam>
/// <param name="handler">Called with each report, on the reporting thread.</param>
public sealed class InlineProgress<T>(Action<T> handler) : IProgress<T>
{
    private readonly Action<T> _handler = handler ?? throw new ArgumentNullException(nameof(handler));

    /// <summary>Calls the handler with <paramref name="value"/> before returning.</summary>
    /// <param name="value">The report.</param>
    public void Report(T value) => _handler(value);
}
