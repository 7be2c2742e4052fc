using Scion.Tensors.Cpu;
using Scion.Tensors.Quant;

namespace Scion.Tensors.Tests;

public class MatMulTests
{
    public static IEnumerable<object[]> Cases() =>
        from t in TestData.ComputeTypes from tokens in new[] { 1, 3, 17, 40 } select new object[] { t, tokens };

    [Theory]
    [MemberData(nameof(Cases))]
    public unsafe void EveryLevelAndPoolSizeMatchesNaiveDoubleReference(GgmlType type, int tokens)
    {
        const int rows = 37;   // not a multiple of any thread count or row block
        int cols = type is GgmlType.Q4_K or GgmlType.Q6_K ? 512 : 96;
        using var weights = WeightBuffer.FromFloats(TestData.Floats(rows * cols, 31), rows, cols, type);
        var x = TestData.Floats(tokens * cols, 32);
        var w = weights.Matrix;

        // Reference: dequantized weights · (activations as the kernel sees them), in double.
        GgmlType partner = ActivationQuant.PartnerType(type);
        var wv = new float[rows * cols];
        for (int r = 0; r < rows; r++) Dequantize.Row(type, w.RowSpan(r), wv.AsSpan(r * cols, cols));
        var xv = new float[tokens * cols];
        var magnitude = new double[tokens * rows];
        for (int t = 0; t < tokens; t++)
        {
            if (type == GgmlType.F16) for (int c = 0; c < cols; c++) xv[t * cols + c] = (float)(Half)x[t * cols + c];
            else if (type == GgmlType.BF16) for (int c = 0; c < cols; c++) xv[t * cols + c] = HalfConvert.BFloat16ToFloat(HalfConvert.FloatToBFloat16(x[t * cols + c]));
            else if (partner == GgmlType.F32) x.AsSpan(t * cols, cols).CopyTo(xv.AsSpan(t * cols));
            else
            {
                var q = new byte[GgmlTypeInfo.RowBytes(partner, cols)];
                ActivationQuant.Row(partner, x.AsSpan(t * cols, cols), q);
                Dequantize.Row(partner, q, xv.AsSpan(t * cols, cols));
            }
        }
        var expected = new double[tokens * rows];
        for (int t = 0; t < tokens; t++)
            for (int r = 0; r < rows; r++)
            {
                double s = 0, m = 0;
                for (int c = 0; c < cols; c++) { s += (double)wv[r * cols + c] * xv[t * cols + c]; m += Math.Abs((double)wv[r * cols + c] * xv[t * cols + c]); }
                expected[t * rows + r] = s;
                magnitude[t * rows + r] = m;
            }

        foreach (int threads in new[] { 1, 3 })
        {
            using var pool = new WorkerPool(threads);
            foreach (var level in TestData.AllLevels())
            {
                var y = new float[tokens * rows];
                fixed (float* px = x) fixed (float* py = y) MatMul.Multiply(w, px, py, tokens, pool, level);
                for (int i = 0; i < y.Length; i++)
                    TestData.Near(expected[i], y[i], 1e-5 * magnitude[i] + 1e-6, $"{type} tokens {tokens} threads {threads} {level} y[{i / rows},{i % rows}]");
            }
        }
    }

    public static IEnumerable<object[]> Types() => TestData.ComputeTypes.Select(t => new object[] { t });

    /// <summary>Batched prefill must give each token the bits decode gives it alone: every kernel a token can meet
    /// (multi-row GEMV, single-row dot, four-token tiles, the float GEMM's lane-ordered panels) sums in one order.</summary>
    [Theory]
    [MemberData(nameof(Types))]
    public unsafe void PrefillEqualsTokenByTokenDecodeBitwise(GgmlType type)
    {
        const int rows = 39, tokens = 15;   // with one thread, items of 10 rows: 4x4, 2x8, 2x4 and single-row paths
        int cols = type is GgmlType.Q4_K or GgmlType.Q6_K ? 512 : type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 ? 141 : 128;   // odd float tails
        using var weights = WeightBuffer.FromFloats(TestData.Floats(rows * cols, 41), rows, cols, type);
        var x = TestData.Floats(tokens * cols, 42);
        foreach (int threads in new[] { 1, 2 })
        foreach (var level in TestData.AllLevels())
        {
            using var pool = new WorkerPool(threads);
            var batched = new float[tokens * rows];
            fixed (float* px = x) fixed (float* py = batched) MatMul.Multiply(weights.Matrix, px, py, tokens, pool, level);
            for (int t = 0; t < tokens; t++)
            {
                var single = new float[rows];
                fixed (float* px = x) fixed (float* py = single) MatMul.Multiply(weights.Matrix, px + t * cols, py, 1, pool, level);
                for (int r = 0; r < rows; r++)
                    Assert.True(BitConverter.SingleToInt32Bits(single[r]) == BitConverter.SingleToInt32Bits(batched[t * rows + r]),
                        $"{type} {level} token {t} row {r}: decode {single[r]} vs prefill {batched[t * rows + r]}");
            }
        }
    }

    /// <summary>The fast F16 widening skips Inf/NaN handling; a row holding one must still give the exact answer.</summary>
    [Fact]
    public unsafe void F16RowsWithInfinityOrNaNFallBackToExactWidening()
    {
        const int rows = 8, cols = 64;
        var values = TestData.Floats(rows * cols, 43);
        values[2 * cols + 17] = float.PositiveInfinity;
        values[5 * cols + 40] = float.NaN;
        using var weights = WeightBuffer.FromFloats(values, rows, cols, GgmlType.F16);
        var x = new float[cols * 16];
        for (int i = 0; i < x.Length; i++) x[i] = 0.5f + (i % 7);
        using var pool = new WorkerPool(1);
        foreach (var tokens in new[] { 1, 4, 16 })
            foreach (var level in TestData.AllLevels())
            {
                var y = new float[tokens * rows];
                fixed (float* px = x) fixed (float* py = y) MatMul.Multiply(weights.Matrix, px, py, tokens, pool, level);
                for (int t = 0; t < tokens; t++)
                {
                    Assert.Equal(float.PositiveInfinity, y[t * rows + 2]);
                    Assert.True(float.IsNaN(y[t * rows + 5]), $"{level} tokens {tokens}: NaN row gave {y[t * rows + 5]}");
                    Assert.True(float.IsFinite(y[t * rows + 0]));
                }
            }
    }

    [Fact]
    public unsafe void HalfActivationRoundingIsTheSameAtEveryLevel()
    {
        var x = TestData.Floats(1000 + 3, 71, 300f);
        x[0] = float.NaN; x[1] = 1e-7f; x[2] = 70000f;
        foreach (var type in new[] { GgmlType.F16, GgmlType.BF16 })
        {
            var expected = new float[x.Length];
            fixed (float* px = x) fixed (float* pe = expected) ActivationQuant.RoundThrough(type, px, pe, x.Length, KernelLevel.Scalar);
            foreach (var level in TestData.SimdLevels())
            {
                var got = new float[x.Length];
                fixed (float* px = x) fixed (float* pg = got) ActivationQuant.RoundThrough(type, px, pg, x.Length, level);
                Assert.True(float.IsNaN(got[0]));
                for (int i = 1; i < x.Length; i++) Assert.Equal(expected[i], got[i]);
            }
        }
    }

    [Fact]
    public void PublicEntryValidatesShapes()
    {
        using var weights = WeightBuffer.FromFloats(TestData.Floats(4 * 32, 1), 4, 32, GgmlType.Q8_0);
        var w = weights.Matrix;
        Assert.Throws<ArgumentException>(() => MatMul.Multiply(w, new float[31], new float[4], 1));
        Assert.Throws<ArgumentException>(() => MatMul.Multiply(w, new float[64], new float[4], 2));
        var y = new float[4];
        MatMul.Multiply(w, TestData.Floats(32, 2), y, 1);
        Assert.Contains(y, v => v != 0);
    }

    [Fact]
    public unsafe void WeightMatrixViewsRows()
    {
        var values = GC.AllocateArray<float>(6 * 32, pinned: true);
        for (int i = 0; i < values.Length; i++) values[i] = i;
        fixed (float* p = values)
        {
            var w = WeightMatrix.FromPinnedFloats(p, 6, 32);
            Assert.Equal(128, w.RowBytes);
            Assert.Equal(32f * 2, BitConverter.ToSingle(w.RowSpan(2)));
            Assert.Throws<ArgumentOutOfRangeException>(() => w.RowSpan(6).Length);
        }
        Assert.Throws<ArgumentException>(() => new WeightBuffer(GgmlType.Q4_K, 2, 100));
    }
}
