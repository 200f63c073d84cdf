using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Imaging;
using static StableDiffusion.Native.Cli.SdCli.OptionFactory;

namespace StableDiffusion.Native.Cli.SdCli;

/// <summary>The step caches (sd-cli's --cache-mode and its options).</summary>
internal sealed class CacheFlags
{
    public Option<string?> CacheMode { get; } = Text("--cache-mode", "Step cache: " + string.Join(", ", SdCliSyntax.CacheModeNames));
    public Option<string?> CacheOption { get; } = Text("--cache-option", "Cache parameters, key=value,... (threshold, start, end, decay, relative, reset, Fn, Bn, warmup, w, m, lam, window, flex, stop)");
    public Option<string?> ScmMask { get; } = Text("--scm-mask", "Cache steps mask, 1 (compute) or 0 per step");
    public Option<string?> ScmPolicy { get; } = Text("--scm-policy", "Cache mask policy: dynamic or static");

    /// <summary>Every option of this group, to add to a command.</summary>
    public IEnumerable<Option> All => [CacheMode, CacheOption, ScmMask, ScmPolicy];

    public StepCacheOptions? Read(ParseResult r, ILogger logger)
    {
        if (r.GetValue(CacheMode) is { } mode) return SdCliSyntax.Cache(mode, r.GetValue(CacheOption), r.GetValue(ScmMask), r.GetValue(ScmPolicy));
        foreach (var option in new[] { CacheOption, ScmMask, ScmPolicy })
            if (r.GetValue(option) is not null) logger.LogWarning("{Flag} has no effect without --cache-mode", option.Name);
        return null;
    }
}
