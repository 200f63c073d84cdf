using System.Diagnostics.CodeAnalysis;
using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Hub;

/// <summary>
/// Pulling models from the Hugging Face hub into a <see cref="ModelsFolder"/>. The hub client is a room of its own:
/// ModelFiles only reads files, and this room adds the network on top of it.
/// </summary>
public static class ModelsFolderHubExtensions
{
    /// <summary>
    /// Downloads a file from the Hugging Face hub into the folder (created if missing), resuming an interrupted
    /// download and verifying the result, and returns its full path.
    /// </summary>
    /// <param name="folder">The models folder to download into.</param>
    /// <param name="reference">The file, <c>hf:OWNER/REPO/PATH[@REVISION]</c> (see <see cref="HubFileReference"/>).</param>
    /// <param name="options">The hub, the token, retries; <see langword="null"/> reads <c>HF_ENDPOINT</c> and <c>HF_TOKEN</c>.</param>
    /// <param name="progress">Told about bytes received, speed and time left, then the hashing; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the download; the partial file is kept, so the next pull resumes it.</param>
    /// <returns>The full path of the verified file in the folder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="reference"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException"><paramref name="reference"/> is not a valid hub file reference.</exception>
    /// <exception cref="ArgumentException">See <see cref="PullAsync(ModelsFolder, HubFileReference, ModelPullOptions?, IProgress{ModelPullProgress}?, CancellationToken)"/>.</exception>
    /// <exception cref="ModelDownloadException">See <see cref="PullAsync(ModelsFolder, HubFileReference, ModelPullOptions?, IProgress{ModelPullProgress}?, CancellationToken)"/>.</exception>
    /// <exception cref="IOException">The folder or the file could not be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder or the file may not be written.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in their first, required parameter (a string or a HubFileReference), so no call can bind ambiguously; the rule guards overloads that differ in optional parameters only.")]
    public static Task<string> PullAsync(this ModelsFolder folder, string reference, ModelPullOptions? options = null, IProgress<ModelPullProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(reference);
        return folder.PullAsync(HubFileReference.Parse(reference), options, progress, cancellationToken);
    }

    /// <summary>
    /// Downloads a file from the Hugging Face hub into the folder (created if missing), resuming an interrupted
    /// download and verifying the result, and returns its full path.
    /// </summary>
    /// <remarks>
    /// <para>A HEAD on <c>{endpoint}/{owner}/{repo}/resolve/{revision}/{path}</c> (relative redirects, such as a renamed
    /// repository's, followed) gives the file's size and sha256 (<c>X-Linked-Size</c>, <c>X-Linked-Etag</c>; for a file
    /// outside Git LFS <c>Content-Length</c> and <c>ETag</c>, which is no sha256, so that only the size is verified
    /// and a warning is logged). A GET, following the redirect to the CDN, writes <c>NAME.part</c> in the folder; an
    /// existing <c>.part</c> is resumed with a <c>Range</c> request. Dropped, failed or stalled connections and 5xx or
    /// 429 answers are retried with exponential backoff, resuming from what is on disk
    /// (<see cref="ModelPullOptions.MaxRetries"/>).</para>
    /// <para>The complete part's size, then the sha256 of the whole file, are checked against the hub's; only then is
    /// it renamed to <c>NAME</c> (the last segment of the path). A part that fails the check is deleted. A
    /// cancelled or failed download keeps its part for the next pull.</para>
    /// <para>A file <c>NAME</c> already in the folder whose size is the hub's is returned without downloading and
    /// without hashing it again (hashing gigabytes would cost seconds on every call; a pulled file only gets its
    /// name once verified). <see cref="ModelPullOptions.Overwrite"/> downloads and verifies it anew.</para>
    /// <para>The token is sent to the endpoint's host only, never to a host a request is redirected to.</para>
    /// </remarks>
    /// <param name="folder">The models folder to download into.</param>
    /// <param name="file">The file.</param>
    /// <param name="options">The hub, the token, retries; <see langword="null"/> reads <c>HF_ENDPOINT</c> and <c>HF_TOKEN</c>.</param>
    /// <param name="progress">Told about bytes received, speed and time left, then the hashing; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the download; the partial file is kept, so the next pull resumes it.</param>
    /// <returns>The full path of the verified file in the folder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="file"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The file's name cannot be a file name on this system, an option is out of range (a negative retry count or
    /// delay, a timeout that is not positive, an endpoint that is not an http(s) URL), or <c>HF_ENDPOINT</c> is
    /// malformed.
    /// </exception>
    /// <exception cref="ModelDownloadException">
    /// The download failed or is not the hub's file (<see cref="ModelDownloadException.Reason"/> says why, with the
    /// HTTP status where one caused it): 401/403 (gated or private: set <c>HF_TOKEN</c>), 404, retries exhausted,
    /// a size or sha256 mismatch, a pickle-based file refused before any request, or a file of that name of another
    /// size in the folder.
    /// </exception>
    /// <exception cref="IOException">The folder or the file could not be written, or another pull holds the part.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder or the file may not be written.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in their first, required parameter (a string or a HubFileReference), so no call can bind ambiguously; the rule guards overloads that differ in optional parameters only.")]
    public static Task<string> PullAsync(this ModelsFolder folder, HubFileReference file, ModelPullOptions? options = null, IProgress<ModelPullProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(file);
        options ??= new ModelPullOptions();
        HubDownload.Validate(file, options);
        return HubDownload.RunAsync(folder.Directory, file, options, progress, cancellationToken);
    }
}
