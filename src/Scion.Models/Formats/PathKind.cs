namespace Scion.Models.Formats;

/// <summary>
/// Checks that a path names the kind of thing a loader reads, so a folder given where a file is expected (or the
/// reverse) is reported as such instead of as "access denied", "does not exist" or a parse error.
/// </summary>
public static class PathKind
{
    /// <summary>Throws unless <paramref name="path"/> is an existing file; <paramref name="what"/> is e.g. "model file".</summary>
    public static void RequireFile(string path, string what)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
            throw new ModelFormatException($"{path}: is a folder, expected a {what}.");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: no such file (expected a {what}).", path);
    }

    /// <summary>Throws unless <paramref name="path"/> is an existing folder; <paramref name="what"/> is e.g. "PEFT adapter folder".</summary>
    public static void RequireFolder(string path, string what)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (File.Exists(path))
            throw new ModelFormatException($"{path}: is a file, expected a {what}.");
        if (!Directory.Exists(path))
            throw new DirectoryNotFoundException($"{path}: no such folder (expected a {what}).");
    }
}
