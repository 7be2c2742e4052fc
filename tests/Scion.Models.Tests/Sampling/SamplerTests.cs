using Scion.Models.Generation;
using Scion.Models.Sampling;

namespace Scion.Models.Tests.Sampling;

public class SamplerTests
{
    private static readonly float[] Logits = [1f, 3f, 2f, 0.5f, 2.9f, -1f];

    private static Dictionary<int, int> Histogram(SamplingOptions o, int draws = 4000, IReadOnlyList<int>? history = null)
    {
        var s = new Sampler(o);
        var h = new Dictionary<int, int>();
        for (int i = 0; i < draws; i++)
        {
            int id = s.Sample(Logits, history ?? []);
            h[id] = h.GetValueOrDefault(id) + 1;
        }
        return h;
    }

    [Fact]
    public void GreedyPicksTheLargestLogit() => Assert.Equal(1, new Sampler(SamplingOptions.Greedy).Sample(Logits, []));

    [Fact]
    public void TopKLimitsTheCandidates()
    {
        var h = Histogram(new SamplingOptions { Temperature = 1, TopK = 2, TopP = 1, MinP = 0 });
        Assert.Equal([1, 4], h.Keys.Order());
    }

    [Fact]
    public void TopPKeepsTheSmallestSetReachingP()
    {
        // Softmax at T=1: ids 1 (0.39), 4 (0.35), 2 (0.14), 0 (0.05)... → 1 and 4 reach 0.74 < 0.8, so 2 joins.
        var h = Histogram(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 0.8f, MinP = 0 });
        Assert.Equal([1, 2, 4], h.Keys.Order());
    }

    [Fact]
    public void MinPDropsUnlikelyTokens()
    {
        // p(2)/p(1) = e^-1 ≈ 0.37 passes 0.3; p(0)/p(1) = e^-2 ≈ 0.14 does not.
        var h = Histogram(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 1, MinP = 0.3f });
        Assert.Equal([1, 2, 4], h.Keys.Order());
    }

    [Fact]
    public void FrequenciesFollowTheSoftmax()
    {
        var h = Histogram(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 1, MinP = 0 }, draws: 20000);
        double z = Logits.Sum(l => Math.Exp(l));
        for (int id = 0; id < Logits.Length; id++)
            Assert.InRange(h.GetValueOrDefault(id) / 20000.0, Math.Exp(Logits[id]) / z - 0.02, Math.Exp(Logits[id]) / z + 0.02);
    }

    [Fact]
    public void SameSeedSameDraws()
    {
        var o = new SamplingOptions { Temperature = 1.2f, TopK = 0, TopP = 1, MinP = 0, Seed = 9 };
        var a = new Sampler(o);
        var b = new Sampler(o);
        for (int i = 0; i < 50; i++) Assert.Equal(a.Sample(Logits, []), b.Sample(Logits, []));
    }

    [Fact]
    public void RepetitionPenaltyMovesAwayFromRecentTokens()
    {
        var o = SamplingOptions.Greedy with { RepetitionPenalty = 1.5f };
        // 3/1.5 = 2 < 2.9: the repeated best token loses to id 4.
        Assert.Equal(4, new Sampler(o).Sample(Logits, [1]));
        Assert.Equal(1, new Sampler(SamplingOptions.Greedy with { PresencePenalty = 0.05f }).Sample(Logits, [4]));
        Assert.Equal(4, new Sampler(SamplingOptions.Greedy with { FrequencyPenalty = 0.1f }).Sample(Logits, [1, 1]));
    }

    [Fact]
    public void BadOptionsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplingOptions { TopP = 0 }));
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplingOptions { Temperature = -1 }));
    }

    [Fact]
    public void StopStringsAreHeldBackAndCut()
    {
        var m = new StopStringMatcher(["</end>"]);
        Assert.Equal("Hello ", m.Push("Hello </"));
        Assert.Equal("", m.Push("en"));
        Assert.Equal("", m.Push("d> more"));
        Assert.True(m.Stopped);
        var n = new StopStringMatcher(["</end>"]);
        Assert.Equal("a", n.Push("a</"));
        Assert.Equal("</x", n.Push("x"));
        Assert.Equal("", n.Flush());
    }
}
