namespace StableDiffusion.Native.AI;

/// <summary>Helpers for exception messages.</summary>
internal static class Messages
{
    /// <summary>Caller text in a message, cut to a readable length.</summary>
    public static string Shorten(string? text)
        => text is null ? "null" : text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 77), "...");
}
