using System.Runtime.Intrinsics;
using Scion.Tensors.Cpu;
using Scion.Tensors.Quant;

namespace Scion.Tensors.Tests;

/// <summary>The multi-row K-quant decode kernels (several rows per pass, horizontal sums and float steps done across
/// rows, lane = row) keep each row's bits: bitwise equal to the scalar reference twin.</summary>
public class KQuantGemvTests
{
    public static IEnumerable<object[]> Cases() =>
        from t in new[] { GgmlType.Q4_K, GgmlType.Q6_K } from rows in new[] { 1, 7, 13, 75 } select new object[] { t, rows };

    /// <summary>Decode through the matmul (odd row counts: the multi-row passes plus single-row leftovers; 75 rows give items of 10 and 5 rows) at every
    /// level and pool size equals the scalar reference dot row by row, bit for bit.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public unsafe void DecodeMatchesScalarReferenceBitwise(GgmlType type, int rows)
    {
        const int cols = 256 * 22;   // TinyLlama's FFN width
        using var weights = WeightBuffer.FromFloats(TestData.Floats(rows * cols, 70 + rows), rows, cols, type);
        var x = TestData.Floats(cols, 71, 3f);
        var act = new byte[GgmlTypeInfo.RowBytes(GgmlType.Q8_K, cols)];
        fixed (float* px = x) fixed (byte* pa = act) ActivationQuant.Row(GgmlType.Q8_K, px, pa, cols, KernelLevel.Scalar);
        var expected = new float[rows];
        fixed (byte* pa = act)
            for (int r = 0; r < rows; r++) expected[r] = VecDot.Dot(type, weights.Matrix.RowPointer(r), pa, cols, KernelLevel.Scalar);
        foreach (int threads in new[] { 1, 2 })
        foreach (var level in TestData.SimdLevels())
        {
            using var pool = new WorkerPool(threads);
            var y = new float[rows];
            fixed (float* px = x) fixed (float* py = y) MatMul.Multiply(weights.Matrix, px, py, 1, pool, level);
            for (int r = 0; r < rows; r++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[r]) == BitConverter.SingleToInt32Bits(y[r]),
                    $"{type} {level} {threads} threads row {r}: reference {expected[r]} vs decode {y[r]}");
        }
    }

    /// <summary>Arbitrary block bytes (every packed-scale bit pattern, nibbles 0..15, subnormal and large half
    /// scales) against extreme activations (±127 levels, large block sums): the four-row kernels stay exact.</summary>
    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q6_K)]
    public unsafe void FourRowsOfRandomBlocksMatchScalarReferenceBitwise(GgmlType type)
    {
        const int cols = 256 * 6;
        long rowBytes = GgmlTypeInfo.RowBytes(type, cols);
        int blockBytes = type == GgmlType.Q4_K ? BlockLayout.Q4_KBytes : BlockLayout.Q6_KBytes;
        var rng = new Random(72);
        var w = new byte[rowBytes * 4 + 64];
        rng.NextBytes(w);
        // Finite half scales (exponent field below 31), some subnormal.
        for (int off = 0; off + blockBytes <= rowBytes * 4; off += blockBytes)
        {
            int[] halves = type == GgmlType.Q4_K ? [off, off + 2] : [off + BlockLayout.Q6_KD];
            foreach (int h in halves)
            {
                ushort bits = (ushort)(rng.Next(0x10000) & 0x83FF | rng.Next(0, 16) << 10);
                w[h] = (byte)bits; w[h + 1] = (byte)(bits >> 8);
            }
        }
        var act = new byte[GgmlTypeInfo.RowBytes(GgmlType.Q8_K, cols)];
        var x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (i / 256 % 2 == 0 ? 1f : -1f) * (rng.Next(8) == 0 ? 1f : (float)rng.NextDouble());
        fixed (float* px = x) fixed (byte* pa = act) ActivationQuant.Row(GgmlType.Q8_K, px, pa, cols, KernelLevel.Scalar);
        var got = new float[4];
        var expectedRows = new float[4];
        fixed (byte* pw = w) fixed (byte* pa = act)
            for (int r = 0; r < 4; r++) expectedRows[r] = VecDot.Dot(type, pw + r * rowBytes, pa, cols, KernelLevel.Scalar);
        fixed (byte* pw = w) fixed (byte* pa = act) fixed (float* pr = got)
        {
            foreach (var level in TestData.SimdLevels())
            {
                VecDot.Rows4(type, pw, rowBytes, pa, cols, level, pr);
                Check(level.ToString());
            }
            if (type == GgmlType.Q4_K && KernelSelection.IsAvailable(KernelLevel.Avx512))
            {
                // Both nibble splitters, whichever one this CPU dispatches to.
                SimdVecDot.Q4_K512Rows4<SimdVecDot.ShiftNibbleSplit>(pw, rowBytes, pa, cols, pr);
                Check("shift split");
                if (System.Runtime.Intrinsics.X86.Gfni.V512.IsSupported)
                {
                    SimdVecDot.Q4_K512Rows4<SimdVecDot.GfniNibbleSplit>(pw, rowBytes, pa, cols, pr);
                    Check("gfni split");
                }
            }

            void Check(string what)
            {
                for (int r = 0; r < 4; r++)
                {
                    float expected = expectedRows[r];
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(got[r]),
                        $"{type} {what} row {r}: reference {expected} vs four-row {got[r]}");
                }
            }
        }
    }

    /// <summary>The four-row scale unpack gives every row the six-bit scales and mins of <see cref="BlockLayout.ScaleMinK4"/>.</summary>
    [Fact]
    public unsafe void FourRowScaleUnpackMatchesScalar()
    {
        Assert.SkipUnless(KernelSelection.IsAvailable(KernelLevel.Avx512), "this CPU has no AVX-512 (F and BW): the AVX-512 kernel under test cannot run here");
        var rng = new Random(73);
        var blocks = new byte[4 * BlockLayout.Q4_KBytes];
        for (int round = 0; round < 64; round++)
        {
            rng.NextBytes(blocks);
            fixed (byte* p = blocks)
            {
                var heads = SimdVecDot.LoadHeads(p, p + BlockLayout.Q4_KBytes, p + 2 * BlockLayout.Q4_KBytes, p + 3 * BlockLayout.Q4_KBytes);
                SimdVecDot.ScaleUnpackK4Rows4.Create().Unpack(heads, out var scales, out var mins);
                for (int r = 0; r < 4; r++)
                    for (int j = 0; j < 8; j++)
                    {
                        BlockLayout.ScaleMinK4(j, p + r * BlockLayout.Q4_KBytes + BlockLayout.Q4_KScales, out int scale, out int min);
                        Assert.Equal(scale, scales.GetElement(8 * r + j));
                        Assert.Equal(min, mins.GetElement(8 * r + j));
                    }
            }
        }
    }

    /// <summary>The vector widening of the four rows' fp16 super-scales gives the lookup table's bits for every
    /// half pattern (subnormals, infinities and NaNs included).</summary>
    [Fact]
    public unsafe void FourRowSuperScaleWideningIsExactForEveryHalf()
    {
        Assert.SkipUnless(KernelSelection.IsAvailable(KernelLevel.Avx512), "this CPU has no AVX-512 (F and BW): the AVX-512 kernel under test cannot run here");
        var heads = new uint[16];
        for (int h = 0; h < 65536; h += 4)
        {
            for (int r = 0; r < 4; r++) heads[4 * r] = (uint)(h + r) | (uint)(65535 - h - r) << 16;
            fixed (uint* p = heads)
            {
                var got = SimdVecDot.SuperScales4(Vector512.Load(p));
                for (int r = 0; r < 4; r++)
                {
                    Assert.Equal(BitConverter.SingleToInt32Bits(HalfConvert.HalfToFloatLookup((ushort)(h + r))), BitConverter.SingleToInt32Bits(got.GetElement(r)));
                    Assert.Equal(BitConverter.SingleToInt32Bits(HalfConvert.HalfToFloatLookup((ushort)(65535 - h - r))), BitConverter.SingleToInt32Bits(got.GetElement(4 + r)));
                }
            }
        }
    }
}
