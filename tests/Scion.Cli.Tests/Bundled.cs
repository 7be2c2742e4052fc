namespace Scion.Cli.Tests;

/// <summary>The repository's bundled model, found by walking up from the test binary to the folder holding Scion.slnx.</summary>
internal static class Bundled
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string Model => Path.Combine(RepositoryRoot, "models", "stories260K.gguf");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Scion.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no Scion.slnx above {AppContext.BaseDirectory}");
    }

    /// <summary>A fresh temp folder for one test's files.</summary>
    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "scion-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
