using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Scion.Tensors.Gemm;

/// <summary>8 × 8 float transposes through AVX registers, for the GEMM's packing and output: walking a column of a
/// row-major block reads rows that often fall in one L1 set, a register transpose reads whole rows.</summary>
public static unsafe class Transpose8
{
    /// <summary>dst[q, i] = src[i, q] for an 8 × 8 block; rows srcStride / dstStride floats apart. Needs AVX.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Block(float* src, long srcStride, float* dst, long dstStride)
    {
        var r0 = Vector256.Load(src);
        var r1 = Vector256.Load(src + srcStride);
        var r2 = Vector256.Load(src + 2 * srcStride);
        var r3 = Vector256.Load(src + 3 * srcStride);
        var r4 = Vector256.Load(src + 4 * srcStride);
        var r5 = Vector256.Load(src + 5 * srcStride);
        var r6 = Vector256.Load(src + 6 * srcStride);
        var r7 = Vector256.Load(src + 7 * srcStride);
        // Interleave pairs of rows: t0 = a0 b0 a1 b1 | a4 b4 a5 b5, ...
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        // Then quads: s0 = a0 b0 c0 d0 | a4 b4 c4 d4, s1 = column 1 | 5, ...
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        // Then halves: low 128 bits of the rows 0-3 quad with those of rows 4-7.
        Avx.Permute2x128(s0, s4, 0x20).Store(dst);
        Avx.Permute2x128(s1, s5, 0x20).Store(dst + dstStride);
        Avx.Permute2x128(s2, s6, 0x20).Store(dst + 2 * dstStride);
        Avx.Permute2x128(s3, s7, 0x20).Store(dst + 3 * dstStride);
        Avx.Permute2x128(s0, s4, 0x31).Store(dst + 4 * dstStride);
        Avx.Permute2x128(s1, s5, 0x31).Store(dst + 5 * dstStride);
        Avx.Permute2x128(s2, s6, 0x31).Store(dst + 6 * dstStride);
        Avx.Permute2x128(s3, s7, 0x31).Store(dst + 7 * dstStride);
    }
}
