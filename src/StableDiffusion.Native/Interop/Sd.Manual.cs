namespace StableDiffusion.Native.Interop;

internal static unsafe partial class Sd
{
    /// <summary>
    /// Resolves exported data (e.g. <c>sample_method_to_str</c>) from the runtime library that was loaded. The
    /// loader in Native/ sets it, so that this bottom layer depends on nothing above it.
    /// </summary>
    internal static Func<string, nint>? ExportResolver { get; set; }

    private static partial nint GetExport(string name)
        => (ExportResolver ?? throw new InvalidOperationException("The native runtime is not loaded yet."))(name);
}
