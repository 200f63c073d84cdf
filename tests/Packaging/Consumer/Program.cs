// The packaging check's app: what a new user writes after `dotnet add package StableDiffusion.Native`.
//   Consumer <model.safetensors> <out.png>
// Prints what NativeRuntime.Describe() reports, generates one 64x64 image and prints its seed; tests/Packaging/run.sh
// reads these lines. The whisper and llama builds first load Whisper.net's or LLamaSharp's native library (each with
// a ggml of its own) in this process, to show that the uniquely named libsdnet-* runtime loads and works beside it.
using StableDiffusion.Native;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Consumer <model.safetensors> <out.png>");
    return 2;
}
string model = args[0], output = args[1];

#if SDNET_WHISPER
// No whisper model is available offline, so nothing is transcribed: asking for the runtime's system information and
// its languages loads libwhisper and its ggml and calls into both.
string whisperInfo = Whisper.net.WhisperFactory.GetRuntimeInfo() ?? "";
int languages = Whisper.net.WhisperFactory.GetSupportedLanguages().Count();
Console.WriteLine($"whisper: {Whisper.net.LibraryLoader.RuntimeOptions.LoadedLibrary} runtime, {languages} languages, {OneLine(whisperInfo)}");
#elif SDNET_LLAMA
// No GGUF model is needed to load llama.cpp and its ggml: llama_empty_call loads them, the rest calls into them.
LLama.Native.NativeApi.llama_empty_call();
Console.WriteLine($"llama: {LLama.Native.NativeApi.llama_max_devices()} max devices, {OneLine(System.Runtime.InteropServices.Marshal.PtrToStringUTF8(LLama.Native.NativeApi.llama_print_system_info()) ?? "")}");
#endif

var info = NativeRuntime.Describe();
Console.WriteLine($"runtime: {info.LibraryPath}");
Console.WriteLine($"cpu variant: {info.CpuVariant ?? "(none)"}");
Console.WriteLine($"backends: {string.Join(", ", info.Backends)}");
Console.WriteLine($"devices: {string.Join(", ", info.Devices.Select(d => $"{d.Name} ({d.Type})"))}");
foreach (var module in info.Modules)
    Console.WriteLine($"module: {module.Kind} {module.File} {module.Status}");

// Every ggml-family library mapped into this process: ours (libsdnet-*) and, for whisper/llama, theirs.
if (File.Exists("/proc/self/maps"))
{
    foreach (string lib in File.ReadLines("/proc/self/maps")
                 .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                 .Where(p => p.Length >= 6)
                 .Select(p => string.Join(' ', p.Skip(5)))
                 .Where(p => Path.GetFileName(p) is var name && (name.Contains("sdnet", StringComparison.Ordinal) || name.Contains("ggml", StringComparison.Ordinal) || name.Contains("whisper", StringComparison.Ordinal) || name.Contains("llama", StringComparison.Ordinal)))
                 .Distinct())
        Console.WriteLine($"mapped: {lib}");
}

// One thread: .ci/run runs this check beside the native tests at idle priority, where a second ggml thread would mostly
// wait at every graph node for a core the tests hold.
using var generator = Generator.Load(new GeneratorOptions { ModelPath = model, Threads = 1 });
var images = generator.TextToImage(new ImageRequest
{
    Prompt = "a lighthouse on a cliff at dusk",
    Width = 64,
    Height = 64,
    Seed = 42,
    Sampling = new SamplingOptions { Steps = 2, Sampler = Sampler.Euler },
});
var image = images[0];
image.SaveAsPng(output);
Console.WriteLine($"image: {output} {image.Image.Width}x{image.Image.Height}");
Console.WriteLine($"seed: {image.Seed}");
return 0;

#if SDNET_WHISPER || SDNET_LLAMA
static string OneLine(string text) => string.Join(' ', text.Split((char[])['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();
#endif
