using Scion.Tensors.Gemm;

namespace Scion.Tensors.Tests.Gemm;

public unsafe class PanelKernelTests
{
    private static float[] Random(Xoshiro256 rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < v.Length; i++) v[i] = rng.NextUniform(-1, 1);
        return v;
    }

    // Moved from Scion.Training.Tests with the kernel: training's products rely on these exact bits.
    [Theory]
    [InlineData(4, 64, 9)]
    [InlineData(7, 83, 37)]
    [InlineData(13, 200, 130)]
    [InlineData(1, 15, 3)]
    [InlineData(9, 144, 1)]
    [InlineData(8, 16, 300)]
    [InlineData(6, 8, 20)]
    [InlineData(5, 112, 17)]    // 64 + a 48-wide rest
    [InlineData(6, 96, 9)]      // 64 + a 32-wide rest
    [InlineData(9, 59, 5)]      // 48 wide, then 8 and scalar columns
    [InlineData(4, 40, 3)]      // 32 wide, then 8
    public void PanelKernelIsBitwiseItsScalarTwin(int m, int n, int k)
    {
        var rng = new Xoshiro256((ulong)(m * 1000 + n * 10 + k));
        // Strided operands: rows longer than the block, as the callers pass sub-blocks of bigger matrices.
        int lda = k + 3, ldb = n + 5, ldc = n + 2;
        var a = Random(rng, m * lda);
        var b = Random(rng, k * ldb);
        var c1 = Random(rng, m * ldc);
        var c0 = (float[])c1.Clone();
        var c2 = (float[])c1.Clone();
        var c3 = (float[])c1.Clone();
        fixed (float* pa = a, pb = b, pc1 = c1, pc2 = c2, pc3 = c3)
        {
            PanelKernel.Accumulate(pa, lda, pb, ldb, pc1, ldc, m, n, k);
            PanelKernel.Reference(pa, lda, pb, ldb, pc2, ldc, m, n, k);
            if (System.Runtime.Intrinsics.X86.Fma.IsSupported)
            {
                // The AVX2 tiles (what a machine without AVX-512 runs) give the same bits too.
                PanelKernel.Accumulate(pa, lda, pb, ldb, pc3, ldc, m, n, k, KernelLevel.Avx2);
                for (int i = 0; i < c1.Length; i++) Assert.Equal(BitConverter.SingleToInt32Bits(c2[i]), BitConverter.SingleToInt32Bits(c3[i]));
            }
        }
        for (int i = 0; i < c1.Length; i++) Assert.Equal(BitConverter.SingleToInt32Bits(c2[i]), BitConverter.SingleToInt32Bits(c1[i]));
        // And it is the product: compare with a double sum.
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double)a[i * lda + p] * b[p * ldb + j];
                Assert.True(Math.Abs(c1[i * ldc + j] - c0[i * ldc + j] - s) < 1e-4, $"c[{i}, {j}]");
            }
    }
}
