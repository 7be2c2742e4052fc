using Scion.Models.Loading;
using Scion.Serving.Adapters;
using Scion.Serving.Benchmarking;
using Scion.Serving.Engine;
using Scion.Testing;

namespace Scion.Serving.Tests.Benchmarking;

/// <summary>The runner against the real engine on the bundled stories260K: counts add up, counters come from the
/// engine, runs stop at their bounds. No timing is asserted.</summary>
public class LoadRunnerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task ClosedLoopCountsAddUpAndTheSharedPrefixHitsTheCache()
    {
        using var loaded = ModelLoader.Load(BundledModel.Stories260K);
        await using var engine = new ServingEngine(loaded.Model, loaded.Tokenizer);
        var spec = new LoadSpec
        {
            Concurrency = 4, Requests = 24, PromptTokens = LengthDistribution.Fixed(40), OutputTokens = LengthDistribution.Parse("4..8", "o"),
            SharedPrefixTokens = 32, IgnoreEos = true, Vocab = loaded.Model.Config.Vocab, Seed = 3,
        };
        var plan = LoadPlan.Create(spec);
        var progress = new List<BenchProgress>();
        var report = await LoadRunner.RunAsync(plan, new EngineTarget(engine, ignoreEos: true), p => { lock (progress) progress.Add(p); })
            .WaitAsync(Timeout, TestContext.Current.CancellationToken);
        Assert.Equal(24, report.RequestsCompleted);
        Assert.Equal(0, report.RequestsFailed);
        Assert.Equal(plan.Requests.Sum(r => (long)r.MaxTokens), report.OutputTokens);
        Assert.Equal(24 * 40, report.PromptTokens);
        Assert.Equal(24, report.TimeToFirstToken.Count);
        Assert.Equal(report.OutputTokens - 24, report.InterTokenLatency.Count);
        Assert.Equal(24, report.EndToEnd.Count);
        Assert.True(report.TimeToFirstToken.P50 <= report.TimeToFirstToken.P99 && report.TimeToFirstToken.P99 <= report.TimeToFirstToken.Max);
        var e = report.Engine!;
        Assert.Equal(24 * 40, e.PrefixQueryTokens);
        // After the first requests, each finds the two full 16-token blocks of the prefix cached.
        Assert.InRange(e.PrefixHitTokens, 20 * 32, 23 * 32);
        Assert.InRange(e.KvPeakFraction, 1e-9, 1);
        Assert.Equal(0, e.Preemptions);
        Assert.True(e.Steps > 0);
        Assert.NotNull(report.FirstRequestTtft);
    }

    [Fact]
    public async Task AdaptersUnderATinyCacheAreLoadedAndEvicted()
    {
        using var loaded = ModelLoader.Load(BundledModel.Stories260K);
        string root = Path.Combine(Path.GetTempPath(), $"scion-bench-test-{Guid.NewGuid():N}");
        try
        {
            var names = RandomAdapters.Write(root, loaded.Model.Config, 5, 4, ["q_proj", "v_proj", "o_proj"], seed: 9);
            Assert.Equal(["adapter-0000", "adapter-0001", "adapter-0002", "adapter-0003", "adapter-0004"], names);
            var store = new AdapterStore(loaded.Model, new AdapterStoreOptions { ByteBudget = 0 });
            store.AddRoot(root);
            foreach (var n in names) store.Register(n, Path.Combine(root, n));
            await using var engine = new ServingEngine(loaded.Model, loaded.Tokenizer, adapters: store);
            var plan = LoadPlan.Create(new LoadSpec
            {
                Concurrency = 2, Requests = 20, PromptTokens = LengthDistribution.Fixed(10), OutputTokens = LengthDistribution.Fixed(3),
                Adapters = 5, IgnoreEos = true, Vocab = loaded.Model.Config.Vocab, Seed = 4,
            });
            var report = await LoadRunner.RunAsync(plan, new EngineTarget(engine, true, names, store)).WaitAsync(Timeout, TestContext.Current.CancellationToken);
            Assert.Equal(20, report.RequestsCompleted);
            Assert.Equal(60, report.OutputTokens);
            // A zero budget keeps nothing unpinned: every distinct use loads, and loads beyond the pinned ones evict.
            Assert.True(report.Engine!.AdapterLoads >= 5, $"{report.Engine.AdapterLoads} loads");
            Assert.True(report.Engine.AdapterEvictions >= report.Engine.AdapterLoads - 2, $"{report.Engine.AdapterEvictions} evictions");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task ADurationBoundStopsSendingBeforeTheRequestCount()
    {
        using var loaded = ModelLoader.Load(BundledModel.Stories260K);
        await using var engine = new ServingEngine(loaded.Model, loaded.Tokenizer);
        var plan = LoadPlan.Create(new LoadSpec
        {
            Concurrency = 2, Requests = 1_000_000, DurationSeconds = 0.3, PromptTokens = LengthDistribution.Fixed(8),
            OutputTokens = LengthDistribution.Fixed(4), IgnoreEos = true, Vocab = loaded.Model.Config.Vocab,
        });
        var report = await LoadRunner.RunAsync(plan, new EngineTarget(engine, true)).WaitAsync(Timeout, TestContext.Current.CancellationToken);
        Assert.InRange(report.RequestsCompleted, 1, 999_999);
        Assert.Equal(report.RequestsCompleted * 4L, report.OutputTokens);
    }

    [Fact]
    public async Task FailedRequestsAreCountedNotThrown()
    {
        using var loaded = ModelLoader.Load(BundledModel.Stories260K);
        await using var engine = new ServingEngine(loaded.Model, loaded.Tokenizer);
        // Prompts longer than the context are refused by the engine: every request fails, the run still reports.
        var plan = LoadPlan.Create(new LoadSpec { Concurrency = 2, Requests = 3, PromptTokens = LengthDistribution.Fixed(loaded.Model.Config.ContextLength + 5),
            Vocab = loaded.Model.Config.Vocab });
        var report = await LoadRunner.RunAsync(plan, new EngineTarget(engine, true)).WaitAsync(Timeout, TestContext.Current.CancellationToken);
        Assert.Equal(0, report.RequestsCompleted);
        Assert.Equal(3, report.RequestsFailed);
        Assert.Contains("context", report.FirstError);
    }

    [Fact]
    public void PercentilesAreNearestRank()
    {
        var s = LatencySummary.Of(Enumerable.Range(1, 100).Select(i => (double)i));
        Assert.Equal((100, 50.5, 50.0, 90.0, 99.0, 100.0), (s.Count, s.Mean, s.P50, s.P90, s.P99, s.Max));
        Assert.Equal(LatencySummary.Empty, LatencySummary.Of([]));
    }
}
