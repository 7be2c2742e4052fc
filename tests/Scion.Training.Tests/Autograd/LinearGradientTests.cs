using Scion.Training.Autograd;
using Scion.Training.Tests.Autograd.Reference;
using static Scion.Training.Tests.Autograd.GradCheck;

namespace Scion.Training.Tests.Autograd;

public class LinearGradientTests
{
    private static readonly Xoshiro256 Rng = new(23);

    [Fact]
    public void LinearFrozenGradientToInput()
    {
        var w = Random(Rng, 5 * 7);
        var frozen = new DenseFrozenWeight(w, 5, 7);
        var wd = RefOps.ToDouble(w);
        Check([new("x", Random(Rng, 3 * 7), [3, 7])], (t, x) => t.LinearFrozen(x[0], frozen), d => RefOps.Linear(d[0], wd, 3, 7, 5));
    }

    [Fact]
    public void LinearFrozenLargeEnoughToRunInParallel()
    {
        // 40·96·80 multiply-adds pass the serial cut-off, so the tiled parallel path is checked too.
        var w = Random(Rng, 96 * 80, 0.2f);
        var frozen = new DenseFrozenWeight(w, 96, 80);
        var wd = RefOps.ToDouble(w);
        Check([new("x", Random(Rng, 40 * 80), [40, 80])], (t, x) => t.LinearFrozen(x[0], frozen), d => RefOps.Linear(d[0], wd, 40, 80, 96),
            maxCheckedPerInput: 50);
    }

    [Fact]
    public void LinearTrainable()
    {
        Check([new("x", Random(Rng, 4 * 6), [4, 6]), new("w", Random(Rng, 3 * 6), [3, 6])],
            (t, x) => t.Linear(x[0], x[1]), d => RefOps.Linear(d[0], d[1], 4, 6, 3));
    }

    [Fact]
    public void MatMul()
    {
        Check([new("a", Random(Rng, 4 * 5), [4, 5]), new("b", Random(Rng, 5 * 3), [5, 3])],
            (t, x) => t.MatMul(x[0], x[1]), d => RefOps.MatMul(d[0], d[1], 4, 5, 3));
    }

    [Fact]
    public void Lora()
    {
        Check([new("x", Random(Rng, 4 * 6), [4, 6]), new("A", Random(Rng, 2 * 6), [2, 6]), new("B", Random(Rng, 5 * 2), [5, 2])],
            (t, x) => t.Lora(x[0], x[1], x[2], 1.5f), d => RefOps.Lora(d[0], d[1], d[2], 4, 6, 2, 5, 1.5));
    }

    [Fact]
    public void LoraLinearWithDropoutOnAdapterBranchOnly()
    {
        var w = Random(Rng, 5 * 6);
        var frozen = new DenseFrozenWeight(w, 5, 6);
        var wd = RefOps.ToDouble(w);
        var keep = RefOps.DropoutMask(new Xoshiro256(99), 4 * 6, 0.3f);
        Check([new("x", Random(Rng, 4 * 6), [4, 6]), new("A", Random(Rng, 2 * 6), [2, 6]), new("B", Random(Rng, 5 * 2), [5, 2])],
            (t, x) => t.LoraLinear(x[0], frozen, x[1], x[2], 2f, dropout: 0.3f),
            d => RefOps.LoraLinear(d[0], wd, d[1], d[2], 4, 6, 2, 5, 2.0, keep, 0.3),
            makeTape: () => new Tape(new Xoshiro256(99)));
    }

    [Fact]
    public void LoraLinearWithZeroBEqualsBase()
    {
        var w = new DenseFrozenWeight(Random(Rng, 5 * 6), 5, 6);
        var x = new Tensor(Random(Rng, 18), 3, 6);
        var a = Tensor.Parameter(Random(Rng, 12), 2, 6);
        var b = Tensor.Parameter(new float[10], 5, 2);
        var tape = new Tape();
        Assert.Equal(tape.LinearFrozen(x, w).Data, tape.LoraLinear(x, w, a, b, 4f).Data);
    }

    [Fact]
    public void LoraDropoutIsOffOutsideTraining()
    {
        var x = new Tensor(Random(Rng, 12), 2, 6);
        var a = new Tensor(Random(Rng, 12), 2, 6);
        var b = new Tensor(Random(Rng, 10), 5, 2);
        var plain = new Tape().Lora(x, a, b, 1f);
        var eval = new Tape { Training = false }.Lora(x, a, b, 1f, dropout: 0.5f);
        Assert.Equal(plain.Data, eval.Data);
    }

    [Fact]
    public void Dora()
    {
        var w = Random(Rng, 5 * 6);
        var a = Random(Rng, 2 * 6);
        var b = Random(Rng, 5 * 2);
        var m = Random(Rng, 5).Select(v => 1.5f + v).ToArray();
        var frozen = new DenseFrozenWeight(w, 5, 6);
        var wd = RefOps.ToDouble(w);
        // The norm is detached (PEFT): the reference holds it fixed at the unperturbed A and B.
        var norms = RefOps.DoraNorms(wd, RefOps.ToDouble(a), RefOps.ToDouble(b), 6, 2, 5, 0.5);
        Check([new("x", Random(Rng, 3 * 6), [3, 6]), new("A", a, [2, 6]), new("B", b, [5, 2]), new("m", m, [5])],
            (t, x) => t.DoraLinear(x[0], frozen, x[1], x[2], x[3], 0.5f),
            d => RefOps.Dora(d[0], wd, d[1], d[2], d[3], norms, 3, 6, 2, 5, 0.5));
    }

    [Fact]
    public void DoraWithDropout()
    {
        var w = Random(Rng, 5 * 6);
        var a = Random(Rng, 2 * 6);
        var b = Random(Rng, 5 * 2);
        var m = Random(Rng, 5).Select(v => 1.5f + v).ToArray();
        var frozen = new DenseFrozenWeight(w, 5, 6);
        var wd = RefOps.ToDouble(w);
        var norms = RefOps.DoraNorms(wd, RefOps.ToDouble(a), RefOps.ToDouble(b), 6, 2, 5, 2.0);
        var keep = RefOps.DropoutMask(new Xoshiro256(5), 3 * 6, 0.25f);
        Check([new("x", Random(Rng, 3 * 6), [3, 6]), new("A", a, [2, 6]), new("B", b, [5, 2]), new("m", m, [5])],
            (t, x) => t.DoraLinear(x[0], frozen, x[1], x[2], x[3], 2f, dropout: 0.25f),
            d => RefOps.Dora(d[0], wd, d[1], d[2], d[3], norms, 3, 6, 2, 5, 2.0, keep, 0.25),
            makeTape: () => new Tape(new Xoshiro256(5)));
    }

    [Fact]
    public void DoraWithInitialMagnitudeAndZeroBEqualsBase()
    {
        var w = Random(Rng, 5 * 6);
        var frozen = new DenseFrozenWeight(w, 5, 6);
        var a = new Tensor(Random(Rng, 12), 2, 6);
        var b = new Tensor(new float[10], 5, 2);
        var m = new float[5];
        Tape.DoraWeightNorms(frozen, a.Data, b.Data, 2, 1f, m);
        var x = new Tensor(Random(Rng, 18), 3, 6);
        var tape = new Tape();
        var dora = tape.DoraLinear(x, frozen, a, b, new Tensor(m, 5), 1f);
        var plain = tape.LinearFrozen(x, frozen);
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain.Data[i], dora.Data[i], 5);
    }
}
