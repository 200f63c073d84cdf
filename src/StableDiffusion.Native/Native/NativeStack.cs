using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace StableDiffusion.Native.Native;

/// <summary>
/// Runs the native calls that tokenize, parse prompts or match regular expressions on a thread whose stack is sized for
/// them. Upstream does all three with libstdc++'s <c>std::regex</c>, whose matcher recurses once or more per character
/// of a run it matches (its prompt-attention pattern matches a whole prompt without brackets as one run): the 8 MiB
/// stack of a Linux thread held about 25 KB of prompt (sdnet serve died at 44 KB), other systems give threads less, and
/// a stack overflow ends the process whatever the caller catches. The depth was measured per byte of prompt (see
/// <see cref="BytesPerPromptByte"/>); the stack holds the longest prompt the requests admit with a margin of at least four.
/// </summary>
/// <remarks>
/// The stack is reserved, not committed: the operating system backs only the pages a call touches, so a large
/// reservation costs address space (plentiful on the 64-bit platforms the runtime exists for), not memory. The
/// threads are kept and reused, one per native call that ran at the same time as others.
/// Callbacks fire on this thread, in order, before <see cref="Run{T}"/> returns to its caller.
/// </remarks>
internal static class NativeStack
{
    /// <summary>
    /// Stack upstream used per byte of prompt, measured with sd-cli on main-thread stacks of 256 KiB to 1 MiB
    /// (<c>build/bench/prompt-stack.sh</c>): about 320 bytes for a run the prompt-attention regex matches whole, the
    /// deepest case; rounded up to the next power of two.
    /// </summary>
    internal const long BytesPerPromptByte = 512;

    /// <summary>
    /// The stack each native call runs on: 64 MiB, which holds more than four times what the longest prompt the requests
    /// admit needs at its UTF-8 worst (8,192 UTF-16 units × 3 bytes × 512 bytes of stack = 12 MiB; prompts are parsed one
    /// after the other, so their depths do not add). A test ties this to the public limit, which this room cannot see.
    /// </summary>
    internal const int StackBytes = 64 << 20;

    [ThreadStatic] private static bool t_onNativeStack;

    // Idle workers. A thread per call would do, but glibc gives new threads new malloc arenas, whose freed memory stays
    // mapped: twenty load-generate-dispose cycles grew the process by a quarter. Workers live as long as the process, one
    // per native call that ever ran at the same time as others.
    private static readonly ConcurrentBag<Worker> s_idle = new();

    /// <summary>Whether the calling thread is one of ours (a nested call runs inline).</summary>
    internal static bool IsCurrent => t_onNativeStack;

    /// <summary>
    /// Runs <paramref name="body"/> on a thread with <see cref="StackBytes"/> of stack, in the caller's execution context,
    /// and waits for it; its exception is rethrown here with its own stack trace.
    /// </summary>
    public static T Run<T>(Func<T> body)
    {
        if (t_onNativeStack) return body();
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var context = ExecutionContext.Capture();
        if (!s_idle.TryTake(out var worker)) worker = new Worker();
        try
        {
            worker.Run(() =>
            {
                try
                {
                    if (context is null) result = body();
                    else ExecutionContext.Run(context, _ => result = body(), null);
                }
                catch (Exception e)
                {
                    failure = ExceptionDispatchInfo.Capture(e);
                }
            });
        }
        finally
        {
            s_idle.Add(worker);
        }
        failure?.Throw();
        return result;
    }

    /// <summary>A thread with the big stack that runs one piece of work at a time, for as long as the process lives.</summary>
    private sealed class Worker
    {
        private readonly object _gate = new();
        private Action? _work;
        private bool _done;

        public Worker()
        {
            var thread = new Thread(Loop, StackBytes) { IsBackground = true, Name = "sdnet native" };
            thread.Start();
        }

        /// <summary>Runs <paramref name="work"/> (which must not throw) on this worker and waits until it has run.</summary>
        public void Run(Action work)
        {
            lock (_gate)
            {
                _done = false;
                _work = work;
                Monitor.PulseAll(_gate);
                while (!_done) Monitor.Wait(_gate);
            }
        }

        private void Loop()
        {
            t_onNativeStack = true;
            while (true)
            {
                Action work;
                lock (_gate)
                {
                    while (_work is null) Monitor.Wait(_gate);
                    work = _work;
                    _work = null;
                }
                work();
                lock (_gate)
                {
                    _done = true;
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }
}
