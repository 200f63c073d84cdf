using StableDiffusion.Native;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.HostileInputs;

// sdnet-hostile sd1 MODEL [CASE ...] | sdnet-hostile zimage DIT LLM VAE [CASE ...]: loads the model once, then runs the
// named cases of that family (all of them without names) in order. Before each it prints "begin NAME", after it
// "end NAME: ran|refused TYPE: MESSAGE|failed TYPE: MESSAGE", flushing each line: a case the process does not survive
// is the last one begun. Exit 0 when every case ended.
if (args.Length < 2 || args[0] is not ("sd1" or "zimage") || (args[0] == "zimage" && args.Length < 4))
{
    Console.Error.WriteLine("usage: sdnet-hostile sd1 MODEL [CASE ...] | sdnet-hostile zimage DIT LLM VAE [CASE ...]");
    return 2;
}

var family = args[0] == "sd1" ? HostileCases.Family.Sd1 : HostileCases.Family.ZImage;
int first = family == HostileCases.Family.Sd1 ? 2 : 4;
// One thread: the harness runs in one of the native tests' two lanes, a core each (see the tests' NativeCollection).
var options = family == HostileCases.Family.Sd1
    ? new GeneratorOptions { ModelPath = args[1], Threads = 1 }
    : new GeneratorOptions { DiffusionModelPath = args[1], LlmPath = args[2], VaePath = args[3], Threads = 1 };
var wanted = args.Skip(first).ToHashSet(StringComparer.Ordinal);
var cases = HostileCases.All.Where(c => c.Family == family && (wanted.Count == 0 || wanted.Contains(c.Name))).ToList();
using var generator = Generator.Load(options);
Console.Out.WriteLine($"loaded {cases.Count} cases");
Console.Out.Flush();
foreach (var c in cases)
{
    Console.Out.WriteLine($"begin {c.Name}");
    Console.Out.Flush();
    string outcome;
    try
    {
        var images = generator.Generate(c.Request());
        outcome = $"ran {images.Count}x{images[0].Image.Width}x{images[0].Image.Height}";
    }
    catch (Exception e) when (e is ArgumentException or InvalidModelFileException or GenerationTooLargeException)
    {
        outcome = $"refused {e.GetType().Name}: {OneLine(e.Message)}";
    }
    catch (Exception e)
    {
        outcome = $"failed {e.GetType().Name}: {OneLine(e.Message)}";
    }
    Console.Out.WriteLine($"end {c.Name}: {outcome}");
    Console.Out.Flush();
}
return 0;

static string OneLine(string text) => StableDiffusion.Native.ModelFiles.DisplayText.Escape(text.ReplaceLineEndings(" "), 300);
