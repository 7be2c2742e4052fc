using Scion.Serving.Benchmarking;
using Scion.Tensors;

namespace Scion.Serving.Tests.Benchmarking;

public class LoadPlanTests
{
    private static readonly LoadSpec Spec = new()
    {
        Requests = 200, PromptTokens = LengthDistribution.Parse("20..40", "p"), OutputTokens = LengthDistribution.Parse("normal:16,4,8..24", "o"),
        SharedPrefixTokens = 12, Adapters = 10, ZipfExponent = 1, Vocab = 512, Seed = 7,
    };

    [Fact]
    public void TheSameSeedGivesTheSamePlanTokenForToken()
    {
        var a = LoadPlan.Create(Spec);
        var b = LoadPlan.Create(Spec);
        Assert.Equal(a.Requests.Count, b.Requests.Count);
        for (int i = 0; i < a.Requests.Count; i++)
        {
            Assert.Equal(a.Requests[i].PromptTokens, b.Requests[i].PromptTokens);
            Assert.Equal(a.Requests[i].MaxTokens, b.Requests[i].MaxTokens);
            Assert.Equal(a.Requests[i].Adapter, b.Requests[i].Adapter);
        }
        var c = LoadPlan.Create(Spec with { Seed = 8 });
        Assert.NotEqual(a.Requests[0].PromptTokens, c.Requests[0].PromptTokens);
    }

    [Fact]
    public void LengthsPrefixAndTokensStayInTheirRanges()
    {
        var plan = LoadPlan.Create(Spec);
        int[] prefix = plan.Requests[0].PromptTokens[..12];
        foreach (var r in plan.Requests)
        {
            Assert.InRange(r.PromptTokens.Length, 20, 40);
            Assert.InRange(r.MaxTokens, 8, 24);
            Assert.Equal(prefix, r.PromptTokens[..12]);
            Assert.All(r.PromptTokens, t => Assert.InRange(t, 1, 511));
            Assert.InRange(r.Adapter!.Value, 0, 9);
            Assert.Equal(0, r.ArrivalSeconds);
        }
        // Beyond the prefix the prompts differ.
        Assert.NotEqual(plan.Requests[0].PromptTokens[12..], plan.Requests[1].PromptTokens[12..]);
        Assert.Null(plan.LongPrompt);
    }

    [Fact]
    public void PoissonArrivalsIncreaseWithTheRequestedMeanGap()
    {
        var plan = LoadPlan.Create(new LoadSpec { Requests = 4000, RequestRate = 20, Seed = 3 });
        var t = plan.Requests.Select(r => r.ArrivalSeconds).ToArray();
        Assert.True(t.Zip(t.Skip(1)).All(p => p.Second >= p.First));
        double meanGap = t[^1] / t.Length;
        Assert.InRange(meanGap, 0.045, 0.055);
    }

    [Fact]
    public void TheLongPromptProbeIsPlannedApart()
    {
        var plan = LoadPlan.Create(new LoadSpec { Requests = 3, LongPromptTokens = 300, LongPromptAtSeconds = 2 });
        Assert.Equal(3, plan.Requests.Count);
        Assert.Equal(300, plan.LongPrompt!.PromptTokens.Length);
        Assert.Equal(1, plan.LongPrompt.MaxTokens);
        Assert.Equal(2, plan.LongPrompt.ArrivalSeconds);
    }

    [Fact]
    public void UniformPopularityHitsEveryAdapterAboutEqually()
    {
        var pop = new AdapterPopularity(10);
        var rng = new Xoshiro256(1);
        var counts = new int[10];
        for (int i = 0; i < 100_000; i++) counts[pop.Sample(rng)]++;
        Assert.All(counts, c => Assert.InRange(c, 9_500, 10_500));
        Assert.Equal(0.1, pop.Probability(3), 12);
    }

    [Fact]
    public void ZipfPopularityFollowsOneOverRankToTheS()
    {
        var pop = new AdapterPopularity(1000, 1.0);
        Assert.Equal(1.0, Enumerable.Range(0, 1000).Sum(pop.Probability), 9);
        Assert.Equal(2.0, pop.Probability(0) / pop.Probability(1), 9);
        Assert.Equal(10.0, pop.Probability(0) / pop.Probability(9), 9);
        var rng = new Xoshiro256(2);
        var counts = new int[1000];
        const int n = 200_000;
        for (int i = 0; i < n; i++) counts[pop.Sample(rng)]++;
        // H(1000) ≈ 7.485: adapter 0 gets about 13.4% of requests.
        Assert.InRange(counts[0] / (double)n, pop.Probability(0) * 0.97, pop.Probability(0) * 1.03);
        Assert.True(counts[0] > counts[9] && counts[9] > counts[99]);
        Assert.InRange(counts.Take(100).Sum() / (double)n, 0.66, 0.70);
    }

    [Theory]
    [InlineData("64", LengthDistribution.Kinds.Fixed, 64, 64)]
    [InlineData("16..128", LengthDistribution.Kinds.Uniform, 16, 128)]
    [InlineData("normal:80,20,8..256", LengthDistribution.Kinds.Normal, 8, 256)]
    public void LengthDistributionsParse(string text, LengthDistribution.Kinds kind, int min, int max)
    {
        var d = LengthDistribution.Parse(text, "--prompt-tokens");
        Assert.Equal((kind, min, max), (d.Kind, d.Min, d.Max));
        var rng = new Xoshiro256(5);
        for (int i = 0; i < 1000; i++) Assert.InRange(d.Sample(rng), min, max);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("9..3")]
    [InlineData("normal:80")]
    public void BadLengthDistributionsAreNamed(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => LengthDistribution.Parse(text, "--prompt-tokens"));
        Assert.Contains("--prompt-tokens", e.Message);
        Assert.Contains(text, e.Message);
    }
}
