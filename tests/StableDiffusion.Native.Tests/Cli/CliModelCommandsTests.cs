using System.CommandLine;
using StableDiffusion.Native.Cli;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Tests.Integration;
using StableDiffusion.Native.TestModels;
using static StableDiffusion.Native.Tests.ModelFiles.RawModelBytes;

namespace StableDiffusion.Native.Tests.Cli;

/// <summary>
/// The inspect, convert and models commands, invoked in-process. Their output goes to the invocation's writers
/// (never the process-global Console), so these tests run in parallel with others.
/// </summary>
public sealed class CliModelCommandsTests : IDisposable
{
    private readonly TempDirectory temp = new("sdn-cli");

    public void Dispose() => this.temp.Dispose();

    internal static (int Exit, string Out, string Err) Invoke(params string[] args)
    {
        var root = new RootCommand("test");
        foreach (var c in ModelCommands.Create()) root.Subcommands.Add(c);
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void Inspect_of_a_bad_file_exits_non_zero_with_one_line_on_stderr()
    {
        string bad = Path.Combine(this.temp.Path, "bad.safetensors");
        File.WriteAllBytes(bad, Safetensors("{\"t\":{\"dtype\":\"F16\",\n\"shape\":[4],\"data_offsets\":[0,99]}}", 8));
        var (exit, output, error) = Invoke("inspect", bad);
        Assert.NotEqual(0, exit);
        Assert.Equal(string.Empty, output);
        string line = Assert.Single(error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains("bad.safetensors", line);
    }

    [Fact]
    public void Inspect_of_a_missing_file_or_a_pickle_exits_non_zero_with_one_line()
    {
        var (exit, _, error) = Invoke("inspect", Path.Combine(this.temp.Path, "nope.safetensors"), "--dir", this.temp.Path);
        Assert.NotEqual(0, exit);
        Assert.Single(error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));

        string pickle = Path.Combine(this.temp.Path, "old.ckpt");
        File.WriteAllBytes(pickle, [.. "PK\x03\x04"u8, .. new byte[60]]);
        (exit, _, error) = Invoke("inspect", pickle);
        Assert.Equal(1, exit);
        Assert.Single(error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Inspect_of_the_tiny_sd1_shows_family_components_types_and_memory()
    {
        var (exit, output, error) = Invoke("inspect", TestModelFactory.Sd1(unetChannels: 32));
        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, error);
        Assert.Contains("family:      SD1", output);
        Assert.Contains("kind:        Checkpoint", output);
        Assert.Contains("DiffusionModel", output);
        Assert.Contains("TextEncoder", output);
        Assert.Contains("Vae", output);
        Assert.Contains("F16", output);
        Assert.Contains("q8_0", output);
        Assert.Contains("q4_0", output);
    }

    [Fact]
    public void Inspect_accepts_a_model_name_from_the_folder()
    {
        File.WriteAllBytes(Path.Combine(this.temp.Path, "small.safetensors"), ValidSafetensors());
        var (exit, output, _) = Invoke("inspect", "small", "--dir", this.temp.Path);
        Assert.Equal(0, exit);
        Assert.Contains(Path.Combine(this.temp.Path, "small.safetensors"), output);
    }

    [Fact]
    public void Models_lists_good_and_bad_files()
    {
        File.WriteAllBytes(Path.Combine(this.temp.Path, "good.safetensors"), ValidSafetensors());
        File.WriteAllBytes(Path.Combine(this.temp.Path, "broken.gguf"), "GGUF"u8.ToArray());
        var (exit, output, _) = Invoke("models", "--dir", this.temp.Path);
        Assert.Equal(0, exit);
        Assert.Contains(this.temp.Path, output);
        var lines = output.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("good ", StringComparison.Ordinal) && !l.Contains("invalid"));
        Assert.Contains(lines, l => l.StartsWith("broken ", StringComparison.Ordinal) && l.Contains("invalid:"));
    }

    [Fact]
    public void Inspect_prints_hostile_metadata_escaped_one_line_per_key()
    {
        var w = new SafetensorsWriter();
        w.Metadata["note\nfamily: SDXL"] = "v\u001b]0;pwned\u0007";
        w.Metadata["\u001b]0;pwned\u0007"] = "line one\r\nkind: Lora\u202e";
        w.Metadata["long"] = new string('x', 300) + "😀";
        w.Add("w", "F32", [1], new byte[4]);
        string path = Path.Combine(this.temp.Path, "hostile.safetensors");
        w.WriteFile(path);

        var (exit, output, error) = Invoke("inspect", path);
        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, error);
        string[] lines = output.Split(Environment.NewLine);
        Assert.Contains(@"  note\nfamily: SDXL = v\x1b]0;pwned\x07", lines);
        Assert.Contains(@"  \x1b]0;pwned\x07 = line one\r\nkind: Lora\u202e", lines);
        Assert.Contains("  long = " + new string('x', 99) + "…", lines);

        // The only "family:" line is the real one, and nothing reaches the terminal unescaped.
        Assert.Single(lines, l => l.StartsWith("family:", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("kind: Lora", StringComparison.Ordinal));
        Assert.DoesNotContain(output.Replace(Environment.NewLine, string.Empty, StringComparison.Ordinal), c => char.IsControl(c) || c == '\u202e');
    }

    [Fact]
    public void Inspect_describes_an_fnuz_file_and_says_it_cannot_be_loaded()
    {
        string path = Path.Combine(this.temp.Path, "fnuz.safetensors");
        new SafetensorsWriter().Add("w", "F8_E4M3FNUZ", [4], new byte[4]).Add("b", "F32", [4], new byte[16]).WriteFile(path);
        var (exit, output, error) = Invoke("inspect", path);
        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, error);
        Assert.Contains("  F8_E4M3FNUZ      1", output);
        Assert.Contains("loadable:    no (stable-diffusion.cpp cannot load F8_E4M3FNUZ tensors)", output);
        Assert.DoesNotContain("loadable:", Invoke("inspect", TestModelFactory.Sd1(unetChannels: 32)).Out);
    }

    [Fact]
    public void Models_prints_hostile_names_and_errors_escaped()
    {
        File.WriteAllBytes(Path.Combine(this.temp.Path, "good.safetensors"), ValidSafetensors());
        File.WriteAllBytes(Path.Combine(this.temp.Path, "bad.safetensors"), Safetensors("""{"x\nfamily: SDXL\u001b]0;pwned\u0007":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 4));
        if (!OperatingSystem.IsWindows())
        {
            File.WriteAllBytes(Path.Combine(this.temp.Path, "evil\u001b[2J\nname.safetensors"), ValidSafetensors());
        }

        var (exit, output, _) = Invoke("models", "--dir", this.temp.Path);
        Assert.Equal(0, exit);
        string[] lines = output.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("bad ", StringComparison.Ordinal) && l.Contains(@"tensor 'x\nfamily: SDXL\x1b]0;pwned\x07'", StringComparison.Ordinal));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Contains(lines, l => l.StartsWith(@"evil\x1b[2J\nname ", StringComparison.Ordinal));
        }

        Assert.Equal(OperatingSystem.IsWindows() ? 3 : 4, lines.Length); // the folder line and one per file
        Assert.DoesNotContain(string.Concat(lines), c => char.IsControl(c));
    }

    [Fact]
    public void Errors_quoting_the_file_are_escaped_on_one_line()
    {
        string bad = Path.Combine(this.temp.Path, "bad.safetensors");
        File.WriteAllBytes(bad, Safetensors("""{"x\nfamily: SDXL\u001b]0;pwned\u0007":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 4));
        var (exit, output, error) = Invoke("inspect", bad);
        Assert.Equal(1, exit);
        Assert.Equal(string.Empty, output);
        string line = Assert.Single(error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(@"tensor 'x\nfamily: SDXL\x1b]0;pwned\x07'", line);
        Assert.DoesNotContain(line, c => char.IsControl(c));
    }

    [Fact]
    public void Models_on_an_empty_folder_says_so()
    {
        var (exit, output, _) = Invoke("models", "--dir", Path.Combine(this.temp.Path, "none"));
        Assert.Equal(0, exit);
        Assert.Contains("no models", output);
    }

    [Fact]
    public void ResolveModel_keeps_paths_and_resolves_names()
    {
        Assert.Null(ModelCommands.ResolveModel(null));
        string model = Path.Combine(this.temp.Path, "named.safetensors");
        File.WriteAllBytes(model, ValidSafetensors());
        Assert.Equal(model, ModelCommands.ResolveModel(model));
        Assert.Equal(model, ModelCommands.ResolveModel("named", this.temp.Path));
        Assert.Throws<ArgumentException>(() => ModelCommands.ResolveModel("unnamed", this.temp.Path));
    }
}

[Collection(NativeToolCollection.Name)]
public sealed class CliConvertCommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("sdn-cliconv-").FullName;

    public void Dispose() => Directory.Delete(this.dir, recursive: true);

    [SkippableFact]
    public void Convert_writes_the_file_and_prints_its_size_and_time()
    {
        NativeTestEnvironment.Require();
        string output = Path.Combine(this.dir, "tiny.q4_0.gguf");
        var (exit, stdout, stderr) = CliModelCommandsTests.Invoke("convert", NativeTestEnvironment.TinySd1, "-o", output, "--type", "q4_0", "--threads", NativeTestEnvironment.ThreadsArgument);
        Assert.True(exit == 0, stderr);
        Assert.Contains("wrote " + output, stdout);
        Assert.Contains("MiB", stdout);
        Assert.Contains("converted", stderr);
        Assert.Contains(GgufFile.Open(output).Tensors, t => t.Type == QuantizationType.Q4_0);

        // An existing output needs --force.
        (exit, _, _) = CliModelCommandsTests.Invoke("convert", NativeTestEnvironment.TinySd1, "-o", output, "--type", "q4_0");
        Assert.Equal(2, exit);
    }
}
