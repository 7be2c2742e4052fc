using Scion.Training.Autograd;
using Scion.Training.Optim;

namespace Scion.Training.Tests.Optim;

public class AdamWTests
{
    private static readonly AdamWOptions Options = new() { Beta1 = 0.9f, Beta2 = 0.999f, Epsilon = 1e-8f, WeightDecay = 0.01f };

    [Fact]
    public void TwoStepsMatchHandComputedValues()
    {
        var p = Tensor.Parameter([1f, -2f], 2);
        var opt = new AdamW([p], Options);
        p.Grad = [0.5f, -0.1f];
        opt.Step(0.1f);
        // Step 1: p·(1 − lr·wd), then m̂ = g and v̂ = g², so p moves by lr·sign(g).
        Assert.Equal(0.899000002, p.Data[0], 6);
        Assert.Equal(-1.898000010, p.Data[1], 6);
        p.Grad = [0.2f, 0.3f];
        opt.Step(0.1f);
        // Step 2 by hand (double): m = 0.9·0.05 + 0.1·0.2 = 0.065, m̂ = 0.065/0.19; v = 0.999·2.5e-4 + 0.001·0.04, v̂ = v/0.001999.
        Assert.Equal(0.8082434839009282, p.Data[0], 5);
        Assert.Equal(-1.9455209911100655, p.Data[1], 5);
        Assert.Equal(2, opt.StepCount);
    }

    [Fact]
    public void ParametersWithoutGradientsAreLeftAlone()
    {
        var p = Tensor.Parameter([1f], 1);
        new AdamW([p], Options).Step(0.1f);
        Assert.Equal(1f, p.Data[0]);
    }

    [Fact]
    public void StateRoundTripIsBitExact()
    {
        var rng = new Xoshiro256(4);
        Tensor Make() => Tensor.Parameter(GradCheckRandom(rng, 7), 7);
        var a = new[] { Make(), Make() };
        var opt = new AdamW(a, Options);
        for (int s = 0; s < 3; s++)
        {
            foreach (var t in a) t.Grad = GradCheckRandom(rng, 7);
            opt.Step(0.01f);
        }
        using var stream = new MemoryStream();
        opt.SaveState(stream);

        var b = a.Select(t => Tensor.Parameter((float[])t.Data.Clone(), 7)).ToArray();
        var restored = new AdamW(b, Options);
        stream.Position = 0;
        restored.LoadState(stream);
        Assert.Equal(opt.StepCount, restored.StepCount);

        var grads = a.Select(_ => GradCheckRandom(rng, 7)).ToArray();
        for (int i = 0; i < a.Length; i++)
        {
            a[i].Grad = (float[])grads[i].Clone();
            b[i].Grad = (float[])grads[i].Clone();
        }
        opt.Step(0.01f);
        restored.Step(0.01f);
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i].Data.Select(BitConverter.SingleToInt32Bits), b[i].Data.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(opt.SecondMoment(i).ToArray().Select(BitConverter.SingleToInt32Bits), restored.SecondMoment(i).ToArray().Select(BitConverter.SingleToInt32Bits));
        }
        using var again = new MemoryStream();
        restored.SaveState(again);
        using var original = new MemoryStream();
        opt.SaveState(original);
        Assert.Equal(original.ToArray(), again.ToArray());
    }

    [Fact]
    public void LoadRejectsMismatchedParameters()
    {
        using var stream = new MemoryStream();
        new AdamW([Tensor.Parameter(new float[3], 3)]).SaveState(stream);
        stream.Position = 0;
        var ex = Assert.Throws<InvalidDataException>(() => new AdamW([Tensor.Parameter(new float[4], 4)]).LoadState(stream));
        Assert.Contains("3 values in the file", ex.Message);
        Assert.Throws<InvalidDataException>(() => new AdamW([Tensor.Parameter(new float[4], 4)]).LoadState(new MemoryStream([1, 2, 3])));
    }

    private static float[] GradCheckRandom(Xoshiro256 rng, int n) => Enumerable.Range(0, n).Select(_ => rng.NextUniform(-1, 1)).ToArray();
}
