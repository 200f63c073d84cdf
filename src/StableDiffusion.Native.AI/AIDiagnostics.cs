namespace StableDiffusion.Native.AI;

/// <summary>Diagnostic ids this package shares with Microsoft.Extensions.AI.</summary>
internal static class AIDiagnostics
{
    /// <summary>Microsoft.Extensions.AI's id for its experimental APIs, image generation among them.</summary>
    public const string Experimental = "MEAI001";

    /// <summary>Where Microsoft.Extensions.AI explains its diagnostics.</summary>
    public const string UrlFormat = "https://aka.ms/dotnet-extensions-warnings/{0}";
}
