using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Hub;

namespace StableDiffusion.Native.Tests.ModelFiles;

/// <summary>
/// <see cref="ModelsFolder.PullAsync(HubFileReference, ModelPullOptions?, IProgress{ModelPullProgress}?, CancellationToken)"/>
/// against a hub on a loopback port (<see cref="LoopbackHub"/>): redirects, resume, retries, verification, errors.
/// Every test has its own hub and folder, and options that name the hub explicitly, so they run in parallel and never
/// read or change the process's environment.
/// </summary>
public sealed class ModelPullTests : IDisposable
{
    private const string Reference = "hf:o/r/model.safetensors";
    private readonly TempDirectory temp = new("sdn-pull");
    private readonly LoopbackHub hub = new();
    private readonly byte[] content = Bytes(300_000);

    public ModelPullTests()
    {
        this.Folder = new ModelsFolder(Path.Combine(this.temp.Path, "models"));
    }

    /// <summary>Not created yet: the pull creates it.</summary>
    private ModelsFolder Folder { get; }

    private string FinalPath => Path.Combine(this.Folder.Directory, "model.safetensors");

    private string PartPath => this.FinalPath + ".part";

    public void Dispose()
    {
        this.hub.Dispose();
        this.temp.Dispose();
    }

    [Fact]
    public async Task A_pull_follows_the_cdn_redirect_verifies_the_sha256_and_leaves_no_part()
    {
        this.hub.Add("o/r/model.safetensors", this.content);
        var progress = new Collect<ModelPullProgress>();

        string path = await this.Folder.PullAsync(Reference, this.Options(), progress);

        Assert.Equal(this.FinalPath, path);
        Assert.Equal(this.content, File.ReadAllBytes(path));
        Assert.False(File.Exists(this.PartPath));
        Assert.Equal(["HEAD /o/r/resolve/main/model.safetensors", "GET /o/r/resolve/main/model.safetensors"], this.hub.ResolveRequests.Select(r => $"{r.Method} {r.Target}"));
        var cdn = Assert.Single(this.hub.CdnRequests);
        Assert.Equal("GET", cdn.Method);
        Assert.StartsWith("localhost:", cdn.Host);
        Assert.Null(cdn.Header("Range"));
        Assert.Equal("identity", cdn.Header("Accept-Encoding"));

        string sha = HubFile.Sha256Of(this.content);
        Assert.Contains(progress.Items, p => p.Stage == ModelPullStage.Verifying);
        var last = progress.Items[^1];
        Assert.Equal(new ModelPullProgress(ModelPullStage.Completed, this.content.Length, this.content.Length, 0, TimeSpan.Zero, 0, sha), last);
        Assert.All(progress.Items, p => Assert.Equal(sha, p.Sha256));
    }

    [Fact]
    public async Task A_revision_with_a_slash_travels_as_one_escaped_segment()
    {
        this.hub.Add("o/r/model.safetensors", new HubFile(this.content), revision: "refs/pr/1");
        await this.Folder.PullAsync(Reference + "@refs/pr/1", this.Options());
        Assert.Equal(this.content, File.ReadAllBytes(this.FinalPath));
        Assert.Contains(this.hub.ResolveRequests, r => r.Target == "/o/r/resolve/refs%2Fpr%2F1/model.safetensors");
    }

    [Fact]
    public async Task A_relative_redirect_of_a_renamed_repository_is_followed_with_the_token()
    {
        this.hub.Rename("old-owner/old-name", "o/r");
        this.hub.Add("o/r/model.safetensors", new HubFile(this.content) { RequiredToken = "hf_secret" });

        await this.Folder.PullAsync("hf:old-owner/old-name/model.safetensors", this.Options() with { Token = "hf_secret" });

        Assert.Equal(this.content, File.ReadAllBytes(this.FinalPath));
        var heads = this.hub.ResolveRequests.Where(r => r.Method == "HEAD").ToList();
        Assert.Equal(["/old-owner/old-name/resolve/main/model.safetensors", "/o/r/resolve/main/model.safetensors"], heads.Select(r => r.Target));
        Assert.All(heads, r => Assert.Equal("Bearer hf_secret", r.Header("Authorization")));
    }

    [Fact]
    public async Task An_existing_part_is_resumed_with_a_range_request()
    {
        Directory.CreateDirectory(this.Folder.Directory);
        File.WriteAllBytes(this.PartPath, this.content[..100_000]);
        this.hub.Add("o/r/model.safetensors", this.content);
        var progress = new Collect<ModelPullProgress>();

        await this.Folder.PullAsync(Reference, this.Options(), progress);

        Assert.Equal(this.content, File.ReadAllBytes(this.FinalPath));
        Assert.False(File.Exists(this.PartPath));
        Assert.Equal("bytes=100000-", Assert.Single(this.hub.CdnRequests).Header("Range"));
        Assert.Contains(progress.Items, p => p.Stage == ModelPullStage.Downloading && p.ResumedFrom == 100_000);
    }

    [Fact]
    public async Task A_dropped_connection_is_retried_and_resumes_where_it_stopped()
    {
        this.hub.Add("o/r/model.safetensors", this.content);
        int gets = 0;
        this.hub.Intercept = r => r.Method == "GET" && r.Target.StartsWith("/cdn/", StringComparison.Ordinal) && Interlocked.Increment(ref gets) == 1
            ? new HubResponse { Status = 200, Body = this.content, DropAfter = 120_000 }
            : null;
        var log = new ListLogger();

        await this.Folder.PullAsync(Reference, this.Options() with { Logger = log });

        Assert.Equal(this.content, File.ReadAllBytes(this.FinalPath));
        Assert.Equal([null, "bytes=120000-"], this.hub.CdnRequests.Select(r => r.Header("Range")));
        Assert.Contains(log.Lines, l => l.Contains("retrying", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_corrupted_byte_fails_the_sha256_check_deletes_the_part_and_keeps_no_file()
    {
        byte[] corrupt = [.. this.content];
        corrupt[150_000] ^= 0x01;
        this.hub.Add("o/r/model.safetensors", new HubFile(corrupt) { AnnouncedSha256 = HubFile.Sha256Of(this.content) });

        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => this.Folder.PullAsync(Reference, this.Options()));

        Assert.Equal(ModelDownloadFailure.HashMismatch, e.Reason);
        Assert.Null(e.StatusCode);
        Assert.Contains(HubFile.Sha256Of(this.content), e.Message);
        Assert.Contains(HubFile.Sha256Of(corrupt), e.Message);
        Assert.False(File.Exists(this.FinalPath));
        Assert.False(File.Exists(this.PartPath));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(-10)]
    public async Task A_file_of_another_size_than_announced_fails_and_deletes_the_part(int difference)
    {
        this.hub.Add("o/r/model.safetensors", new HubFile(this.content) { AnnouncedSize = this.content.Length + difference });

        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => this.Folder.PullAsync(Reference, this.Options()));

        Assert.Equal(ModelDownloadFailure.SizeMismatch, e.Reason);
        Assert.Contains((this.content.Length + difference).ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
        Assert.False(File.Exists(this.FinalPath));
        Assert.False(File.Exists(this.PartPath));
        Assert.Single(this.hub.CdnRequests); // not retried: the server's file is another one
    }

    [Fact]
    public async Task A_missing_file_is_a_404_in_one_line_without_retries()
    {
        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => this.Folder.PullAsync("hf:o/r/nope.safetensors", this.Options()));

        Assert.Equal(ModelDownloadFailure.NotFound, e.Reason);
        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
        Assert.Contains("404", e.Message);
        Assert.Contains("o/r has no file 'nope.safetensors' at revision 'main'", e.Message);
        Assert.Contains("nope.safetensors does not exist on \"main\"", e.Message); // the hub's X-Error-Message
        Assert.DoesNotContain(e.Message, char.IsControl);
        Assert.Single(this.hub.Requests);
        Assert.False(Directory.Exists(this.Folder.Directory));
    }

    [Fact]
    public async Task A_gated_repository_is_a_401_that_says_to_set_HF_TOKEN()
    {
        this.hub.Add("o/r/model.safetensors", new HubFile(this.content) { RequiredToken = "hf_right" });

        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => this.Folder.PullAsync(Reference, this.Options()));
        Assert.Equal(ModelDownloadFailure.Unauthorized, e.Reason);
        Assert.Equal(HttpStatusCode.Unauthorized, e.StatusCode);
        Assert.Contains("gated or private", e.Message);
        Assert.Contains("set HF_TOKEN", e.Message);
        Assert.DoesNotContain(e.Message, char.IsControl);

        e = await Assert.ThrowsAsync<ModelDownloadException>(() => this.Folder.PullAsync(Reference, this.Options() with { Token = "hf_wrong" }));
        Assert.Equal(HttpStatusCode.Unauthorized, e.StatusCode);
        Assert.Contains("the token (HF_TOKEN) gives no access to o/r", e.Message);
        Assert.DoesNotContain("hf_wrong", e.Message);
        Assert.Equal(2, this.hub.Requests.Count);
    }

    [Fact]
    public async Task The_token_goes_to_the_hub_as_a_bearer_token_but_never_to_the_cdn_host()
    {
        this.hub.Add("o/r/model.safetensors", new HubFile(this.content) { RequiredToken = "hf_secret" });

        await this.Folder.PullAsync(Reference, this.Options() with { Token = "hf_secret" });

        Assert.Equal(this.content, File.ReadAllBytes(this.FinalPath));
        Assert.Equal(2, this.hub.ResolveRequests.Count());
        Assert.All(this.hub.ResolveRequests, r => Assert.Equal("Bearer hf_secret", r.Header("Authorization")));
        var cdn = Assert.Single(this.hub.CdnRequests);
        Assert.StartsWith("localhost:", cdn.Host);
        Assert.Null(cdn.Header("Authorization"));
    }

    [Theory]
    [InlineData("model.ckpt")]
    [InlineData("model.pt")]
    [InlineData("model.pth")]
    [InlineData("pytorch_model.bin")]
    [InlineData("MODEL.CKPT")]
    public async Task A_pickle_is_refused_before_any_request(string name)
    {
        this.hub.Add("o/r/" + name, this.content);

        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => this.Folder.PullAsync("hf:o/r/" + name, this.Options()));

        Assert.Equal(ModelDownloadFailure.UnsafeFormat, e.Reason);
        Assert.Contains("pickle", e.Message);
        Assert.Empty(this.hub.Requests);
        Assert.False(Directory.Exists(this.Folder.Directory));
    }

    [Fact]
    public async Task A_pickle_is_downloaded_when_allowed()
    {
        this.hub.Add("o/r/model.ckpt", this.content);
        string path = await this.Folder.PullAsync("hf:o/r/model.ckpt", this.Options() with { AllowLegacyPickle = true });
        Assert.Equal(this.content, File.ReadAllBytes(path));
    }

    [Fact]
    public void The_options_read_HF_ENDPOINT_and_HF_TOKEN_from_the_environment()
    {
        var set = new ModelPullOptions(Environment(("HF_ENDPOINT", "http://mirror.example:8080/hf/"), ("HF_TOKEN", " hf_abc ")));
        Assert.Equal(new Uri("http://mirror.example:8080/hf/"), set.Endpoint);
        Assert.Equal("hf_abc", set.Token);
        Assert.DoesNotContain("hf_abc", set.ToString());
        Assert.Contains("mirror.example", set.ToString());

        var unset = new ModelPullOptions(Environment(("HF_ENDPOINT", " "), ("HF_TOKEN", "")));
        Assert.Equal(new Uri("https://huggingface.co"), unset.Endpoint);
        Assert.Null(unset.Token);
        Assert.Equal(5, unset.MaxRetries);
        Assert.False(unset.AllowLegacyPickle);

        var e = Assert.Throws<ArgumentException>(() => new ModelPullOptions(Environment(("HF_ENDPOINT", "hub.example\u001b[2J"))));
        Assert.Contains("HF_ENDPOINT", e.Message);
        Assert.Contains(@"hub.example\x1b[2J", e.Message);

        // The parameterless constructor reads this process's environment (read, never changed, here).
        var process = new ModelPullOptions();
        var expected = new ModelPullOptions(System.Environment.GetEnvironmentVariable);
        Assert.Equal(expected.Endpoint, process.Endpoint);
        Assert.Equal(expected.Token, process.Token);
    }

    [Fact]
    public async Task A_pull_with_the_environments_endpoint_and_token_reaches_that_hub_with_that_token()
    {
        this.hub.Add("o/r/model.safetensors", new HubFile(this.content) { RequiredToken = "hf_env" });
        var options = new ModelPullOptions(Environment(("HF_ENDPOINT", this.hub.Endpoint.AbsoluteUri), ("HF_TOKEN", "hf_env")));

        await this.Folder.PullAsync(Reference, options);

        Assert.Equal(this.content, File.ReadAllBytes(this.FinalPath));
        Assert.All(this.hub.ResolveRequests, r => Assert.Equal("Bearer hf_env", r.Header("Authorization")));
    }

    [Fact]
    public async Task Cancelling_keeps_the_part_and_the_next_pull_resumes_it()
    {
        this.hub.Add("o/r/model.safetensors", this.content);
        this.hub.Intercept = r => r.Method == "GET" && r.Target.StartsWith("/cdn/", StringComparison.Ordinal)
            ? new HubResponse { Status = 200, Body = this.content, StallAfter = 100_000 }
            : null;
        using var cts = new CancellationTokenSource();

        var pull = this.Folder.PullAsync(Reference, this.Options(), null, cts.Token);
        await WaitUntil(() => File.Exists(this.PartPath) && new FileInfo(this.PartPath).Length == 100_000);
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pull);
        Assert.Equal(100_000, new FileInfo(this.PartPath).Length);
        Assert.False(File.Exists(this.FinalPath));

        this.hub.Intercept = null;
        await this.Folder.PullAsync(Reference, this.Options());
        Assert.Equal(this.content, File.ReadAllBytes(this.FinalPath));
        Assert.False(File.Exists(this.PartPath));
        Assert.Equal("bytes=100000-", this.hub.CdnRequests.Last().Header("Range"));
    }

    [Fact]
    public async Task A_second_pull_of_a_file_being_pulled_fails_instead_of_writing_into_its_part()
    {
        this.hub.Add("o/r/model.safetensors", this.content);
        this.hub.Intercept = r => r.Method == "GET" && r.Target.StartsWith("/cdn/", StringComparison.Ordinal)
            ? new HubResponse { Status = 200, Body = this.content, StallAfter = 100_000 }
            : null;
        using var cts = new CancellationTokenSource();
        var first = this.Folder.PullAsync(Reference, this.Options(), null, cts.Token);
        await WaitUntil(() => File.Exists(this.PartPath) && new FileInfo(this.PartPath).Length == 100_000);

        await Assert.ThrowsAsync<IOException>(() => this.Folder.PullAsync(Reference, this.Options()));

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.Equal(100_000, new FileInfo(this.PartPath).Length);
    }

    [Fact]
    public async Task Server_errors_are_retried_with_exponential_backoff_then_the_pull_succeeds()
    {
        this.hub.Add("o/r/model.safetensors", this.content);
        int heads = 0, gets = 0;
        this.hub.Intercept = r =>
            (r.Method == "HEAD" && Interlocked.Increment(ref heads) <= 2) ? new HubResponse { Status = 503 }
            : (r.Method == "GET" && r.Target.StartsWith("/cdn/", StringComparison.Ordinal) && Interlocked.Increment(ref gets) == 1) ? new HubResponse { Status = 500, Body = "cdn hiccup\n<html>"u8.ToArray() }
            : null;
        var log = new ListLogger();
        var clock = Stopwatch.StartNew();

        await this.Folder.PullAsync(Reference, this.Options() with { RetryDelay = TimeSpan.FromMilliseconds(100), Logger = log });

        // 100 ms, then 200 ms for the HEADs; the download's own count starts again at 100 ms.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(380), $"the retries took {clock.Elapsed.TotalMilliseconds} ms");
        Assert.Equal(this.content, File.ReadAllBytes(this.FinalPath));
        Assert.Equal(3, this.hub.ResolveRequests.Count(r => r.Method == "HEAD"));
        Assert.Equal(2, this.hub.CdnRequests.Count());
        var retries = log.Lines.Where(l => l.Contains("retrying", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, retries.Count);
        Assert.Contains("503 ServiceUnavailable", retries[0]);
        Assert.Contains("retrying in 0.1 s", retries[0]);
        Assert.Contains("retrying in 0.2 s", retries[1]);
        Assert.Contains("500 InternalServerError (\"cdn hiccup <html>\")", retries[2]);
    }

    [Fact]
    public async Task Errors_that_outlast_the_retries_fail_with_the_last_status()
    {
        this.hub.Add("o/r/model.safetensors", this.content);
        this.hub.Intercept = _ => new HubResponse { Status = 503 };

        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => this.Folder.PullAsync(Reference, this.Options() with { MaxRetries = 2 }));

        Assert.Equal(ModelDownloadFailure.HttpError, e.Reason);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, e.StatusCode);
        Assert.Contains("3 attempts", e.Message);
        Assert.Equal(3, this.hub.Requests.Count);
    }

    [Fact]
    public async Task A_server_that_is_down_fails_as_a_network_error_after_the_retries()
    {
        int port = this.hub.Port;
        this.hub.Dispose();
        var options = this.Options() with { Endpoint = new Uri($"http://127.0.0.1:{port}"), MaxRetries = 1 };

        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => this.Folder.PullAsync(Reference, options));

        Assert.Equal(ModelDownloadFailure.NetworkError, e.Reason);
        Assert.Null(e.StatusCode);
        Assert.IsType<HttpRequestException>(e.InnerException);
    }

    [Fact]
    public async Task A_file_already_in_the_folder_with_the_hubs_size_is_returned_without_a_download()
    {
        Directory.CreateDirectory(this.Folder.Directory);
        File.WriteAllBytes(this.FinalPath, this.content);
        this.hub.Add("o/r/model.safetensors", this.content);
        var progress = new Collect<ModelPullProgress>();

        Assert.Equal(this.FinalPath, await this.Folder.PullAsync(Reference, this.Options(), progress));

        Assert.Empty(this.hub.CdnRequests);
        Assert.Equal(ModelPullStage.Completed, Assert.Single(progress.Items).Stage);
    }

    [Fact]
    public async Task A_file_of_another_size_in_the_folder_is_replaced_only_when_allowed()
    {
        Directory.CreateDirectory(this.Folder.Directory);
        File.WriteAllBytes(this.FinalPath, [1, 2, 3]);
        this.hub.Add("o/r/model.safetensors", this.content);

        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => this.Folder.PullAsync(Reference, this.Options()));
        Assert.Equal(ModelDownloadFailure.ExistingFileDiffers, e.Reason);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(this.FinalPath));
        Assert.Empty(this.hub.CdnRequests);

        await this.Folder.PullAsync(Reference, this.Options() with { Overwrite = true });
        Assert.Equal(this.content, File.ReadAllBytes(this.FinalPath));
    }

    [Fact]
    public async Task A_file_outside_lfs_is_verified_by_size_only_and_the_pull_says_so()
    {
        this.hub.Add("o/r/model.safetensors", new HubFile(this.content) { Lfs = false });
        var progress = new Collect<ModelPullProgress>();
        var log = new ListLogger();

        await this.Folder.PullAsync(Reference, this.Options() with { Logger = log }, progress);

        Assert.Equal(this.content, File.ReadAllBytes(this.FinalPath));
        Assert.Empty(this.hub.CdnRequests);
        Assert.DoesNotContain(progress.Items, p => p.Stage == ModelPullStage.Verifying);
        Assert.All(progress.Items, p => Assert.Null(p.Sha256));
        Assert.Equal(this.content.Length, progress.Items[^1].TotalBytes);
        Assert.Contains(log.Lines, l => l.Contains("only its size is verified", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_server_that_ignores_the_range_makes_the_pull_start_from_zero()
    {
        Directory.CreateDirectory(this.Folder.Directory);
        File.WriteAllBytes(this.PartPath, new byte[50_000]); // not the file's first bytes: appending would corrupt it
        this.hub.Add("o/r/model.safetensors", new HubFile(this.content) { IgnoreRange = true });

        await this.Folder.PullAsync(Reference, this.Options());

        Assert.Equal(this.content, File.ReadAllBytes(this.FinalPath));
        Assert.Equal("bytes=50000-", Assert.Single(this.hub.CdnRequests).Header("Range"));
    }

    [Fact]
    public async Task A_range_the_server_cannot_satisfy_makes_the_pull_start_over()
    {
        Directory.CreateDirectory(this.Folder.Directory);
        File.WriteAllBytes(this.PartPath, new byte[50_000]);
        this.hub.Add("o/r/model.safetensors", this.content);
        this.hub.Intercept = r => r.Target.StartsWith("/cdn/", StringComparison.Ordinal) && r.Header("Range") is not null ? new HubResponse { Status = 416 } : null;

        await this.Folder.PullAsync(Reference, this.Options());

        Assert.Equal(this.content, File.ReadAllBytes(this.FinalPath));
        Assert.Equal(["bytes=50000-", null], this.hub.CdnRequests.Select(r => r.Header("Range")));
    }

    [Fact]
    public async Task A_complete_part_is_verified_without_a_download()
    {
        Directory.CreateDirectory(this.Folder.Directory);
        File.WriteAllBytes(this.PartPath, this.content);
        this.hub.Add("o/r/model.safetensors", this.content);

        await this.Folder.PullAsync(Reference, this.Options());

        Assert.Equal(this.content, File.ReadAllBytes(this.FinalPath));
        Assert.Empty(this.hub.CdnRequests);
    }

    [Fact]
    public async Task Bad_options_are_refused_before_any_request()
    {
        this.hub.Add("o/r/model.safetensors", this.content);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => this.Folder.PullAsync(Reference, this.Options() with { MaxRetries = -1 }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => this.Folder.PullAsync(Reference, this.Options() with { Timeout = TimeSpan.Zero }));
        await Assert.ThrowsAsync<ArgumentException>(() => this.Folder.PullAsync(Reference, this.Options() with { Endpoint = new Uri("ftp://hub.example") }));
        await Assert.ThrowsAsync<FormatException>(() => this.Folder.PullAsync("hf:o/r/../model.safetensors", this.Options()));
        Assert.Empty(this.hub.Requests);
    }

    [Fact]
    public void Only_plain_file_names_are_accepted()
    {
        Assert.True(HubDownload.IsPlainFileName("model.safetensors", out _));
        Assert.False(HubDownload.IsPlainFileName("..", out _));
        Assert.False(HubDownload.IsPlainFileName("a\0b", out _));
        Assert.Equal(OperatingSystem.IsWindows(), !HubDownload.IsPlainFileName("CON.safetensors", out _));
        Assert.Equal(OperatingSystem.IsWindows(), !HubDownload.IsPlainFileName("model.", out _));
    }

    private ModelPullOptions Options() => new(_ => null)
    {
        Endpoint = this.hub.Endpoint,
        RetryDelay = TimeSpan.FromMilliseconds(10),
        Timeout = TimeSpan.FromSeconds(30),
    };

    private static Func<string, string?> Environment(params (string Name, string Value)[] variables)
        => name => Array.Find(variables, v => v.Name == name).Value;

    private static byte[] Bytes(int length)
    {
        var bytes = new byte[length];
        new Random(1234).NextBytes(bytes);
        return bytes;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "timed out waiting");
            await Task.Delay(10);
        }
    }

    /// <summary>Collects reports synchronously (Progress&lt;T&gt; would post them to the thread pool, out of order).</summary>
    internal sealed class Collect<T> : IProgress<T>
    {
        private readonly ConcurrentQueue<T> _items = new();

        public IReadOnlyList<T> Items => [.. _items];

        public void Report(T value) => _items.Enqueue(value);
    }

    internal sealed class ListLogger : ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => _lines.Enqueue($"{logLevel}: {formatter(state, exception)}");
    }
}
