using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Scion.Tensors.Cpu;

/// <summary>Floating-point weight rows (F32, F16, BF16) against fp32 activations: widen on the fly, FMA in fp32.</summary>
internal static unsafe partial class SimdVecDot
{
    // Every float dot (F32, F16, BF16 weights; one row or several; decode or the prefill tiles) sums in the same
    // order: one accumulator per (row, token) taking 16 products per step (8 at Avx2) in ascending column order,
    // then its lanes summed, then the leftover columns added one by one. Decode and batched prefill therefore give
    // the same bits; instruction-level parallelism comes from several rows or tokens in flight, not from splitting
    // one dot over several accumulators.

    public static float F32(float* w, float* x, int n, KernelLevel level) => Rows1<F32Loader>((byte*)w, x, n, level);

    public static float F16(ushort* w, float* x, int n, KernelLevel level) => Rows1<HalfWidener>((byte*)w, x, n, level);

    public static float BF16(ushort* w, float* x, int n, KernelLevel level) => Rows1<BFloat16Widener>((byte*)w, x, n, level);

    private static float Rows1<TW>(byte* w, float* x, int n, KernelLevel level) where TW : struct, IWidener
    {
        int i = 0;
        float sum = 0;
        if (level == KernelLevel.Avx512)
        {
            Vector512<float> a = default;
            Vector256<ushort> mark = Vector256.Create((ushort)0x7c00);
            for (; i + 16 <= n; i += 16) a = Vector512.FusedMultiplyAdd(TW.Load16(w, i, ref mark), Vector512.Load(x + i), a);
            if (TW.SawSpecial(mark)) return ExactRows1<TW>(w, x, n, level);
            sum = Vector512.Sum(a);
        }
        else if (level == KernelLevel.Avx2)
        {
            Vector256<float> a = default;
            for (; i + 8 <= n; i += 8) a = Vector256.FusedMultiplyAdd(TW.Load8(w, i), Vector256.Load(x + i), a);
            sum = Vector256.Sum(a);
        }
        for (; i < n; i++) sum += TW.Scalar(w, i) * x[i];
        return sum;
    }

    // The same order with the exact (Inf/NaN-aware) widening, for the rare row that holds a special half.
    private static float ExactRows1<TW>(byte* w, float* x, int n, KernelLevel level) where TW : struct, IWidener
    {
        int i = 0;
        Vector512<float> a = default;
        for (; i + 16 <= n; i += 16) a = Vector512.FusedMultiplyAdd(TW.Exact16(w, i), Vector512.Load(x + i), a);
        float sum = Vector512.Sum(a);
        for (; i < n; i++) sum += TW.Scalar(w, i) * x[i];
        return sum;
    }

    /// <summary>Σ a·b over four interleaved accumulators: the element-wise Ops.Dot (attention scores), not a weight dot.</summary>
    public static float F32Split(float* w, float* x, int n, KernelLevel level)
    {
        int i = 0;
        float sum = 0;
        if (level == KernelLevel.Avx512)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 64 <= n; i += 64)
            {
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w + i), Vector512.Load(x + i), a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(w + i + 16), Vector512.Load(x + i + 16), a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(w + i + 32), Vector512.Load(x + i + 32), a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(w + i + 48), Vector512.Load(x + i + 48), a3);
            }
            for (; i + 16 <= n; i += 16) a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w + i), Vector512.Load(x + i), a0);
            sum = Vector512.Sum((a0 + a1) + (a2 + a3));
        }
        else if (level == KernelLevel.Avx2)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 32 <= n; i += 32)
            {
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i), Vector256.Load(x + i), a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i + 8), Vector256.Load(x + i + 8), a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i + 16), Vector256.Load(x + i + 16), a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i + 24), Vector256.Load(x + i + 24), a3);
            }
            for (; i + 8 <= n; i += 8) a0 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i), Vector256.Load(x + i), a0);
            sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        for (; i < n; i++) sum += w[i] * x[i];
        return sum;
    }

    /// <summary>Four weight rows, <paramref name="rowBytes"/> apart, against one activation row: decode's float GEMV.
    /// Each row sums exactly as <see cref="Rows1"/> does; the four independent accumulators hide FMA latency.</summary>
    public static void Rows4<TW>(byte* w, long rowBytes, float* x, int n, KernelLevel level, float* result) where TW : struct, IWidener
    {
        byte* w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        int i = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (level == KernelLevel.Avx512)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<ushort> mark = Vector256.Create((ushort)0x7c00);
            // Four rows are four short streams that the hardware prefetcher follows poorly (F16 rows of 2048 and of
            // 5632 values read at 13-15 GB/s from DRAM, 29-37 with this): walk the next four rows' bytes, which are
            // contiguous, at the pace this group is consumed.
            byte* next = w + 4 * rowBytes;
            long step = 4 * rowBytes * 16 / Math.Max(n, 16);
            for (; i + 16 <= n; i += 16, next += step)
            {
                for (long p = 0; p < step; p += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch0(next + p);
                Vector512<float> xv = Vector512.Load(x + i);
                a0 = Vector512.FusedMultiplyAdd(TW.Load16(w0, i, ref mark), xv, a0);
                a1 = Vector512.FusedMultiplyAdd(TW.Load16(w1, i, ref mark), xv, a1);
                a2 = Vector512.FusedMultiplyAdd(TW.Load16(w2, i, ref mark), xv, a2);
                a3 = Vector512.FusedMultiplyAdd(TW.Load16(w3, i, ref mark), xv, a3);
            }
            if (TW.SawSpecial(mark))
            {
                for (int r = 0; r < 4; r++) result[r] = ExactRows1<TW>(w + r * rowBytes, x, n, level);
                return;
            }
            s0 = Vector512.Sum(a0); s1 = Vector512.Sum(a1); s2 = Vector512.Sum(a2); s3 = Vector512.Sum(a3);
        }
        else if (level == KernelLevel.Avx2)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> xv = Vector256.Load(x + i);
                a0 = Vector256.FusedMultiplyAdd(TW.Load8(w0, i), xv, a0);
                a1 = Vector256.FusedMultiplyAdd(TW.Load8(w1, i), xv, a1);
                a2 = Vector256.FusedMultiplyAdd(TW.Load8(w2, i), xv, a2);
                a3 = Vector256.FusedMultiplyAdd(TW.Load8(w3, i), xv, a3);
            }
            s0 = Vector256.Sum(a0); s1 = Vector256.Sum(a1); s2 = Vector256.Sum(a2); s3 = Vector256.Sum(a3);
        }
        for (; i < n; i++)
        {
            float xi = x[i];
            s0 += TW.Scalar(w0, i) * xi; s1 += TW.Scalar(w1, i) * xi; s2 += TW.Scalar(w2, i) * xi; s3 += TW.Scalar(w3, i) * xi;
        }
        result[0] = s0; result[1] = s1; result[2] = s2; result[3] = s3;
    }
}

/// <summary>How a float kernel reads weights: fp32 as is, F16/BF16 widened on the fly (exact values).</summary>
internal unsafe interface IWidener
{
    /// <summary>16 weights from element <paramref name="i"/>, widened; F16 uses the fast finite form and notes specials in <paramref name="mark"/>.</summary>
    static abstract Vector512<float> Load16(byte* row, int i, ref Vector256<ushort> mark);
    /// <summary>16 weights with Inf/NaN handled exactly.</summary>
    static abstract Vector512<float> Exact16(byte* row, int i);
    static abstract Vector256<float> Load8(byte* row, int i);
    static abstract float Scalar(byte* row, int i);
    /// <summary>True when a Load16 met an Inf/NaN half, so the results must be redone with Exact16.</summary>
    static abstract bool SawSpecial(Vector256<ushort> mark);
}

internal unsafe struct F32Loader : IWidener
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load16(byte* row, int i, ref Vector256<ushort> mark) => Vector512.Load((float*)row + i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Exact16(byte* row, int i) => Vector512.Load((float*)row + i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load8(byte* row, int i) => Vector256.Load((float*)row + i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Scalar(byte* row, int i) => ((float*)row)[i];
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool SawSpecial(Vector256<ushort> mark) => false;
}

internal unsafe struct HalfWidener : IWidener
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load16(byte* row, int i, ref Vector256<ushort> mark)
    {
        Vector256<ushort> h = Vector256.Load((ushort*)row + i);
        mark = HalfConvert.FiniteMark16(mark, h);
        return HalfConvert.FiniteHalfToFloat16(h);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Exact16(byte* row, int i) => HalfConvert.HalfToFloat16(Vector256.Load((ushort*)row + i));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load8(byte* row, int i) => HalfConvert.HalfToFloat8(Vector128.Load((ushort*)row + i));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Scalar(byte* row, int i) => HalfConvert.HalfToFloat(((ushort*)row)[i]);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool SawSpecial(Vector256<ushort> mark) => Vector256.EqualsAny(mark, Vector256<ushort>.Zero);
}

internal unsafe struct BFloat16Widener : IWidener
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load16(byte* row, int i, ref Vector256<ushort> mark) => HalfConvert.BFloat16ToFloat16(Vector256.Load((ushort*)row + i));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Exact16(byte* row, int i) => HalfConvert.BFloat16ToFloat16(Vector256.Load((ushort*)row + i));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load8(byte* row, int i) => HalfConvert.BFloat16ToFloat8(Vector128.Load((ushort*)row + i));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Scalar(byte* row, int i) => HalfConvert.BFloat16ToFloat(((ushort*)row)[i]);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool SawSpecial(Vector256<ushort> mark) => false;
}
