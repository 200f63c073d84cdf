using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Imaging;
using static StableDiffusion.Native.Cli.SdCli.OptionFactory;

namespace StableDiffusion.Native.Cli.SdCli;

/// <summary>Where results and previews go: the output pattern, previews, metadata, and the ESRGAN pass on every result.</summary>
internal sealed class OutputFlags
{
    public Option<string?> Pattern { get; } = Text("--output", "Output PNG; %d or %03d numbers each result (a batch without it adds _N); video: an animated PNG, or numbered PNGs with %d (default output.png)", "-o");
    public Option<string?> PreviewPath { get; } = Text("--preview-path", "Preview file, rewritten as sampling goes (with --preview; default preview.png)");
    public Option<int?> PreviewInterval { get; } = Int("--preview-interval", "Steps between previews (default 1)");
    public Option<int?> OutputBeginIndex { get; } = Int("--output-begin-idx", "First number of the output files (default 0)");
    public Option<bool> PreviewNoisy { get; } = Switch("--preview-noisy", "Preview the noisy latent instead of the denoised estimate");
    public Option<string?> Preview { get; } = Text("--preview", "Preview method: " + string.Join(", ", SdCliSyntax.PreviewNames) + " (default none)");
    public Option<bool> DisableImageMetadata { get; } = Switch("--disable-image-metadata", "Write PNGs without the parameters text");
    public Option<string?> UpscaleModel { get; } = Text("--upscale-model", "ESRGAN model run on each result after generating");
    public Option<int?> UpscaleRepeats { get; } = Int("--upscale-repeats", "Times the ESRGAN model runs (default 1)");
    public Option<int?> UpscaleTileSize { get; } = Int("--upscale-tile-size", "ESRGAN tile size (default 128)");

    /// <summary>Every option of this group, to add to a command.</summary>
    public IEnumerable<Option> All => [Pattern, PreviewPath, PreviewInterval, OutputBeginIndex, PreviewNoisy, Preview, DisableImageMetadata, UpscaleModel, UpscaleRepeats, UpscaleTileSize];

    public (PreviewFile? File, PreviewOptions? Options) ReadPreview(ParseResult r, ILogger logger)
    {
        var method = r.GetValue(Preview) is { } p ? SdCliSyntax.Preview("--preview", p) : null;
        if (method is null)
        {
            foreach (var option in new Option[] { PreviewPath, PreviewInterval, PreviewNoisy })
                if (r.GetResult(option) is { Implicit: false }) logger.LogWarning("{Flag} has no effect without --preview (proj, tae or vae)", option.Name);
            return (null, null);
        }
        int interval = r.GetValue(PreviewInterval) ?? 1;
        if (interval < 1) throw SdCliSyntax.Bad("--preview-interval", "must be 1 or more.");
        bool noisy = r.GetValue(PreviewNoisy);
        var options = new PreviewOptions { Mode = method.Value, Interval = interval, Denoised = !noisy, Noisy = noisy };
        return (new PreviewFile(r.GetValue(PreviewPath) ?? "preview.png", logger), options);
    }

    public UpscaleStep? ReadUpscale(ParseResult r)
    {
        int repeats = r.GetValue(UpscaleRepeats) ?? 1, tile = r.GetValue(UpscaleTileSize) ?? 128;
        if (repeats < 1) throw SdCliSyntax.Bad("--upscale-repeats", "must be 1 or more.");
        if (tile < 1) throw SdCliSyntax.Bad("--upscale-tile-size", "must be 1 or more.");
        return r.GetValue(UpscaleModel) is { } model ? new UpscaleStep(model, repeats, tile) : null;
    }
}
