using Scion.Fuzz;
using Scion.Testing;

namespace Scion.Server.Tests;

/// <summary>
/// Replays every file of fuzz/corpus/TARGET and fuzz/regressions/TARGET through the fuzz targets themselves, so CI
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
        string fuzz = Path.Combine(BundledModel.RepositoryRoot, "fuzz");
        var corpus = Files(Path.Combine(fuzz, "corpus", name));
        Assert.True(corpus.Count > 0, $"fuzz/corpus/{name} holds no seed input; `Scion.Fuzz seed fuzz/corpus` writes them.");
        var findings = new List<string>();
        foreach (var file in corpus.Concat(Files(Path.Combine(fuzz, "regressions", name))))
        {
            var bytes = File.ReadAllBytes(file);
            var run = Task.Run(() => FuzzRunner.Check(target, bytes));
            if (await Task.WhenAny(run, Task.Delay(PerInput)) != run) findings.Add($"{file}: still running after {PerInput.TotalSeconds} s (a hang)");
            else if (await run is { } finding) findings.Add($"{file}: {FuzzRunner.Describe(finding)}");
        }
        Assert.True(findings.Count == 0, string.Join("\n\n", findings));
    }

    [Fact]
    public void The_corpus_has_a_folder_for_every_target_and_no_other()
    {
        string corpus = Path.Combine(BundledModel.RepositoryRoot, "fuzz", "corpus");
        var folders = Directory.GetDirectories(corpus).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(FuzzTargets.All.Select(t => t.Name).Order(StringComparer.Ordinal), folders);
    }

    private static List<string> Files(string dir) =>
        Directory.Exists(dir) ? [.. Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal)] : [];
}
