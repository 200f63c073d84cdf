using System.CommandLine;
using StableDiffusion.Native.Cli;

var root = new RootCommand("sdnet — Stable Diffusion on stable-diffusion.cpp, from .NET")
{
    GenerateCommand.Create(),
    UpscaleCommand.Create(),
    DoctorCommand.Create(),
    StableDiffusion.Native.Cli.Serve.ServeCommand.Create(),
};
foreach (var command in ModelCommands.Create()) root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
