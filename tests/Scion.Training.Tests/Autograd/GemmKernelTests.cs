using Scion.Tensors;
using Scion.Training.Autograd;
using Scion.Training.Model;

namespace Scion.Training.Tests.Autograd;

public unsafe class GemmKernelTests
{
    private static float[] Random(Xoshiro256 rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < v.Length; i++) v[i] = rng.NextUniform(-1, 1);
        return v;
    }

    [Fact]
    public void ProductsDoNotDependOnTheThreadCount()
    {
        var rng = new Xoshiro256(8);
        const int m = 150, n = 300, k = 270; // several tiles, panels and k chunks
        var x = Random(rng, m * k);
        var w = Random(rng, n * k);
        var dy = Random(rng, m * n);
        using var one = new WorkerPool(1);
        using var three = new WorkerPool(3);
        float[] Run(WorkerPool pool, int which)
        {
            var outp = which switch { 0 => new float[m * n], 1 => new float[m * k], _ => new float[n * k] };
            if (which == 0) Gemm.XWt(pool, x, w, outp, m, n, k, accumulate: false);
            else if (which == 1) Gemm.AccXW(pool, dy, w, outp, m, n, k);
            else Gemm.AccDyTX(pool, dy, x, outp, m, n, k);
            return outp;
        }
        for (int which = 0; which < 3; which++) Assert.Equal(Run(one, which), Run(three, which));
        // Narrow shapes (a LoRA rank) take the transposed paths.
        var hs = Random(rng, m * 8);
        float[] db1 = new float[n * 8], db3 = new float[n * 8], dh1 = new float[m * 8], dh3 = new float[m * 8];
        var b = Random(rng, n * 8);
        Gemm.AccDyTX(one, dy, hs, db1, m, n, 8);
        Gemm.AccDyTX(three, dy, hs, db3, m, n, 8);
        Gemm.AccXW(one, dy, b, dh1, m, n, 8);
        Gemm.AccXW(three, dy, b, dh3, m, n, 8);
        Assert.Equal(db1, db3);
        Assert.Equal(dh1, dh3);
        for (int r = 0; r < 8; r++)
        {
            for (int o = 0; o < n; o += 37)
            {
                double s = 0;
                for (int i = 0; i < m; i++) s += (double)dy[i * n + o] * hs[i * 8 + r];
                Assert.True(Math.Abs(db1[o * 8 + r] - s) < 1e-3, $"dB[{o}, {r}] {db1[o * 8 + r]} vs {s}");
            }
            for (int i = 0; i < m; i += 29)
            {
                double s = 0;
                for (int o = 0; o < n; o++) s += (double)dy[i * n + o] * b[o * 8 + r];
                Assert.True(Math.Abs(dh1[i * 8 + r] - s) < 1e-3, $"dh[{i}, {r}] {dh1[i * 8 + r]} vs {s}");
            }
        }
    }

    [Fact]
    public void FrozenBackwardOfNoTokensDoesNothing()
    {
        using var buffer = WeightBuffer.FromFloats(Random(new Xoshiro256(1), 64 * 256), 64, 256, GgmlType.Q8_0);
        new FrozenMatrix(buffer.Matrix).BackwardInput([], [], 0); // an empty micro-batch: no work, no exception
    }

    [Theory]
    [InlineData(GgmlType.F32, 140)]
    [InlineData(GgmlType.Q8_0, 140)]
    [InlineData(GgmlType.Q4_K, 140)]
    [InlineData(GgmlType.Q8_0, 620)] // five token tiles: one thread groups them 3 + 2 per item, three threads 1 each
    [InlineData(GgmlType.F32, 620)]
    public void FrozenBackwardDoesNotDependOnTheThreadCountAndSkipsIgnoredTokens(GgmlType type, int tokens)
    {
        const int rows = 300, cols = 512; // two column panels, three row chunks; 140 tokens are two token tiles
        var rng = new Xoshiro256(11);
        using var buffer = WeightBuffer.FromFloats(Random(rng, rows * cols), rows, cols, type);
        var dy = Random(rng, tokens * rows);
        for (int t = 0; t < 20; t++) Array.Clear(dy, t * rows, rows); // ignored tokens: zero rows
        using var one = new WorkerPool(1);
        using var three = new WorkerPool(3);
        var dx1 = Random(new Xoshiro256(3), tokens * cols);
        var dx3 = (float[])dx1.Clone();
        var before = (float[])dx1.Clone();
        new FrozenMatrix(buffer.Matrix, one).BackwardInput(dy, dx1, tokens);
        new FrozenMatrix(buffer.Matrix, three).BackwardInput(dy, dx3, tokens);
        Assert.Equal(dx1, dx3);
        for (int i = 0; i < 20 * cols; i++) Assert.Equal(before[i], dx1[i]);
        var dense = new DenseFrozenWeight(new FrozenMatrix(buffer.Matrix).ToFloats(), rows, cols);
        var dxRef = (float[])before.Clone();
        dense.BackwardInput(dy, dxRef, tokens);
        for (int i = 0; i < dxRef.Length; i++) Assert.True(Math.Abs(dxRef[i] - dx1[i]) < 1e-3f, $"dx[{i}] {dx1[i]} vs {dxRef[i]}");
    }
}
