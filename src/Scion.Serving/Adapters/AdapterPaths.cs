namespace Scion.Serving.Adapters;

/// <summary>
/// Adapter names and the folders they may resolve to. A name is one folder name (letters, digits, '.', '_', '-',
/// not starting with '.'), so a name from a request can never climb out of a root ("../x", "a/b", absolute paths);
/// a folder is accepted only inside a registered root, after following a symbolic link at the folder itself.
/// </summary>
internal static class AdapterPaths
{
    public const int MaxNameLength = 128;

    /// <summary>Null when <paramref name="name"/> is valid, else why not.</summary>
    public static string? NameProblem(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "an adapter name must not be empty";
        if (name.Length > MaxNameLength) return $"an adapter name has at most {MaxNameLength} characters, this one has {name.Length}";
        if (name[0] == '.') return "an adapter name must not start with '.'";
        foreach (char ch in name)
            if (!(char.IsAsciiLetterOrDigit(ch) || ch is '.' or '_' or '-' or ':'))
                return $"an adapter name may hold only letters, digits, '.', '_', '-' and ':', not '{ch}'";
        return null;
    }

    public static void CheckName(string? name)
    {
        if (NameProblem(name) is { } problem) throw new AdapterException($"Adapter name '{name}' is refused: {problem}.");
    }

    /// <summary>The full path of a root folder, without a trailing separator.</summary>
    public static string NormalizeRoot(string root)
    {
        if (string.IsNullOrWhiteSpace(root)) throw new AdapterException("An adapter root folder must be given.");
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        if (!Directory.Exists(full)) throw new AdapterException($"Adapter root '{root}' does not exist or is not a folder.");
        return full;
    }

    /// <summary>True when <paramref name="folder"/> (a full path), and the target of a link there, lie inside one of the roots.</summary>
    public static bool IsInside(string folder, IEnumerable<string> roots)
    {
        if (!Within(folder, roots)) return false;
        try
        {
            var info = new DirectoryInfo(folder);
            if (info.LinkTarget is null) return true;
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            return target is not null && Within(Path.GetFullPath(target.FullName), roots);
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    private static bool Within(string folder, IEnumerable<string> roots)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        return roots.Any(root => full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal));
    }
}
