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

    /// <summary>Bytes of the file at <paramref name="path"/>, or of every file directly in the folder; symbolic links
    /// count as what they point to (a link's own entry is only the length of its target's name).</summary>
    public static long SizeOnDisk(string path)
    {
        static long Of(string file)
        {
            var info = new FileInfo(file);
            return info.LinkTarget is null ? info.Length : info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target && target.Exists ? target.Length : 0;
        }
        return Directory.Exists(path) ? Directory.EnumerateFiles(path).Sum(Of) : Of(path);
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
