using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Scion.Tensors.Cpu;

namespace Scion.Tensors;

/// <summary>
/// SIMD shrink and expand (Avx512: 512-bit vectors, Avx2: 256-bit). <see cref="Reference.ReferenceLowRank"/> is the
/// scalar twin.
/// </summary>
internal static unsafe class LowRankKernels
{
    /// <summary>
    /// ax[i, j] = scale · A[j, :]·x[rows[i], :] for i in [start, end). Each dot is decode's float dot
    /// (<see cref="SimdVecDot.F32Split"/>), so a row alone gets the bits it got before batching existed. Each row of A
    /// (in floats, 8 KiB at width 2048) is read from memory once per item and then from L1 for the item's other rows.
    /// </summary>
    public static void Shrink(float* x, int inDim, int* rows, int start, int end, float* a, int rank, float scale, float* ax, KernelLevel level)
    {
        for (int j = 0; j < rank; j++)
        {
            float* ar = a + (long)j * inDim;
            for (int i = start; i < end; i++)
                ax[(long)i * rank + j] = SimdVecDot.F32Split(ar, x + (long)rows[i] * inDim, inDim, level) * scale;
        }
    }

    /// <summary>
    /// y[rows[i], o] += Σ_j ax[i, j]·Bᵀ[j, o] for o in [c0, c1): every element is one fused multiply-add chain over j
    /// starting from y, so the result does not depend on the tile an element falls in, on the level (Avx2 and Avx512
    /// give the same bits) or on the column split. Tiles of 4 rows × 2 vectors keep 8 accumulators in registers and
    /// load each Bᵀ vector once for 4 rows.
    /// </summary>
    public static void Expand(float* ax, int rank, float* bTransposed, int outDim, int* rows, int rowCount, int c0, int c1, float* y, KernelLevel level)
    {
        int i = 0;
        for (; i + 4 <= rowCount; i += 4)
        {
            float* y0 = y + (long)rows[i] * outDim, y1 = y + (long)rows[i + 1] * outDim;
            float* y2 = y + (long)rows[i + 2] * outDim, y3 = y + (long)rows[i + 3] * outDim;
            float* a0 = ax + (long)i * rank;
            int o = c0;
            if (level == KernelLevel.Avx512) o = Rows4Avx512(a0, rank, bTransposed, outDim, o, c1, y0, y1, y2, y3);
            o = Rows4Avx2(a0, rank, bTransposed, outDim, o, c1, y0, y1, y2, y3);
            for (; o < c1; o++)
            {
                Tail(a0, rank, bTransposed, outDim, o, y0);
                Tail(a0 + rank, rank, bTransposed, outDim, o, y1);
                Tail(a0 + 2 * rank, rank, bTransposed, outDim, o, y2);
                Tail(a0 + 3 * rank, rank, bTransposed, outDim, o, y3);
            }
        }
        for (; i < rowCount; i++)
        {
            float* yr = y + (long)rows[i] * outDim;
            float* ar = ax + (long)i * rank;
            int o = c0;
            if (level == KernelLevel.Avx512) o = Row1Avx512(ar, rank, bTransposed, outDim, o, c1, yr);
            o = Row1Avx2(ar, rank, bTransposed, outDim, o, c1, yr);
            for (; o < c1; o++) Tail(ar, rank, bTransposed, outDim, o, yr);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tail(float* ar, int rank, float* bt, int outDim, int o, float* yr)
    {
        float acc = yr[o];
        for (int j = 0; j < rank; j++) acc = MathF.FusedMultiplyAdd(ar[j], bt[(long)j * outDim + o], acc);
        yr[o] = acc;
    }

    // Each returns the first column it did not handle.
    private static int Rows4Avx512(float* a, int rank, float* bt, int outDim, int o, int c1, float* y0, float* y1, float* y2, float* y3)
    {
        float* a1 = a + rank, a2 = a + 2 * rank, a3 = a + 3 * rank;
        for (; o + 32 <= c1; o += 32)
        {
            Vector512<float> p0 = Vector512.Load(y0 + o), q0 = Vector512.Load(y0 + o + 16);
            Vector512<float> p1 = Vector512.Load(y1 + o), q1 = Vector512.Load(y1 + o + 16);
            Vector512<float> p2 = Vector512.Load(y2 + o), q2 = Vector512.Load(y2 + o + 16);
            Vector512<float> p3 = Vector512.Load(y3 + o), q3 = Vector512.Load(y3 + o + 16);
            for (int j = 0; j < rank; j++)
            {
                float* b = bt + (long)j * outDim + o;
                Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16);
                var s0 = Vector512.Create(a[j]); p0 = Vector512.FusedMultiplyAdd(s0, b0, p0); q0 = Vector512.FusedMultiplyAdd(s0, b1, q0);
                var s1 = Vector512.Create(a1[j]); p1 = Vector512.FusedMultiplyAdd(s1, b0, p1); q1 = Vector512.FusedMultiplyAdd(s1, b1, q1);
                var s2 = Vector512.Create(a2[j]); p2 = Vector512.FusedMultiplyAdd(s2, b0, p2); q2 = Vector512.FusedMultiplyAdd(s2, b1, q2);
                var s3 = Vector512.Create(a3[j]); p3 = Vector512.FusedMultiplyAdd(s3, b0, p3); q3 = Vector512.FusedMultiplyAdd(s3, b1, q3);
            }
            p0.Store(y0 + o); q0.Store(y0 + o + 16);
            p1.Store(y1 + o); q1.Store(y1 + o + 16);
            p2.Store(y2 + o); q2.Store(y2 + o + 16);
            p3.Store(y3 + o); q3.Store(y3 + o + 16);
        }
        for (; o + 16 <= c1; o += 16)
        {
            Vector512<float> p0 = Vector512.Load(y0 + o), p1 = Vector512.Load(y1 + o), p2 = Vector512.Load(y2 + o), p3 = Vector512.Load(y3 + o);
            for (int j = 0; j < rank; j++)
            {
                var b0 = Vector512.Load(bt + (long)j * outDim + o);
                p0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[j]), b0, p0);
                p1 = Vector512.FusedMultiplyAdd(Vector512.Create(a1[j]), b0, p1);
                p2 = Vector512.FusedMultiplyAdd(Vector512.Create(a2[j]), b0, p2);
                p3 = Vector512.FusedMultiplyAdd(Vector512.Create(a3[j]), b0, p3);
            }
            p0.Store(y0 + o); p1.Store(y1 + o); p2.Store(y2 + o); p3.Store(y3 + o);
        }
        return o;
    }

    private static int Rows4Avx2(float* a, int rank, float* bt, int outDim, int o, int c1, float* y0, float* y1, float* y2, float* y3)
    {
        float* a1 = a + rank, a2 = a + 2 * rank, a3 = a + 3 * rank;
        for (; o + 16 <= c1; o += 16)
        {
            Vector256<float> p0 = Vector256.Load(y0 + o), q0 = Vector256.Load(y0 + o + 8);
            Vector256<float> p1 = Vector256.Load(y1 + o), q1 = Vector256.Load(y1 + o + 8);
            Vector256<float> p2 = Vector256.Load(y2 + o), q2 = Vector256.Load(y2 + o + 8);
            Vector256<float> p3 = Vector256.Load(y3 + o), q3 = Vector256.Load(y3 + o + 8);
            for (int j = 0; j < rank; j++)
            {
                float* b = bt + (long)j * outDim + o;
                Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8);
                var s0 = Vector256.Create(a[j]); p0 = Vector256.FusedMultiplyAdd(s0, b0, p0); q0 = Vector256.FusedMultiplyAdd(s0, b1, q0);
                var s1 = Vector256.Create(a1[j]); p1 = Vector256.FusedMultiplyAdd(s1, b0, p1); q1 = Vector256.FusedMultiplyAdd(s1, b1, q1);
                var s2 = Vector256.Create(a2[j]); p2 = Vector256.FusedMultiplyAdd(s2, b0, p2); q2 = Vector256.FusedMultiplyAdd(s2, b1, q2);
                var s3 = Vector256.Create(a3[j]); p3 = Vector256.FusedMultiplyAdd(s3, b0, p3); q3 = Vector256.FusedMultiplyAdd(s3, b1, q3);
            }
            p0.Store(y0 + o); q0.Store(y0 + o + 8);
            p1.Store(y1 + o); q1.Store(y1 + o + 8);
            p2.Store(y2 + o); q2.Store(y2 + o + 8);
            p3.Store(y3 + o); q3.Store(y3 + o + 8);
        }
        for (; o + 8 <= c1; o += 8)
        {
            Vector256<float> p0 = Vector256.Load(y0 + o), p1 = Vector256.Load(y1 + o), p2 = Vector256.Load(y2 + o), p3 = Vector256.Load(y3 + o);
            for (int j = 0; j < rank; j++)
            {
                var b0 = Vector256.Load(bt + (long)j * outDim + o);
                p0 = Vector256.FusedMultiplyAdd(Vector256.Create(a[j]), b0, p0);
                p1 = Vector256.FusedMultiplyAdd(Vector256.Create(a1[j]), b0, p1);
                p2 = Vector256.FusedMultiplyAdd(Vector256.Create(a2[j]), b0, p2);
                p3 = Vector256.FusedMultiplyAdd(Vector256.Create(a3[j]), b0, p3);
            }
            p0.Store(y0 + o); p1.Store(y1 + o); p2.Store(y2 + o); p3.Store(y3 + o);
        }
        return o;
    }

    private static int Row1Avx512(float* a, int rank, float* bt, int outDim, int o, int c1, float* yr)
    {
        // Four vectors of columns per pass: four independent FMA chains hide the FMA latency a single row would expose.
        for (; o + 64 <= c1; o += 64)
        {
            Vector512<float> p0 = Vector512.Load(yr + o), p1 = Vector512.Load(yr + o + 16), p2 = Vector512.Load(yr + o + 32), p3 = Vector512.Load(yr + o + 48);
            for (int j = 0; j < rank; j++)
            {
                float* b = bt + (long)j * outDim + o;
                var s = Vector512.Create(a[j]);
                p0 = Vector512.FusedMultiplyAdd(s, Vector512.Load(b), p0);
                p1 = Vector512.FusedMultiplyAdd(s, Vector512.Load(b + 16), p1);
                p2 = Vector512.FusedMultiplyAdd(s, Vector512.Load(b + 32), p2);
                p3 = Vector512.FusedMultiplyAdd(s, Vector512.Load(b + 48), p3);
            }
            p0.Store(yr + o); p1.Store(yr + o + 16); p2.Store(yr + o + 32); p3.Store(yr + o + 48);
        }
        for (; o + 16 <= c1; o += 16)
        {
            var p = Vector512.Load(yr + o);
            for (int j = 0; j < rank; j++) p = Vector512.FusedMultiplyAdd(Vector512.Create(a[j]), Vector512.Load(bt + (long)j * outDim + o), p);
            p.Store(yr + o);
        }
        return o;
    }

    private static int Row1Avx2(float* a, int rank, float* bt, int outDim, int o, int c1, float* yr)
    {
        for (; o + 32 <= c1; o += 32)
        {
            Vector256<float> p0 = Vector256.Load(yr + o), p1 = Vector256.Load(yr + o + 8), p2 = Vector256.Load(yr + o + 16), p3 = Vector256.Load(yr + o + 24);
            for (int j = 0; j < rank; j++)
            {
                float* b = bt + (long)j * outDim + o;
                var s = Vector256.Create(a[j]);
                p0 = Vector256.FusedMultiplyAdd(s, Vector256.Load(b), p0);
                p1 = Vector256.FusedMultiplyAdd(s, Vector256.Load(b + 8), p1);
                p2 = Vector256.FusedMultiplyAdd(s, Vector256.Load(b + 16), p2);
                p3 = Vector256.FusedMultiplyAdd(s, Vector256.Load(b + 24), p3);
            }
            p0.Store(yr + o); p1.Store(yr + o + 8); p2.Store(yr + o + 16); p3.Store(yr + o + 24);
        }
        for (; o + 8 <= c1; o += 8)
        {
            var p = Vector256.Load(yr + o);
            for (int j = 0; j < rank; j++) p = Vector256.FusedMultiplyAdd(Vector256.Create(a[j]), Vector256.Load(bt + (long)j * outDim + o), p);
            p.Store(yr + o);
        }
        return o;
    }
}
