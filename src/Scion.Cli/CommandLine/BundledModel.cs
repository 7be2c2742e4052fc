namespace Scion.Cli.CommandLine;

/// <summary>
/// The stories260K model shipped in the repository's models/ folder (and copied beside the built binary), used by
/// every command whose --model is omitted so that a fresh clone runs with nothing else installed.
/// </summary>
public static class BundledModel
{
    public const string RelativePath = "models/stories260K.gguf";

    /// <summary>
    /// models/stories260K.gguf beside the executable, else in the nearest folder above it that holds one (the
    /// repository root when run from bin/); null when neither exists.
    /// </summary>
    public static string? Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "models", "stories260K.gguf");
            if (File.Exists(candidate)) return candidate;
            if (File.Exists(Path.Combine(dir.FullName, "Scion.slnx"))) break; // the repository root: look no higher
        }
        return null;
    }

    /// <summary>The path to use for --model: the given one, or the bundled model (said on stderr).</summary>
    public static string Resolve(string? given, CliIo io)
    {
        if (given is not null) return given;
        string path = Locate() ?? throw new FileNotFoundException(
            $"no --model given and the bundled model {RelativePath} was not found beside {AppContext.BaseDirectory} or above it; pass --model PATH.");
        io.Err.WriteLine($"using the bundled model {RelativePath}");
        return path;
    }
}
