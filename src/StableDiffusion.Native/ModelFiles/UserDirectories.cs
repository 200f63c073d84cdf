namespace StableDiffusion.Native.ModelFiles;

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

    /// <summary>
    /// Creates <paramref name="path"/> (and its missing parents) private to the user: mode 0700 on Unix, so no other
    /// account can plant files the library later loads. Windows keeps the per-user ACLs of %LOCALAPPDATA%.
    /// Folders that already exist keep their mode.
    /// </summary>
    public static void CreatePrivate(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        // Each missing level is created, then set to 0700 explicitly: creation modes are filtered by the umask.
        var missing = new Stack<string>();
        for (var dir = new DirectoryInfo(Path.GetFullPath(path)); dir is not null && !dir.Exists; dir = dir.Parent) missing.Push(dir.FullName);
        while (missing.TryPop(out string? level))
        {
            Directory.CreateDirectory(level);
            File.SetUnixFileMode(level, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>
    /// Null when no other account can change <paramref name="directory"/>, the files in it, or any folder between it
    /// and <paramref name="root"/> (inclusive); otherwise why not, and how to fix it (naming <paramref name="variable"/>,
    /// the environment variable that picks another folder). Always null on Windows.
    /// </summary>
    /// <remarks>
    /// Each folder and file must be owned by this user and not writable by group or others. Ownership is tested the
    /// way the kernel decides it: only the owner (or root) may chmod, so a chmod to the current mode, which changes
    /// nothing, fails exactly for an object another account owns. Folders above <paramref name="root"/> are not
    /// checked: the root is this user's cache folder, created by the library or the build.
    /// </remarks>
    public static string? WhyNotPrivate(string directory, string root, string variable)
    {
        if (OperatingSystem.IsWindows()) return null;
        string stop = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var start = new DirectoryInfo(Path.GetFullPath(directory));
        if (start.Exists)
        {
            foreach (var file in start.EnumerateFiles())
            {
                if (WhyNotOwnOnly(file.FullName, isDirectory: false, variable) is { } problem) return problem;
            }
        }
        for (var dir = start; dir is not null; dir = dir.Parent)
        {
            if (dir.Exists && WhyNotOwnOnly(dir.FullName, isDirectory: true, variable) is { } problem) return problem;
            if (string.Equals(Path.TrimEndingDirectorySeparator(dir.FullName), stop, StringComparison.Ordinal)) break;
        }
        return null;
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static string? WhyNotOwnOnly(string path, bool isDirectory, string variable)
    {
        var mode = File.GetUnixFileMode(path);
        string octal = Convert.ToString((int)mode & 0x1FF, 8).PadLeft(3, '0');
        if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            return $"{path} is writable by other users (mode {octal}), so native code there could be anyone's; " +
                   $"make it private with: chmod {(isDirectory ? "-R " : "")}go-w '{path}'";
        }
        try
        {
            File.SetUnixFileMode(path, mode);
        }
        catch (UnauthorizedAccessException)
        {
            return $"{path} belongs to another user, so native code there could be theirs; use a cache folder of your own ({variable}).";
        }
        catch (IOException)
        {
            // A read-only file system cannot be written by anyone: nothing to refuse.
        }
        return null;
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
