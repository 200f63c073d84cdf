using System.CommandLine;

namespace StableDiffusion.Native.Cli;

/// <summary>inspect, convert and models: the model-files commands.</summary>
internal static class ModelCommands
{
    public static IEnumerable<Command> Create() => [];

    /// <summary>A path as given, or a model name looked up in the models folder.</summary>
    public static string? ResolveModel(string? nameOrPath) => nameOrPath;
}
