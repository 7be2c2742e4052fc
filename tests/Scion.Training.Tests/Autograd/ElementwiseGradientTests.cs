using Scion.Training.Autograd;
using Scion.Training.Tests.Autograd.Reference;
using static Scion.Training.Tests.Autograd.GradCheck;

namespace Scion.Training.Tests.Autograd;

public class ElementwiseGradientTests
{
    private static readonly Xoshiro256 Rng = new(11);

    [Fact]
    public void Add()
    {
        var a = Random(Rng, 12);
        var b = Random(Rng, 12);
        Check([new("a", a, [3, 4]), new("b", b, [3, 4])], (t, x) => t.Add(x[0], x[1]), d => RefOps.Add(d[0], d[1]));
    }

    [Fact]
    public void Mul()
    {
        Check([new("a", Random(Rng, 12), [3, 4]), new("b", Random(Rng, 12), [3, 4])],
            (t, x) => t.Mul(x[0], x[1]), d => RefOps.Mul(d[0], d[1]));
    }

    [Fact]
    public void Scale()
    {
        Check([new("x", Random(Rng, 10), [2, 5])], (t, x) => t.Scale(x[0], 0.75f), d => d[0].Select(v => v * 0.75).ToArray());
    }

    [Fact]
    public void SwiGlu()
    {
        Check([new("gate", Random(Rng, 24, 3f), [4, 6]), new("up", Random(Rng, 24), [4, 6])],
            (t, x) => t.SwiGlu(x[0], x[1]), d => RefOps.SwiGlu(d[0], d[1]));
    }

    [Fact]
    public void RmsNormTrainableWeight()
    {
        var w = Random(Rng, 8).Select(v => 1 + 0.5f * v).ToArray();
        Check([new("x", Random(Rng, 24), [3, 8]), new("weight", w, [8])],
            (t, x) => t.RmsNorm(x[0], x[1], 1e-5f), d => RefOps.RmsNorm(d[0], d[1], 8, 1e-5));
    }

    [Fact]
    public void RmsNormFrozenWeight()
    {
        var w = Random(Rng, 8).Select(v => 1 + 0.5f * v).ToArray();
        Check([new("x", Random(Rng, 16), [2, 8]), new("weight", w, [8], RequiresGrad: false)],
            (t, x) => t.RmsNorm(x[0], x[1], 1e-6f), d => RefOps.RmsNorm(d[0], d[1], 8, 1e-6));
    }

    [Fact]
    public void Embedding()
    {
        int[] ids = [3, 0, 3, 5, 1];
        Check([new("table", Random(Rng, 6 * 4), [6, 4])], (t, x) => t.Embedding(ids, x[0]), d => RefOps.Embedding(ids, d[0], 4));
    }

    [Fact]
    public void EmbeddingOverFrozenTableMatchesRows()
    {
        var table = Random(Rng, 6 * 4);
        var y = new Tape().Embedding([5, 2], new DenseFrozenWeight(table, 6, 4));
        Assert.Equal(table.AsSpan(20, 4).ToArray(), y.Data.AsSpan(0, 4).ToArray());
        Assert.Equal(table.AsSpan(8, 4).ToArray(), y.Data.AsSpan(4, 4).ToArray());
        Assert.False(y.RequiresGrad);
    }

    [Theory]
    [InlineData(RopeStyle.HalfSplit)]
    [InlineData(RopeStyle.Interleaved)]
    public void Rope(RopeStyle style)
    {
        int[] positions = [0, 1, 2, 7, 0, 30];
        Check([new("x", Random(Rng, 6 * 2 * 8), [6, 16])],
            (t, x) => t.Rope(x[0], positions, 8, 10000f, style),
            d => RefOps.Rope(d[0], positions, 8, 10000, style == RopeStyle.HalfSplit));
    }

    [Fact]
    public void RopeStylesPairDifferentDimensions()
    {
        // Position 1, head size 4: frequencies 1 and 0.01. Half-split rotates (0, 2), interleaved (0, 1).
        var x = new Tensor([1f, 0f, 0f, 0f], 1, 4);
        var half = new Tape().Rope(x, [1], 4, 10000f, RopeStyle.HalfSplit);
        var inter = new Tape().Rope(x, [1], 4, 10000f, RopeStyle.Interleaved);
        Assert.Equal(MathF.Cos(1), half.Data[0], 6);
        Assert.Equal(MathF.Sin(1), half.Data[2], 6);
        Assert.Equal(0f, half.Data[1]);
        Assert.Equal(MathF.Sin(1), inter.Data[1], 6);
        Assert.Equal(0f, inter.Data[2]);
    }

    [Fact]
    public void CrossEntropyWithIgnoredRows()
    {
        int[] targets = [2, -100, 0, 6, -100];
        Check([new("logits", Random(Rng, 5 * 7, 4f), [5, 7])],
            (t, x) => t.CrossEntropy(x[0], targets), d => [RefOps.CrossEntropy(d[0], targets)]);
    }

    [Fact]
    public void CrossEntropyIsStableForHugeLogits()
    {
        var logits = new Tensor([1000f, 0f, -1000f, 2000f, 2001f, 1999f], 2, 3);
        var loss = new Tape().CrossEntropy(logits, [0, 1]);
        double expected = (0 + (Math.Log(Math.Exp(-1) + 1 + Math.Exp(-2)))) / 2;
        Assert.Equal(expected, loss.Data[0], 5);
    }

    [Fact]
    public void CrossEntropyAllIgnoredIsZero()
    {
        var tape = new Tape();
        var logits = new Tensor([1f, 2f], 1, 2) { RequiresGrad = true };
        var loss = tape.CrossEntropy(logits, [-100]);
        Assert.Equal(0f, loss.Data[0]);
        Assert.Equal(0, tape.NodeCount);
    }
}
