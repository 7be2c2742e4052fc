using Scion.Training.Autograd;

namespace Scion.Training.Tests.Autograd;

public class LinearCrossEntropyTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FusedHeadAndLossEqualTheTwoOps(bool ignoreSome)
    {
        const int tokens = 9, dim = 24, vocab = 70;
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

        Assert.Equal(loss1.Data[0], loss2.Data[0]);
        Assert.Equal(h1.Grad!, h2.Grad!);
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
