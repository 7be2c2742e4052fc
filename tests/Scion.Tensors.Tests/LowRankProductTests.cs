using Scion.Tensors.Cpu;

namespace Scion.Tensors.Tests;

/// <summary>The LoRA shrink/expand kernels against their scalar twin, against a double-precision definition, and
/// against themselves under regrouping (batch invariance).</summary>
public class LowRankProductTests
{
    // Odd sizes: tails after every vector width and row tile.
    private const int In = 2048 + 19, Out = 512 + 37, DenseRows = 23;

    private static readonly int[] Scattered = [17, 3, 4, 22, 0, 9, 10, 11, 5, 1, 20];

    private static float[] ShrinkAt(KernelLevel level, float[] x, int[] rows, float[] a, int rank, WorkerPool? pool = null)
    {
        var ax = new float[rows.Length * rank];
        LowRankProduct.Shrink(x, In, rows, a, rank, 0.75f, ax, pool, level);
        return ax;
    }

    private static float[] ExpandAt(KernelLevel level, float[] y, float[] ax, int rank, float[] bt, int[] rows, WorkerPool? pool = null)
    {
        var result = (float[])y.Clone();
        LowRankProduct.Expand(ax, rank, bt, Out, rows, result, pool, level);
        return result;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(13)]
    public void ShrinkMatchesScalarTwinAndDefinition(int rank)
    {
        var x = TestData.Floats(DenseRows * In, 1);
        var a = TestData.Floats(rank * In, 2, 0.05f);
        var scalar = ShrinkAt(KernelLevel.Scalar, x, Scattered, a, rank);
        for (int i = 0; i < Scattered.Length; i++)
            for (int j = 0; j < rank; j++)
            {
                double d = 0;
                for (int c = 0; c < In; c++) d += (double)a[j * In + c] * x[Scattered[i] * In + c];
                TestData.Near(d * 0.75, scalar[i * rank + j], 1e-4 * (1 + Math.Abs(d)), $"scalar shrink [{i}, {j}]");
            }
        foreach (var level in TestData.SimdLevels())
        {
            var simd = ShrinkAt(level, x, Scattered, a, rank);
            for (int k = 0; k < simd.Length; k++)
                TestData.Near(scalar[k], simd[k], 1e-4 * (1 + Math.Abs(scalar[k])), $"{level} shrink [{k}]");
            // Each value is decode's float dot times the scale: a row of a batch gets the bits of the same row alone.
            for (int i = 0; i < Scattered.Length; i++)
                for (int j = 0; j < rank; j++)
                    Assert.Equal(Ops.Dot(a.AsSpan(j * In, In), x.AsSpan(Scattered[i] * In, In), level) * 0.75f, simd[i * rank + j]);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(13)]
    public void ExpandMatchesScalarTwinAndDefinition(int rank)
    {
        var y = TestData.Floats(DenseRows * Out, 3);
        var ax = TestData.Floats(Scattered.Length * rank, 4);
        var bt = TestData.Floats(rank * Out, 5, 0.1f);
        var scalar = ExpandAt(KernelLevel.Scalar, y, ax, rank, bt, Scattered);
        var touched = new HashSet<int>(Scattered);
        for (int r = 0; r < DenseRows; r++)
            for (int o = 0; o < Out; o++)
            {
                double d = y[r * Out + o];
                int i = Array.IndexOf(Scattered, r);
                if (i >= 0)
                    for (int j = 0; j < rank; j++) d += (double)ax[i * rank + j] * bt[j * Out + o];
                TestData.Near(d, scalar[r * Out + o], 1e-5 * (1 + Math.Abs(d)), $"scalar expand [{r}, {o}]");
                if (!touched.Contains(r)) Assert.Equal(y[r * Out + o], scalar[r * Out + o]);
            }
        float[]? first = null;
        foreach (var level in TestData.SimdLevels())
        {
            var simd = ExpandAt(level, y, ax, rank, bt, Scattered);
            for (int k = 0; k < simd.Length; k++)
                TestData.Near(scalar[k], simd[k], 1e-5 * (1 + Math.Abs(scalar[k])), $"{level} expand [{k}]");
            // Both levels run the same fused multiply-add chain per element.
            if (first is null) first = simd;
            else Assert.Equal(first, simd);
        }
    }

    /// <summary>A row's result is the same bits alone, in any group, in any order, with or without the pool.</summary>
    [Fact]
    public void RowsDoNotDependOnTheirGroup()
    {
        const int rank = 8;
        var x = TestData.Floats(DenseRows * In, 6);
        var a = TestData.Floats(rank * In, 7, 0.05f);
        var bt = TestData.Floats(rank * Out, 8, 0.1f);
        var y = TestData.Floats(DenseRows * Out, 9);
        int[] all = Enumerable.Range(0, DenseRows).Reverse().ToArray();
        using var pool = new WorkerPool(3);
        foreach (var level in TestData.AllLevels())
        {
            var axAll = ShrinkAt(level, x, all, a, rank, pool);
            var yAll = ExpandAt(level, y, axAll, rank, bt, all, pool);
            for (int i = 0; i < all.Length; i++)
            {
                int row = all[i];
                var axOne = ShrinkAt(level, x, [row], a, rank);
                Assert.Equal(axAll.AsSpan(i * rank, rank).ToArray(), axOne);
                var yOne = ExpandAt(level, y, axOne, rank, bt, [row]);
                Assert.Equal(yAll.AsSpan(row * Out, Out).ToArray(), yOne.AsSpan(row * Out, Out).ToArray());
            }
        }
    }

    [Fact]
    public void LargeGroupsOnThePoolEqualTheCallingThread()
    {
        const int rank = 16, rows = 96;
        var x = TestData.Floats(rows * In, 10);
        var a = TestData.Floats(rank * In, 11, 0.05f);
        var bt = TestData.Floats(rank * Out, 12, 0.1f);
        var y = new float[rows * Out];
        int[] order = Enumerable.Range(0, rows).ToArray();
        Assert.True((long)rows * rank * In >= LowRankProduct.ParallelThreshold); // the pool really runs it
        using var pool = new WorkerPool(4);
        foreach (var level in TestData.AllLevels())
        {
            var axSerial = ShrinkAt(level, x, order, a, rank);
            var axPool = ShrinkAt(level, x, order, a, rank, pool);
            Assert.Equal(axSerial, axPool);
            Assert.Equal(ExpandAt(level, y, axSerial, rank, bt, order), ExpandAt(level, y, axSerial, rank, bt, order, pool));
        }
    }

    [Fact]
    public void BadShapesAreRefusedWithTheShapes()
    {
        var x = new float[4 * 10];
        var ax = new float[2 * 3];
        var e = Assert.Throws<ArgumentException>(() => LowRankProduct.Shrink(x, 10, [0, 1], new float[3 * 9], 3, 1f, ax));
        Assert.Contains("[3, 10]", e.Message);
        e = Assert.Throws<ArgumentException>(() => LowRankProduct.Shrink(x, 10, [0, 4], new float[3 * 10], 3, 1f, ax));
        Assert.Contains("row index 4", e.Message);
        e = Assert.Throws<ArgumentException>(() => LowRankProduct.Expand(new float[3], 3, new float[3 * 10], 10, [0, 1], x));
        Assert.Contains("[2, 3]", e.Message);
    }
}
