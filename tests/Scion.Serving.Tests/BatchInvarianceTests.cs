using Scion.Models.Adapters;
using Scion.Models.Sampling;
using Scion.Serving.Engine;
using Scion.Tensors;

namespace Scion.Serving.Tests;

/// <summary>
/// Each request's tokens and logits through the engine, mixed with others, chunked or not, with adapters, and across
/// preemptions, are bit-for-bit what the request gives alone through the plain forward.
/// </summary>
public class BatchInvarianceTests
{
    private static readonly int[] PromptLengths = [1, 5, 17, 33, 70, 3, 16, 48];

    private static EngineRequest Greedy(int[] prompt, int maxTokens, string? adapter = null) => new()
    {
        PromptTokens = prompt, MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy, Adapter = adapter,
    };

    private static async Task AssertMatchesAlone(EngineOptions options, bool withAdapters, SamplingOptions? sampling = null, int maxTokens = 12,
        GgmlType weights = GgmlType.F32, bool wide = false, Scion.Models.KvCache.KvCacheFormat? kv = null)
    {
        using var model = EngineFixture.NewTiny(weights, wide);
        if (kv is { } format) model.KvFormat = format; // the reference runs alone use the same cache format
        var store = new InMemoryAdapterStore();
        var adapters = new LoraAdapter?[] { null, InMemoryAdapterStore.RandomAdapter("a", model.Config, 1), InMemoryAdapterStore.RandomAdapter("b", model.Config, 2) };
        foreach (var a in adapters) if (a is not null) store.Add(a);
        var prompts = PromptLengths.Select((n, i) => EngineFixture.Tokens(n, (ulong)(100 + i))).ToArray();
        LoraAdapter? AdapterOf(int i) => withAdapters ? adapters[i % 3] : null;
        var requests = prompts.Select((p, i) => Greedy(p, maxTokens, AdapterOf(i)?.Name) with
        {
            Sampling = sampling ?? SamplingOptions.Greedy, Seed = (ulong)(7 + i),
        }).ToList();

        await using var rec = new EngineFixture.Recording(model, options, store);
        var results = await rec.RunTogether(requests);
        for (int i = 0; i < prompts.Length; i++)
        {
            var alone = EngineFixture.Run(model, prompts[i], maxTokens, AdapterOf(i), (sampling ?? SamplingOptions.Greedy) with { Seed = (ulong)(7 + i) });
            if (AdapterOf(i) is not null)
                Assert.NotEqual(EngineFixture.Run(model, prompts[i], maxTokens).Logits[0], alone.Logits[0]); // the adapter matters
            var (handle, result) = results[i];
            Assert.Equal(FinishReason.Length, result.Choices[0].FinishReason);
            Assert.Equal(alone.Tokens, result.Choices[0].Tokens);
            var logits = rec.Logits(handle.Id);
            Assert.Equal(maxTokens, logits.Count);
            for (int t = 0; t < maxTokens; t++) EngineFixture.AssertSameBits(alone.Logits[t], logits[t], $"request {i} (prompt {prompts[i].Length}), token {t}");
        }
        Assert.Equal(0, store.ActiveLeases);
        // The requests did share steps: one after the other they would need this many.
        int sequential = prompts.Sum(p => (p.Length + options.MaxBatchTokens - 1) / options.MaxBatchTokens + maxTokens - 1);
        Assert.True(rec.Engine.Stats.Steps < sequential, $"{rec.Engine.Stats.Steps} steps, {sequential} one request at a time");
    }

    /// <summary>The step-time governor sizes chunks from measured step times, so how prompts split here depends on
    /// the machine: whatever split it picks, every request's tokens and logits are what they are alone.</summary>
    [Fact]
    public Task ChunksSizedByStepTimeEqualAlone() =>
        AssertMatchesAlone(new EngineOptions { MaxStepMilliseconds = 1, KvCacheTokens = 4096 }, withAdapters: true);

    [Theory]
    [InlineData(512)] // whole prompts in one step
    [InlineData(16)]  // prompts split into chunks across steps, sharing steps with decodes
    [InlineData(7)]
    public Task BaseModelMixedEqualsAlone(int batchTokens) =>
        AssertMatchesAlone(new EngineOptions { MaxBatchTokens = batchTokens, KvCacheTokens = 4096 }, withAdapters: false);

    [Theory]
    [InlineData(512)]
    [InlineData(16)]
    public Task AdaptersMixedEqualsAlone(int batchTokens) =>
        AssertMatchesAlone(new EngineOptions { MaxBatchTokens = batchTokens, KvCacheTokens = 4096 }, withAdapters: true);

    [Theory]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0)]
    public Task QuantizedWeightsMixedEqualsAlone(GgmlType weights) =>
        AssertMatchesAlone(new EngineOptions { MaxBatchTokens = 16, KvCacheTokens = 4096 }, withAdapters: true, weights: weights);

    [Fact]
    public async Task PreemptedRequestsFinishWithTheOutputTheyWouldHaveHad()
    {
        // 160 tokens of KV for prompts totalling 193 plus 8 x 24 generated: preemption is certain.
        var options = new EngineOptions { MaxBatchTokens = 32, KvCacheTokens = 160, BlockSize = 4 };
        await AssertMatchesAlone(options, withAdapters: true, maxTokens: 24);
    }

    [Fact]
    public async Task PreemptionKeepsEachSamplersRandomState()
    {
        var options = new EngineOptions { MaxBatchTokens = 32, KvCacheTokens = 160, BlockSize = 4 };
        var sampling = new SamplingOptions { Temperature = 1.2f, TopK = 20, TopP = 0.95f, MinP = 0, RepetitionPenalty = 1.1f };
        await AssertMatchesAlone(options, withAdapters: false, sampling, maxTokens: 24);
    }

    [Theory]
    [InlineData(GgmlType.F32, 512)]
    [InlineData(GgmlType.F32, 24)]
    [InlineData(GgmlType.Q8_0, 512)]
    [InlineData(GgmlType.Q4_0, 24)]
    public Task WiderModelMixedEqualsAlone(GgmlType weights, int batchTokens) =>
        AssertMatchesAlone(new EngineOptions { MaxBatchTokens = batchTokens, KvCacheTokens = 4096 }, withAdapters: true, weights: weights, wide: true);

    /// <summary>The wide model's KV width (64) holds whole quantization blocks.</summary>
    [Theory]
    [InlineData(GgmlType.Q8_0, GgmlType.Q8_0, 24)]
    [InlineData(GgmlType.Q4_0, GgmlType.Q8_0, 512)]
    [InlineData(GgmlType.F16, GgmlType.Q4_0, 7)]
    public Task QuantizedKvCacheMixedEqualsAlone(GgmlType keys, GgmlType values, int batchTokens) =>
        AssertMatchesAlone(new EngineOptions { MaxBatchTokens = batchTokens, KvCacheTokens = 4096 }, withAdapters: true, wide: true,
            kv: new(keys, values));

    [Fact]
    public async Task PreemptedRequestsOverAQuantizedCacheFinishWithTheOutputTheyWouldHaveHad()
    {
        var options = new EngineOptions { MaxBatchTokens = 32, KvCacheTokens = 160, BlockSize = 4 };
        await AssertMatchesAlone(options, withAdapters: true, maxTokens: 24, wide: true, kv: new(GgmlType.Q8_0, GgmlType.Q4_0));
    }

    [Fact]
    public Task OneAdapterPerStepStillGivesEveryRequestItsOwnOutput() =>
        AssertMatchesAlone(new EngineOptions { MaxBatchTokens = 64, KvCacheTokens = 4096, MaxAdaptersPerStep = 1 }, withAdapters: true);

    [Fact]
    public async Task ForkedChoicesSurvivePreemptionWithTheirOwnRandomState()
    {
        using var model = EngineFixture.NewTiny();
        var sampling = new SamplingOptions { Temperature = 1f, TopK = 0, TopP = 1, MinP = 0 };
        // Three requests of n = 3 over 96 tokens of KV: forks share the prompt, then outgrow the cache.
        var options = new EngineOptions { MaxBatchTokens = 32, KvCacheTokens = 96, BlockSize = 4 };
        await using var rec = new EngineFixture.Recording(model, options);
        var prompts = new[] { EngineFixture.Tokens(13, 1), EngineFixture.Tokens(6, 2), EngineFixture.Tokens(10, 3) };
        var results = await rec.RunTogether(prompts.Select((p, i) => new EngineRequest
        {
            PromptTokens = p, N = 3, MaxTokens = 16, Sampling = sampling, Seed = (ulong)(50 + 10 * i),
        }));
        Assert.True(rec.Engine.Stats.Preemptions > 0, "the test cache was meant to force preemptions");
        for (int i = 0; i < prompts.Length; i++)
            for (int c = 0; c < 3; c++)
            {
                var alone = EngineFixture.Run(model, prompts[i], 16, sampling: sampling with { Seed = (ulong)(50 + 10 * i + c) });
                Assert.Equal(alone.Tokens, results[i].Result.Choices[c].Tokens);
                for (int t = 0; t < 16; t++)
                    EngineFixture.AssertSameBits(alone.Logits[t], rec.Logits(results[i].Handle.Id, c)[t], $"request {i} choice {c} token {t}");
            }
        Assert.Equal(0, await rec.Engine.InspectAsync(() => { rec.Engine.Blocks.Validate(); return rec.Engine.Blocks.UsedBlocks; }));
    }

    [Fact]
    public async Task RowsOfOneAdapterAreContiguousInEveryStep()
    {
        using var model = EngineFixture.NewTiny();
        var store = new InMemoryAdapterStore();
        foreach (var name in new[] { "a", "b", "c" }) store.Add(InMemoryAdapterStore.RandomAdapter(name, model.Config, (ulong)name[0]));
        await using var rec = new EngineFixture.Recording(model, new EngineOptions { MaxBatchTokens = 40 }, store);
        int steps = 0, mixed = 0;
        rec.Engine.BatchObserver = batch =>
        {
            steps++;
            int distinct = batch.Adapters.Distinct().Count();
            if (distinct > 1) mixed++;
            Assert.Equal(distinct, batch.Segments().Length);
        };
        // Arrival order interleaves the adapters: a, b, base, c, a, b, base, c ...
        var names = new[] { "a", "b", null, "c" };
        await rec.RunTogether(Enumerable.Range(0, 12).Select(i => Greedy(EngineFixture.Tokens(3 + i, (ulong)i), 6, names[i % 4])));
        Assert.True(mixed > 0 && steps > 0, $"{mixed} of {steps} steps mixed adapters");
    }

    [Fact]
    public async Task PreemptionActuallyHappensUnderTheSmallCache()
    {
        using var model = EngineFixture.NewTiny();
        var options = new EngineOptions { MaxBatchTokens = 32, KvCacheTokens = 160, BlockSize = 4 };
        await using var rec = new EngineFixture.Recording(model, options);
        var prompts = PromptLengths.Select((n, i) => EngineFixture.Tokens(n, (ulong)(100 + i)));
        await rec.RunTogether(prompts.Select(p => Greedy(p, 24)));
        Assert.True(rec.Engine.Stats.Preemptions > 0, "the test cache was meant to force preemptions");
        Assert.Equal(0, await rec.Engine.InspectAsync(() => { rec.Engine.Blocks.Validate(); return rec.Engine.Blocks.UsedBlocks; }));
    }
}
