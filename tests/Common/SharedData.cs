namespace Scion.Testing;

/// <summary>
/// Locates the reference data folder `../shared` next to the repository root (or $SCION_SHARED). A test that asks
/// for data that is not there is skipped with one line naming what is missing, so a fresh clone without
/// ../shared runs the rest of the suite. With SCION_REQUIRE_SHARED=1 (set by .ci/run, whose machine has ../shared)
/// missing data fails the test instead, so CI never passes by skipping.
/// </summary>
internal static class SharedData
{
    /// <summary>The start of every skip reason given for missing data; .ci/run counts these.</summary>
    public const string MissingPrefix = "missing ../shared data:";

    private static readonly Lazy<(string? Root, string Why)> Root = new(FindRoot);

    public static string Path(params string[] parts)
    {
        var (root, why) = Root.Value;
        string relative = string.Join('/', parts);
        if (root is null) Missing($"{MissingPrefix} {relative} ({why})");
        var full = System.IO.Path.Combine([root, .. parts]);
        if (!File.Exists(full) && !Directory.Exists(full)) Missing($"{MissingPrefix} {relative} (not in {root})");
        return full;
    }

    private static readonly HashSet<string> Reported = [];

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Missing(string reason)
    {
        if (Environment.GetEnvironmentVariable("SCION_REQUIRE_SHARED") == "1") throw new FileNotFoundException(reason);
        // The console shows skip reasons only at detailed verbosity: say once per missing item (or once for a
        // missing folder) what is missing, as a diagnostic line that the default verbosity prints.
        string what = Root.Value.Root is null ? $"{MissingPrefix} {Root.Value.Why}; tests that need it are skipped" : reason;
        bool first;
        lock (Reported) first = Reported.Add(what);
        if (first) TestContext.Current.SendDiagnosticMessage(what);
        Assert.Skip(reason);
        throw new InvalidOperationException("unreachable: Assert.Skip throws");
    }

    private static (string? Root, string Why) FindRoot()
    {
        var env = Environment.GetEnvironmentVariable("SCION_SHARED");
        if (!string.IsNullOrEmpty(env))
            return Directory.Exists(env) ? (env, "") : (null, $"SCION_SHARED={env} is not a folder");
        var repository = BundledModel.RepositoryRoot;
        // shared/ lies beside the repository (the CI layout) or inside it.
        var beside = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(repository) ?? repository, "shared");
        if (Directory.Exists(beside)) return (beside, "");
        var inside = System.IO.Path.Combine(repository, "shared");
        if (Directory.Exists(inside)) return (inside, "");
        return (null, $"no shared/ folder beside or inside {repository}; set SCION_SHARED");
    }
}
