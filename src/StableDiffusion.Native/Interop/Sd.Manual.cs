namespace StableDiffusion.Native.Interop;

internal static unsafe partial class Sd
{
    // Exported data (e.g. sample_method_to_str) is resolved from the runtime library the NativeRuntime loaded.
    private static partial nint GetExport(string name) => global::StableDiffusion.Native.Native.NativeRuntimeLoader.GetExport(name);
}
