namespace Scion.Cli.Tests;

/// <summary>The repository's bundled model (through the shared test helper) and a temp folder per test.</summary>
internal static class Bundled
{
    public static string RepositoryRoot => Scion.Testing.BundledModel.RepositoryRoot;

    public static string Model => Scion.Testing.BundledModel.Stories260K;

    /// <summary>A fresh temp folder for one test's files.</summary>
    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "scion-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
