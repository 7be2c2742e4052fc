using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors.Quant;

namespace Scion.Tensors.Cpu;

/// <summary>
/// One weight row against four activation rows at once (prefill). The weight block is loaded and unpacked once
/// and feeds four accumulators, so unpacking and weight loads cost a quarter of four separate dots.
/// Activation row t starts at <c>a + t*stride</c>; results go to <c>result[0..3]</c>.
/// </summary>
internal static unsafe partial class SimdVecDot
{
    public static void F32x4(float* w, float* x, long strideFloats, int n, KernelLevel level, float* result)
    {
        float* x0 = x, x1 = x + strideFloats, x2 = x + 2 * strideFloats, x3 = x + 3 * strideFloats;
        int i = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (level == KernelLevel.Avx512)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 16 <= n; i += 16)
            {
                Vector512<float> wv = Vector512.Load(w + i);
                a0 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(x0 + i), a0);
                a1 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(x1 + i), a1);
                a2 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(x2 + i), a2);
                a3 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(x3 + i), a3);
            }
            s0 = Vector512.Sum(a0); s1 = Vector512.Sum(a1); s2 = Vector512.Sum(a2); s3 = Vector512.Sum(a3);
        }
        else
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> wv = Vector256.Load(w + i);
                a0 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x0 + i), a0);
                a1 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x1 + i), a1);
                a2 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x2 + i), a2);
                a3 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x3 + i), a3);
            }
            s0 = Vector256.Sum(a0); s1 = Vector256.Sum(a1); s2 = Vector256.Sum(a2); s3 = Vector256.Sum(a3);
        }
        for (; i < n; i++)
        {
            s0 += w[i] * x0[i]; s1 += w[i] * x1[i]; s2 += w[i] * x2[i]; s3 += w[i] * x3[i];
        }
        result[0] = s0; result[1] = s1; result[2] = s2; result[3] = s3;
    }

    /// <summary>Two fp32 weight rows against four activation rows: 6 loads feed 8 FMAs, so prefill with float
    /// weights is bounded by FMA throughput rather than by L1 loads. result[4·row + token].</summary>
    public static void F32x2x4(float* w0, float* w1, float* x, long strideFloats, int n, KernelLevel level, float* result)
    {
        float* x0 = x, x1 = x + strideFloats, x2 = x + 2 * strideFloats, x3 = x + 3 * strideFloats;
        int i = 0;
        if (level == KernelLevel.Avx512)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
            for (; i + 16 <= n; i += 16)
            {
                Vector512<float> u = Vector512.Load(w0 + i), v = Vector512.Load(w1 + i);
                Vector512<float> y = Vector512.Load(x0 + i);
                a0 = Vector512.FusedMultiplyAdd(u, y, a0); b0 = Vector512.FusedMultiplyAdd(v, y, b0);
                y = Vector512.Load(x1 + i);
                a1 = Vector512.FusedMultiplyAdd(u, y, a1); b1 = Vector512.FusedMultiplyAdd(v, y, b1);
                y = Vector512.Load(x2 + i);
                a2 = Vector512.FusedMultiplyAdd(u, y, a2); b2 = Vector512.FusedMultiplyAdd(v, y, b2);
                y = Vector512.Load(x3 + i);
                a3 = Vector512.FusedMultiplyAdd(u, y, a3); b3 = Vector512.FusedMultiplyAdd(v, y, b3);
            }
            result[0] = Vector512.Sum(a0); result[1] = Vector512.Sum(a1); result[2] = Vector512.Sum(a2); result[3] = Vector512.Sum(a3);
            result[4] = Vector512.Sum(b0); result[5] = Vector512.Sum(b1); result[6] = Vector512.Sum(b2); result[7] = Vector512.Sum(b3);
        }
        else
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> u = Vector256.Load(w0 + i), v = Vector256.Load(w1 + i);
                Vector256<float> y = Vector256.Load(x0 + i);
                a0 = Vector256.FusedMultiplyAdd(u, y, a0); b0 = Vector256.FusedMultiplyAdd(v, y, b0);
                y = Vector256.Load(x1 + i);
                a1 = Vector256.FusedMultiplyAdd(u, y, a1); b1 = Vector256.FusedMultiplyAdd(v, y, b1);
                y = Vector256.Load(x2 + i);
                a2 = Vector256.FusedMultiplyAdd(u, y, a2); b2 = Vector256.FusedMultiplyAdd(v, y, b2);
                y = Vector256.Load(x3 + i);
                a3 = Vector256.FusedMultiplyAdd(u, y, a3); b3 = Vector256.FusedMultiplyAdd(v, y, b3);
            }
            result[0] = Vector256.Sum(a0); result[1] = Vector256.Sum(a1); result[2] = Vector256.Sum(a2); result[3] = Vector256.Sum(a3);
            result[4] = Vector256.Sum(b0); result[5] = Vector256.Sum(b1); result[6] = Vector256.Sum(b2); result[7] = Vector256.Sum(b3);
        }
        for (; i < n; i++)
        {
            result[0] += w0[i] * x0[i]; result[1] += w0[i] * x1[i]; result[2] += w0[i] * x2[i]; result[3] += w0[i] * x3[i];
            result[4] += w1[i] * x0[i]; result[5] += w1[i] * x1[i]; result[6] += w1[i] * x2[i]; result[7] += w1[i] * x3[i];
        }
    }

    /// <summary>Four fp32 weight rows (<paramref name="rowStrideFloats"/> apart) against four activation rows: 8 loads
    /// feed 16 FMAs, so a tile streaming from L2 (about one line per cycle) keeps both FMA pipes busy, where the 2x4
    /// kernel (6 loads per 8 FMAs) waits on loads. Avx512 only: 16 accumulators + 5 operands need the 32 zmm
    /// registers. Each output sums exactly as every float dot does (one accumulator, lanes, then tail).
    /// result[4·row + token].</summary>
    public static void F32x4x4(float* w, long rowStrideFloats, float* x, long strideFloats, int n, float* result)
    {
        float* w0 = w, w1 = w + rowStrideFloats, w2 = w + 2 * rowStrideFloats, w3 = w + 3 * rowStrideFloats;
        float* x0 = x, x1 = x + strideFloats, x2 = x + 2 * strideFloats, x3 = x + 3 * strideFloats;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            Vector512<float> u0 = Vector512.Load(w0 + i), u1 = Vector512.Load(w1 + i), u2 = Vector512.Load(w2 + i), u3 = Vector512.Load(w3 + i);
            Vector512<float> y = Vector512.Load(x0 + i);
            a00 = Vector512.FusedMultiplyAdd(u0, y, a00); a10 = Vector512.FusedMultiplyAdd(u1, y, a10);
            a20 = Vector512.FusedMultiplyAdd(u2, y, a20); a30 = Vector512.FusedMultiplyAdd(u3, y, a30);
            y = Vector512.Load(x1 + i);
            a01 = Vector512.FusedMultiplyAdd(u0, y, a01); a11 = Vector512.FusedMultiplyAdd(u1, y, a11);
            a21 = Vector512.FusedMultiplyAdd(u2, y, a21); a31 = Vector512.FusedMultiplyAdd(u3, y, a31);
            y = Vector512.Load(x2 + i);
            a02 = Vector512.FusedMultiplyAdd(u0, y, a02); a12 = Vector512.FusedMultiplyAdd(u1, y, a12);
            a22 = Vector512.FusedMultiplyAdd(u2, y, a22); a32 = Vector512.FusedMultiplyAdd(u3, y, a32);
            y = Vector512.Load(x3 + i);
            a03 = Vector512.FusedMultiplyAdd(u0, y, a03); a13 = Vector512.FusedMultiplyAdd(u1, y, a13);
            a23 = Vector512.FusedMultiplyAdd(u2, y, a23); a33 = Vector512.FusedMultiplyAdd(u3, y, a33);
        }
        result[0] = Vector512.Sum(a00); result[1] = Vector512.Sum(a01); result[2] = Vector512.Sum(a02); result[3] = Vector512.Sum(a03);
        result[4] = Vector512.Sum(a10); result[5] = Vector512.Sum(a11); result[6] = Vector512.Sum(a12); result[7] = Vector512.Sum(a13);
        result[8] = Vector512.Sum(a20); result[9] = Vector512.Sum(a21); result[10] = Vector512.Sum(a22); result[11] = Vector512.Sum(a23);
        result[12] = Vector512.Sum(a30); result[13] = Vector512.Sum(a31); result[14] = Vector512.Sum(a32); result[15] = Vector512.Sum(a33);
        for (; i < n; i++)
        {
            for (int r = 0; r < 4; r++)
            {
                float wv = w[r * rowStrideFloats + i];
                result[4 * r] += wv * x0[i]; result[4 * r + 1] += wv * x1[i]; result[4 * r + 2] += wv * x2[i]; result[4 * r + 3] += wv * x3[i];
            }
        }
    }

    /// <summary>
    /// Two Q8_0 or Q4_0 weight rows against four Q8_0 activation rows (prefill). The weights enter the u8×s8
    /// instruction unsigned — Q4_0 nibbles as they are, Q8_0 bytes offset by 128 (VNNI only: vpmaddubsw would
    /// saturate) — and the offset times the activation lane sums, computed once per token and block, is subtracted:
    /// the integer lanes equal the signed-weight lanes exactly. Block scales are broadcast once per row and per token
    /// and multiplied as vectors (same product as the scalar one). So each (row, token) costs five instructions per
    /// block and the results keep the bits of the single-row dots.
    /// </summary>
    public static void QuantBlock32x2x4<TDot>(GgmlType type, byte* w0, byte* w1, byte* a, long stride, int n, float* result)
        where TDot : struct, IInt8DotProduct
    {
        bool q4 = type == GgmlType.Q4_0;
        int wBytes = q4 ? BlockLayout.Q4_0Bytes : BlockLayout.Q8_0Bytes;
        Vector256<byte> offset = Vector256.Create(q4 ? (byte)8 : (byte)128);
        Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        for (int b = 0; b < n / 32; b++, w0 += wBytes, w1 += wBytes)
        {
            byte* blk = a + b * BlockLayout.Q8_0Bytes;
            Vector256<sbyte> y0 = Vector256.Load((sbyte*)(blk + 2)), y1 = Vector256.Load((sbyte*)(blk + stride + 2));
            Vector256<sbyte> y2 = Vector256.Load((sbyte*)(blk + 2 * stride + 2)), y3 = Vector256.Load((sbyte*)(blk + 3 * stride + 2));
            Vector256<int> k0 = TDot.Dot4(Vector256<int>.Zero, offset, y0), k1 = TDot.Dot4(Vector256<int>.Zero, offset, y1);
            Vector256<int> k2 = TDot.Dot4(Vector256<int>.Zero, offset, y2), k3 = TDot.Dot4(Vector256<int>.Zero, offset, y3);
            Vector256<float> d0 = Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)blk));
            Vector256<float> d1 = Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)(blk + stride)));
            Vector256<float> d2 = Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)(blk + 2 * stride)));
            Vector256<float> d3 = Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)(blk + 3 * stride)));
            Vector256<byte> u0 = UnsignedWeights(w0, q4), u1 = UnsignedWeights(w1, q4);
            Vector256<float> e0 = Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)w0));
            Vector256<float> e1 = Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)w1));
            c00 = Step<TDot>(c00, u0, y0, k0, e0 * d0); c01 = Step<TDot>(c01, u0, y1, k1, e0 * d1);
            c02 = Step<TDot>(c02, u0, y2, k2, e0 * d2); c03 = Step<TDot>(c03, u0, y3, k3, e0 * d3);
            c10 = Step<TDot>(c10, u1, y0, k0, e1 * d0); c11 = Step<TDot>(c11, u1, y1, k1, e1 * d1);
            c12 = Step<TDot>(c12, u1, y2, k2, e1 * d2); c13 = Step<TDot>(c13, u1, y3, k3, e1 * d3);
        }
        result[0] = Vector256.Sum(c00); result[1] = Vector256.Sum(c01); result[2] = Vector256.Sum(c02); result[3] = Vector256.Sum(c03);
        result[4] = Vector256.Sum(c10); result[5] = Vector256.Sum(c11); result[6] = Vector256.Sum(c12); result[7] = Vector256.Sum(c13);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector256<float> Step<T>(Vector256<float> acc, Vector256<byte> u, Vector256<sbyte> y, Vector256<int> offsetTimesSums, Vector256<float> scale)
            where T : struct, IInt8DotProduct =>
            Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(T.Dot4(Vector256<int>.Zero, u, y) - offsetTimesSums), scale, acc);
    }

    // Q4_0: the 32 nibbles in value order (0..15); Q8_0: the bytes + 128 (0..255).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> UnsignedWeights(byte* block, bool q4)
    {
        if (q4)
        {
            Vector128<byte> raw = Vector128.Load(block + 2);
            return Vector256.Create(raw, (raw.AsUInt16() >> 4).AsByte()) & Vector256.Create((byte)0x0F);
        }
        return Vector256.Load(block + 2) ^ Vector256.Create((byte)0x80);
    }

    public static void Q8_0x4<TDot>(byte* w, byte* a, long stride, int n, float* result) where TDot : struct, IInt8DotProduct
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int b = 0; b < n / 32; b++, w += BlockLayout.Q8_0Bytes)
        {
            Vector256<sbyte> qw = Vector256.Load((sbyte*)(w + 2));
            Vector256<byte> u = Avx2.Abs(qw);
            float dw = HalfConvert.HalfToFloatLookup(*(ushort*)w);
            byte* blk = a + b * BlockLayout.Q8_0Bytes;
            c0 = Q8Step<TDot>(c0, u, qw, blk, dw);
            c1 = Q8Step<TDot>(c1, u, qw, blk + stride, dw);
            c2 = Q8Step<TDot>(c2, u, qw, blk + 2 * stride, dw);
            c3 = Q8Step<TDot>(c3, u, qw, blk + 3 * stride, dw);
        }
        result[0] = Vector256.Sum(c0); result[1] = Vector256.Sum(c1); result[2] = Vector256.Sum(c2); result[3] = Vector256.Sum(c3);
    }

    public static void Q4_0x4<TDot>(byte* w, byte* a, long stride, int n, float* result) where TDot : struct, IInt8DotProduct
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector128<byte> low = Vector128.Create((byte)0x0F);
        for (int b = 0; b < n / 32; b++, w += BlockLayout.Q4_0Bytes)
        {
            Vector128<byte> raw = Vector128.Load(w + 2);
            Vector256<sbyte> qw = (Vector256.Create(raw & low, (raw.AsUInt16() >> 4).AsByte() & low) - Vector256.Create((byte)8)).AsSByte();
            Vector256<byte> u = Avx2.Abs(qw);
            float dw = HalfConvert.HalfToFloatLookup(*(ushort*)w);
            byte* blk = a + b * BlockLayout.Q8_0Bytes;
            c0 = Q8Step<TDot>(c0, u, qw, blk, dw);
            c1 = Q8Step<TDot>(c1, u, qw, blk + stride, dw);
            c2 = Q8Step<TDot>(c2, u, qw, blk + 2 * stride, dw);
            c3 = Q8Step<TDot>(c3, u, qw, blk + 3 * stride, dw);
        }
        result[0] = Vector256.Sum(c0); result[1] = Vector256.Sum(c1); result[2] = Vector256.Sum(c2); result[3] = Vector256.Sum(c3);
    }

    // One Q8_0 activation block against a weight block given as |w| and its signs.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q8Step<TDot>(Vector256<float> acc, Vector256<byte> absW, Vector256<sbyte> w, byte* blk, float dw)
        where TDot : struct, IInt8DotProduct
    {
        Vector256<int> dot = TDot.Dot4(Vector256<int>.Zero, absW, Avx2.Sign(Vector256.Load((sbyte*)(blk + 2)), w));
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot), Vector256.Create(dw * HalfConvert.HalfToFloatLookup(*(ushort*)blk)), acc);
    }

    public static void Q4_Kx4<TDot>(byte* w, byte* a, long stride, int n, float* result) where TDot : struct, IInt8DotProduct
    {
        float c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        Vector256<byte> low = Vector256.Create((byte)0x0F);
        for (int b = 0; b < n / 256; b++, w += BlockLayout.Q4_KBytes)
        {
            UnpackScalesK4(w + BlockLayout.Q4_KScales, out ulong scales, out ulong mins);
            Vector256<int> mins32 = Avx2.ConvertToVector256Int32(Vector128.CreateScalar(mins).AsByte());
            Vector256<short> scales16 = Avx2.ConvertToVector256Int16(Vector128.CreateScalar(scales).AsByte());
            byte* q = w + BlockLayout.Q4_KQs;
            byte* a0 = a + b * BlockLayout.Q8_KBytes, a1 = a0 + stride, a2 = a0 + 2 * stride, a3 = a0 + 3 * stride;
            sbyte* y0 = (sbyte*)(a0 + BlockLayout.Q8_KQs), y1 = (sbyte*)(a1 + BlockLayout.Q8_KQs);
            sbyte* y2 = (sbyte*)(a2 + BlockLayout.Q8_KQs), y3 = (sbyte*)(a3 + BlockLayout.Q8_KQs);
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
            for (int c = 0; c < 4; c++)
            {
                Vector256<byte> raw = Vector256.Load(q + 32 * c);
                Vector256<byte> lo = raw & low;
                Vector256<byte> hi = (raw.AsUInt16() >> 4).AsByte() & low;
                Vector256<short> scLo = Broadcast(scales16, 2 * c), scHi = Broadcast(scales16, 2 * c + 1);
                int off = 64 * c;
                s0 = TDot.DotScaled(TDot.DotScaled(s0, lo, Vector256.Load(y0 + off), scLo), hi, Vector256.Load(y0 + off + 32), scHi);
                s1 = TDot.DotScaled(TDot.DotScaled(s1, lo, Vector256.Load(y1 + off), scLo), hi, Vector256.Load(y1 + off + 32), scHi);
                s2 = TDot.DotScaled(TDot.DotScaled(s2, lo, Vector256.Load(y2 + off), scLo), hi, Vector256.Load(y2 + off + 32), scHi);
                s3 = TDot.DotScaled(TDot.DotScaled(s3, lo, Vector256.Load(y3 + off), scLo), hi, Vector256.Load(y3 + off + 32), scHi);
            }
            float d = HalfConvert.HalfToFloatLookup(*(ushort*)w), dmin = HalfConvert.HalfToFloatLookup(*(ushort*)(w + 2));
            c0 = Q4KFinish(c0, s0, mins32, a0, d, dmin);
            c1 = Q4KFinish(c1, s1, mins32, a1, d, dmin);
            c2 = Q4KFinish(c2, s2, mins32, a2, d, dmin);
            c3 = Q4KFinish(c3, s3, mins32, a3, d, dmin);
        }
        result[0] = c0; result[1] = c1; result[2] = c2; result[3] = c3;
    }

    // Same float steps as the single-row dot (KQuantAccumulate), so a token's result does not depend on its tile.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Q4KFinish(float sum, Vector256<int> sumi, Vector256<int> mins32, byte* blk, float d, float dmin)
    {
        Vector256<int> pairSums = Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(blk + BlockLayout.Q8_KBsums)), Vector256.Create((short)1));
        return KQuantAccumulate.Q4_K(sum, *(float*)blk, d, dmin, Vector256.Sum(sumi), Vector256.Sum(Avx2.MultiplyLow(mins32, pairSums)));
    }

    public static void Q6_Kx4<TDot>(byte* w, byte* a, long stride, int n, float* result) where TDot : struct, IInt8DotProduct
    {
        float c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        Vector256<byte> m4 = Vector256.Create((byte)0x0F);
        Vector256<byte> m2 = Vector256.Create((byte)0x03);
        for (int b = 0; b < n / 256; b++, w += BlockLayout.Q6_KBytes)
        {
            Vector256<short> scales = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(w + BlockLayout.Q6_KScales)));
            byte* a0 = a + b * BlockLayout.Q8_KBytes, a1 = a0 + stride, a2 = a0 + 2 * stride, a3 = a0 + 3 * stride;
            Vector256<int> s0 = Q6Bias(scales, a0), s1 = Q6Bias(scales, a1), s2 = Q6Bias(scales, a2), s3 = Q6Bias(scales, a3);
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
                s0 = Q6Step<TDot>(s0, q1, q2, q3, q4, p1, p2, p3, p4, (sbyte*)(a0 + off));
                s1 = Q6Step<TDot>(s1, q1, q2, q3, q4, p1, p2, p3, p4, (sbyte*)(a1 + off));
                s2 = Q6Step<TDot>(s2, q1, q2, q3, q4, p1, p2, p3, p4, (sbyte*)(a2 + off));
                s3 = Q6Step<TDot>(s3, q1, q2, q3, q4, p1, p2, p3, p4, (sbyte*)(a3 + off));
            }
            float d = HalfConvert.HalfToFloatLookup(*(ushort*)(w + BlockLayout.Q6_KD));
            c0 = KQuantAccumulate.Q6_K(c0, *(float*)a0, d, Vector256.Sum(s0));
            c1 = KQuantAccumulate.Q6_K(c1, *(float*)a1, d, Vector256.Sum(s1));
            c2 = KQuantAccumulate.Q6_K(c2, *(float*)a2, d, Vector256.Sum(s2));
            c3 = KQuantAccumulate.Q6_K(c3, *(float*)a3, d, Vector256.Sum(s3));
        }
        result[0] = c0; result[1] = c1; result[2] = c2; result[3] = c3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q6Bias(Vector256<short> scales, byte* blk) =>
        Vector256<int>.Zero - (Avx2.MultiplyAddAdjacent(scales, Vector256.Load((short*)(blk + BlockLayout.Q8_KBsums))) << 5);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q6Step<TDot>(Vector256<int> s, Vector256<byte> q1, Vector256<byte> q2, Vector256<byte> q3, Vector256<byte> q4,
        Vector256<short> p1, Vector256<short> p2, Vector256<short> p3, Vector256<short> p4, sbyte* y) where TDot : struct, IInt8DotProduct
    {
        s = TDot.DotScaled(s, q1, Vector256.Load(y), p1);
        s = TDot.DotScaled(s, q2, Vector256.Load(y + 32), p2);
        s = TDot.DotScaled(s, q3, Vector256.Load(y + 64), p3);
        return TDot.DotScaled(s, q4, Vector256.Load(y + 96), p4);
    }
}
