using Scion.Models.Sampling;
using Scion.Serving.Engine;
using Scion.Tensors;

namespace Scion.Serving.Tests;

/// <summary>A thousand random requests with random cancels over a small cache: every one ends, and no KV block,
/// adapter lease or sequence is left behind.</summary>
public class CancellationLeakTests
{
    [Fact]
    public async Task AThousandRandomRequestsWithRandomCancelsLeaveNothingBehind()
    {
        using var model = EngineFixture.NewTiny();
        var store = new InMemoryAdapterStore();
        for (int i = 0; i < 3; i++) store.Add(InMemoryAdapterStore.RandomAdapter($"a{i}", model.Config, (ulong)i));
        // 256 tokens of KV for up to 64 sequences: preemption, eviction and prefix hits all happen.
        var options = new EngineOptions { KvCacheTokens = 256, BlockSize = 8, MaxBatchTokens = 48, MaxSequences = 16, MaxQueuedRequests = 2000 };
        await using var engine = new ServingEngine(model, null, options, store);
        var rng = new Xoshiro256(2024);
        var shared = EngineFixture.Tokens(24, 1);
        var sources = new List<CancellationTokenSource>();
        var runs = new List<Task<(int Mode, CompletionResult Result)>>();
        for (int i = 0; i < 1000; i++)
        {
            int length = 1 + rng.NextInt(40);
            var prompt = rng.NextInt(3) == 0 ? [.. shared, .. EngineFixture.Tokens(length, (ulong)i)] : EngineFixture.Tokens(length, (ulong)i);
            var request = new EngineRequest
            {
                PromptTokens = prompt,
                MaxTokens = rng.NextInt(20),
                N = 1 + rng.NextInt(2),
                Adapter = rng.NextInt(2) == 0 ? null : $"a{rng.NextInt(3)}",
                Sampling = new SamplingOptions { Temperature = 0.9f, Seed = (ulong)i },
                Logprobs = rng.NextInt(4) == 0 ? 2 : null,
            };
            int mode = rng.NextInt(4); // 0: runs to the end; 1: cancelled at once; 2: after some tokens; 3: by its token
            int after = 1 + rng.NextInt(6);
            var source = new CancellationTokenSource();
            sources.Add(source);
            var handle = engine.Submit(request, mode == 3 ? source.Token : default);
            if (mode == 1) handle.Cancel();
            runs.Add(Drain(handle, mode, after, source));
        }
        var all = Task.WhenAll(runs);
        if (await Task.WhenAny(all, Task.Delay(EngineFixture.Timeout)) != all)
            Assert.Fail($"Requests did not finish in time: {engine.Stats}, {runs.Count(t => !t.IsCompleted)} open");
        var results = await all;
        foreach (var s in sources) s.Dispose();

        foreach (var (mode, result) in results)
        {
            Assert.All(result.Choices, c => Assert.True(mode != 0 || c.FinishReason == FinishReason.Length, $"mode {mode}: {c.FinishReason} {c.Error}"));
            Assert.All(result.Choices, c => Assert.NotEqual(FinishReason.Error, c.FinishReason));
        }
        Assert.Contains(results, r => r.Result.Choices.Any(c => c.FinishReason == FinishReason.Cancelled));
        var (used, sequences) = await engine.InspectAsync(() =>
        {
            engine.Blocks.Validate();
            return (engine.Blocks.UsedBlocks, engine.Blocks.SequenceCount);
        });
        Assert.Equal(0, used);
        Assert.Equal(0, sequences);
        Assert.Equal(0, store.ActiveLeases);
        var stats = engine.Stats;
        Assert.Equal(1000, stats.RequestsFinished);
        Assert.Equal(0, stats.RunningSequences + stats.WaitingSequences + stats.LoadingRequests);
        Assert.True(stats.Preemptions > 0 && stats.PrefixHitTokens > 0 && stats.KvEvictions > 0,
            $"preemptions {stats.Preemptions}, prefix hits {stats.PrefixHitTokens}, evictions {stats.KvEvictions}");
    }

    private static async Task<(int, CompletionResult)> Drain(RequestHandle handle, int mode, int after, CancellationTokenSource source)
    {
        if (mode != 2 && mode != 3) return (mode, await handle.CollectAsync());
        // Reads the stream itself and cancels after a few tokens, as a client that goes away would.
        int tokens = 0;
        var reasons = new List<FinishReason>();
        await foreach (var e in handle.ReadAllAsync())
        {
            if (e is TokenEvent && ++tokens == after)
            {
                if (mode == 2) handle.Cancel();
                else source.Cancel();
            }
            if (e is FinishEvent f) reasons.Add(f.Reason);
        }
        return (mode, new CompletionResult([.. reasons.Select(r => new CompletionChoice([], "", r, [], null))], null, new RequestUsage(0, 0, 0)));
    }
}
