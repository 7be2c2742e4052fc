namespace Scion.Cli.CommandLine;

/// <summary>
/// Checks on paths given to options, run before any model is loaded: a folder where a file is expected (and the
/// reverse) is named as such, and outputs never replace something that exists unless --force is given.
/// </summary>
internal static class PathChecks
{
    /// <summary>An input that must be an existing file (data, prompts, templates).</summary>
    public static string ExistingFile(string path, string option, string what)
    {
        if (Directory.Exists(path)) throw new ArgumentException($"{option} {path}: is a directory; expected a file ({what}).");
        if (!File.Exists(path)) throw new FileNotFoundException($"{option} {path}: no such file ({what}).", path);
        return path;
    }

    /// <summary>An input that must be an existing folder (adapters, checkpoints).</summary>
    public static string ExistingFolder(string path, string option, string what)
    {
        if (File.Exists(path)) throw new ArgumentException($"{option} {path}: is a file; expected a folder ({what}).");
        if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"{option} {path}: no such folder ({what}).");
        return path;
    }

    /// <summary>A model path: a file (GGUF, llama2.c) or a Hugging Face folder.</summary>
    public static string ExistingModel(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) throw new FileNotFoundException($"--model {path}: no such model file or folder.", path);
        return path;
    }

    /// <summary>An output file: refused when a folder is there, or a file is there and <paramref name="force"/> is off.</summary>
    public static string OutputFile(string path, bool force, string option = "--output")
    {
        if (Directory.Exists(path)) throw new ArgumentException($"{option} {path}: is a directory; expected a file name to write.");
        if (File.Exists(path) && !force) throw new IOException($"{option} {path}: already exists; pass --force to overwrite it.");
        string? parent = Path.GetDirectoryName(Path.GetFullPath(path));
        if (parent is not null && File.Exists(parent)) throw new ArgumentException($"{option} {path}: {parent} is a file, not a folder.");
        return path;
    }

    /// <summary>An output folder: refused when a file is there, or a non-empty folder is there and <paramref name="force"/> is off.</summary>
    public static string OutputFolder(string path, bool force, string option = "--output")
    {
        if (File.Exists(path)) throw new ArgumentException($"{option} {path}: is a file; expected a folder to write.");
        if (Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any() && !force)
            throw new IOException($"{option} {path}: already exists and is not empty; pass --force to write into it.");
        return path;
    }
}
