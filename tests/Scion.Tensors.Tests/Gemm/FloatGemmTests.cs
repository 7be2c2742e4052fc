using Scion.Tensors.Cpu;
using Scion.Tensors.Gemm;
using Scion.Tensors.Quant;

namespace Scion.Tensors.Tests.Gemm;

public unsafe class FloatGemmTests
{
    private static readonly GgmlType[] FloatTypes = [GgmlType.F32, GgmlType.F16, GgmlType.BF16];

    public static IEnumerable<object[]> Shapes() =>
        from type in FloatTypes
        from shape in new[] { (rows: 37, cols: 200), (rows: 70, cols: 131), (rows: 5, cols: 16), (rows: 9, cols: 7), (rows: 33, cols: 272) }
        select new object[] { type, shape.rows, shape.cols };

    /// <summary>Every token count 1..13 (whole and partial 16-token vectors) plus a second 64-token panel, odd row
    /// counts (partial 4-row tiles and row blocks), column counts with tails past the last whole vector and lane
    /// steps that are not whole 8-blocks: the vector GEMM at every SIMD level and pool size equals its scalar twin
    /// bit for bit.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void MultiplyIsBitwiseItsScalarTwin(GgmlType type, int rows, int cols)
    {
        using var weights = WeightBuffer.FromFloats(TestData.Floats(rows * cols, rows + cols), rows, cols, type);
        // 530: past one token chunk, on the smaller shapes (the scalar twin is slow).
        int[] tokenCounts = [.. Enumerable.Range(1, 13), 64, 81, .. rows * cols < 2000 ? new[] { FloatGemm.TokenChunk + 18 } : []];
        var x = TestData.Floats(tokenCounts.Max() * cols, 7 * cols);
        foreach (int tokens in tokenCounts)
        foreach (var level in TestData.SimdLevels())
        {
            var expected = new float[tokens * rows];
            fixed (float* px = x) fixed (float* pe = expected) FloatGemm.Reference(weights.Matrix, px, pe, tokens, FloatGemm.Lanes(level));
            foreach (int threads in new[] { 1, 3 })
            {
                using var pool = new WorkerPool(threads);
                {
                    var y = new float[tokens * rows];
                    fixed (float* px = x) fixed (float* py = y) FloatGemm.Multiply(weights.Matrix, px, py, tokens, pool, level);
                    for (int i = 0; i < y.Length; i++)
                        if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(y[i]))
                            Assert.Fail($"{type} [{rows}, {cols}] tokens {tokens} threads {threads} {level} y[{i / rows}, {i % rows}]: twin {expected[i]}, gemm {y[i]}");
                }
            }
        }
    }

    /// <summary>MatMul sends float prefill batches to the GEMM with activations rounded as ggml rounds them, and the
    /// twin with the level's lanes is decode's order (<see cref="MatMulTests.PrefillEqualsTokenByTokenDecodeBitwise"/>).</summary>
    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    public void MatMulPrefillIsTheGemmOnRoundedActivations(GgmlType type)
    {
        const int rows = 45, cols = 150, tokens = 20;
        Assert.True(FloatGemm.Handles(type, tokens, KernelLevel.Avx2));
        Assert.False(FloatGemm.Handles(type, tokens, KernelLevel.Scalar));
        Assert.False(FloatGemm.Handles(type, FloatGemm.MinTokens - 1, KernelLevel.Avx2));
        using var weights = WeightBuffer.FromFloats(TestData.Floats(rows * cols, 51), rows, cols, type);
        var x = TestData.Floats(tokens * cols, 52);
        var rounded = (float[])x.Clone();
        if (type != GgmlType.F32)
            fixed (float* px = x) fixed (float* pr = rounded)
                for (int t = 0; t < tokens; t++) ActivationQuant.RoundThrough(type, px + t * cols, pr + t * cols, cols, KernelLevel.Scalar);
        using var pool = new WorkerPool(2);
        foreach (var level in TestData.SimdLevels())
        {
            var expected = new float[tokens * rows];
            var single = new float[rows];
            fixed (float* pr = rounded) fixed (float* pe = expected) FloatGemm.Reference(weights.Matrix, pr, pe, tokens, FloatGemm.Lanes(level));
            // The twin is decode's order: token 3 alone through MatMul gives the twin's bits.
            fixed (float* px = x) fixed (float* ps = single) MatMul.Multiply(weights.Matrix, px + 3 * cols, ps, 1, pool, level);
            for (int r = 0; r < rows; r++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[3 * rows + r]) == BitConverter.SingleToInt32Bits(single[r]), $"{type} {level} decode row {r}");
            var y = new float[tokens * rows];
            fixed (float* px = x) fixed (float* py = y) MatMul.Multiply(weights.Matrix, px, py, tokens, pool, level);
            for (int i = 0; i < y.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(y[i]),
                    $"{type} {level} y[{i / rows}, {i % rows}]: twin {expected[i]}, matmul {y[i]}");
        }
    }

    [Theory]
    [InlineData(256, 2, 32)]     // 2048 → 256 projections: 8 items for 2 threads
    [InlineData(2048, 2, 32)]
    [InlineData(40, 2, 8)]
    [InlineData(37, 3, 4)]
    [InlineData(3, 1, 4)]
    public void RowBlocksAreWholeTilesAndSpreadOverThreads(int rows, int threads, int expected)
    {
        Assert.Equal(expected, FloatGemm.RowBlock(rows, threads));
    }
}
