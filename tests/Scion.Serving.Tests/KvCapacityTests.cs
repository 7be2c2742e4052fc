using Scion.Models.KvCache;
using Scion.Models.Sampling;
using Scion.Serving.Engine;
using Scion.Tensors;

namespace Scion.Serving.Tests;

/// <summary>
/// In the same KV memory a Q8_0 cache holds about twice the tokens of an F16 one (34 bytes per 32 values against 64),
/// and the engine runs twice the sequences at once: eight requests that an F16 cache must preempt to serve all fit.
/// </summary>
public class KvCapacityTests
{
    [Fact]
    public void TheSameMemoryHoldsAboutTwiceTheTokensAsQ8_0AndMoreThanThreeTimesAsQ4_0()
    {
        using var model = EngineFixture.NewTiny(wide: true);
        var c = model.Config;
        var options = new EngineOptions { KvCacheBytes = 1 << 20 };
        int f16 = options.ResolveKvTokens(c, KvCacheFormat.F16);
        int q8 = options.ResolveKvTokens(c, new(GgmlType.Q8_0, GgmlType.Q8_0));
        int q4 = options.ResolveKvTokens(c, new(GgmlType.Q4_0, GgmlType.Q4_0));
        Assert.Equal((1 << 20) / (2 * c.Layers * c.KvDim * 2) / 16 * 16, f16);
        Assert.InRange(q8 / (double)f16, 64.0 / 34 - 0.02, 64.0 / 34 + 0.02);
        Assert.InRange(q4 / (double)f16, 64.0 / 18 - 0.05, 64.0 / 18 + 0.05);
        // Without a byte budget, the default is the memory of sixteen F16 contexts (capped at 65,536 tokens).
        var byDefault = new EngineOptions();
        Assert.Equal(16 * c.ContextLength, byDefault.ResolveKvTokens(c, KvCacheFormat.F16));
        Assert.True(byDefault.ResolveKvTokens(c, new(GgmlType.Q8_0, GgmlType.Q8_0)) >= 1.85 * 16 * c.ContextLength);
        Assert.Equal(1000, new EngineOptions { KvCacheTokens = 1000, KvCacheBytes = 1 << 20 }.ResolveKvTokens(c, KvCacheFormat.F16));
        var tooSmall = Assert.Throws<ArgumentOutOfRangeException>(() => new EngineOptions { KvCacheBytes = 100 }.ResolveKvTokens(c, KvCacheFormat.F16));
        Assert.Contains("less than one block", tooSmall.Message);
    }

    [Fact]
    public async Task EightSequencesThatAnF16CachePreemptsRunTogetherInAQ8_0CacheOfTheSameSize()
    {
        // Eight requests of 40 + 24 tokens (4 blocks of 16 each, 512 tokens): 320 F16 tokens of memory hold five.
        using var model = EngineFixture.NewTiny(wide: true);
        long bytes = 320L * KvCacheFormat.F16.BytesPerToken(model.Config);
        var requests = Enumerable.Range(0, 8).Select(i => new EngineRequest
        {
            PromptTokens = EngineFixture.Tokens(40, (ulong)(300 + i)), MaxTokens = 24, Sampling = SamplingOptions.Greedy,
        }).ToList();
        var options = new EngineOptions { KvCacheBytes = bytes, MaxBatchTokens = 512 };

        await using (var f16 = new EngineFixture.Recording(model, options))
        {
            Assert.Equal(320, f16.Engine.KvCacheTokens);
            await f16.RunTogether(requests);
            Assert.True(f16.Engine.Stats.Preemptions > 0, "eight sequences of 64 tokens cannot all fit 320 F16 tokens");
        }
        model.KvFormat = new KvCacheFormat(GgmlType.Q8_0, GgmlType.Q8_0);
        await using var q8 = new EngineFixture.Recording(model, options);
        Assert.True(q8.Engine.KvCacheTokens >= 512, $"{q8.Engine.KvCacheTokens} Q8_0 tokens in the memory of 320 F16 ones");
        var results = await q8.RunTogether(requests);
        Assert.Equal(0, q8.Engine.Stats.Preemptions);
        Assert.True(q8.Engine.Stats.KvBlocksPeak >= 8 * 4, $"peak {q8.Engine.Stats.KvBlocksPeak} blocks: the eight sequences were meant to be resident together");
        for (int i = 0; i < requests.Count; i++)
            Assert.Equal(EngineFixture.Run(model, [.. requests[i].PromptTokens], 24).Tokens, results[i].Result.Choices[0].Tokens);
    }
}
