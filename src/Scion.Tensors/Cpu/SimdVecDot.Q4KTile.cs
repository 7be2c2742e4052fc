using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors.Quant;

namespace Scion.Tensors.Cpu;

/// <summary>
/// Q4_K prefill at Avx512: one weight row against eight Q8_K activation rows. The integer part of a super-block is
/// that of <see cref="Q4_K512"/> (512-bit maddubs/madd per 32-byte chunk against the two sub-block scales), with the
/// nibbles and scale pairs unpacked once for eight tokens. The eight tokens' integer totals are then reduced together
/// (horizontal-add tree) into one vector, and the float step of <see cref="KQuantAccumulate.Q4_K"/> runs on eight
/// tokens at once: the same operations in the same order per lane, no FMA, so each token gets the bits of its
/// single-row dot.
/// </summary>
internal static unsafe partial class SimdVecDot
{
    /// <summary>Activation row t at <c>a + t·stride</c>; result[t] for t in 0..7.</summary>
    public static void Q4_K512x8(byte* w, byte* a, long stride, int n, float* result)
    {
        Vector256<float> sum = Vector256<float>.Zero;
        Vector512<byte> low = Vector512.Create((byte)0x0F);
        Vector512<short> i0 = ScalePairIndex(0), i1 = ScalePairIndex(1), i2 = ScalePairIndex(2), i3 = ScalePairIndex(3);
        for (int b = 0; b < n / 256; b++, w += BlockLayout.Q4_KBytes)
        {
            UnpackScalesK4(w + BlockLayout.Q4_KScales, out ulong scales, out ulong mins);
            Vector512<short> words = Avx512BW.ConvertToVector512Int16(Vector128.CreateScalar(scales).AsByte().ToVector256Unsafe());
            Vector512<short> p0 = Avx512BW.PermuteVar32x16(words, i0), p1 = Avx512BW.PermuteVar32x16(words, i1);
            Vector512<short> p2 = Avx512BW.PermuteVar32x16(words, i2), p3 = Avx512BW.PermuteVar32x16(words, i3);
            Vector256<int> mins32 = Avx2.ConvertToVector256Int32(Vector128.CreateScalar(mins).AsByte());
            byte* q = w + BlockLayout.Q4_KQs;
            Vector512<byte> n0 = Nibbles(q, low), n1 = Nibbles(q + 32, low), n2 = Nibbles(q + 64, low), n3 = Nibbles(q + 96, low);
            byte* blk = a + (long)b * BlockLayout.Q8_KBytes;
            Fold(blk + 0 * stride, n0, n1, n2, n3, p0, p1, p2, p3, mins32, out Vector256<int> s0, out Vector256<int> m0);
            Fold(blk + 1 * stride, n0, n1, n2, n3, p0, p1, p2, p3, mins32, out Vector256<int> s1, out Vector256<int> m1);
            Fold(blk + 2 * stride, n0, n1, n2, n3, p0, p1, p2, p3, mins32, out Vector256<int> s2, out Vector256<int> m2);
            Fold(blk + 3 * stride, n0, n1, n2, n3, p0, p1, p2, p3, mins32, out Vector256<int> s3, out Vector256<int> m3);
            Fold(blk + 4 * stride, n0, n1, n2, n3, p0, p1, p2, p3, mins32, out Vector256<int> s4, out Vector256<int> m4);
            Fold(blk + 5 * stride, n0, n1, n2, n3, p0, p1, p2, p3, mins32, out Vector256<int> s5, out Vector256<int> m5);
            Fold(blk + 6 * stride, n0, n1, n2, n3, p0, p1, p2, p3, mins32, out Vector256<int> s6, out Vector256<int> m6);
            Fold(blk + 7 * stride, n0, n1, n2, n3, p0, p1, p2, p3, mins32, out Vector256<int> s7, out Vector256<int> m7);
            Vector256<int> sumi = HorizontalSums(s0, s1, s2, s3, s4, s5, s6, s7);
            Vector256<int> summ = HorizontalSums(m0, m1, m2, m3, m4, m5, m6, m7);
            Vector256<float> dx = Vector256.Create(*(float*)blk, *(float*)(blk + stride), *(float*)(blk + 2 * stride), *(float*)(blk + 3 * stride),
                *(float*)(blk + 4 * stride), *(float*)(blk + 5 * stride), *(float*)(blk + 6 * stride), *(float*)(blk + 7 * stride));
            Vector256<float> d = Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)w));
            Vector256<float> dmin = Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)(w + 2)));
            // KQuantAccumulate.Q4_K lane by lane: sum − (dx·dmin)·summ, then + (dx·d)·sumi.
            sum -= dx * dmin * Vector256.ConvertToSingle(summ);
            sum += dx * d * Vector256.ConvertToSingle(sumi);
        }
        sum.Store(result);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Nibbles(byte* q, Vector512<byte> low)
    {
        Vector256<byte> raw = Vector256.Load(q);
        return Vector512.Create(raw, (raw.AsUInt16() >> 4).AsByte()) & low;
    }

    // One token's super-block: the scaled nibble dots folded to 8 lanes, and the 8 min terms (exact integers).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fold(byte* blk, Vector512<byte> n0, Vector512<byte> n1, Vector512<byte> n2, Vector512<byte> n3,
        Vector512<short> p0, Vector512<short> p1, Vector512<short> p2, Vector512<short> p3, Vector256<int> mins32,
        out Vector256<int> s, out Vector256<int> m)
    {
        sbyte* qa = (sbyte*)(blk + BlockLayout.Q8_KQs);
        Vector512<int> acc = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(n0, Vector512.Load(qa)), p0);
        acc += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(n1, Vector512.Load(qa + 64)), p1);
        acc += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(n2, Vector512.Load(qa + 128)), p2);
        acc += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(n3, Vector512.Load(qa + 192)), p3);
        s = acc.GetLower() + acc.GetUpper();
        Vector256<int> pairSums = Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(blk + BlockLayout.Q8_KBsums)), Vector256.Create((short)1));
        m = Avx2.MultiplyLow(mins32, pairSums);
    }

    // Lane t = the sum of all lanes of v_t (integer, so the order is free).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> HorizontalSums(Vector256<int> v0, Vector256<int> v1, Vector256<int> v2, Vector256<int> v3,
        Vector256<int> v4, Vector256<int> v5, Vector256<int> v6, Vector256<int> v7)
    {
        // Per 128-bit half: [v0, v1, v2, v3] partial sums, then the halves added.
        Vector256<int> q0 = Avx2.HorizontalAdd(Avx2.HorizontalAdd(v0, v1), Avx2.HorizontalAdd(v2, v3));
        Vector256<int> q1 = Avx2.HorizontalAdd(Avx2.HorizontalAdd(v4, v5), Avx2.HorizontalAdd(v6, v7));
        return Avx2.Permute2x128(q0, q1, 0x20) + Avx2.Permute2x128(q0, q1, 0x31);
    }

    /// <summary>Q6_K prefill: one weight row against eight Q8_K activation rows (<c>a + t·stride</c>). The 6-bit levels
    /// are unpacked once per half super-block for eight tokens; the integer totals (exact) are reduced together and
    /// <see cref="KQuantAccumulate.Q6_K"/>'s float step runs on eight tokens per vector, the same operations in the same
    /// order per lane, so each token keeps the bits of its single-row dot. result[t] for t in 0..7.</summary>
    public static void Q6_Kx8<TDot>(byte* w, byte* a, long stride, int n, float* result) where TDot : struct, IInt8DotProduct
    {
        Vector256<float> sum = Vector256<float>.Zero;
        Vector256<byte> m4 = Vector256.Create((byte)0x0F);
        Vector256<byte> m2 = Vector256.Create((byte)0x03);
        for (int b = 0; b < n / 256; b++, w += BlockLayout.Q6_KBytes)
        {
            Vector256<short> scales = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(w + BlockLayout.Q6_KScales)));
            byte* blk = a + (long)b * BlockLayout.Q8_KBytes;
            Vector256<int> s0 = Q6Bias(scales, blk + 0 * stride);
            Vector256<int> s1 = Q6Bias(scales, blk + 1 * stride);
            Vector256<int> s2 = Q6Bias(scales, blk + 2 * stride);
            Vector256<int> s3 = Q6Bias(scales, blk + 3 * stride);
            Vector256<int> s4 = Q6Bias(scales, blk + 4 * stride);
            Vector256<int> s5 = Q6Bias(scales, blk + 5 * stride);
            Vector256<int> s6 = Q6Bias(scales, blk + 6 * stride);
            Vector256<int> s7 = Q6Bias(scales, blk + 7 * stride);
            for (int half = 0; half < 2; half++)
            {
                byte* ql = w + 64 * half;
                byte* qh = w + BlockLayout.Q6_KQh + 32 * half;
                Vector256<byte> l0 = Vector256.Load(ql), l1 = Vector256.Load(ql + 32), h = Vector256.Load(qh);
                Vector256<ushort> h16 = h.AsUInt16();
                Vector256<byte> q1 = (l0 & m4) | ((h & m2).AsUInt16() << 4).AsByte();
                Vector256<byte> q2 = (l1 & m4) | (((h16 >> 2).AsByte() & m2).AsUInt16() << 4).AsByte();
                Vector256<byte> q3 = ((l0.AsUInt16() >> 4).AsByte() & m4) | (((h16 >> 4).AsByte() & m2).AsUInt16() << 4).AsByte();
                Vector256<byte> q4 = ((l1.AsUInt16() >> 4).AsByte() & m4) | (((h16 >> 6).AsByte() & m2).AsUInt16() << 4).AsByte();
                Vector256<short> p1 = PairOfScales(scales, 4 * half), p2 = PairOfScales(scales, 4 * half + 1);
                Vector256<short> p3 = PairOfScales(scales, 4 * half + 2), p4 = PairOfScales(scales, 4 * half + 3);
                int off = BlockLayout.Q8_KQs + 128 * half;
                    s0 = Q6Step<TDot>(s0, q1, q2, q3, q4, p1, p2, p3, p4, (sbyte*)(blk + 0 * stride + off));
                    s1 = Q6Step<TDot>(s1, q1, q2, q3, q4, p1, p2, p3, p4, (sbyte*)(blk + 1 * stride + off));
                    s2 = Q6Step<TDot>(s2, q1, q2, q3, q4, p1, p2, p3, p4, (sbyte*)(blk + 2 * stride + off));
                    s3 = Q6Step<TDot>(s3, q1, q2, q3, q4, p1, p2, p3, p4, (sbyte*)(blk + 3 * stride + off));
                    s4 = Q6Step<TDot>(s4, q1, q2, q3, q4, p1, p2, p3, p4, (sbyte*)(blk + 4 * stride + off));
                    s5 = Q6Step<TDot>(s5, q1, q2, q3, q4, p1, p2, p3, p4, (sbyte*)(blk + 5 * stride + off));
                    s6 = Q6Step<TDot>(s6, q1, q2, q3, q4, p1, p2, p3, p4, (sbyte*)(blk + 6 * stride + off));
                    s7 = Q6Step<TDot>(s7, q1, q2, q3, q4, p1, p2, p3, p4, (sbyte*)(blk + 7 * stride + off));
            }
            Vector256<int> isum = HorizontalSums(s0, s1, s2, s3, s4, s5, s6, s7);
            Vector256<float> dx = Vector256.Create(*(float*)blk, *(float*)(blk + stride), *(float*)(blk + 2 * stride), *(float*)(blk + 3 * stride),
                *(float*)(blk + 4 * stride), *(float*)(blk + 5 * stride), *(float*)(blk + 6 * stride), *(float*)(blk + 7 * stride));
            Vector256<float> d = Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)(w + BlockLayout.Q6_KD)));
            // KQuantAccumulate.Q6_K lane by lane: sum + (d·dx)·isum.
            sum += d * dx * Vector256.ConvertToSingle(isum);
        }
        sum.Store(result);
    }
}
