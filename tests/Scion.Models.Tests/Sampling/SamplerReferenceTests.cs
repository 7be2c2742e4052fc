using Scion.Models.Sampling;
using Scion.Tensors;

namespace Scion.Models.Tests.Sampling;

/// <summary>The sampler's draws against a reference written the plain way (full stable sort, softmax of (l − max)/T,
/// filters on the sorted list, inverse CDF with the same uniform), and the boundaries where an off-by-one or a
/// flipped comparison changes the answer: ties at the top-k cut, top-p reached exactly, min-p at its threshold.</summary>
public class SamplerReferenceTests
{
    /// <summary>The id a straightforward sampler draws for uniform <paramref name="u"/> (penalties off).</summary>
    private static int Reference(float[] logits, SamplingOptions o, double u)
    {
        // Highest logit first, ties by lower id: LINQ's OrderBy is stable, so ThenBy states the rule outright.
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToList();
        if (o.TopK > 0) order = order.Take(o.TopK).ToList();
        double top = logits[order[0]];
        var weights = order.Select(i => Math.Exp((logits[i] - top) / o.Temperature)).ToList();
        double z = weights.Sum();
        var p = weights.Select(w => w / z).ToList();
        int keep = p.Count;
        if (o.TopP < 1)
        {
            double c = 0;
            for (int i = 0; i < p.Count; i++) { c += p[i]; if (c >= o.TopP) { keep = i + 1; break; } }
        }
        if (o.MinP > 0) keep = Math.Min(keep, p.TakeWhile(x => x >= p[0] * o.MinP).Count());
        double r = u * p.Take(keep).Sum();
        for (int i = 0; i < keep; i++)
        {
            r -= p[i];
            if (r < 0) return order[i];
        }
        return order[keep - 1];
    }

    [Fact]
    public void DrawsMatchAPlainReferenceOverRandomCases()
    {
        var gen = new Xoshiro256(2026);
        for (int c = 0; c < 300; c++)
        {
            // Logits from a small grid so ties are common; vocabularies past 16 so List.Sort is not an insertion sort.
            int v = 3 + gen.NextInt(40);
            var logits = new float[v];
            for (int i = 0; i < v; i++) logits[i] = gen.NextInt(6) * 0.5f - 1f;
            var o = new SamplingOptions
            {
                Temperature = new[] { 0.3f, 0.7f, 1f, 1.6f }[gen.NextInt(4)],
                TopK = new[] { 0, 1, 2, 5, v }[gen.NextInt(5)],
                TopP = new[] { 1f, 0.9f, 0.5f, 0.2f }[gen.NextInt(4)],
                MinP = new[] { 0f, 0.05f, 0.5f }[gen.NextInt(3)],
                Seed = (ulong)c,
            };
            var s = new Sampler(o);
            var rng = new Xoshiro256(o.Seed);
            for (int d = 0; d < 20; d++)
                Assert.Equal(Reference(logits, o, rng.NextDouble()), s.Sample(logits, []));
        }
    }

    private static int[] Drawn(float[] logits, SamplingOptions o, int draws = 400)
    {
        var s = new Sampler(o);
        var seen = new SortedSet<int>();
        for (int i = 0; i < draws; i++) seen.Add(s.Sample(logits, []));
        return [.. seen];
    }

    private static readonly SamplingOptions Plain = new() { Temperature = 1, TopK = 0, TopP = 1, MinP = 0 };

    [Fact]
    public void TopKKeepsTheLowerIdsAmongTiesAtTheCut()
    {
        Assert.Equal([0, 1], Drawn([2f, 2f, 2f, 0f], Plain with { TopK = 2 }));
        // A better logit evicts the highest id among the tied worst: id 1 goes, id 0 stays.
        Assert.Equal([0, 2], Drawn([2f, 2f, 3f, 0f], Plain with { TopK = 2 }));
    }

    [Fact]
    public void GreedyTakesTheFirstOfTiedMaxima() =>
        Assert.Equal(1, new Sampler(SamplingOptions.Greedy).Sample([1f, 3f, 3f, 0f], []));

    [Fact]
    public void TopPStopsAtTheFirstCandidateThatReachesItExactly() =>
        // Two equal logits: the first holds exactly 0.5, which reaches top-p 0.5, so the second is cut.
        Assert.Equal([0], Drawn([1f, 1f], Plain with { TopP = 0.5f }));

    [Fact]
    public void MinPKeepsCandidatesExactlyAtTheThreshold()
    {
        // min-p 1: the threshold equals the best probability, and equal logits all meet it (none is past the end).
        Assert.Equal([0, 1, 2], Drawn([1f, 1f, 1f], Plain with { MinP = 1 }));
        // After top-p cut the list to one, min-p does not bring the cut ones back.
        Assert.Equal([0], Drawn([1f, 1f, 1f, 1f], Plain with { TopP = 0.25f, MinP = 0.5f }));
    }

    [Fact]
    public void LargeLogitsDoNotOverflowTheSoftmax()
    {
        // 500 / 0.5 = 1000 overflows exp unless the maximum is subtracted first; p(0) = 1 / (1 + e^-0.2) ≈ 0.55.
        float[] logits = [500f, 499.9f, 400f];
        var s = new Sampler(Plain with { Temperature = 0.5f, Seed = 3 });
        int zeros = 0;
        const int draws = 10000;
        for (int i = 0; i < draws; i++)
        {
            int id = s.Sample(logits, []);
            Assert.NotEqual(2, id);
            if (id == 0) zeros++;
        }
        Assert.InRange(zeros / (double)draws, 0.55 - 0.02, 0.55 + 0.02);
    }

    [Fact]
    public void ASamplerReusedAcrossCallsSeesOnlyTheHistoryItIsGiven()
    {
        var s = new Sampler(SamplingOptions.Greedy with { PresencePenalty = 0.2f });
        Assert.Equal(4, s.Sample([1f, 3f, 2f, 0.5f, 2.9f], [1]));
        Assert.Equal(1, s.Sample([1f, 3f, 2f, 0.5f, 2.9f], []));
    }
}
