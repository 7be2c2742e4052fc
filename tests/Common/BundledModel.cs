namespace Scion.Testing;

/// <summary>The files the repository itself carries (models/), found from the test binary without ../shared.</summary>
internal static class BundledModel
{
    private static readonly Lazy<string> Root = new(FindRepositoryRoot);

    /// <summary>The repository root: the first folder above the test binary that holds Scion.slnx.</summary>
    public static string RepositoryRoot => Root.Value;

    /// <summary>models/stories260K.gguf: Karpathy's 260K-parameter TinyStories Llama with its SentencePiece vocabulary.</summary>
    public static string Stories260K => Path.Combine(RepositoryRoot, "models", "stories260K.gguf");

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Scion.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("Could not find Scion.slnx above " + AppContext.BaseDirectory);
    }
}
