namespace StableDiffusion.Native.Native;

/// <summary>
/// The per-user folders of the library, in one place so caches and data never share a folder: cache files
/// (native runtimes, converted models) live under <see cref="CacheRoot"/>, user data (the models folder)
/// under <see cref="DataRoot"/>.
/// </summary>
internal static class UserDirectories
{
    private const string AppFolder = "stable-diffusion-native";

    /// <summary>
    /// <c>%LOCALAPPDATA%\stable-diffusion-native\cache</c>, <c>~/Library/Caches/stable-diffusion-native</c>, or
    /// <c>$XDG_CACHE_HOME/stable-diffusion-native</c> (default <c>~/.cache/…</c>); native/cmake/SdnetCache.cmake
    /// follows the same rule.
    /// </summary>
    public static string CacheRoot
    {
        get
        {
            if (OperatingSystem.IsWindows()) return Path.Combine(LocalAppData, AppFolder, "cache");
            if (OperatingSystem.IsMacOS()) return Path.Combine(Home, "Library", "Caches", AppFolder);
            return Path.Combine(Xdg("XDG_CACHE_HOME", ".cache"), AppFolder);
        }
    }

    /// <summary>
    /// <c>%LOCALAPPDATA%\stable-diffusion-native</c>, <c>~/Library/Application Support/stable-diffusion-native</c>,
    /// or <c>$XDG_DATA_HOME/stable-diffusion-native</c> (default <c>~/.local/share/…</c>).
    /// </summary>
    public static string DataRoot
    {
        get
        {
            if (OperatingSystem.IsWindows()) return Path.Combine(LocalAppData, AppFolder);
            if (OperatingSystem.IsMacOS()) return Path.Combine(Home, "Library", "Application Support", AppFolder);
            return Path.Combine(Xdg("XDG_DATA_HOME", Path.Combine(".local", "share")), AppFolder);
        }
    }

    /// <summary>A directory from an environment variable when it is set, else <paramref name="fallback"/>.</summary>
    public static string FromEnvironment(string variable, string fallback)
    {
        string? value = Environment.GetEnvironmentVariable(variable);
        return Path.GetFullPath(string.IsNullOrWhiteSpace(value) ? fallback : value);
    }

    private static string Home => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    private static string LocalAppData => Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);

    // The XDG spec says relative values are invalid and must be ignored.
    private static string Xdg(string variable, string homeRelativeDefault)
    {
        string? value = Environment.GetEnvironmentVariable(variable);
        return !string.IsNullOrWhiteSpace(value) && Path.IsPathRooted(value) ? value : Path.Combine(Home, homeRelativeDefault);
    }
}
