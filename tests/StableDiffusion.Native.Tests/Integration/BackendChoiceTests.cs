namespace StableDiffusion.Native.Tests.Integration;

/// <summary>The device choice on this machine's real runtime: reported, logged, and never a silent CPU fallback.</summary>
[Collection(NativeCollection.Name)]
public sealed class BackendChoiceTests
{
    [SkippableFact]
    public void RequireGpu_without_a_usable_gpu_throws_with_each_backends_reason_before_loading()
    {
        var info = NativeTestEnvironment.Require();
        Skip.If(info.GpuBackends.Any(b => b.Usable), "this machine has a usable GPU backend");
        var e = Assert.Throws<GpuUnavailableException>(() => Generator.Load(NativeTestEnvironment.TinyOptions with { RequireGpu = true }));
        Assert.Equal(["CUDA", "ROCm", "Vulkan", "Metal"], e.Backends.Select(b => b.Name));
        Assert.Equal(info.GpuBackends, e.Backends);
        Assert.All(e.Backends, b => Assert.False(string.IsNullOrWhiteSpace(b.Reason)));
    }

    [SkippableFact]
    public void The_choice_and_the_gpu_backends_reasons_are_logged_at_load()
    {
        var info = NativeTestEnvironment.Require();
        var log = new ListLogger();
        using (Generator.Load(NativeTestEnvironment.TinyOptions with { Logger = log }))
        {
        }
        string line = Assert.Single(log.Lines, l => l.StartsWith("backend: ", StringComparison.Ordinal));
        Assert.Contains(info.DefaultDevice, line, StringComparison.Ordinal);
        Assert.All(info.GpuBackends, b => Assert.Contains(b.ToString(), line, StringComparison.Ordinal));
    }

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines) Lines.Add(formatter(state, exception));
        }
    }
}
