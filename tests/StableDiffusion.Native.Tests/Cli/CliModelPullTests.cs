using System.CommandLine;
using System.Diagnostics;
using StableDiffusion.Native.Cli;

namespace StableDiffusion.Native.Tests.Cli;

/// <summary>
/// <c>sdnet models pull</c>, invoked in-process against a loopback hub. HF_ENDPOINT and HF_TOKEN come from an
/// environment reader given to the commands, so the tests never change the process's environment.
/// </summary>
public sealed class CliModelPullTests : IDisposable
{
    private readonly TempDirectory temp = new("sdn-cli-pull");
    private readonly LoopbackHub hub = new();
    private readonly byte[] content = Bytes(200_000);

    public void Dispose()
    {
        this.hub.Dispose();
        this.temp.Dispose();
    }

    private string Models => Path.Combine(this.temp.Path, "models");

    [Fact]
    public async Task Pull_prints_the_final_path_on_stdout_and_progress_on_stderr()
    {
        this.hub.Add("o/r/model.safetensors", this.content);

        var (exit, output, error) = await this.InvokeAsync("models", "pull", "hf:o/r/model.safetensors", "--dir", this.Models);

        string path = Path.Combine(this.Models, "model.safetensors");
        Assert.True(exit == 0, error);
        Assert.Equal(path + Environment.NewLine, output);
        Assert.Equal(this.content, File.ReadAllBytes(path));
        string[] lines = Lines(error);
        Assert.StartsWith("downloading hf:o/r/model.safetensors (195.3 KiB)", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("100%  195.3 KiB of 195.3 KiB", StringComparison.Ordinal));
        Assert.Equal($"verified: 195.3 KiB, sha256 {HubFile.Sha256Of(this.content)}", lines[^1]);
    }

    [Fact]
    public async Task Pull_takes_the_folder_from_the_models_command_too_and_models_still_lists()
    {
        this.hub.Add("o/r/model.safetensors", this.content);

        var (exit, output, _) = await this.InvokeAsync("models", "--dir", this.Models, "pull", "hf:o/r/model.safetensors");
        Assert.Equal(0, exit);
        Assert.Equal(Path.Combine(this.Models, "model.safetensors"), output.Trim());

        (exit, output, _) = await this.InvokeAsync("models", "--dir", this.Models);
        Assert.Equal(0, exit);
        Assert.Contains("models folder: " + this.Models, output);
        Assert.Contains(Lines(output), l => l.StartsWith("model ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Pulling_a_model_of_several_files_writes_the_manifest_that_loads_them_by_one_name()
    {
        this.hub.Add("bfl/flux/flux1-schnell-q4_0.gguf", Bytes(50_000));
        this.hub.Add("bfl/flux/ae.safetensors", Bytes(40_000));
        this.hub.Add("enc/t5/t5xxl-q4_k.gguf", Bytes(30_000));

        var (exit, output, error) = await this.InvokeAsync("models", "pull", "--dir", this.Models, "--diffusion-model", "hf:bfl/flux/flux1-schnell-q4_0.gguf",
            "--vae", "hf:bfl/flux/ae.safetensors", "--t5xxl", "hf:enc/t5/t5xxl-q4_k.gguf", "--name", "flux-schnell", "--steps", "4", "--cfg-scale", "1", "--sampler", "euler");

        Assert.True(exit == 0, error);
        string manifestPath = Path.Combine(this.Models, "flux-schnell.model.json");
        Assert.Equal(
            [Path.Combine(this.Models, "flux1-schnell-q4_0.gguf"), Path.Combine(this.Models, "ae.safetensors"), Path.Combine(this.Models, "t5xxl-q4_k.gguf"), manifestPath],
            Lines(output));
        var manifest = StableDiffusion.Native.ModelFiles.ModelManifest.Load(manifestPath);
        Assert.Equal(Path.Combine(this.Models, "flux1-schnell-q4_0.gguf"), manifest.DiffusionModel);
        Assert.Equal(Path.Combine(this.Models, "ae.safetensors"), manifest.Vae);
        Assert.Equal(Path.Combine(this.Models, "t5xxl-q4_k.gguf"), manifest.T5xxl);
        Assert.Null(manifest.Model);
        Assert.Equal(new StableDiffusion.Native.ModelFiles.ModelDefaults { Steps = 4, CfgScale = 1, Sampler = Sampler.Euler }, manifest.Defaults);
        // The folder resolves the name to the manifest, as generate, serve and the library do.
        Assert.Equal(manifestPath, new StableDiffusion.Native.ModelFiles.ModelsFolder(this.Models).Resolve("flux-schnell"));
        Assert.DoesNotContain(Path.GetDirectoryName(this.Models)!, File.ReadAllText(manifestPath), StringComparison.Ordinal); // file names, so the folder can move

        // The same again: the files are kept, and the manifest is not replaced without --force.
        (exit, _, error) = await this.InvokeAsync("models", "pull", "--dir", this.Models, "--diffusion-model", "hf:bfl/flux/flux1-schnell-q4_0.gguf", "--name", "flux-schnell");
        Assert.Equal(1, exit);
        Assert.Contains("exists; --force replaces it", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--name", "../up", "--name must be")]
    [InlineData("--sampler", "warp", "unknown sampler 'warp'")]
    [InlineData("--steps", "0", "--steps must be 1 to 10000")]
    public async Task A_bad_manifest_setting_is_refused_before_anything_is_downloaded(string option, string value, string expected)
    {
        this.hub.Add("bfl/flux/flux.gguf", Bytes(10_000));
        var (exit, _, error) = await this.InvokeAsync("models", "pull", "--dir", this.Models, "--diffusion-model", "hf:bfl/flux/flux.gguf", option, value);
        Assert.NotEqual(0, exit);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(this.Models) && Directory.EnumerateFileSystemEntries(this.Models).Any(), "something was downloaded");
    }

    [Fact]
    public async Task A_pull_needs_exactly_one_main_file()
    {
        var (exit, _, error) = await this.InvokeAsync("models", "pull", "--dir", this.Models, "--vae", "hf:bfl/flux/ae.safetensors");
        Assert.NotEqual(0, exit);
        Assert.Contains("needs a file", error, StringComparison.Ordinal);
        (exit, _, error) = await this.InvokeAsync("models", "pull", "hf:o/r/model.safetensors", "--dir", this.Models, "--diffusion-model", "hf:bfl/flux/flux.gguf");
        Assert.NotEqual(0, exit);
        Assert.Contains("not both", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_is_one_error_line_and_exit_code_1()
    {
        var (exit, output, error) = await this.InvokeAsync("models", "pull", "hf:o/r/nope.safetensors", "--dir", this.Models);

        Assert.Equal(CliCommon.Failed, exit);
        Assert.Equal(string.Empty, output);
        string line = Assert.Single(Lines(error));
        Assert.StartsWith("error: Could not download hf:o/r/nope.safetensors: the hub answered 404 NotFound: o/r has no file 'nope.safetensors'", line);
    }

    [Fact]
    public async Task A_gated_repository_without_a_token_is_one_error_line_naming_HF_TOKEN_and_the_token_is_read_from_the_environment()
    {
        this.hub.Add("o/r/model.safetensors", new HubFile(this.content) { RequiredToken = "hf_cli" });

        var (exit, _, error) = await this.InvokeAsync("models", "pull", "hf:o/r/model.safetensors", "--dir", this.Models);
        Assert.Equal(CliCommon.Failed, exit);
        Assert.Contains("set HF_TOKEN", Assert.Single(Lines(error)));

        (exit, _, error) = await this.InvokeWithTokenAsync("hf_cli", "models", "pull", "hf:o/r/model.safetensors", "--dir", this.Models);
        Assert.True(exit == 0, error);
    }

    [Fact]
    public async Task A_malformed_reference_is_a_usage_error()
    {
        var (exit, _, error) = await this.InvokeAsync("models", "pull", "hf:o/r", "--dir", this.Models);
        Assert.Equal(CliCommon.BadArguments, exit);
        Assert.Contains("names no file", Assert.Single(Lines(error)));
        Assert.Empty(this.hub.Requests);
    }

    [Fact]
    public async Task A_pickle_needs_allow_pickle()
    {
        this.hub.Add("o/r/model.ckpt", this.content);

        var (exit, _, error) = await this.InvokeAsync("models", "pull", "hf:o/r/model.ckpt", "--dir", this.Models);
        Assert.Equal(CliCommon.Failed, exit);
        Assert.Contains("--allow-pickle", Assert.Single(Lines(error)));
        Assert.Empty(this.hub.Requests);

        (exit, _, _) = await this.InvokeAsync("models", "pull", "hf:o/r/model.ckpt", "--dir", this.Models, "--allow-pickle");
        Assert.Equal(0, exit);
    }

    [Fact]
    public async Task Force_downloads_a_file_of_another_size_again()
    {
        this.hub.Add("o/r/model.safetensors", this.content);
        Directory.CreateDirectory(this.Models);
        File.WriteAllBytes(Path.Combine(this.Models, "model.safetensors"), [1, 2, 3]);

        var (exit, _, error) = await this.InvokeAsync("models", "pull", "hf:o/r/model.safetensors", "--dir", this.Models);
        Assert.Equal(CliCommon.Failed, exit);
        Assert.Contains("--force", Assert.Single(Lines(error)));

        (exit, _, _) = await this.InvokeAsync("models", "pull", "hf:o/r/model.safetensors", "--dir", this.Models, "--force");
        Assert.Equal(0, exit);
        Assert.Equal(this.content, File.ReadAllBytes(Path.Combine(this.Models, "model.safetensors")));
    }

    [Fact]
    public async Task Cancelling_exits_130_and_says_the_part_is_kept_for_a_resume()
    {
        this.hub.Add("o/r/model.safetensors", this.content);
        this.hub.Intercept = r => r.Method == "GET" && r.Target.StartsWith("/cdn/", StringComparison.Ordinal)
            ? new HubResponse { Status = 200, Body = this.content, StallAfter = 50_000 }
            : null;
        string part = Path.Combine(this.Models, "model.safetensors.part");
        using var cts = new CancellationTokenSource();

        var run = this.RunAsync(null, ["models", "pull", "hf:o/r/model.safetensors", "--dir", this.Models], cts.Token);
        var clock = Stopwatch.StartNew();
        while (!(File.Exists(part) && new FileInfo(part).Length == 50_000))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "the download never reached the stall");
            await Task.Delay(10);
        }

        cts.Cancel();
        var (exit, output, error) = await run;

        Assert.Equal(CliCommon.Cancelled, exit);
        Assert.Equal(string.Empty, output);
        string[] lines = Lines(error);
        Assert.Equal($"kept {part}: run the same command again to resume the download", lines[^2]);
        Assert.Equal("cancelled", lines[^1]);
        Assert.Equal(50_000, new FileInfo(part).Length);

        this.hub.Intercept = null;
        (exit, output, _) = await this.InvokeAsync("models", "pull", "hf:o/r/model.safetensors", "--dir", this.Models);
        Assert.Equal(0, exit);
        Assert.Equal("bytes=50000-", this.hub.CdnRequests.Last().Header("Range"));
        Assert.Equal(this.content, File.ReadAllBytes(output.Trim()));
    }

    [SkippableFact]
    public async Task Ctrl_C_on_the_sdnet_process_exits_130_and_keeps_the_part()
    {
        // The signal path itself (System.CommandLine's handler turning SIGINT into the action's cancellation), which
        // an in-process invocation with a token does not cross.
        Skip.If(OperatingSystem.IsWindows(), "SIGINT is sent with kill(1), which Windows does not have");
        ChildProcess.SkipIfChildrenIgnoreSigInt();
        this.hub.Add("o/r/model.safetensors", this.content);
        this.hub.Intercept = r => r.Method == "GET" && r.Target.StartsWith("/cdn/", StringComparison.Ordinal)
            ? new HubResponse { Status = 200, Body = this.content, StallAfter = 50_000 }
            : null;
        string part = Path.Combine(this.Models, "model.safetensors.part");
        var psi = new ProcessStartInfo(ChildProcess.DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { ChildProcess.SdnetDll, "models", "pull", "hf:o/r/model.safetensors", "--dir", this.Models }) psi.ArgumentList.Add(a);
        psi.Environment["HF_ENDPOINT"] = this.hub.Endpoint.AbsoluteUri;
        psi.Environment.Remove("HF_TOKEN");
        using var sdnet = Process.Start(psi)!;
        var stdout = sdnet.StandardOutput.ReadToEndAsync();
        var stderr = sdnet.StandardError.ReadToEndAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            while (!(File.Exists(part) && new FileInfo(part).Length == 50_000))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60) && !sdnet.HasExited, "the download never reached the stall: " + (sdnet.HasExited ? await stderr : ""));
                await Task.Delay(20);
            }

            using (var kill = Process.Start("kill", ["-INT", sdnet.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await sdnet.WaitForExitAsync(wait.Token);
        }
        finally
        {
            if (!sdnet.HasExited) sdnet.Kill(entireProcessTree: true);
        }

        Assert.Equal(CliCommon.Cancelled, sdnet.ExitCode);
        Assert.Equal(string.Empty, await stdout);
        string[] lines = Lines(await stderr);
        Assert.Equal($"kept {part}: run the same command again to resume the download", lines[^2]);
        Assert.Equal("cancelled", lines[^1]);
        Assert.Equal(50_000, new FileInfo(part).Length);
    }

    private Task<(int Exit, string Out, string Err)> InvokeAsync(params string[] args) => this.RunAsync(null, args, CancellationToken.None);

    private Task<(int Exit, string Out, string Err)> InvokeWithTokenAsync(string token, params string[] args) => this.RunAsync(token, args, CancellationToken.None);

    private async Task<(int Exit, string Out, string Err)> RunAsync(string? token, string[] args, CancellationToken cancellationToken)
    {
        string endpoint = this.hub.Endpoint.AbsoluteUri;
        Func<string, string?> environment = name => name switch
        {
            "HF_ENDPOINT" => endpoint,
            "HF_TOKEN" => token,
            _ => null,
        };
        var root = new RootCommand("test");
        foreach (var c in ModelCommands.Create(environment)) root.Subcommands.Add(c);
        var output = new StringWriter();
        var error = new StringWriter();
        var configuration = new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null };
        int exit = await root.Parse(args).InvokeAsync(configuration, cancellationToken);
        return (exit, output.ToString(), error.ToString());
    }

    private static string[] Lines(string text) => text.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);

    private static byte[] Bytes(int length)
    {
        var bytes = new byte[length];
        new Random(99).NextBytes(bytes);
        return bytes;
    }
}
