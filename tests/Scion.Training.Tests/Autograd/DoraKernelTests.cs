using Scion.Tensors;
using Scion.Training.Autograd;
using Scion.Training.Model;

namespace Scion.Training.Tests.Autograd;

/// <summary>DoRA's vectorized column passes and weight norms against their scalar twins (same bits) and a direct
/// double-precision computation, on shapes with vector tails, several items, and 1 or 3 threads.</summary>
public unsafe class DoraKernelTests
{
    private static float[] Random(Xoshiro256 rng, int n, float scale = 1)
    {
        var v = new float[n];
        for (int i = 0; i < v.Length; i++) v[i] = rng.NextUniform(-scale, scale);
        return v;
    }

    [Theory]
    [InlineData(1, 3)]
    [InlineData(37, 515)] // tails of every vector width, three column strips, three row blocks
    public void ColumnPassesMatchTheirScalarTwins(int rows, int cols)
    {
        var rng = new Xoshiro256((ulong)cols);
        var dy = Random(rng, rows * cols);
        var u = Random(rng, rows * cols, 3);
        var s = Random(rng, cols, 2);
        using var three = new WorkerPool(3);
        var scaled = new float[rows * cols];
        var scaledRef = new float[rows * cols];
        var dys = new float[rows * cols];
        var dysRef = new float[rows * cols];
        var acc = Enumerable.Range(0, cols).Select(i => 0.25 * i).ToArray();
        var accRef = (double[])acc.Clone();
        fixed (float* pdy = dy, pu = u, ps = s, psc = scaled, pscr = scaledRef, pdys = dys, pdysr = dysRef)
        fixed (double* pacc = acc, paccr = accRef)
        {
            DoraKernels.ScaleColumns(three, pu, ps, psc, rows, cols);
            DoraKernels.ScaleColumnsScalar(pu, ps, pscr, rows, cols);
            DoraKernels.ScaleAndColumnDots(three, pdy, pu, ps, pdys, pacc, rows, cols);
            DoraKernels.ScaleAndColumnDotsScalar(pdy, pu, ps, pdysr, paccr, rows, cols);
        }
        Assert.Equal(scaledRef, scaled);
        Assert.Equal(dysRef, dys);
        Assert.Equal(accRef, acc);
        for (int o = 0; o < cols; o += 7)
        {
            Assert.Equal(u[o] * s[o], scaled[o]);
            double direct = 0.25 * o;
            for (int t = 0; t < rows; t++) direct += (double)dy[t * cols + o] * u[t * cols + o];
            Assert.Equal(direct, acc[o], 12);
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(1031)]
    public void SumOfSquaresMatchesItsTwin(int n)
    {
        var x = Random(new Xoshiro256(5), n, 10);
        fixed (float* px = x)
        {
            Assert.Equal(DoraKernels.SumSquaresScalar(px, n), DoraKernels.SumSquares(px, n));
            Assert.Equal(x.Sum(v => (double)v * v), DoraKernels.SumSquares(px, n), 9);
        }
    }

    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.Q8_0)]
    public void WeightNormsMatchADirectComputationForAnyThreadCount(GgmlType type)
    {
        const int outF = 37, inF = 96, rank = 3; // three norm items, the last one partial
        const float scale = 0.75f;
        var rng = new Xoshiro256(2);
        using var buffer = WeightBuffer.FromFloats(Random(rng, outF * inF), outF, inF, type);
        var w = new FrozenMatrix(buffer.Matrix);
        var a = Random(rng, rank * inF);
        var b = Random(rng, outF * rank);
        using var one = new WorkerPool(1);
        using var three = new WorkerPool(3);
        var n1 = new float[outF];
        var n3 = new float[outF];
        Tape.DoraWeightNorms(w, a, b, rank, scale, n1, one);
        Tape.DoraWeightNorms(w, a, b, rank, scale, n3, three);
        Assert.Equal(n1, n3);
        var row = new float[inF];
        for (int o = 0; o < outF; o++)
        {
            w.DequantizeRow(o, row); // the stored weights, as training sees them
            double sum = 0;
            for (int i = 0; i < inF; i++)
            {
                double v = row[i];
                for (int k = 0; k < rank; k++) v += (double)scale * b[o * rank + k] * a[k * inF + i];
                sum += v * v;
            }
            Assert.Equal(Math.Sqrt(sum), n1[o], 4);
        }
    }
}
