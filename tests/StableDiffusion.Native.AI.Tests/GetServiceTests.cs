using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace StableDiffusion.Native.AI.Tests;

/// <summary>GetService, disposal and argument checks, around the stand-in generator.</summary>
public sealed class GetServiceTests
{
    private readonly FakeGenerator _fake = new();

    [Fact]
    public void Metadata_names_the_provider_and_the_loaded_model()
    {
        var metadata = _fake.Wrapper.GetService<ImageGeneratorMetadata>();
        Assert.NotNull(metadata);
        Assert.Equal("stable-diffusion.cpp", metadata.ProviderName);
        Assert.Equal(StableDiffusionImageGenerator.ProviderName, metadata.ProviderName);
        Assert.Equal(FakeGenerator.ModelFile, metadata.DefaultModelId);
        Assert.Null(metadata.ProviderUri);
    }

    [Theory]
    [InlineData(typeof(StableDiffusionImageGenerator))]
    [InlineData(typeof(IImageGenerator))]
    [InlineData(typeof(IDisposable))]
    public void The_wrapper_is_its_own_service_for_the_types_it_is(Type type)
        => Assert.Same(_fake.Wrapper, _fake.Wrapper.GetService(type));

    [Theory]
    [InlineData(typeof(string))]
    [InlineData(typeof(ImageGenerationOptions))]
    [InlineData(typeof(DelegatingImageGenerator))]
    public void Other_types_give_null(Type type) => Assert.Null(_fake.Wrapper.GetService(type));

    [Theory]
    [InlineData(typeof(ImageGeneratorMetadata))]
    [InlineData(typeof(StableDiffusionImageGenerator))]
    [InlineData(typeof(Generator))]
    public void A_service_key_gives_null(Type type) => Assert.Null(_fake.Wrapper.GetService(type, "key"));

    [Fact]
    public void A_null_service_type_is_refused()
        => Assert.Throws<ArgumentNullException>(() => _fake.Wrapper.GetService(null!));

    [Fact]
    public void A_pipeline_finds_the_wrapper_and_its_metadata_inside()
    {
        using var loggerFactory = new LoggerFactory();
        using var pipeline = _fake.Wrapper.AsBuilder().UseLogging(loggerFactory).Build();
        Assert.IsType<LoggingImageGenerator>(pipeline);
        Assert.Same(_fake.Wrapper, pipeline.GetService<StableDiffusionImageGenerator>());
        Assert.Equal(FakeGenerator.ModelFile, pipeline.GetService<ImageGeneratorMetadata>()?.DefaultModelId);
    }

    [Fact]
    public async Task A_disposed_wrapper_refuses_to_generate()
    {
        _fake.Wrapper.Dispose();
        _fake.Wrapper.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => _fake.Wrapper.GenerateAsync(new ImageGenerationRequest("x")));
        Assert.Empty(_fake.Requests);
    }

    [Fact]
    public void Constructors_refuse_null()
    {
        Assert.Throws<ArgumentNullException>(() => new StableDiffusionImageGenerator((Generator)null!));
        Assert.Throws<ArgumentNullException>(() => new StableDiffusionImageGenerator((GeneratorOptions)null!));
    }

    [Fact]
    public void The_options_constructor_checks_the_options_before_loading()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => new StableDiffusionImageGenerator(new GeneratorOptions { ModelPath = "no/such/model.safetensors" }));
        Assert.Contains("ModelPath", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("models/sd15.safetensors", null, "sd15.safetensors")]
    [InlineData(null, "models/flux1-dev-q8_0.gguf", "flux1-dev-q8_0.gguf")]
    [InlineData("a/full.safetensors", "b/diffusion.gguf", "full.safetensors")]
    public void The_model_id_is_the_model_files_name(string? modelPath, string? diffusionModelPath, string expected)
        => Assert.Equal(expected, StableDiffusionImageGenerator.ModelId(new GeneratorOptions { ModelPath = modelPath, DiffusionModelPath = diffusionModelPath }));
}
