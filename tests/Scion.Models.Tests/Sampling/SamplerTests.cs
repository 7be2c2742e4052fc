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
    public void PresencePenaltyCountsATokenOnceAndChangesTheAnswer()
    {
        var o = SamplingOptions.Greedy with { PresencePenalty = 0.2f };
        // 3 - 0.2 = 2.8 < 2.9: the present best token loses to id 4; without the penalty it wins.
        Assert.Equal(4, new Sampler(o).Sample(Logits, [1]));
        Assert.Equal(1, new Sampler(SamplingOptions.Greedy).Sample(Logits, [1]));
        // Once, not per occurrence: 3 - 0.5 = 2.5 beats 2.9 - 0.5 = 2.4 however often id 1 appeared
        // (per occurrence it would be 3 - 1.5 = 1.5 and id 4 would win).
        Assert.Equal(1, new Sampler(SamplingOptions.Greedy with { PresencePenalty = 0.5f }).Sample(Logits, [1, 1, 1, 4]));
    }

    [Fact]
    public void FrequencyPenaltyGrowsWithTheCount()
    {
        var o = SamplingOptions.Greedy with { FrequencyPenalty = 0.05f };
        Assert.Equal(1, new Sampler(o).Sample(Logits, [1]));         // 2.95 > 2.9
        Assert.Equal(4, new Sampler(o).Sample(Logits, [1, 1, 1]));   // 2.85 < 2.9
    }

    [Fact]
    public void RepetitionPenaltyMultipliesNegativeLogits()
    {
        float[] negative = [-1f, -1.2f, -5f];
        // -1 * 1.5 = -1.5 < -1.2 (dividing, as for positive logits, would give -0.67 and keep id 0).
        Assert.Equal(1, new Sampler(SamplingOptions.Greedy with { RepetitionPenalty = 1.5f }).Sample(negative, [0]));
        Assert.Equal(0, new Sampler(SamplingOptions.Greedy).Sample(negative, [0]));
    }

    [Fact]
    public void PenaltiesSeeOnlyTheWindow()
    {
        // Id 1 appeared, but 3 tokens ago: a window of 2 does not see it, a window of 3 does.
        var o = SamplingOptions.Greedy with { PresencePenalty = 0.2f, PenaltyWindow = 2 };
        Assert.Equal(1, new Sampler(o).Sample(Logits, [1, 5, 5]));
        Assert.Equal(4, new Sampler(o with { PenaltyWindow = 3 }).Sample(Logits, [1, 5, 5]));
        Assert.Equal(1, new Sampler(o with { PenaltyWindow = 0 }).Sample(Logits, [1]));
    }

    [Theory]
    [InlineData(0.5f)]
    [InlineData(2f)]
    public void FrequenciesFollowTheSoftmaxAtTemperature(float temperature)
    {
        const int draws = 20000;
        var h = Histogram(new SamplingOptions { Temperature = temperature, TopK = 0, TopP = 1, MinP = 0 }, draws);
        double z = Logits.Sum(l => Math.Exp(l / temperature));
        for (int id = 0; id < Logits.Length; id++)
            Assert.InRange(h.GetValueOrDefault(id) / (double)draws, Math.Exp(Logits[id] / temperature) / z - 0.015, Math.Exp(Logits[id] / temperature) / z + 0.015);
    }

    [Fact]
    public void FiltersRenormaliseTheMassThatIsLeft()
    {
        const int draws = 20000;
        // Top-k 2 at T=1: ids 1 and 4 share all the mass, e^3 : e^2.9.
        var k = Histogram(new SamplingOptions { Temperature = 1, TopK = 2, TopP = 1, MinP = 0 }, draws);
        double p1 = Math.Exp(3) / (Math.Exp(3) + Math.Exp(2.9));
        Assert.InRange(k[1] / (double)draws, p1 - 0.015, p1 + 0.015);
        // Top-p 0.8 keeps ids 1, 4, 2: each drawn in proportion to e^logit over those three only.
        var p = Histogram(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 0.8f, MinP = 0 }, draws);
        double z = Math.Exp(3) + Math.Exp(2.9) + Math.Exp(2);
        Assert.InRange(p[2] / (double)draws, Math.Exp(2) / z - 0.015, Math.Exp(2) / z + 0.015);
        Assert.InRange(p[1] / (double)draws, Math.Exp(3) / z - 0.015, Math.Exp(3) / z + 0.015);
    }

    [Fact]
    public void TemperatureAppliesBeforeTopP()
    {
        // At T=2 the distribution is flatter: 1, 4 and 2 hold only 0.76, so top-p 0.8 keeps id 0 as well
        // (at T=1 it keeps three ids, see TopPKeepsTheSmallestSetReachingP). transformers and vLLM use this order.
        var h = Histogram(new SamplingOptions { Temperature = 2, TopK = 0, TopP = 0.8f, MinP = 0 });
        Assert.Equal([0, 1, 2, 4], h.Keys.Order());
    }

    [Theory]
    [InlineData("temperature", "temperature must be >= 0, got -1.")]
    [InlineData("top-k", "top-k must be >= 0, got -1.")]
    [InlineData("top-p", "top-p must be in (0, 1], got 0.")]
    [InlineData("top-p high", "top-p must be in (0, 1], got 1.5.")]
    [InlineData("min-p", "min-p must be in [0, 1], got -0.5.")]
    [InlineData("min-p high", "min-p must be in [0, 1], got 1.5.")]
    [InlineData("repetition", "repetition penalty must be > 0, got 0.")]
    [InlineData("window", "penalty window must be >= 0, got -1.")]
    public void BadOptionsAreRefusedNamingTheOptionAndTheValue(string which, string message)
    {
        var o = which switch
        {
            "temperature" => new SamplingOptions { Temperature = -1 },
            "top-k" => new SamplingOptions { TopK = -1 },
            "top-p" => new SamplingOptions { TopP = 0 },
            "top-p high" => new SamplingOptions { TopP = 1.5f },
            "min-p" => new SamplingOptions { MinP = -0.5f },
            "min-p high" => new SamplingOptions { MinP = 1.5f },
            "repetition" => new SamplingOptions { RepetitionPenalty = 0 },
            _ => new SamplingOptions { PenaltyWindow = -1 },
        };
        Assert.Equal(message, Assert.Throws<ArgumentException>(() => new Sampler(o)).Message);
    }

    [Fact]
    public void EdgeValuesOfTheOptionsAreAccepted()
    {
        // The ends of each allowed range: top-p 1 and min-p 1 are allowed, as is the smallest positive penalty.
        foreach (var o in new[] { new SamplingOptions { TopP = 1, MinP = 1 }, new SamplingOptions { MinP = 0, TopK = 0, Temperature = 0 },
                     new SamplingOptions { RepetitionPenalty = 1e-6f, PenaltyWindow = 0 } })
            _ = new Sampler(o);
    }

    [Fact]
    public void NonFiniteMessageNamesTheAdapterOnlyWhenThereIsOne()
    {
        Assert.Equal("the model produced non-finite logits (NaN or infinity) at position 7: the weights hold NaN/Inf or values "
            + "large enough to overflow; nothing was sampled from them", NonFiniteLogitsException.For(7, null).Message);
        Assert.Equal("the model produced non-finite logits (NaN or infinity) at position 3 with adapter 'sql': the weights or "
            + "the adapter hold NaN/Inf or values large enough to overflow; nothing was sampled from them",
            NonFiniteLogitsException.For(3, "sql").Message);
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

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void NonFiniteLogitsAreRefusedNotSampled(float bad)
    {
        foreach (var options in new[] { SamplingOptions.Greedy, new SamplingOptions { Temperature = 0.8f, TopK = 3, Seed = 1 }, new SamplingOptions { Temperature = 1f, Seed = 1 } })
        {
            var logits = (float[])Logits.Clone();
            logits[3] = bad;
            var e = Assert.Throws<NonFiniteLogitsException>(() => new Sampler(options).Sample(logits, [1, 2, 3]));
            Assert.Contains("non-finite logits", e.Message);
            Assert.Contains("position 2", e.Message);
        }
    }
}
