using Scion.Training.Autograd;

namespace Scion.Training.Tests.Autograd;

public class TinyLlamaGradientTests
{
    [Theory]
    [InlineData(0f)]
    [InlineData(0.2f)]
    public void LoraGradientsMatchFiniteDifferences(float dropout)
    {
        var model = new TinyLlama(seed: 2024);
        var tape = new Tape(new Xoshiro256(77));
        var loss = tape.Loss(model, dropout);
        tape.Backward(loss);

        var lora = model.Parameters.Select(p => Reference.RefOps.ToDouble(p.Data)).ToArray();
        double refLoss = model.ReferenceLoss(lora, 77, dropout);
        Assert.Equal(refLoss, loss.Data[0], 4);

        const double h = 1e-6;
        double maxGrad = 0, maxError = 0;
        for (int n = 0; n < lora.Length; n++)
        {
            var grad = model.Parameters[n].Grad!;
            for (int j = 0; j < lora[n].Length; j++)
            {
                double keep = lora[n][j];
                lora[n][j] = keep + h;
                double plus = model.ReferenceLoss(lora, 77, dropout);
                lora[n][j] = keep - h;
                double minus = model.ReferenceLoss(lora, 77, dropout);
                lora[n][j] = keep;
                double fd = (plus - minus) / (2 * h);
                maxGrad = Math.Max(maxGrad, Math.Abs(fd));
                maxError = Math.Max(maxError, Math.Abs(fd - grad[j]));
            }
        }
        Assert.True(maxGrad > 1e-3, $"gradients are suspiciously small ({maxGrad})");
        Assert.True(maxError <= 1e-4 * maxGrad, $"largest |analytic − finite difference| {maxError} against largest gradient {maxGrad}");
    }
}

internal static class TinyLlamaTapeExtensions
{
    public static Tensor Loss(this Tape tape, TinyLlama model, float dropout) => model.Loss(tape, checkpoint: false, dropout);
}
