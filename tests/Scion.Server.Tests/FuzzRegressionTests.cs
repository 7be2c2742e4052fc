using Scion.Fuzz;
using Scion.Testing;

namespace Scion.Server.Tests;

/// <summary>
/// Replays each target's seeds (built in code: model-shaped seed files are not committed) and every file of
/// fuzz/regressions/TARGET through the fuzz targets themselves, so CI
/// holds every crash afl ever found (fuzz/run.sh adds them) without running afl. It lives here because this test
/// project already depends on every parser's assembly (Models, Training, Server).
/// </summary>
public sealed class FuzzRegressionTests
{
    /// <summary>Far above any input's time in the corpus (milliseconds); an input past it is a hang.</summary>
    private static readonly TimeSpan PerInput = TimeSpan.FromSeconds(30);

    public static TheoryData<string> Targets => new(FuzzTargets.All.Select(t => t.Name));

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Every_corpus_and_regression_input_is_accepted_or_refused_with_a_clear_error(string name)
    {
        var target = FuzzTargets.Find(name)!;
        var seeds = target.Seeds().Select(s => ($"seed {s.FileName}", s.Content)).ToList();
        Assert.True(seeds.Count > 0, $"fuzz target {name} has no seed input.");
        string regressions = Path.Combine(BundledModel.RepositoryRoot, "fuzz", "regressions", name);
        var inputs = seeds.Concat(Files(regressions).Select(f => (f, File.ReadAllBytes(f))));
        var findings = new List<string>();
        foreach (var (what, bytes) in inputs)
        {
            var run = Task.Run(() => FuzzRunner.Check(target, bytes));
            if (await Task.WhenAny(run, Task.Delay(PerInput)) != run) findings.Add($"{what}: still running after {PerInput.TotalSeconds} s (a hang)");
            else if (await run is { } finding) findings.Add($"{what}: {FuzzRunner.Describe(finding)}");
        }
        // Model-shaped regressions are rebuilt in code, and each must still be refused for its cause.
        foreach (var (what, bytes, refusal) in target.Regressions())
        {
            var finding = FuzzRunner.Check(target, bytes, out string? message);
            if (finding is not null) findings.Add($"regression {what}: {FuzzRunner.Describe(finding)}");
            else if (message is null || !message.Contains(refusal, StringComparison.Ordinal))
                findings.Add($"regression {what}: expected a refusal naming \"{refusal}\", got {(message is null ? "acceptance" : $"\"{message}\"")}");
        }
        Assert.True(findings.Count == 0, string.Join("\n\n", findings));
    }

    [Fact]
    public void Model_shaped_targets_keep_no_regression_files()
    {
        // Only the bundled model is a model file in the repository: such findings live in the target's Regressions().
        foreach (var target in FuzzTargets.All.Where(t => t.ModelShaped))
            Assert.Empty(Files(Path.Combine(BundledModel.RepositoryRoot, "fuzz", "regressions", target.Name)));
    }

    [Fact]
    public void Regression_files_are_named_as_fuzz_inputs()
    {
        // Raw parser inputs, KIND-HASH.input, as fuzz/run.sh names them: nothing in fuzz/regressions passes for a model file.
        string regressions = Path.Combine(BundledModel.RepositoryRoot, "fuzz", "regressions");
        var files = Directory.Exists(regressions) ? Directory.EnumerateFiles(regressions, "*", SearchOption.AllDirectories).ToList() : [];
        Assert.All(files, f => Assert.Matches(@"^(crashes|hangs)-[0-9a-f]{16}\.input$", Path.GetFileName(f)));
    }

    [Fact]
    public void Regressions_are_kept_only_for_existing_targets()
    {
        string regressions = Path.Combine(BundledModel.RepositoryRoot, "fuzz", "regressions");
        var folders = Directory.Exists(regressions) ? Directory.GetDirectories(regressions).Select(Path.GetFileName) : [];
        Assert.Empty(folders.Except(FuzzTargets.All.Select(t => t.Name)));
    }

    private static List<string> Files(string dir) =>
        Directory.Exists(dir) ? [.. Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal)] : [];
}
