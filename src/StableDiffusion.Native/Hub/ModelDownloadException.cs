using System.Net;

using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Hub;

/// <summary>
/// Machine-stable reasons why <see cref="ModelsFolderHubExtensions.PullAsync(ModelsFolder, HubFileReference, ModelPullOptions?, IProgress{ModelPullProgress}?, CancellationToken)"/>
/// failed. The numeric values and names are part of the public contract and are never renumbered.
/// </summary>
public enum ModelDownloadFailure
{
    /// <summary>The hub answered 401 or 403: the repository is gated or private (or does not exist), and no token
    /// or one without access was sent.</summary>
    Unauthorized = 1,

    /// <summary>The hub answered 404: no such repository, file or revision.</summary>
    NotFound = 2,

    /// <summary>Another error status, or a transient one (5xx, 429) that outlasted every retry.</summary>
    HttpError = 3,

    /// <summary>The connection failed, dropped or stalled on every retry.</summary>
    NetworkError = 4,

    /// <summary>The downloaded file's size is not the one the hub announced. The partial file is deleted.</summary>
    SizeMismatch = 5,

    /// <summary>The downloaded file's sha256 is not the one the hub announced. The partial file is deleted.</summary>
    HashMismatch = 6,

    /// <summary>The file is a pickle-based checkpoint and pickles were not allowed; nothing was requested.</summary>
    UnsafeFormat = 7,

    /// <summary>The server's answer cannot be used (a redirect loop, a redirect to a scheme other than http(s), a
    /// range it was not asked for).</summary>
    InvalidResponse = 8,

    /// <summary>A file of that name is already in the folder and differs in size from the hub's, and replacing it
    /// was not allowed.</summary>
    ExistingFileDiffers = 9,
}

/// <summary>
/// A model file could not be downloaded from the hub, or what arrived is not what the hub announced.
/// </summary>
/// <remarks>
/// The message is one line of printable text: what the server sent (error headers and bodies, header values) is
/// passed through <see cref="DisplayText.Escape(string?, int)"/> and shortened before it is quoted.
/// </remarks>
public sealed class ModelDownloadException : StableDiffusionException
{
    /// <summary>Creates an exception with a default message.</summary>
    public ModelDownloadException()
        : this("The model file could not be downloaded.")
    {
    }

    /// <summary>Creates an exception with a message (the reason <see cref="ModelDownloadFailure.NetworkError"/>).</summary>
    /// <param name="message">What went wrong; control characters in it are escaped.</param>
    public ModelDownloadException(string? message)
        : this(message, (Exception?)null)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it (the reason
    /// <see cref="ModelDownloadFailure.NetworkError"/>).</summary>
    /// <param name="message">What went wrong; control characters in it are escaped.</param>
    /// <param name="innerException">The cause, or null.</param>
    public ModelDownloadException(string? message, Exception? innerException)
        : this(message, ModelDownloadFailure.NetworkError, null, null, innerException)
    {
    }

    /// <summary>Creates an exception for a failed download.</summary>
    /// <param name="message">What went wrong; control characters in it are escaped.</param>
    /// <param name="reason">The machine-stable reason.</param>
    /// <param name="statusCode">The HTTP status that caused the failure, if one did.</param>
    /// <param name="file">The file that was pulled, if known.</param>
    /// <param name="innerException">The cause, or null.</param>
    public ModelDownloadException(string? message, ModelDownloadFailure reason, HttpStatusCode? statusCode, HubFileReference? file, Exception? innerException = null)
        : base(DisplayText.Escape(message ?? "The model file could not be downloaded.", int.MaxValue), innerException)
    {
        this.Reason = reason;
        this.StatusCode = statusCode;
        this.File = file;
    }

    /// <summary>The machine-stable reason.</summary>
    public ModelDownloadFailure Reason { get; }

    /// <summary>The HTTP status that caused the failure; <see langword="null"/> when none did (a network error, a
    /// verification failure, a refused format).</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The file that was pulled, if known.</summary>
    public HubFileReference? File { get; }
}
