using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Imaging;
using static StableDiffusion.Native.Cli.SdCli.OptionFactory;

namespace StableDiffusion.Native.Cli.SdCli;

/// <summary>VAE tiling: in space, along time, and the tiles' sizes and overlap.</summary>
internal sealed class TilingFlags
{
    /// <summary>The library's tiling defaults, for the flags left out.</summary>
    private static readonly VaeTilingOptions s_tiling = new();

    public Option<bool> VaeTiling { get; } = Switch("--vae-tiling", "Decode in tiles (less memory)");
    public Option<bool> TemporalTiling { get; } = Switch("--temporal-tiling", "Tile the video VAE along time (LTX)");
    public Option<string?> VaeTileSize { get; } = Text("--vae-tile-size", "VAE tile size, WxH in latent pixels");
    public Option<string?> VaeRelativeTileSize { get; } = Text("--vae-relative-tile-size", "VAE tile size relative to the latent, WxH");
    public Option<float?> VaeTileOverlap { get; } = Float("--vae-tile-overlap", $"VAE tile overlap, a fraction of a tile (default {Default(new VaeTilingOptions().TargetOverlap)})");
    public Option<string[]> ExtraTilingArgs { get; } = Joined("--extra-tiling-args", "Extra VAE tiling arguments, key=value,...");

    /// <summary>Every option of this group, to add to a command.</summary>
    public IEnumerable<Option> All => [VaeTiling, TemporalTiling, VaeTileSize, VaeRelativeTileSize, VaeTileOverlap, ExtraTilingArgs];

    /// <summary>
    /// Tiling settings when tiling is on (<c>--vae-tiling</c>) or temporal tiling is asked for; sd-cli ignores the tile
    /// settings without <c>--vae-tiling</c>, and so does this, with a warning.
    /// </summary>
    public VaeTilingOptions? Read(ParseResult r, ILogger logger)
    {
        bool on = r.GetValue(VaeTiling) || r.GetValue(TemporalTiling);
        var size = r.GetValue(VaeTileSize) is { } ts ? SdCliSyntax.TileSize("--vae-tile-size", ts) : ((int, int)?)null;
        var relative = r.GetValue(VaeRelativeTileSize) is { } rs ? SdCliSyntax.RelativeTileSize("--vae-relative-tile-size", rs) : ((float, float)?)null;
        var overlap = r.GetValue(VaeTileOverlap);
        var extra = ModelLoadOptions.JoinedValue(r, ExtraTilingArgs) is { } ea ? SdCliSyntax.KeyValues("--extra-tiling-args", ea) : null;
        bool any = size is not null || relative is not null || overlap is not null || extra is not null || r.GetValue(TemporalTiling);
        if (!any) return null;
        if (!on)
        {
            logger.LogWarning("VAE tile settings have no effect without --vae-tiling");
            return null;
        }
        var tiling = new VaeTilingOptions
        {
            // As in sd-cli: --vae-tiling tiles in space, --temporal-tiling along time, each on its own.
            Spatial = r.GetValue(VaeTiling),
            Temporal = r.GetValue(TemporalTiling),
            TileWidth = size?.Item1 ?? s_tiling.TileWidth,
            TileHeight = size?.Item2 ?? s_tiling.TileHeight,
            TargetOverlap = overlap ?? s_tiling.TargetOverlap,
            RelativeWidth = relative?.Item1 ?? s_tiling.RelativeWidth,
            RelativeHeight = relative?.Item2 ?? s_tiling.RelativeHeight,
        };
        return extra is null ? tiling : TypedArguments.Tiling("--extra-tiling-args", tiling, extra);
    }
}
