using System.Runtime.Intrinsics;
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
            // K-quants decode through the scalar path for now: they are only dequantized for embeddings lookups.
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
}
