using Scion.Training.Autograd;
using Scion.Training.Tests.Autograd.Reference;

namespace Scion.Training.Tests.Autograd;

/// <summary>One op input for <see cref="GradCheck"/>.</summary>
internal sealed record CheckInput(string Name, float[] Data, int[] Shape, bool RequiresGrad = true);

/// <summary>
/// Compares an op's fp32 backward with central finite differences of its double-precision
/// reference twin. The scalar is L = Σ y ⊙ R with a fixed random R, so every output element
/// contributes; in double, h = 1e-6 leaves FD error far below fp32 rounding.
/// </summary>
internal static class GradCheck
{
    public static void Check(CheckInput[] inputs, Func<Tape, Tensor[], Tensor> op, Func<double[][], double[]> reference,
        double tolerance = 1e-4, ulong seed = 7, Func<Tape>? makeTape = null, int maxCheckedPerInput = 400)
    {
        var tensors = inputs.Select(i => new Tensor((float[])i.Data.Clone(), i.Shape) { RequiresGrad = i.RequiresGrad, Name = i.Name }).ToArray();
        var tape = makeTape?.Invoke() ?? new Tape();
        var y = op(tape, tensors);

        var doubles = inputs.Select(i => RefOps.ToDouble(i.Data)).ToArray();
        var yRef = reference(doubles);
        Assert.Equal(yRef.Length, y.Length);
        double yScale = Math.Max(1, yRef.Max(Math.Abs));
        for (int i = 0; i < y.Length; i++)
            Assert.True(Math.Abs(y.Data[i] - yRef[i]) <= tolerance * yScale, $"forward[{i}]: fp32 {y.Data[i]} vs double {yRef[i]}");

        var rng = new Xoshiro256(seed);
        var r = new float[y.Length];
        for (int i = 0; i < r.Length; i++) r[i] = rng.NextUniform(-1, 1);
        tape.Backward(y, r);

        double Loss(double[][] x)
        {
            var yy = reference(x);
            double s = 0;
            for (int i = 0; i < yy.Length; i++) s += yy[i] * r[i];
            return s;
        }

        const double h = 1e-6;
        for (int n = 0; n < inputs.Length; n++)
        {
            if (!inputs[n].RequiresGrad) continue;
            var grad = tensors[n].Grad;
            Assert.NotNull(grad);
            var fd = new double[grad.Length];
            // Large inputs are sampled with a stride so the check stays fast; small ones are checked whole.
            int stride = Math.Max(1, (fd.Length + maxCheckedPerInput - 1) / maxCheckedPerInput);
            var checkedIdx = Enumerable.Range(0, fd.Length).Where(j => j % stride == 0).ToArray();
            foreach (int j in checkedIdx)
            {
                double keep = doubles[n][j];
                doubles[n][j] = keep + h;
                double plus = Loss(doubles);
                doubles[n][j] = keep - h;
                double minus = Loss(doubles);
                doubles[n][j] = keep;
                fd[j] = (plus - minus) / (2 * h);
            }
            double scale = Math.Max(1e-3, fd.Max(Math.Abs));
            foreach (int j in checkedIdx)
                Assert.True(Math.Abs(grad[j] - fd[j]) <= tolerance * scale,
                    $"d/d{inputs[n].Name}[{j}]: analytic {grad[j]} vs finite difference {fd[j]} (scale {scale})");
        }
    }

    public static float[] Random(Xoshiro256 rng, int count, float bound = 1f)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = rng.NextUniform(-bound, bound);
        return x;
    }
}
