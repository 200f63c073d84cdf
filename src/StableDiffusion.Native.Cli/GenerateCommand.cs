using System.CommandLine;
using StableDiffusion.Native.Cli.SdCli;

namespace StableDiffusion.Native.Cli;

/// <summary>
/// <c>sdnet generate</c>: sd-cli's image generation under sd-cli's flags (docs/sd-cli-flags.md), so an sd-cli command
/// line runs as it is; <c>-M vid_gen</c>, <c>-M adetailer</c> and <c>-M upscale</c> run those modes too.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create() => Create("generate",
        "Generate images from a prompt (text-to-image, image-to-image, inpainting, ControlNet, editing); takes sd-cli's flags", RunMode.Image);

    /// <summary>A generation command of <paramref name="mode"/> with every sd-cli flag; <see cref="Options"/> of the result reads them.</summary>
    internal static Command Create(string name, string description, RunMode mode)
    {
        var options = new GenerationOptions();
        var command = new GenerationCommand(name, description, options);
        foreach (var option in options.All) command.Options.Add(option);
        command.SetAction((r, cancellationToken) => Task.FromResult(CliCommon.Run(() =>
        {
            var logger = CliCommon.Logger(r.GetValue(options.Verbose));
            NativeRuntime.Logger = logger;
            var plan = options.Read(r, mode, logger);
            return GenerationRunner.Run(plan, logger, cancellationToken);
        })));
        return command;
    }

    /// <summary>The options of a command made by <see cref="Create(string, string, RunMode)"/>.</summary>
    internal static GenerationOptions Options(Command command) => ((GenerationCommand)command).Generation;

    private sealed class GenerationCommand(string name, string description, GenerationOptions options) : Command(name, description)
    {
        public GenerationOptions Generation { get; } = options;
    }
}
