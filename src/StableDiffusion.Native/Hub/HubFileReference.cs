using System.Diagnostics.CodeAnalysis;
using System.Globalization;

using StableDiffusion.Native.ModelFiles;

namespace StableDiffusion.Native.Hub;

/// <summary>
/// One file of a model repository on the Hugging Face hub, written <c>hf:OWNER/REPO/PATH[@REVISION]</c>
/// (<c>hf:stable-diffusion-v1-5/stable-diffusion-v1-5/v1-5-pruned-emaonly-fp16.safetensors</c>).
/// </summary>
/// <remarks>
/// <para><see cref="Path"/> may name a file in a folder of the repository (<c>vae/diffusion_pytorch_model.safetensors</c>).
/// <see cref="Revision"/> is a branch, a tag or a commit (default <c>main</c>); it may hold <c>/</c>
/// (<c>refs/pr/1</c>). The revision is what follows the last <c>@</c>, so a path that holds <c>@</c> itself must be
/// given with its revision (<c>hf:o/r/a@b.safetensors@main</c>).</para>
/// <para>Every part is checked when the reference is made: no part is empty, none holds a control character or a
/// backslash, no path or revision segment is <c>.</c> or <c>..</c>, and the owner and repository names hold only
/// letters, digits, <c>-</c>, <c>_</c> and <c>.</c> (as the hub allows). The parts are escaped when the download URL
/// is built, so none can reach another path on the server.</para>
/// </remarks>
public sealed record HubFileReference
{
    /// <summary>The prefix of a reference's text form.</summary>
    public const string Prefix = "hf:";

    /// <summary>The revision of a reference that names none.</summary>
    public const string DefaultRevision = "main";

    private const string Syntax = "hf:OWNER/REPO/PATH[@REVISION]";

    /// <summary>Creates a reference from its parts.</summary>
    /// <param name="owner">The user or organization that owns the repository.</param>
    /// <param name="repository">The repository's name.</param>
    /// <param name="path">The file's path in the repository, folders separated by <c>/</c>.</param>
    /// <param name="revision">A branch, tag or commit; <see cref="DefaultRevision"/> when omitted.</param>
    /// <exception cref="ArgumentNullException">A part is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A part is empty or malformed (see the class remarks); the message says which and why.</exception>
    public HubFileReference(string owner, string repository, string path, string revision = DefaultRevision)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(revision);
        if (Problem(owner, repository, path, revision) is { } problem)
        {
            throw new ArgumentException($"Invalid hub file reference: {problem.Message}.", problem.Parameter);
        }

        this.Owner = owner;
        this.Repository = repository;
        this.Path = path;
        this.Revision = revision;
    }

    /// <summary>The user or organization that owns the repository.</summary>
    public string Owner { get; }

    /// <summary>The repository's name.</summary>
    public string Repository { get; }

    /// <summary>The file's path in the repository, folders separated by <c>/</c>.</summary>
    public string Path { get; }

    /// <summary>The branch, tag or commit.</summary>
    public string Revision { get; }

    /// <summary>The repository as the hub names it: <c>OWNER/REPO</c>.</summary>
    public string RepositoryId => this.Owner + "/" + this.Repository;

    /// <summary>The last segment of <see cref="Path"/>: the name the file gets in a models folder.</summary>
    public string FileName => this.Path[(this.Path.LastIndexOf('/') + 1)..];

    /// <summary>Parses <c>hf:OWNER/REPO/PATH[@REVISION]</c>.</summary>
    /// <param name="text">The reference.</param>
    /// <returns>The reference.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException"><paramref name="text"/> is not a valid reference; the message says what is wrong.</exception>
    public static HubFileReference Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var result, out string? error) ? result : throw new FormatException(error);
    }

    /// <summary>Parses <c>hf:OWNER/REPO/PATH[@REVISION]</c> without throwing.</summary>
    /// <param name="text">The reference, or <see langword="null"/>.</param>
    /// <param name="result">The reference, or <see langword="null"/> when <paramref name="text"/> is not a valid one.</param>
    /// <returns>Whether <paramref name="text"/> is a valid reference.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out HubFileReference? result)
        => TryParse(text, out result, out _);

    /// <summary>The text form, <c>hf:OWNER/REPO/PATH</c> followed by <c>@REVISION</c> unless the revision is
    /// <c>main</c> and the path holds no <c>@</c>; <see cref="Parse"/> reads it back to an equal reference.</summary>
    /// <returns>The reference's text form.</returns>
    public override string ToString()
        => this.Revision == DefaultRevision && !this.Path.Contains('@', StringComparison.Ordinal)
            ? $"{Prefix}{this.Owner}/{this.Repository}/{this.Path}"
            : $"{Prefix}{this.Owner}/{this.Repository}/{this.Path}@{this.Revision}";

    /// <summary>
    /// <c>{endpoint}/{owner}/{repo}/resolve/{revision}/{path}</c>, the hub's download URL, with the revision escaped
    /// as one segment (a <c>/</c> in it too, as the hub's own client does) and each path segment escaped.
    /// </summary>
    internal Uri ResolveUri(Uri endpoint)
    {
        string path = string.Join('/', this.Path.Split('/').Select(Uri.EscapeDataString));
        return new Uri(
            $"{endpoint.AbsoluteUri.TrimEnd('/')}/{Uri.EscapeDataString(this.Owner)}/{Uri.EscapeDataString(this.Repository)}/resolve/{Uri.EscapeDataString(this.Revision)}/{path}",
            UriKind.Absolute);
    }

    private static bool TryParse(string? text, [NotNullWhen(true)] out HubFileReference? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (text is null)
        {
            error = "No hub file reference given: expected " + Syntax + ".";
            return false;
        }

        string shown = DisplayText.Escape(text);
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            error = $"'{shown}' is not a hub file reference: expected {Syntax}.";
            return false;
        }

        string rest = text[Prefix.Length..];
        int ownerEnd = rest.IndexOf('/', StringComparison.Ordinal);
        int repoEnd = ownerEnd < 0 ? -1 : rest.IndexOf('/', ownerEnd + 1);
        if (repoEnd < 0)
        {
            error = $"'{shown}' names no file: expected {Syntax}.";
            return false;
        }

        string owner = rest[..ownerEnd];
        string repository = rest[(ownerEnd + 1)..repoEnd];
        string path = rest[(repoEnd + 1)..];
        string revision = DefaultRevision;
        int at = path.LastIndexOf('@');
        if (at >= 0)
        {
            revision = path[(at + 1)..];
            path = path[..at];
        }

        if (Problem(owner, repository, path, revision) is { } problem)
        {
            error = $"'{shown}' is not a valid hub file reference: {problem.Message} (expected {Syntax}).";
            return false;
        }

        result = new HubFileReference(owner, repository, path, revision);
        error = null;
        return true;
    }

    /// <summary>What is wrong with the parts, with the parameter it concerns; null when nothing is.</summary>
    private static (string Message, string Parameter)? Problem(string owner, string repository, string path, string revision)
    {
        foreach (var (value, what, parameter) in new[] { (owner, "owner", nameof(owner)), (repository, "repository name", nameof(repository)), (path, "file path", nameof(path)), (revision, "revision", nameof(revision)) })
        {
            if (value.Length == 0)
            {
                return ($"the {what} is empty", parameter);
            }

            // A control character could fake output lines or terminal sequences when the reference is shown.
            int control = value.AsSpan().IndexOfAnyInRange('\0', '\u001f');
            if (control < 0)
            {
                control = value.AsSpan().IndexOfAnyInRange('\u007f', '\u009f');
            }

            if (control >= 0)
            {
                return (string.Create(CultureInfo.InvariantCulture, $"the {what} holds a control character (U+{(int)value[control]:X4})"), parameter);
            }

            // A backslash is a folder separator on Windows: it would make the file name mean a folder there.
            if (value.Contains('\\', StringComparison.Ordinal))
            {
                return ($"the {what} holds a backslash; separate folders with '/'", parameter);
            }
        }

        foreach (var (value, what, parameter) in new[] { (owner, "owner", nameof(owner)), (repository, "repository name", nameof(repository)) })
        {
            if (value is "." or ".." || value.Contains("..", StringComparison.Ordinal))
            {
                return ($"the {what} '{DisplayText.Escape(value)}' holds '..'", parameter);
            }

            if (value.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            {
                return ($"the {what} '{DisplayText.Escape(value)}' may hold only letters, digits, '-', '_' and '.'", parameter);
            }
        }

        foreach (var (value, what, parameter) in new[] { (path, "file path", nameof(path)), (revision, "revision", nameof(revision)) })
        {
            foreach (string segment in value.Split('/'))
            {
                if (segment.Length == 0)
                {
                    return ($"the {what} '{DisplayText.Escape(value)}' has an empty segment (a leading, trailing or doubled '/')", parameter);
                }

                if (segment is "." or "..")
                {
                    return ($"the {what} '{DisplayText.Escape(value)}' has a '{segment}' segment", parameter);
                }
            }
        }

        return null;
    }
}
