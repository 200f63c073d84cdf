namespace StableDiffusion.Native.Tests.Generation;

public sealed class InlineProgressTests
{
    [Fact]
    public void Report_runs_the_handler_on_the_calling_thread_before_it_returns()
    {
        int thread = -1, value = 0;
        var progress = new InlineProgress<int>(v => (thread, value) = (Environment.CurrentManagedThreadId, v));

        ((IProgress<int>)progress).Report(42);

        Assert.Equal(42, value);
        Assert.Equal(Environment.CurrentManagedThreadId, thread);
    }

    [Fact]
    public void A_null_handler_is_refused() => Assert.Throws<ArgumentNullException>(() => new InlineProgress<int>(null!));
}
