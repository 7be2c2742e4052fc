using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors.Quant;

namespace Scion.Tensors.Cpu;

/// <summary>Integer dot products of quantized weight rows with Q8_0 / Q8_K activation rows (256-bit, VNNI or maddubs).</summary>
internal static unsafe partial class SimdVecDot
{
    public static float Q8_0<TDot>(byte* w, byte* a, int n) where TDot : struct, IInt8DotProduct
    {
        Vector256<float> acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 32; b++, w += BlockLayout.Q8_0Bytes, a += BlockLayout.Q8_0Bytes)
        {
            Vector256<sbyte> qw = Vector256.Load((sbyte*)(w + 2));
            Vector256<sbyte> qa = Vector256.Load((sbyte*)(a + 2));
            Vector256<int> dot = SignedDot<TDot>(qw, qa);
            float d = HalfConvert.HalfToFloat(*(ushort*)w) * HalfConvert.HalfToFloat(*(ushort*)a);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot), Vector256.Create(d), acc);
        }
        return Vector256.Sum(acc);
    }

    public static float Q4_0<TDot>(byte* w, byte* a, int n) where TDot : struct, IInt8DotProduct
    {
        Vector256<float> acc = Vector256<float>.Zero;
        Vector128<byte> low = Vector128.Create((byte)0x0F);
        for (int b = 0; b < n / 32; b++, w += BlockLayout.Q4_0Bytes, a += BlockLayout.Q8_0Bytes)
        {
            Vector128<byte> raw = Vector128.Load(w + 2);
            Vector256<byte> nibbles = Vector256.Create(raw & low, (raw.AsUInt16() >> 4).AsByte() & low);
            Vector256<sbyte> qw = (nibbles - Vector256.Create((byte)8)).AsSByte();
            Vector256<sbyte> qa = Vector256.Load((sbyte*)(a + 2));
            Vector256<int> dot = SignedDot<TDot>(qw, qa);
            float d = HalfConvert.HalfToFloat(*(ushort*)w) * HalfConvert.HalfToFloat(*(ushort*)a);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot), Vector256.Create(d), acc);
        }
        return Vector256.Sum(acc);
    }

    // u8×s8 instructions need one unsigned side: move x's sign onto y (|x|·sign(x)y = x·y).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SignedDot<TDot>(Vector256<sbyte> x, Vector256<sbyte> y) where TDot : struct, IInt8DotProduct =>
        TDot.Dot4(Vector256<int>.Zero, Avx2.Abs(x), Avx2.Sign(y, x));

    public static float Q4_K<TDot>(byte* w, byte* a, int n) where TDot : struct, IInt8DotProduct
    {
        Vector256<float> acc = Vector256<float>.Zero;
        float minSum = 0;
        Vector256<byte> low = Vector256.Create((byte)0x0F);
        int* sc = stackalloc int[8];
        int* mn = stackalloc int[8];
        for (int b = 0; b < n / 256; b++, w += BlockLayout.Q4_KBytes, a += BlockLayout.Q8_KBytes)
        {
            float dx = *(float*)a;
            byte* packed = w + BlockLayout.Q4_KScales;
            for (int j = 0; j < 8; j++) BlockLayout.ScaleMinK4(j, packed, out sc[j], out mn[j]);
            short* bsums = (short*)(a + BlockLayout.Q8_KBsums);
            int summ = 0;
            for (int j = 0; j < 8; j++) summ += mn[j] * (bsums[2 * j] + bsums[2 * j + 1]);
            byte* q = w + BlockLayout.Q4_KQs;
            sbyte* qa = (sbyte*)(a + BlockLayout.Q8_KQs);
            Vector256<int> sumi = Vector256<int>.Zero;
            for (int c = 0; c < 4; c++)
            {
                Vector256<byte> raw = Vector256.Load(q + 32 * c);
                Vector256<byte> lo = raw & low;
                Vector256<byte> hi = (raw.AsUInt16() >> 4).AsByte() & low;
                sumi = TDot.DotScaled(sumi, lo, Vector256.Load(qa + 64 * c), Vector256.Create((short)sc[2 * c]));
                sumi = TDot.DotScaled(sumi, hi, Vector256.Load(qa + 64 * c + 32), Vector256.Create((short)sc[2 * c + 1]));
            }
            float d = dx * HalfConvert.HalfToFloat(*(ushort*)w);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumi), Vector256.Create(d), acc);
            minSum += dx * HalfConvert.HalfToFloat(*(ushort*)(w + 2)) * summ;
        }
        return Vector256.Sum(acc) - minSum;
    }

    public static float Q6_K<TDot>(byte* w, byte* a, int n) where TDot : struct, IInt8DotProduct
    {
        Vector256<float> acc = Vector256<float>.Zero;
        Vector256<byte> m4 = Vector256.Create((byte)0x0F);
        Vector256<byte> m2 = Vector256.Create((byte)0x03);
        for (int b = 0; b < n / 256; b++, w += BlockLayout.Q6_KBytes, a += BlockLayout.Q8_KBytes)
        {
            float dx = *(float*)a;
            sbyte* sc = (sbyte*)(w + BlockLayout.Q6_KScales);
            short* bsums = (short*)(a + BlockLayout.Q8_KBsums);
            // The -32 bias of every 6-bit level, folded out through the activation block sums.
            int bias = 0;
            for (int g = 0; g < 16; g++) bias += sc[g] * bsums[g];
            sbyte* qa = (sbyte*)(a + BlockLayout.Q8_KQs);
            Vector256<int> sumi = Vector256<int>.Zero;
            for (int half = 0; half < 2; half++)
            {
                byte* ql = w + 64 * half;
                byte* qh = w + BlockLayout.Q6_KQh + 32 * half;
                sbyte* s = sc + 8 * half;
                sbyte* y = qa + 128 * half;
                Vector256<byte> l0 = Vector256.Load(ql), l1 = Vector256.Load(ql + 32), h = Vector256.Load(qh);
                Vector256<byte> q1 = (l0 & m4) | ((h & m2).AsUInt16() << 4).AsByte();
                Vector256<byte> q2 = (l1 & m4) | ((((h.AsUInt16() >> 2).AsByte()) & m2).AsUInt16() << 4).AsByte();
                Vector256<byte> q3 = ((l0.AsUInt16() >> 4).AsByte() & m4) | ((((h.AsUInt16() >> 4).AsByte()) & m2).AsUInt16() << 4).AsByte();
                Vector256<byte> q4 = ((l1.AsUInt16() >> 4).AsByte() & m4) | ((((h.AsUInt16() >> 6).AsByte()) & m2).AsUInt16() << 4).AsByte();
                sumi = TDot.DotScaled(sumi, q1, Vector256.Load(y), Scales(s[0], s[1]));
                sumi = TDot.DotScaled(sumi, q2, Vector256.Load(y + 32), Scales(s[2], s[3]));
                sumi = TDot.DotScaled(sumi, q3, Vector256.Load(y + 64), Scales(s[4], s[5]));
                sumi = TDot.DotScaled(sumi, q4, Vector256.Load(y + 96), Scales(s[6], s[7]));
            }
            float d = dx * HalfConvert.HalfToFloat(*(ushort*)(w + BlockLayout.Q6_KD));
            sumi -= Vector256.CreateScalar(32 * bias);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumi), Vector256.Create(d), acc);
        }
        return Vector256.Sum(acc);
    }

    // 16 bytes of a 32-byte vector share one sub-block scale: lanes 0..7 of the pair sums take the first, 8..15 the second.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Scales(sbyte first, sbyte second) =>
        Vector256.Create(Vector128.Create((short)first), Vector128.Create((short)second));
}
