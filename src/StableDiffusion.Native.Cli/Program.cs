using System.CommandLine;
using StableDiffusion.Native.Cli;

var root = new RootCommand("sdnet — Stable Diffusion on stable-diffusion.cpp, from .NET")
{
    GenerateCommand.Create(),
    VideoCommand.Create(),
    UpscaleCommand.Create(),
    DoctorCommand.Create(),
    StableDiffusion.Native.Cli.Serve.ServeCommand.Create(),
};
foreach (var command in ModelCommands.Create()) root.Subcommands.Add(command);
// Ctrl+C and SIGTERM cancel the action's token (cancellable commands then exit 130 after cleaning up, e.g. `models
// pull` keeping its .part), and the process exits anyway 2 s later, or for `serve` once its --shutdown-timeout has let
// the requests in flight finish. The timeout is set explicitly: System.CommandLine 2.0.0 handles no signal at all when
// InvokeAsync gets no configuration, whatever its documentation says.
var parse = root.Parse(args);
if (CliCommon.ReportParseErrors(parse, Console.Error) is int badArguments) return badArguments;
var termination = StableDiffusion.Native.Cli.Serve.ServeCommand.TerminationTimeout(parse) ?? TimeSpan.FromSeconds(2);
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = termination });
