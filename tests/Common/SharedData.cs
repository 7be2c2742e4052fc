namespace Scion.Testing;

/// <summary>Locates the reference data folder `../shared` next to the repository root.</summary>
internal static class SharedData
{
    private static readonly Lazy<string> Root = new(FindRoot);

    public static string Path(params string[] parts)
    {
        var full = System.IO.Path.Combine([Root.Value, .. parts]);
        if (!File.Exists(full) && !Directory.Exists(full))
            throw new FileNotFoundException($"Reference data '{full}' is missing: tests expect ../shared beside the repository root (or SCION_SHARED).", full);
        return full;
    }

    private static string FindRoot()
    {
        var env = Environment.GetEnvironmentVariable("SCION_SHARED");
        if (!string.IsNullOrEmpty(env)) return env;
        // Walk up from the test binary until a folder holds Scion.slnx; shared/ lies beside that folder.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Scion.slnx")))
            {
                var beside = System.IO.Path.Combine(dir.Parent?.FullName ?? dir.FullName, "shared");
                if (Directory.Exists(beside)) return beside;
                var inside = System.IO.Path.Combine(dir.FullName, "shared");
                if (Directory.Exists(inside)) return inside;
                throw new DirectoryNotFoundException($"No shared/ folder beside or inside {dir.FullName}; set SCION_SHARED.");
            }
        }
        throw new DirectoryNotFoundException("Could not find Scion.slnx above " + AppContext.BaseDirectory);
    }
}
