using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Imaging;
using static StableDiffusion.Native.Cli.SdCli.OptionFactory;

namespace StableDiffusion.Native.Cli.SdCli;

/// <summary>The hires fix: its switch, scale or target size, second pass and upscaler.</summary>
internal sealed class HiresFlags
{
    /// <summary>The library's defaults of a hires pass, for the flags left out.</summary>
    private static readonly HiresFix s_hires = new();

    public Option<bool> Hires { get; } = Switch("--hires", "Turn the hires fix on");
    public Option<float?> HiresScale { get; } = Float("--hires-scale", "Hires fix: enlarge the first pass by this factor and refine it (turns the hires fix on)");
    public Option<string?> HiresUpscaler { get; } = Text("--hires-upscaler", "Hires upscaler: " + string.Join(", ", SdCliSyntax.HiresUpscalerNames.Where(n => n != "Model")) + ", or a model name in --hires-upscalers-dir");
    public Option<string?> HiresUpscalersDirectory { get; } = Text("--hires-upscalers-dir", "Folder of the models --hires-upscaler names");
    public Option<int?> HiresWidth { get; } = Int("--hires-width", "Hires target width (0: --hires-scale)");
    public Option<int?> HiresHeight { get; } = Int("--hires-height", "Hires target height (0: --hires-scale)");
    public Option<int?> HiresSteps { get; } = Int("--hires-steps", "Hires fix: steps of the second pass (0: same as --steps)");
    public Option<float?> HiresDenoisingStrength { get; } = Float("--hires-denoising-strength", $"Hires fix: denoising strength of the second pass (default {Default(new HiresFix().DenoisingStrength)})");
    public Option<string?> HiresSigmas { get; } = Text("--hires-sigmas", "Custom sigmas of the hires pass");
    public Option<int?> HiresUpscaleTileSize { get; } = Int("--hires-upscale-tile-size", "Hires fix: ESRGAN tile size");

    /// <summary>Every option of this group, to add to a command.</summary>
    public IEnumerable<Option> All => [Hires, HiresScale, HiresUpscaler, HiresUpscalersDirectory, HiresWidth, HiresHeight, HiresSteps, HiresDenoisingStrength, HiresSigmas, HiresUpscaleTileSize];

    /// <summary>The hires fix with <c>--hires</c> (or sdnet's <c>--hires-scale</c>); its other flags alone change nothing, as in sd-cli.</summary>
    public HiresFix? Read(ParseResult r, ILogger logger)
    {
        bool on = r.GetValue(Hires) || r.GetValue(HiresScale) is not null;
        if (!on)
        {
            foreach (var option in new Option[] { HiresUpscaler, HiresWidth, HiresHeight, HiresSteps, HiresDenoisingStrength, HiresSigmas, HiresUpscaleTileSize })
                if (r.GetResult(option) is { Implicit: false }) logger.LogWarning("{Flag} has no effect without --hires", option.Name);
            return null;
        }
        var upscaler = StableDiffusion.Native.HiresUpscaler.Latent;
        string? modelPath = null;
        if (r.GetValue(HiresUpscaler) is { } name)
        {
            if (name == "None") return null; // sd-cli turns the hires fix off.
            // Exact names only, as sd-cli reads them: any other word is a model name in --hires-upscalers-dir.
            var builtIn = Enum.GetValues<StableDiffusion.Native.HiresUpscaler>()
                .Where(u => u != StableDiffusion.Native.HiresUpscaler.Model && u.Name() == name).Cast<StableDiffusion.Native.HiresUpscaler?>().FirstOrDefault();
            if (builtIn is { } known) upscaler = known;
            else
            {
                upscaler = StableDiffusion.Native.HiresUpscaler.Model;
                modelPath = ResolveHiresModel(name, r.GetValue(HiresUpscalersDirectory));
            }
        }
        return new HiresFix(r.GetValue(HiresScale) ?? s_hires.Scale, r.GetValue(HiresSteps) ?? s_hires.Steps,
            r.GetValue(HiresDenoisingStrength) ?? s_hires.DenoisingStrength, upscaler, modelPath)
        {
            TargetWidth = r.GetValue(HiresWidth) is > 0 and int w ? w : null,
            TargetHeight = r.GetValue(HiresHeight) is > 0 and int h ? h : null,
            UpscaleTileSize = r.GetValue(HiresUpscaleTileSize),
            CustomSigmas = r.GetValue(HiresSigmas) is { } hs ? SdCliSyntax.Sigmas("--hires-sigmas", hs) : [],
        };
    }

    /// <summary>sd-cli's <c>resolve_model_file_from_dir</c>: a plain name (no folder, no extension) with .gguf, .safetensors, .pt or .pth.</summary>
    private static string ResolveHiresModel(string name, string? directory)
    {
        const string Flag = "--hires-upscaler";
        string[] extensions = [".gguf", ".safetensors", ".pt", ".pth"];
        if (directory is null)
            throw SdCliSyntax.Bad(Flag, $"'{name}' is not one of {string.Join(", ", SdCliSyntax.HiresUpscalerNames.Where(n => n is not ("None" or "Model")))}; a model name needs --hires-upscalers-dir.");
        if (name == "Model" || name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal) || Path.IsPathRooted(name)
            || extensions.Any(e => name.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
            throw SdCliSyntax.Bad(Flag, $"'{name}' must be a model name without folder or extension.");
        return extensions.Select(e => Path.Combine(directory, name + e)).FirstOrDefault(File.Exists)
            ?? throw SdCliSyntax.Bad(Flag, $"no model '{name}' in '{directory}' ({string.Join(", ", extensions)}).");
    }
}
