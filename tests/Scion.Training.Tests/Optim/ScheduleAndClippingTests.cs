using Scion.Training.Autograd;
using Scion.Training.Optim;

namespace Scion.Training.Tests.Optim;

public class ScheduleAndClippingTests
{
    [Fact]
    public void CosineWithWarmupAndFloor()
    {
        var s = new LrSchedule(1e-3f, WarmupSteps: 10, TotalSteps: 110, LrDecay.Cosine, MinRatio: 0.1f);
        Assert.Equal(0f, s.At(0));
        Assert.Equal(5e-4f, s.At(5), 9);
        Assert.Equal(1e-3f, s.At(10), 9);
        Assert.Equal(5.5e-4f, s.At(60), 9);  // halfway: 0.1 + 0.9·0.5
        Assert.Equal(1e-4f, s.At(110), 9);
        Assert.Equal(1e-4f, s.At(500), 9);
    }

    [Fact]
    public void LinearDecayToZero()
    {
        var s = new LrSchedule(2e-4f, WarmupSteps: 0, TotalSteps: 100, LrDecay.Linear);
        Assert.Equal(2e-4f, s.At(0), 10);
        Assert.Equal(1.5e-4f, s.At(25), 10);
        Assert.Equal(0f, s.At(100), 10);
    }

    [Fact]
    public void ConstantAfterWarmup()
    {
        var s = new LrSchedule(1f, WarmupSteps: 4, TotalSteps: 10, LrDecay.Constant);
        Assert.Equal(0.25f, s.At(1));
        Assert.Equal(1f, s.At(9));
    }

    [Fact]
    public void ClippingScalesToMaxNormAndReportsTheOriginal()
    {
        var a = Tensor.Parameter(new float[2], 2);
        var b = Tensor.Parameter(new float[1], 1);
        var none = Tensor.Parameter(new float[1], 1);
        a.Grad = [3f, 0f];
        b.Grad = [4f];
        double norm = GradientClipping.ClipGlobalNorm([a, b, none], 1.0);
        Assert.Equal(5.0, norm, 6);
        Assert.Equal(1.0, GradientClipping.GlobalNorm([a, b]), 5);
        Assert.Equal(0.6f, a.Grad[0], 5);

        double again = GradientClipping.ClipGlobalNorm([a, b], 10.0);
        Assert.Equal(1.0, again, 5);
        Assert.Equal(0.8f, b.Grad[0], 5); // below the limit: untouched
    }

    [Fact]
    public void AccumulatorStepsEveryNMicroBatches()
    {
        var acc = new GradientAccumulator(3);
        Assert.Equal(1f / 3, acc.LossScale);
        Assert.Equal([false, false, true, false, false, true], Enumerable.Range(0, 6).Select(_ => acc.MicroBatchDone()).ToArray());
    }

    [Fact]
    public void AccumulatedGradientEqualsMeanLossGradient()
    {
        // Two micro-batches seeded with 1/2 give the gradient of the mean of the two losses.
        var w = Tensor.Parameter([0.5f, -0.25f], 1, 2);
        var acc = new GradientAccumulator(2);
        float[][] xs = [[1f, 2f], [3f, -1f]];
        foreach (var x in xs)
        {
            var tape = new Tape();
            var y = tape.Linear(new Tensor(x, 1, 2), w);
            tape.Backward(y, acc.LossScale);
            acc.MicroBatchDone();
        }
        Assert.Equal([2f, 0.5f], w.Grad!);
    }
}
