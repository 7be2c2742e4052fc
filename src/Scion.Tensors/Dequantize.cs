using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors.Cpu;
using Scion.Tensors.Quant;
using Scion.Tensors.Reference;

namespace Scion.Tensors;

/// <summary>Stored row (any supported ggml type) → fp32 values.</summary>
public static unsafe class Dequantize
{
    /// <summary>Decodes the first <c>dst.Length</c> values (a whole number of blocks) of <paramref name="src"/>.</summary>
    public static void Row(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        long need = GgmlTypeInfo.RowBytes(type, dst.Length);
        if (src.Length < need) throw new ArgumentException($"{dst.Length} {type} values need {need} bytes, got {src.Length}.");
        fixed (byte* s = src) fixed (float* d = dst) Row(type, s, d, dst.Length, KernelSelection.Current);
    }

    internal static void Row(GgmlType type, byte* src, float* dst, int n, KernelLevel level)
    {
        if (level == KernelLevel.Scalar)
        {
            ReferenceDequantize.Row(type, src, dst, n);
            return;
        }
        switch (type)
        {
            case GgmlType.F32: Buffer.MemoryCopy(src, dst, (long)n * 4, (long)n * 4); break;
            case GgmlType.F16: HalfConvert.HalfToFloat((ushort*)src, dst, n, level); break;
            case GgmlType.BF16: HalfConvert.BFloat16ToFloat((ushort*)src, dst, n, level); break;
            case GgmlType.Q8_0: Q8_0(src, dst, n); break;
            case GgmlType.Q4_0: Q4_0(src, dst, n); break;
            case GgmlType.Q4_K: Q4_K(src, dst, n); break;
            case GgmlType.Q6_K: Q6_K(src, dst, n); break;
            default: ReferenceDequantize.Row(type, src, dst, n); break;
        }
    }

    private static void Q8_0(byte* src, float* dst, int n)
    {
        for (int b = 0; b < n / 32; b++, src += BlockLayout.Q8_0Bytes, dst += 32)
        {
            Vector256<float> d = Vector256.Create(HalfConvert.HalfToFloat(*(ushort*)src));
            Vector256<sbyte> q = Vector256.Load((sbyte*)(src + 2));
            (Vector256<short> first, Vector256<short> second) = Vector256.Widen(q);
            (Vector256<int> q0, Vector256<int> q1) = Vector256.Widen(first);
            (Vector256<int> q2, Vector256<int> q3) = Vector256.Widen(second);
            (Vector256.ConvertToSingle(q0) * d).Store(dst);
            (Vector256.ConvertToSingle(q1) * d).Store(dst + 8);
            (Vector256.ConvertToSingle(q2) * d).Store(dst + 16);
            (Vector256.ConvertToSingle(q3) * d).Store(dst + 24);
        }
    }

    private static void Q4_0(byte* src, float* dst, int n)
    {
        Vector128<byte> low = Vector128.Create((byte)0x0F);
        for (int b = 0; b < n / 32; b++, src += BlockLayout.Q4_0Bytes, dst += 32)
        {
            Vector256<float> d = Vector256.Create(HalfConvert.HalfToFloat(*(ushort*)src));
            Vector128<byte> raw = Vector128.Load(src + 2);
            Vector128<sbyte> lo = ((raw & low) - Vector128.Create((byte)8)).AsSByte();
            Vector128<sbyte> hi = (((raw.AsUInt16() >> 4).AsByte() & low) - Vector128.Create((byte)8)).AsSByte();
            StoreScaled(lo, d, dst);
            StoreScaled(hi, d, dst + 16);
        }
    }

    private static void StoreScaled(Vector128<sbyte> q, Vector256<float> d, float* dst)
    {
        Vector128<short> w = Vector128.WidenLower(q), w2 = Vector128.WidenUpper(q);
        (Vector256.ConvertToSingle(Vector256.Create(Vector128.WidenLower(w), Vector128.WidenUpper(w))) * d).Store(dst);
        (Vector256.ConvertToSingle(Vector256.Create(Vector128.WidenLower(w2), Vector128.WidenUpper(w2))) * d).Store(dst + 8);
    }

    // Same float operations in the same order as the scalar twin (scale·q then minus offset, no FMA), so the
    // results are bit-identical.
    private static void Q4_K(byte* src, float* dst, int n)
    {
        Vector256<byte> low = Vector256.Create((byte)0x0F);
        byte* levels = stackalloc byte[64];
        for (int b = 0; b < n / 256; b++, src += BlockLayout.Q4_KBytes)
        {
            float d = HalfConvert.HalfToFloat(*(ushort*)src);
            float dmin = HalfConvert.HalfToFloat(*(ushort*)(src + 2));
            SimdVecDot.UnpackScalesK4(src + BlockLayout.Q4_KScales, out ulong scales, out ulong mins);
            for (int c = 0; c < 4; c++, dst += 64)
            {
                Vector256<byte> raw = Vector256.Load(src + BlockLayout.Q4_KQs + 32 * c);
                (raw & low).Store(levels);
                ((raw.AsUInt16() >> 4).AsByte() & low).Store(levels + 32);
                for (int half = 0; half < 2; half++)
                {
                    int j = 2 * c + half;
                    var scale = Vector256.Create(d * (byte)(scales >> (8 * j)));
                    var offset = Vector256.Create(dmin * (byte)(mins >> (8 * j)));
                    for (int k = 0; k < 32; k += 8)
                    {
                        Vector256<float> q = Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(levels + 32 * half + k));
                        (q * scale - offset).Store(dst + 32 * half + k);
                    }
                }
            }
        }
    }

    private static void Q6_K(byte* src, float* dst, int n)
    {
        Vector256<byte> m4 = Vector256.Create((byte)0x0F);
        Vector256<byte> m2 = Vector256.Create((byte)0x03);
        Vector256<byte> bias = Vector256.Create((byte)32);
        sbyte* levels = stackalloc sbyte[128];
        for (int b = 0; b < n / 256; b++, src += BlockLayout.Q6_KBytes)
        {
            float d = HalfConvert.HalfToFloat(*(ushort*)(src + BlockLayout.Q6_KD));
            sbyte* sc = (sbyte*)(src + BlockLayout.Q6_KScales);
            for (int half = 0; half < 2; half++, dst += 128)
            {
                byte* ql = src + 64 * half;
                Vector256<byte> l0 = Vector256.Load(ql), l1 = Vector256.Load(ql + 32), h = Vector256.Load(src + BlockLayout.Q6_KQh + 32 * half);
                Vector256<ushort> h16 = h.AsUInt16();
                ((l0 & m4) | ((h & m2).AsUInt16() << 4).AsByte()).Store((byte*)levels);
                ((l1 & m4) | (((h16 >> 2).AsByte() & m2).AsUInt16() << 4).AsByte()).Store((byte*)levels + 32);
                (((l0.AsUInt16() >> 4).AsByte() & m4) | (((h16 >> 4).AsByte() & m2).AsUInt16() << 4).AsByte()).Store((byte*)levels + 64);
                (((l1.AsUInt16() >> 4).AsByte() & m4) | (((h16 >> 6).AsByte() & m2).AsUInt16() << 4).AsByte()).Store((byte*)levels + 96);
                for (int i = 0; i < 128; i += 32) (Vector256.Load((byte*)levels + i) - bias).Store((byte*)levels + i);
                // levels[32k + l] is element 32k + l of this half; its scale is sc[8·half + 2k + l/16].
                for (int i = 0; i < 128; i += 8)
                {
                    var scale = Vector256.Create(d * sc[8 * half + i / 16]);
                    (Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(levels + i)) * scale).Store(dst + i);
                }
            }
        }
    }
}
