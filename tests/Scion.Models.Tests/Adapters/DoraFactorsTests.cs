using Scion.Models.Adapters;
using Scion.Tensors;

namespace Scion.Models.Tests.Adapters;

/// <summary>DoRA's rescaling factors, magnitude[o] / ‖W[o,:] + s·B[o,:]·A‖, against the definition in double, on F32
/// weights and on Q8_0 blocks written byte by byte (so the reference knows the weights without dequantizing).</summary>
public class DoraFactorsTests
{
    private const int Rank = 2, Cols = 32, Rows = 3;
    private const float Scale = 0.75f;

    private static (float[] A, float[] B, float[] Magnitude) Adapter()
    {
        var rng = new Xoshiro256(11);
        float[] Draw(int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextGaussian() * 0.5f).ToArray();
        return (Draw(Rank * Cols), Draw(Rows * Rank), [1.5f, 0.25f, 3f]);
    }

    private static double[] Definition(double[,] w, float[] a, float[] b, float[] magnitude)
    {
        var factors = new double[Rows];
        for (int o = 0; o < Rows; o++)
        {
            double norm = 0;
            for (int i = 0; i < Cols; i++)
            {
                double v = w[o, i];
                for (int j = 0; j < Rank; j++) v += (double)Scale * b[o * Rank + j] * a[j * Cols + i];
                norm += v * v;
            }
            factors[o] = magnitude[o] / Math.Sqrt(norm);
        }
        return factors;
    }

    [Fact]
    public void F32WeightsMatchTheDefinition()
    {
        var (a, b, magnitude) = Adapter();
        var rng = new Xoshiro256(5);
        var values = Enumerable.Range(0, Rows * Cols).Select(_ => (float)rng.NextGaussian()).ToArray();
        var w = new double[Rows, Cols];
        for (int o = 0; o < Rows; o++) for (int i = 0; i < Cols; i++) w[o, i] = values[o * Cols + i];
        using var buffer = WeightBuffer.FromFloats(values, Rows, Cols);
        var factors = AdapterLoader.DoraFactors(buffer.Matrix, a, b, Rank, Scale, magnitude);
        var expected = Definition(w, a, b, magnitude);
        for (int o = 0; o < Rows; o++) Assert.Equal(expected[o], factors[o], 1e-6 * expected[o]);
        // The factor differs per row and is not 1: the magnitudes are not the norms.
        Assert.True(Math.Abs(factors[0] - factors[1]) > 0.01 && Math.Abs(factors[2] - 1) > 0.01);
    }

    [Fact]
    public void Q8_0WeightsAreNormedAfterDequantizing()
    {
        var (a, b, magnitude) = Adapter();
        // One Q8_0 block per row: fp16 scale d, then 32 signed levels q; the weight is d·q.
        var bytes = new byte[Rows * (2 + Cols)];
        var w = new double[Rows, Cols];
        var scales = new[] { (Half)0.125, (Half)0.5, (Half)0.03125 };
        for (int o = 0; o < Rows; o++)
        {
            int at = o * (2 + Cols);
            BitConverter.TryWriteBytes(bytes.AsSpan(at, 2), scales[o]);
            for (int i = 0; i < Cols; i++)
            {
                sbyte q = (sbyte)((i * 37 + o * 11) % 255 - 127);
                bytes[at + 2 + i] = unchecked((byte)q);
                w[o, i] = (double)scales[o] * q;
            }
        }
        using var buffer = WeightBuffer.FromBytes(bytes, GgmlType.Q8_0, Rows, Cols);
        var factors = AdapterLoader.DoraFactors(buffer.Matrix, a, b, Rank, Scale, magnitude);
        var expected = Definition(w, a, b, magnitude);
        for (int o = 0; o < Rows; o++) Assert.Equal(expected[o], factors[o], 1e-6 * expected[o]);
    }
}
