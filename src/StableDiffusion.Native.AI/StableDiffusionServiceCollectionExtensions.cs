using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native;
using StableDiffusion.Native.AI;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a local Stable Diffusion model as the container's <see cref="IImageGenerator"/>.</summary>
/// <remarks>
/// Both methods are built on Microsoft.Extensions.AI's <c>AddImageGenerator</c> and return its
/// <see cref="ImageGeneratorBuilder"/>, so the usual pipeline composes: <c>.UseLogging()</c>, <c>.UseOpenTelemetry()</c>,
/// <c>.ConfigureOptions(...)</c>. The model loads when the <see cref="IImageGenerator"/> is first resolved (a bad path or
/// model file fails there); it is a singleton owned by the container and freed when the container is disposed. Its
/// native log goes to the container's <see cref="ILoggerFactory"/> under the category <see cref="LoggerCategory"/>,
/// unless the options carry a <see cref="GeneratorOptions.Logger"/> of their own.
/// </remarks>
// IImageGenerator and its builder are experimental in Microsoft.Extensions.AI (MEAI001): these methods carry the same
// diagnostic, so that callers opt in once, as they do for the abstraction.
[Experimental(AIDiagnostics.Experimental, UrlFormat = AIDiagnostics.UrlFormat)]
public static class StableDiffusionServiceCollectionExtensions
{
    /// <summary>The logger category of the native log lines: <c>StableDiffusion.Native</c>.</summary>
    public const string LoggerCategory = "StableDiffusion.Native";

    /// <summary>Registers the model described by <paramref name="options"/> as the <see cref="IImageGenerator"/> singleton.</summary>
    /// <param name="services">The container's services.</param>
    /// <param name="options">What to load and how (see <see cref="Generator.Load"/>); checked when the generator is first resolved.</param>
    /// <returns>The builder of the generator's pipeline.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="options"/> is null.</exception>
    public static ImageGeneratorBuilder AddStableDiffusionImageGenerator(this IServiceCollection services, GeneratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        return services.AddImageGenerator(provider => new StableDiffusionImageGenerator(WithLogger(options, provider)), ServiceLifetime.Singleton);
    }

    /// <summary>
    /// Registers the model a configuration section describes as the <see cref="IImageGenerator"/> singleton. The section
    /// is read now, key by key (no reflection binding): its keys are <see cref="GeneratorOptions"/>' scalar property names
    /// (<c>ModelPath</c>, <c>DiffusionModelPath</c>, <c>ClipLPath</c>, ..., <c>Threads</c>, <c>Backend</c>,
    /// <c>FlashAttention</c>, <c>WeightType</c>, ..., ignoring case) and <c>Embeddings</c> (a list of <c>Name</c>/<c>Path</c>
    /// entries), or <c>Model</c>: a model by name (a checkpoint, or a manifest <c>NAME.model.json</c> naming its files and
    /// its recommended settings, which then apply to the requests) in <c>ModelsDirectory</c> or the models folder, with
    /// any path key beside it winning over the manifest's. Booleans are <c>true</c>/<c>false</c>, enums are member names (<c>WeightType</c> also takes upstream's
    /// names such as <c>q8_0</c>), and an empty value leaves its option unset.
    /// </summary>
    /// <param name="services">The container's services.</param>
    /// <param name="configuration">The section, for example <c>configuration.GetSection("StableDiffusion")</c>.</param>
    /// <returns>The builder of the generator's pipeline.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configuration"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// A key is not an option, a value is not of its option's kind, the section sets none of <c>Model</c>, <c>ModelPath</c>
    /// and <c>DiffusionModelPath</c>, or <c>Model</c> names no model; the message names the key's full path and what it accepts.
    /// </exception>
    public static ImageGeneratorBuilder AddStableDiffusionImageGenerator(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var (options, manifest) = GeneratorOptionsConfiguration.ReadModel(configuration);
        return services.AddImageGenerator(provider => StableDiffusionImageGenerator.Load(WithLogger(options, provider), manifest), ServiceLifetime.Singleton);
    }

    /// <summary>The options with the container's logger when they carry none.</summary>
    internal static GeneratorOptions WithLogger(GeneratorOptions options, IServiceProvider provider)
        => options.Logger is null && provider.GetService<ILoggerFactory>() is { } factory
            ? options with { Logger = factory.CreateLogger(LoggerCategory) }
            : options;
}
