using Scion.Models.Sampling;
using Scion.Serving.Engine;

namespace Scion.Serving.Tests;

/// <summary>Reused prefix blocks give exactly what a cold prefill gives, and only where prefix and adapter match.</summary>
public class PrefixCacheTests
{
    private static EngineRequest Greedy(int[] prompt, string? adapter = null, int maxTokens = 10) => new()
    {
        PromptTokens = prompt, MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy, Adapter = adapter,
    };

    [Fact]
    public async Task ASharedPrefixIsReusedAndEqualsAColdPrefill()
    {
        using var model = EngineFixture.NewTiny();
        var shared = EngineFixture.Tokens(70, 1);
        var first = shared.Concat(EngineFixture.Tokens(5, 2)).ToArray();
        var second = shared.Concat(EngineFixture.Tokens(9, 3)).ToArray();
        await using var rec = new EngineFixture.Recording(model, new EngineOptions { KvCacheTokens = 1024 });
        var a = (await rec.RunTogether([Greedy(first)]))[0];
        var b = (await rec.RunTogether([Greedy(second)]))[0];
        Assert.Equal(0, a.Result.Usage.CachedTokens);
        Assert.Equal(64, b.Result.Usage.CachedTokens); // the 4 full 16-token blocks of the shared 70
        var cold = EngineFixture.Run(model, second, 10);
        Assert.Equal(cold.Tokens, b.Result.Choices[0].Tokens);
        for (int t = 0; t < 10; t++) EngineFixture.AssertSameBits(cold.Logits[t], rec.Logits(b.Handle.Id)[t], $"token {t}");
        var stats = rec.Engine.Stats;
        Assert.Equal(64, stats.PrefixHitTokens);
        Assert.Equal(first.Length + second.Length, stats.PrefixQueryTokens);
        Assert.True(stats.PrefixHitRate > 0.4);
    }

    [Fact]
    public async Task AFullHitStillRecomputesTheLastTokenForItsLogits()
    {
        using var model = EngineFixture.NewTiny();
        var prompt = EngineFixture.Tokens(64, 4); // exactly four blocks
        await using var rec = new EngineFixture.Recording(model, new EngineOptions { KvCacheTokens = 1024 });
        await rec.RunTogether([Greedy(prompt)]);
        var again = (await rec.RunTogether([Greedy(prompt)]))[0];
        Assert.Equal(48, again.Result.Usage.CachedTokens); // the last block holds the last token: recomputed
        Assert.Equal(EngineFixture.Run(model, prompt, 10).Tokens, again.Result.Choices[0].Tokens);
    }

    [Fact]
    public async Task GeneratedTokensOfAFinishedRequestAreCachedForAFollowUpTurn()
    {
        using var model = EngineFixture.NewTiny();
        var prompt = EngineFixture.Tokens(30, 5);
        await using var rec = new EngineFixture.Recording(model, new EngineOptions { KvCacheTokens = 1024 });
        var turn = (await rec.RunTogether([Greedy(prompt, maxTokens: 20)]))[0];
        // The next turn's prompt is the conversation so far plus a new message.
        var next = prompt.Concat(turn.Result.Choices[0].Tokens).Concat(EngineFixture.Tokens(6, 6)).ToArray();
        var follow = (await rec.RunTogether([Greedy(next)]))[0];
        Assert.Equal(48, follow.Result.Usage.CachedTokens); // 49 tokens were computed: three full blocks
        Assert.Equal(EngineFixture.Run(model, next, 10).Tokens, follow.Result.Choices[0].Tokens);
    }

    [Fact]
    public async Task AdaptersNeverShareCachedPrefixes()
    {
        using var model = EngineFixture.NewTiny();
        var store = new InMemoryAdapterStore();
        store.Add(InMemoryAdapterStore.RandomAdapter("a", model.Config, 1));
        var prompt = EngineFixture.Tokens(40, 7);
        await using var rec = new EngineFixture.Recording(model, new EngineOptions { KvCacheTokens = 1024 }, store);
        await rec.RunTogether([Greedy(prompt)]);
        var adapted = (await rec.RunTogether([Greedy(prompt, "a")]))[0];
        Assert.Equal(0, adapted.Result.Usage.CachedTokens);
        var again = (await rec.RunTogether([Greedy(prompt, "a")]))[0];
        Assert.Equal(32, again.Result.Usage.CachedTokens);
        Assert.Equal(adapted.Result.Choices[0].Tokens, again.Result.Choices[0].Tokens);
    }

    [Fact]
    public async Task CachedBlocksAreEvictedWhenMemoryIsNeededAndResultsStayCorrect()
    {
        using var model = EngineFixture.NewTiny();
        // 128 tokens of cache: each 50-token request leaves 3 cached blocks behind, so later ones must evict.
        await using var rec = new EngineFixture.Recording(model, new EngineOptions { KvCacheTokens = 128 });
        for (int i = 0; i < 6; i++)
        {
            var prompt = EngineFixture.Tokens(50, (ulong)(20 + i));
            var r = (await rec.RunTogether([Greedy(prompt)]))[0];
            Assert.Equal(EngineFixture.Run(model, prompt, 10).Tokens, r.Result.Choices[0].Tokens);
        }
        Assert.True(rec.Engine.Stats.KvEvictions > 0);
        Assert.Equal(0, await rec.Engine.InspectAsync(() => { rec.Engine.Blocks.Validate(); return rec.Engine.Blocks.UsedBlocks; }));
    }

    [Fact]
    public async Task DisabledPrefixCachingGivesTheSameOutput()
    {
        using var model = EngineFixture.NewTiny();
        var prompt = EngineFixture.Tokens(40, 8);
        await using var rec = new EngineFixture.Recording(model, new EngineOptions { KvCacheTokens = 1024, PrefixCaching = false });
        await rec.RunTogether([Greedy(prompt)]);
        var again = (await rec.RunTogether([Greedy(prompt)]))[0];
        Assert.Equal(0, again.Result.Usage.CachedTokens);
        Assert.Equal(EngineFixture.Run(model, prompt, 10).Tokens, again.Result.Choices[0].Tokens);
    }
}
