using System.Reflection;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Quantization;

namespace StableDiffusion.Native.AI.Tests;

/// <summary>The registration's shape and the configuration reader, without loading a model.</summary>
public sealed class ServiceCollectionTests
{
    private static IConfigurationSection Section(params (string Key, string? Value)[] values)
        => new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => KeyValuePair.Create("StableDiffusion:" + v.Key, v.Value)))
            .Build()
            .GetSection("StableDiffusion");

    [Fact]
    public void Registration_adds_one_IImageGenerator_singleton_and_returns_MEAIs_builder()
    {
        var services = new ServiceCollection();
        var builder = services.AddStableDiffusionImageGenerator(new GeneratorOptions { ModelPath = "model.safetensors" });
        Assert.IsType<ImageGeneratorBuilder>(builder);
        var descriptor = Assert.Single(services, d => d.ServiceType == typeof(IImageGenerator));
        Assert.Equal(ServiceLifetime.Singleton, descriptor.Lifetime);
        Assert.NotNull(descriptor.ImplementationFactory);
    }

    [Fact]
    public void The_model_loads_when_the_generator_is_first_resolved()
    {
        var services = new ServiceCollection();
        services.AddStableDiffusionImageGenerator(new GeneratorOptions { ModelPath = "no/such/model.safetensors" }).UseLogging();
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        using var provider = services.BuildServiceProvider();
        // The loader's own check of the path: the factory registered is the one that loads the model.
        var e = Assert.ThrowsAny<ArgumentException>(() => provider.GetRequiredService<IImageGenerator>());
        Assert.Contains("no/such/model.safetensors", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_builders_pipeline_wraps_the_generator()
    {
        var services = new ServiceCollection();
        var inner = new FakeGenerator().Wrapper;
        // The same builder the registration returns, around a stand-in: what UseLogging adds sits outside it.
        using var loggerFactory = new LoggerFactory();
        services.AddImageGenerator(inner).UseLogging(loggerFactory);
        using var provider = services.BuildServiceProvider();
        var generator = provider.GetRequiredService<IImageGenerator>();
        Assert.IsType<LoggingImageGenerator>(generator);
        Assert.Same(inner, generator.GetService<StableDiffusionImageGenerator>());
    }

    [Fact]
    public void The_containers_logger_factory_gives_the_native_log_its_category()
    {
        var factory = new RecordingLoggerFactory();
        var provider = new ServiceCollection().AddSingleton<ILoggerFactory>(factory).BuildServiceProvider();
        var options = StableDiffusionServiceCollectionExtensions.WithLogger(new GeneratorOptions { ModelPath = "m" }, provider);
        Assert.NotNull(options.Logger);
        Assert.Equal(new[] { "StableDiffusion.Native" }, factory.Categories);
        Assert.Equal(StableDiffusionServiceCollectionExtensions.LoggerCategory, factory.Categories[0]);
    }

    [Fact]
    public void A_logger_of_the_options_own_is_kept()
    {
        var factory = new RecordingLoggerFactory();
        var provider = new ServiceCollection().AddSingleton<ILoggerFactory>(factory).BuildServiceProvider();
        var own = NullLogger.Instance;
        var options = StableDiffusionServiceCollectionExtensions.WithLogger(new GeneratorOptions { ModelPath = "m", Logger = own }, provider);
        Assert.Same(own, options.Logger);
        Assert.Empty(factory.Categories);
    }

    [Fact]
    public void Without_a_logger_factory_the_options_are_unchanged()
    {
        var provider = new ServiceCollection().BuildServiceProvider();
        var options = new GeneratorOptions { ModelPath = "m" };
        Assert.Same(options, StableDiffusionServiceCollectionExtensions.WithLogger(options, provider));
    }

    [Fact]
    public void Null_arguments_are_refused()
    {
        var services = new ServiceCollection();
        Assert.Throws<ArgumentNullException>(() => services.AddStableDiffusionImageGenerator((GeneratorOptions)null!));
        Assert.Throws<ArgumentNullException>(() => services.AddStableDiffusionImageGenerator((IConfiguration)null!));
        Assert.Throws<ArgumentNullException>(() => ((IServiceCollection)null!).AddStableDiffusionImageGenerator(new GeneratorOptions()));
    }

    [Fact]
    public void Configuration_registration_reads_the_section_and_registers_the_generator()
    {
        var services = new ServiceCollection();
        var builder = services.AddStableDiffusionImageGenerator(Section(("ModelPath", "models/sd15.safetensors")));
        Assert.IsType<ImageGeneratorBuilder>(builder);
        Assert.Equal(ServiceLifetime.Singleton, Assert.Single(services, d => d.ServiceType == typeof(IImageGenerator)).Lifetime);
    }

    [Fact]
    public void Every_key_of_the_section_sets_its_option()
    {
        var options = GeneratorOptionsConfiguration.Read(Section(
            ("ModelPath", "m.safetensors"),
            ("DiffusionModelPath", "d.gguf"),
            ("ClipLPath", "clip_l.safetensors"),
            ("ClipGPath", "clip_g.safetensors"),
            ("T5xxlPath", "t5.safetensors"),
            ("VaePath", "vae.safetensors"),
            ("TaesdPath", "taesd.safetensors"),
            ("ControlNetPath", "cn.safetensors"),
            ("WeightType", "q8_0"),
            ("TensorTypeRules", "^vae\\.=f16"),
            ("QuantizationCache", "Off"),
            ("QuantizationCacheDirectory", "cache"),
            ("AllowLegacyPickle", "true"),
            ("Threads", "3"),
            ("Backend", "CUDA0"),
            ("ParamsBackend", "CPU"),
            ("FlashAttention", "True"),
            ("DiffusionConvDirect", "false"),
            ("VaeConvDirect", "true"),
            ("EnableMmap", "false"),
            ("EagerLoad", "true"),
            ("LoraApplyMode", "atruntime"),
            ("RpcServers", "host:50052"),
            ("MaxVram", "6"),
            ("Embeddings:0:Name", "easynegative"),
            ("Embeddings:0:Path", "emb/easynegative.safetensors"),
            ("Embeddings:1:name", "other"),
            ("Embeddings:1:path", "emb/other.pt"),
            ("ClipVisionPath", "cv.safetensors"), ("LlmPath", "qwen3.gguf"), ("LlmVisionPath", "vl.gguf"), ("HighNoiseDiffusionModelPath", "hn.gguf"),
            ("UncondDiffusionModelPath", "un.gguf"), ("EmbeddingsConnectorsPath", "ec.safetensors"), ("AudioVaePath", "avae.safetensors"),
            ("IpAdapterPath", "ip.safetensors"), ("MotionModulePath", "mm.safetensors"), ("PhotoMakerPath", "pm.safetensors"), ("PulidWeightsPath", "pu.safetensors"),
            ("Rng", "cpu"), ("SamplerRng", "Cuda"), ("Prediction", "flow"), ("DiffusionFlashAttention", "true"), ("TaePreviewOnly", "true"),
            ("ForceSdxlVaeConvScale", "false"), ("VaeFormat", "wan"), ("StreamLayers", "true"), ("SplitMode", "row"), ("AutoFit", "true"),
            ("ChromaUseT5Mask", "true"), ("ChromaT5MaskPad", "2"), ("ChromaUseDitMask", "false"), ("QwenImageZeroCondT", "true"),
            ("ModuleSplitModes:vae", "layer"), ("ModelArguments:some_key", "1")));
        var expected = new GeneratorOptions
        {
            ModelPath = "m.safetensors",
            DiffusionModelPath = "d.gguf",
            ClipLPath = "clip_l.safetensors",
            ClipGPath = "clip_g.safetensors",
            T5xxlPath = "t5.safetensors",
            VaePath = "vae.safetensors",
            TaesdPath = "taesd.safetensors",
            ControlNetPath = "cn.safetensors",
            WeightType = QuantizationType.Q8_0,
            TensorTypeRules = "^vae\\.=f16",
            QuantizationCache = QuantizationCacheMode.Off,
            QuantizationCacheDirectory = "cache",
            AllowLegacyPickle = true,
            Threads = 3,
            Backend = "CUDA0",
            ParamsBackend = "CPU",
            FlashAttention = true,
            DiffusionConvDirect = false,
            VaeConvDirect = true,
            EnableMmap = false,
            EagerLoad = true,
            LoraApplyMode = LoraApplyMode.AtRuntime,
            RpcServers = "host:50052",
            MaxVram = "6",
            Embeddings = options.Embeddings,
            ClipVisionPath = "cv.safetensors", LlmPath = "qwen3.gguf", LlmVisionPath = "vl.gguf", HighNoiseDiffusionModelPath = "hn.gguf",
            UncondDiffusionModelPath = "un.gguf", EmbeddingsConnectorsPath = "ec.safetensors", AudioVaePath = "avae.safetensors",
            IpAdapterPath = "ip.safetensors", MotionModulePath = "mm.safetensors", PhotoMakerPath = "pm.safetensors", PulidWeightsPath = "pu.safetensors",
            Rng = RngType.Cpu, SamplerRng = RngType.Cuda, Prediction = Prediction.Flow, DiffusionFlashAttention = true, TaePreviewOnly = true,
            ForceSdxlVaeConvScale = false, VaeFormat = VaeFormat.Wan, StreamLayers = true, SplitMode = SplitMode.Row, AutoFit = true,
            ChromaUseT5Mask = true, ChromaT5MaskPad = 2, ChromaUseDitMask = false, QwenImageZeroCondT = true,
            // The maps are compared below: records compare collections by reference.
            ModuleSplitModes = options.ModuleSplitModes, ModelArguments = options.ModelArguments,
        };
        Assert.Equal(expected, options);
        Assert.Equal(new Dictionary<ModelModule, SplitMode> { [ModelModule.Vae] = SplitMode.Layer }, options.ModuleSplitModes);
        Assert.Equal(new Dictionary<string, string> { ["some_key"] = "1" }, options.ModelArguments);
        Assert.Equal(new[] { new Embedding("easynegative", "emb/easynegative.safetensors"), new Embedding("other", "emb/other.pt") }, options.Embeddings);
    }

    /// <summary>A new option must be readable from configuration too: this fails until the reader knows it.</summary>
    [Fact]
    public void The_reader_knows_every_settable_scalar_option()
    {
        var settable = typeof(GeneratorOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is not null && p.Name != nameof(GeneratorOptions.Logger))
            .Select(p => p.Name);
        // Beside the options: the model by name and its folder.
        Assert.Equal(settable.Append(GeneratorOptionsConfiguration.ModelKey).Append(GeneratorOptionsConfiguration.ModelsDirectoryKey).Order(StringComparer.Ordinal),
            GeneratorOptionsConfiguration.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Keys_ignore_case_and_empty_values_leave_options_unset()
    {
        var options = GeneratorOptionsConfiguration.Read(Section(("modelpath", "m.safetensors"), ("threads", ""), ("Backend", "  ")));
        Assert.Equal("m.safetensors", options.ModelPath);
        Assert.Null(options.Threads);
        Assert.Null(options.Backend);
    }

    [Fact]
    public void WeightType_takes_the_enums_names_too()
        => Assert.Equal(QuantizationType.Q4_K, GeneratorOptionsConfiguration.Read(Section(("ModelPath", "m"), ("WeightType", "Q4_K"))).WeightType);

    public static TheoryData<string, string, string> BadSections => new()
    {
        { "Threads", "two", "integer" },
        { "Threads", "2.5", "integer" },
        { "FlashAttention", "yes", "true or false" },
        { "AllowLegacyPickle", "1", "true or false" },
        { "WeightType", "q9_9", "Q8_0" },
        { "LoraApplyMode", "1", "AtRuntime" },
        { "QuantizationCache", "Sometimes", "ReadWrite" },
        { "ModelPth", "x", "ModelPath" },
    };

    [Theory]
    [MemberData(nameof(BadSections))]
    public void A_bad_key_or_value_is_refused_at_registration_naming_its_path(string key, string value, string accepted)
    {
        var services = new ServiceCollection();
        var e = Assert.Throws<ArgumentException>(() => services.AddStableDiffusionImageGenerator(Section(("ModelPath", "m.safetensors"), (key, value))));
        Assert.Contains($"'StableDiffusion:{key}'", e.Message, StringComparison.Ordinal);
        Assert.Contains(accepted, e.Message, StringComparison.Ordinal);
        Assert.Empty(services);
    }

    [Fact]
    public void A_section_where_a_value_belongs_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => GeneratorOptionsConfiguration.Read(Section(("ModelPath", "m"), ("Threads:Count", "2"))));
        Assert.Contains("'StableDiffusion:Threads'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Embeddings:0:Name", "only-a-name")]
    [InlineData("Embeddings:0:Path", "only-a-path.pt")]
    public void An_embedding_needs_a_name_and_a_path(string key, string value)
    {
        var e = Assert.Throws<ArgumentException>(() => GeneratorOptionsConfiguration.Read(Section(("ModelPath", "m"), (key, value))));
        Assert.Contains("'StableDiffusion:Embeddings:0'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_field_of_an_embedding_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => GeneratorOptionsConfiguration.Read(Section(("ModelPath", "m"),
            ("Embeddings:0:Name", "n"), ("Embeddings:0:Path", "p"), ("Embeddings:0:Weight", "2"))));
        Assert.Contains("'StableDiffusion:Embeddings:0:Weight'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_section_without_a_model_is_refused_naming_the_section()
    {
        var e = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddStableDiffusionImageGenerator(Section(("Threads", "2"))));
        Assert.Contains("'StableDiffusion'", e.Message, StringComparison.Ordinal);
        Assert.Contains("ModelPath", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DiffusionModelPath_alone_is_a_model()
        => Assert.Equal("flux.gguf", GeneratorOptionsConfiguration.Read(Section(("DiffusionModelPath", "flux.gguf"))).DiffusionModelPath);

    [Fact]
    public void The_Model_key_loads_a_manifest_by_name_and_a_path_key_beside_it_wins()
    {
        var dir = Directory.CreateTempSubdirectory("sdnet-ai-models-");
        try
        {
            foreach (string file in new[] { "flux.gguf", "ae.safetensors", "t5.gguf" }) File.WriteAllText(Path.Combine(dir.FullName, file), "");
            File.WriteAllText(Path.Combine(dir.FullName, "flux-fast.model.json"),
                """{"diffusion_model": "flux.gguf", "vae": "ae.safetensors", "t5xxl": "t5.gguf", "defaults": {"steps": 4, "cfg_scale": 1}}""");
            var (options, manifest) = GeneratorOptionsConfiguration.ReadModel(Section(
                ("Model", "flux-fast"), ("ModelsDirectory", dir.FullName), ("VaePath", "mine.safetensors"), ("Threads", "3")));
            Assert.Equal(Path.Combine(dir.FullName, "flux.gguf"), options.DiffusionModelPath);
            Assert.Equal(Path.Combine(dir.FullName, "t5.gguf"), options.T5xxlPath);
            Assert.Equal("mine.safetensors", options.VaePath);
            Assert.Equal(3, options.Threads);
            Assert.Equal("flux-fast", manifest!.Name);
            Assert.Equal(4, manifest.Defaults.Steps);

            var (plain, none) = GeneratorOptionsConfiguration.ReadModel(Section(("Model", "flux"), ("ModelsDirectory", dir.FullName)));
            Assert.Equal(Path.Combine(dir.FullName, "flux.gguf"), plain.ModelPath);
            Assert.Null(none);

            var unknown = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddStableDiffusionImageGenerator(Section(("Model", "flux-fats"), ("ModelsDirectory", dir.FullName))));
            Assert.Contains("flux-fast", unknown.Message, StringComparison.Ordinal); // "did you mean"
            File.WriteAllText(Path.Combine(dir.FullName, "broken.model.json"), """{"diffusion_model": "flux.gguf", "vea": "ae.safetensors"}""");
            var broken = Assert.Throws<StableDiffusion.Native.ModelFiles.InvalidModelFileException>(() => GeneratorOptionsConfiguration.ReadModel(Section(("Model", "broken"), ("ModelsDirectory", dir.FullName))));
            Assert.Contains("unknown field 'vea'", broken.Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private sealed class RecordingLoggerFactory : ILoggerFactory
    {
        public List<string> Categories { get; } = [];

        public ILogger CreateLogger(string categoryName)
        {
            Categories.Add(categoryName);
            return NullLogger.Instance;
        }

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }
    }
}
