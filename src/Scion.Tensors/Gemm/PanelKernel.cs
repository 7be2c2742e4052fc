using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Scion.Tensors.Gemm;

/// <summary>
/// The register-blocked inner kernel of every fp32 matrix product (the training tape's, and prefill with float
/// weights through <see cref="FloatGemm"/>): c[m, n] += Σ_k a[m, k] b[k, n] for one cache block. Every output
/// element is summed in one fixed order: acc = 0; acc = fma(a[i, k], b[k, j], acc) for k = 0..K−1; then c[i, j] += acc. The AVX-512 tiles (4 rows × 64 columns), the AVX2 tiles and the scalar path
/// (<see cref="Reference"/>) all follow that order with fused multiply-adds, so they agree bitwise, and callers that
/// split work by output tiles get the same bits for any thread count.
/// </summary>
public static unsafe class PanelKernel
{
    /// <summary>c[m, n] += a[m, k] · b[k, n]; rows of a, b, c are lda, ldb, ldc floats apart.</summary>
    public static void Accumulate(float* a, int lda, float* b, int ldb, float* c, int ldc, int m, int n, int k) =>
        Accumulate(a, lda, b, ldb, c, ldc, m, n, k, AutomaticLevel);

    // What the automatic entry runs: the widest tiles this machine has (tests pick narrower ones by level).
    private static KernelLevel AutomaticLevel =>
        Avx512F.IsSupported ? KernelLevel.Avx512 : Fma.IsSupported ? KernelLevel.Avx2 : KernelLevel.Scalar;

    /// <summary>As <see cref="Accumulate(float*, int, float*, int, float*, int, int, int, int)"/> with the tiles of
    /// <paramref name="level"/> (every level gives the same bits); the caller has checked the CPU runs it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Accumulate(float* a, int lda, float* b, int ldb, float* c, int ldc, int m, int n, int k, KernelLevel level)
    {
        if (m <= 0 || n <= 0 || k <= 0) return;
        if (level == KernelLevel.Scalar)
        {
            Reference(a, lda, b, ldb, c, ldc, m, n, k);
            return;
        }
        int j = 0;
        if (level == KernelLevel.Avx512)
        {
            for (; j + 64 <= n; j += 64)
            {
                int i = 0;
                for (; i + 4 <= m; i += 4) Tile4x64(a + (long)i * lda, lda, b + j, ldb, c + (long)i * ldc + j, ldc, k);
                for (; i < m; i++) Tile1x64(a + (long)i * lda, b + j, ldb, c + (long)i * ldc + j, k);
            }
            // A 32- or 48-wide rest (prefill's last token panel) still keeps 8 or 12 FMA chains in flight.
            if (j + 32 <= n)
            {
                int width = n - j >= 48 ? 48 : 32;
                int i = 0;
                for (; i + 4 <= m; i += 4)
                {
                    if (width == 48) Tile4x48(a + (long)i * lda, lda, b + j, ldb, c + (long)i * ldc + j, ldc, k);
                    else Tile4x32(a + (long)i * lda, lda, b + j, ldb, c + (long)i * ldc + j, ldc, k);
                }
                for (; i < m; i++)
                    for (int q = 0; q < width; q += 16) Tile1x16(a + (long)i * lda, b + j + q, ldb, c + (long)i * ldc + j + q, k);
                j += width;
            }
            for (; j + 16 <= n; j += 16)
            {
                int i = 0;
                for (; i + 4 <= m; i += 4) Tile4x16(a + (long)i * lda, lda, b + j, ldb, c + (long)i * ldc + j, ldc, k);
                for (; i < m; i++) Tile1x16(a + (long)i * lda, b + j, ldb, c + (long)i * ldc + j, k);
            }
            // Narrow leftovers (head size 8, a rank of 8) still get 8-wide FMAs: same bits as the scalar twin.
            for (; j + 8 <= n; j += 8)
            {
                int i = 0;
                for (; i + 4 <= m; i += 4) Tile4x8(a + (long)i * lda, lda, b + j, ldb, c + (long)i * ldc + j, ldc, k);
                for (; i < m; i++) Tile1x8Avx2(a + (long)i * lda, b + j, ldb, c + (long)i * ldc + j, k, 1);
            }
        }
        else
        {
            for (; j + 16 <= n; j += 16)
            {
                int i = 0;
                for (; i + 4 <= m; i += 4) Tile4x16Avx2(a + (long)i * lda, lda, b + j, ldb, c + (long)i * ldc + j, ldc, k);
                for (; i < m; i++) Tile1x8Avx2(a + (long)i * lda, b + j, ldb, c + (long)i * ldc + j, k, 2);
            }
            for (; j + 8 <= n; j += 8)
            {
                int i = 0;
                for (; i + 4 <= m; i += 4) Tile4x8(a + (long)i * lda, lda, b + j, ldb, c + (long)i * ldc + j, ldc, k);
                for (; i < m; i++) Tile1x8Avx2(a + (long)i * lda, b + j, ldb, c + (long)i * ldc + j, k, 1);
            }
        }
        if (j < n) Reference(a, lda, b + j, ldb, c + j, ldc, m, n - j, k);
    }

    /// <summary>Scalar twin of <see cref="Accumulate"/>, same summation order and fused multiply-adds: bitwise equal.</summary>
    public static void Reference(float* a, int lda, float* b, int ldb, float* c, int ldc, int m, int n, int k)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float acc = 0f;
                for (int p = 0; p < k; p++) acc = MathF.FusedMultiplyAdd(a[(long)i * lda + p], b[(long)p * ldb + j], acc);
                c[(long)i * ldc + j] += acc;
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x64(float* a, int lda, float* b, int ldb, float* c, int ldc, int k)
    {
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        float* a0 = a, a1 = a + lda, a2 = a + 2L * lda, a3 = a + 3L * lda;
        for (int p = 0; p < k; p++)
        {
            float* br = b + (long)p * ldb;
            var b0 = Vector512.Load(br);
            var b1 = Vector512.Load(br + 16);
            var b2 = Vector512.Load(br + 32);
            var b3 = Vector512.Load(br + 48);
            var x = Vector512.Create(a0[p]);
            c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            c02 = Avx512F.FusedMultiplyAdd(x, b2, c02); c03 = Avx512F.FusedMultiplyAdd(x, b3, c03);
            x = Vector512.Create(a1[p]);
            c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            c12 = Avx512F.FusedMultiplyAdd(x, b2, c12); c13 = Avx512F.FusedMultiplyAdd(x, b3, c13);
            x = Vector512.Create(a2[p]);
            c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            c22 = Avx512F.FusedMultiplyAdd(x, b2, c22); c23 = Avx512F.FusedMultiplyAdd(x, b3, c23);
            x = Vector512.Create(a3[p]);
            c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            c32 = Avx512F.FusedMultiplyAdd(x, b2, c32); c33 = Avx512F.FusedMultiplyAdd(x, b3, c33);
        }
        AddRow(c, c00, c01, c02, c03);
        AddRow(c + ldc, c10, c11, c12, c13);
        AddRow(c + 2L * ldc, c20, c21, c22, c23);
        AddRow(c + 3L * ldc, c30, c31, c32, c33);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x64(float* a, float* b, int ldb, float* c, int k)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int p = 0; p < k; p++)
        {
            float* br = b + (long)p * ldb;
            var x = Vector512.Create(a[p]);
            c0 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(br), c0);
            c1 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(br + 16), c1);
            c2 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(br + 32), c2);
            c3 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(br + 48), c3);
        }
        AddRow(c, c0, c1, c2, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x48(float* a, int lda, float* b, int ldb, float* c, int ldc, int k)
    {
        Vector512<float> c00 = default, c01 = default, c02 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default;
        float* a0 = a, a1 = a + lda, a2 = a + 2L * lda, a3 = a + 3L * lda;
        for (int p = 0; p < k; p++)
        {
            float* br = b + (long)p * ldb;
            var b0 = Vector512.Load(br);
            var b1 = Vector512.Load(br + 16);
            var b2 = Vector512.Load(br + 32);
            var x = Vector512.Create(a0[p]);
            c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01); c02 = Avx512F.FusedMultiplyAdd(x, b2, c02);
            x = Vector512.Create(a1[p]);
            c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11); c12 = Avx512F.FusedMultiplyAdd(x, b2, c12);
            x = Vector512.Create(a2[p]);
            c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21); c22 = Avx512F.FusedMultiplyAdd(x, b2, c22);
            x = Vector512.Create(a3[p]);
            c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31); c32 = Avx512F.FusedMultiplyAdd(x, b2, c32);
        }
        AddRow(c, c00, c01, c02);
        AddRow(c + ldc, c10, c11, c12);
        AddRow(c + 2L * ldc, c20, c21, c22);
        AddRow(c + 3L * ldc, c30, c31, c32);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x32(float* a, int lda, float* b, int ldb, float* c, int ldc, int k)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        float* a0 = a, a1 = a + lda, a2 = a + 2L * lda, a3 = a + 3L * lda;
        for (int p = 0; p < k; p++)
        {
            float* br = b + (long)p * ldb;
            var b0 = Vector512.Load(br);
            var b1 = Vector512.Load(br + 16);
            var x = Vector512.Create(a0[p]);
            c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a1[p]);
            c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a2[p]);
            c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a3[p]);
            c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
        }
        AddRow(c, c00, c01);
        AddRow(c + ldc, c10, c11);
        AddRow(c + 2L * ldc, c20, c21);
        AddRow(c + 3L * ldc, c30, c31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float* c, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2)
    {
        (Vector512.Load(c) + v0).Store(c);
        (Vector512.Load(c + 16) + v1).Store(c + 16);
        (Vector512.Load(c + 32) + v2).Store(c + 32);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float* c, Vector512<float> v0, Vector512<float> v1)
    {
        (Vector512.Load(c) + v0).Store(c);
        (Vector512.Load(c + 16) + v1).Store(c + 16);
    }

    // Four rows at once: four independent FMA chains hide the FMA latency that one narrow row would wait on.
    private static void Tile4x16(float* a, int lda, float* b, int ldb, float* c, int ldc, int k)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        float* a0 = a, a1 = a + lda, a2 = a + 2L * lda, a3 = a + 3L * lda;
        for (int p = 0; p < k; p++)
        {
            var bv = Vector512.Load(b + (long)p * ldb);
            c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(a0[p]), bv, c0);
            c1 = Avx512F.FusedMultiplyAdd(Vector512.Create(a1[p]), bv, c1);
            c2 = Avx512F.FusedMultiplyAdd(Vector512.Create(a2[p]), bv, c2);
            c3 = Avx512F.FusedMultiplyAdd(Vector512.Create(a3[p]), bv, c3);
        }
        (Vector512.Load(c) + c0).Store(c);
        c += ldc; (Vector512.Load(c) + c1).Store(c);
        c += ldc; (Vector512.Load(c) + c2).Store(c);
        c += ldc; (Vector512.Load(c) + c3).Store(c);
    }

    private static void Tile4x8(float* a, int lda, float* b, int ldb, float* c, int ldc, int k)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        float* a0 = a, a1 = a + lda, a2 = a + 2L * lda, a3 = a + 3L * lda;
        for (int p = 0; p < k; p++)
        {
            var bv = Vector256.Load(b + (long)p * ldb);
            c0 = Fma.MultiplyAdd(Vector256.Create(a0[p]), bv, c0);
            c1 = Fma.MultiplyAdd(Vector256.Create(a1[p]), bv, c1);
            c2 = Fma.MultiplyAdd(Vector256.Create(a2[p]), bv, c2);
            c3 = Fma.MultiplyAdd(Vector256.Create(a3[p]), bv, c3);
        }
        (Vector256.Load(c) + c0).Store(c);
        c += ldc; (Vector256.Load(c) + c1).Store(c);
        c += ldc; (Vector256.Load(c) + c2).Store(c);
        c += ldc; (Vector256.Load(c) + c3).Store(c);
    }

    private static void Tile1x16(float* a, float* b, int ldb, float* c, int k)
    {
        Vector512<float> c0 = default;
        for (int p = 0; p < k; p++) c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[p]), Vector512.Load(b + (long)p * ldb), c0);
        (Vector512.Load(c) + c0).Store(c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float* c, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3)
    {
        (Vector512.Load(c) + v0).Store(c);
        (Vector512.Load(c + 16) + v1).Store(c + 16);
        (Vector512.Load(c + 32) + v2).Store(c + 32);
        (Vector512.Load(c + 48) + v3).Store(c + 48);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x16Avx2(float* a, int lda, float* b, int ldb, float* c, int ldc, int k)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        float* a0 = a, a1 = a + lda, a2 = a + 2L * lda, a3 = a + 3L * lda;
        for (int p = 0; p < k; p++)
        {
            float* br = b + (long)p * ldb;
            var b0 = Vector256.Load(br);
            var b1 = Vector256.Load(br + 8);
            var x = Vector256.Create(a0[p]);
            c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Vector256.Create(a1[p]);
            c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Vector256.Create(a2[p]);
            c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Vector256.Create(a3[p]);
            c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
        }
        (Vector256.Load(c) + c00).Store(c); (Vector256.Load(c + 8) + c01).Store(c + 8);
        c += ldc; (Vector256.Load(c) + c10).Store(c); (Vector256.Load(c + 8) + c11).Store(c + 8);
        c += ldc; (Vector256.Load(c) + c20).Store(c); (Vector256.Load(c + 8) + c21).Store(c + 8);
        c += ldc; (Vector256.Load(c) + c30).Store(c); (Vector256.Load(c + 8) + c31).Store(c + 8);
    }

    private static void Tile1x8Avx2(float* a, float* b, int ldb, float* c, int k, int vectors)
    {
        for (int v = 0; v < vectors; v++, b += 8, c += 8)
        {
            Vector256<float> c0 = default;
            for (int p = 0; p < k; p++) c0 = Fma.MultiplyAdd(Vector256.Create(a[p]), Vector256.Load(b + (long)p * ldb), c0);
            (Vector256.Load(c) + c0).Store(c);
        }
    }
}
