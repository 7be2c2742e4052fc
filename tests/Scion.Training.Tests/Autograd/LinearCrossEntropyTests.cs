using Scion.Training.Autograd;

namespace Scion.Training.Tests.Autograd;

public class LinearCrossEntropyTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FusedHeadAndLossEqualTheTwoOps(bool ignoreSome)
    {
        const int tokens = 9, dim = 24, vocab = 75; // not a whole number of vectors
        var rng = new Xoshiro256(4);
        var w = new float[vocab * dim];
        for (int i = 0; i < w.Length; i++) w[i] = rng.NextUniform(-1, 1);
        var frozen = new DenseFrozenWeight(w, vocab, dim);
        var hv = new float[tokens * dim];
        for (int i = 0; i < hv.Length; i++) hv[i] = rng.NextUniform(-1, 1);
        var targets = new int[tokens];
        for (int t = 0; t < tokens; t++) targets[t] = (t * 17 + 3) % vocab;
        if (ignoreSome) targets[0] = targets[4] = targets[5] = Tape.IgnoreIndex;

        var h1 = Tensor.Parameter((float[])hv.Clone(), tokens, dim);
        var tape1 = new Tape();
        var loss1 = tape1.CrossEntropy(tape1.LinearFrozen(h1, frozen), targets);
        tape1.Backward(loss1, 0.5f);

        var h2 = Tensor.Parameter((float[])hv.Clone(), tokens, dim);
        var tape2 = new Tape();
        var loss2 = tape2.LinearCrossEntropy(h2, frozen, targets);
        tape2.Backward(loss2, 0.5f);

        // The fused op takes one (vectorized) exponential per logit; the two-op path two scalar ones: equal to rounding.
        Assert.True(Math.Abs(loss1.Data[0] - loss2.Data[0]) <= 1e-6 * Math.Abs(loss1.Data[0]), $"loss {loss2.Data[0]} vs {loss1.Data[0]}");
        for (int i = 0; i < h1.Grad!.Length; i++)
            Assert.True(Math.Abs(h1.Grad[i] - h2.Grad![i]) <= 1e-6f, $"dh[{i}] {h2.Grad[i]} vs {h1.Grad[i]}");
        if (ignoreSome) Assert.All(h2.Grad!.AsSpan(0, dim).ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void AllIgnoredGivesZeroLossAndNoGradient()
    {
        var frozen = new DenseFrozenWeight(new float[5 * 3], 5, 3);
        var h = Tensor.Parameter(new float[2 * 3], 2, 3);
        var tape = new Tape();
        var loss = tape.LinearCrossEntropy(h, frozen, [Tape.IgnoreIndex, Tape.IgnoreIndex]);
        Assert.Equal(0f, loss.Data[0]);
        tape.Backward(loss);
        Assert.Null(h.Grad);
    }
}

public class DoraNormCacheTests
{
    [Fact]
    public void CachedNormsFollowChangesOfAAndB()
    {
        const int tokens = 3, inF = 8, outF = 5, rank = 2;
        var rng = new Xoshiro256(6);
        float[] R(int n) { var v = new float[n]; for (int i = 0; i < n; i++) v[i] = rng.NextUniform(-1, 1); return v; }
        var wv = R(outF * inF);
        var w = new DenseFrozenWeight(wv, outF, inF);
        var x = new Tensor(R(tokens * inF), tokens, inF);
        var a = Tensor.Parameter(R(rank * inF), rank, inF);
        var b = Tensor.Parameter(R(outF * rank), outF, rank);
        var m = Tensor.Parameter(R(outF), outF);
        var tape = new Tape();
        using var _ = tape.NoGrad();
        var y1 = tape.DoraLinear(x, w, a, b, m, 0.7f).Data;
        Assert.Equal(y1, tape.DoraLinear(x, w, a, b, m, 0.7f).Data); // reused
        b.Data[3] += 0.25f;
        a.Data[1] -= 0.5f;
        var y2 = tape.DoraLinear(x, w, a, b, m, 0.7f).Data;
        // A fresh weight object has no cached norms: the reference for the changed A and B.
        var fresh = tape.DoraLinear(x, new DenseFrozenWeight(wv, outF, inF), a, b, m, 0.7f).Data;
        Assert.Equal(fresh, y2);
        Assert.NotEqual(y1, y2);
    }
}
