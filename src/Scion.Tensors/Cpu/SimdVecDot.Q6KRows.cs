using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors.Quant;

namespace Scion.Tensors.Cpu;

/// <summary>
/// Q6_K decode (GEMV): four weight rows against one Q8_K activation row (the output matrix of Q4_K_M models is
/// Q6_K). Each row's integer part is that of <see cref="Q6_K{TDot}"/>; what runs once for four rows is the rest:
/// the activation loads, one horizontal-add tree for the four rows' totals instead of four full horizontal sums, and
/// <see cref="KQuantAccumulate.Q6_K"/>'s float step on a 4-lane vector (lane = row, the single-row operations in the
/// same order), so each row keeps the bits of its single-row dot.
/// </summary>
internal static unsafe partial class SimdVecDot
{
    /// <summary>Rows <c>w + r·rowBytes</c> for r in 0..3 against the Q8_K row <paramref name="a"/>; result[r].</summary>
    public static void Q6_KRows4<TDot>(byte* w, long rowBytes, byte* a, int n, float* result) where TDot : struct, IInt8DotProduct
    {
        Vector128<float> sum = Vector128<float>.Zero;
        byte* w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        for (int b = 0; b < n / 256; b++, a += BlockLayout.Q8_KBytes)
        {
            long o = (long)b * BlockLayout.Q6_KBytes;
            // As in Q4_K512Rows4, four interleaved row streams need software prefetch (one core streamed 5 GB/s
            // from DRAM without it, 24 with it, as the single-row walk): the rows two groups ahead, 4 x 210 bytes
            // (14 lines) per block.
            byte* next = w0 + 8 * rowBytes + 4 * o;
            Sse.Prefetch0(next); Sse.Prefetch0(next + 64); Sse.Prefetch0(next + 128); Sse.Prefetch0(next + 192); Sse.Prefetch0(next + 256);
            Sse.Prefetch0(next + 320); Sse.Prefetch0(next + 384); Sse.Prefetch0(next + 448); Sse.Prefetch0(next + 512); Sse.Prefetch0(next + 576);
            Sse.Prefetch0(next + 640); Sse.Prefetch0(next + 704); Sse.Prefetch0(next + 768); Sse.Prefetch0(next + 832);
            sbyte* qa = (sbyte*)(a + BlockLayout.Q8_KQs);
            Vector256<short> bsums = Vector256.Load((short*)(a + BlockLayout.Q8_KBsums));
            Vector256<sbyte> y0 = Vector256.Load(qa), y1 = Vector256.Load(qa + 32), y2 = Vector256.Load(qa + 64), y3 = Vector256.Load(qa + 96);
            Vector256<sbyte> y4 = Vector256.Load(qa + 128), y5 = Vector256.Load(qa + 160), y6 = Vector256.Load(qa + 192), y7 = Vector256.Load(qa + 224);
            Vector256<int> s0 = Q6KRowBlock<TDot>(w0 + o, bsums, y0, y1, y2, y3, y4, y5, y6, y7);
            Vector256<int> s1 = Q6KRowBlock<TDot>(w1 + o, bsums, y0, y1, y2, y3, y4, y5, y6, y7);
            Vector256<int> s2 = Q6KRowBlock<TDot>(w2 + o, bsums, y0, y1, y2, y3, y4, y5, y6, y7);
            Vector256<int> s3 = Q6KRowBlock<TDot>(w3 + o, bsums, y0, y1, y2, y3, y4, y5, y6, y7);
            // Per 128-bit half [Σ s0, Σ s1, Σ s2, Σ s3] partials, then the halves added (integer: order free).
            Vector256<int> h = Avx2.HorizontalAdd(Avx2.HorizontalAdd(s0, s1), Avx2.HorizontalAdd(s2, s3));
            Vector128<int> isum = h.GetLower() + h.GetUpper();
            Vector128<float> d = Vector128.Create(
                HalfConvert.HalfToFloatLookup(*(ushort*)(w0 + o + BlockLayout.Q6_KD)), HalfConvert.HalfToFloatLookup(*(ushort*)(w1 + o + BlockLayout.Q6_KD)),
                HalfConvert.HalfToFloatLookup(*(ushort*)(w2 + o + BlockLayout.Q6_KD)), HalfConvert.HalfToFloatLookup(*(ushort*)(w3 + o + BlockLayout.Q6_KD)));
            // KQuantAccumulate.Q6_K lane by lane: sum + (d·dx)·isum.
            sum += d * Vector128.Create(*(float*)a) * Vector128.ConvertToSingle(isum);
        }
        sum.Store(result);
    }

    // One row's super-block, the integer part of Q6_K<TDot>: the −32 level bias folded out through the activation
    // block sums, then the scaled 6-bit levels · activations over both halves.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q6KRowBlock<TDot>(byte* w, Vector256<short> bsums, Vector256<sbyte> y0, Vector256<sbyte> y1, Vector256<sbyte> y2,
        Vector256<sbyte> y3, Vector256<sbyte> y4, Vector256<sbyte> y5, Vector256<sbyte> y6, Vector256<sbyte> y7) where TDot : struct, IInt8DotProduct
    {
        Vector256<short> scales = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(w + BlockLayout.Q6_KScales)));
        Vector256<int> sumi = Vector256<int>.Zero - (Avx2.MultiplyAddAdjacent(scales, bsums) << 5);
        sumi = Q6KHalf<TDot>(sumi, w, w + BlockLayout.Q6_KQh, scales, 0, y0, y1, y2, y3);
        return Q6KHalf<TDot>(sumi, w + 64, w + BlockLayout.Q6_KQh + 32, scales, 4, y4, y5, y6, y7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q6KHalf<TDot>(Vector256<int> sumi, byte* ql, byte* qh, Vector256<short> scales, int k,
        Vector256<sbyte> y0, Vector256<sbyte> y1, Vector256<sbyte> y2, Vector256<sbyte> y3) where TDot : struct, IInt8DotProduct
    {
        Vector256<byte> m4 = Vector256.Create((byte)0x0F), m2 = Vector256.Create((byte)0x03);
        Vector256<byte> l0 = Vector256.Load(ql), l1 = Vector256.Load(ql + 32), h = Vector256.Load(qh);
        Vector256<ushort> h16 = h.AsUInt16();
        Vector256<byte> q1 = (l0 & m4) | ((h & m2).AsUInt16() << 4).AsByte();
        Vector256<byte> q2 = (l1 & m4) | (((h16 >> 2).AsByte() & m2).AsUInt16() << 4).AsByte();
        Vector256<byte> q3 = ((l0.AsUInt16() >> 4).AsByte() & m4) | (((h16 >> 4).AsByte() & m2).AsUInt16() << 4).AsByte();
        Vector256<byte> q4 = ((l1.AsUInt16() >> 4).AsByte() & m4) | (((h16 >> 6).AsByte() & m2).AsUInt16() << 4).AsByte();
        sumi = TDot.DotScaled(sumi, q1, y0, PairOfScales(scales, k));
        sumi = TDot.DotScaled(sumi, q2, y1, PairOfScales(scales, k + 1));
        sumi = TDot.DotScaled(sumi, q3, y2, PairOfScales(scales, k + 2));
        return TDot.DotScaled(sumi, q4, y3, PairOfScales(scales, k + 3));
    }
}
