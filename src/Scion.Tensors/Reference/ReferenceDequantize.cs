using Scion.Tensors.Quant;

namespace Scion.Tensors.Reference;

/// <summary>Scalar dequantizers, one element at a time in ggml's order: the twins the SIMD versions are tested against.</summary>
internal static unsafe class ReferenceDequantize
{
    public static void Row(GgmlType type, byte* src, float* dst, int n)
    {
        switch (type)
        {
            case GgmlType.F32: for (int i = 0; i < n; i++) dst[i] = ((float*)src)[i]; break;
            case GgmlType.F16: for (int i = 0; i < n; i++) dst[i] = HalfConvert.HalfToFloat(((ushort*)src)[i]); break;
            case GgmlType.BF16: for (int i = 0; i < n; i++) dst[i] = HalfConvert.BFloat16ToFloat(((ushort*)src)[i]); break;
            case GgmlType.Q8_0: Q8_0(src, dst, n); break;
            case GgmlType.Q4_0: Q4_0(src, dst, n); break;
            case GgmlType.Q4_K: Q4_K(src, dst, n); break;
            case GgmlType.Q6_K: Q6_K(src, dst, n); break;
            case GgmlType.Q8_K: Q8_K(src, dst, n); break;
            default: throw new NotSupportedException($"Dequantizing {type} is not supported.");
        }
    }

    public static void Q8_0(byte* src, float* dst, int n)
    {
        for (int b = 0; b < n / 32; b++, src += BlockLayout.Q8_0Bytes, dst += 32)
        {
            float d = HalfConvert.HalfToFloat(*(ushort*)src);
            sbyte* qs = (sbyte*)(src + 2);
            for (int i = 0; i < 32; i++) dst[i] = qs[i] * d;
        }
    }

    public static void Q4_0(byte* src, float* dst, int n)
    {
        for (int b = 0; b < n / 32; b++, src += BlockLayout.Q4_0Bytes, dst += 32)
        {
            float d = HalfConvert.HalfToFloat(*(ushort*)src);
            byte* qs = src + 2;
            for (int i = 0; i < 16; i++)
            {
                dst[i] = ((qs[i] & 0xF) - 8) * d;
                dst[i + 16] = ((qs[i] >> 4) - 8) * d;
            }
        }
    }

    public static void Q4_K(byte* src, float* dst, int n)
    {
        for (int b = 0; b < n / 256; b++, src += BlockLayout.Q4_KBytes)
        {
            float d = HalfConvert.HalfToFloat(*(ushort*)src);
            float dmin = HalfConvert.HalfToFloat(*(ushort*)(src + 2));
            byte* scales = src + BlockLayout.Q4_KScales;
            byte* q = src + BlockLayout.Q4_KQs;
            for (int chunk = 0; chunk < 4; chunk++, q += 32)
            {
                BlockLayout.ScaleMinK4(2 * chunk, scales, out int sc0, out int m0);
                BlockLayout.ScaleMinK4(2 * chunk + 1, scales, out int sc1, out int m1);
                float d0 = d * sc0, min0 = dmin * m0, d1 = d * sc1, min1 = dmin * m1;
                for (int l = 0; l < 32; l++) *dst++ = d0 * (q[l] & 0xF) - min0;
                for (int l = 0; l < 32; l++) *dst++ = d1 * (q[l] >> 4) - min1;
            }
        }
    }

    public static void Q6_K(byte* src, float* dst, int n)
    {
        for (int b = 0; b < n / 256; b++, src += BlockLayout.Q6_KBytes)
        {
            float d = HalfConvert.HalfToFloat(*(ushort*)(src + BlockLayout.Q6_KD));
            byte* ql = src;
            byte* qh = src + BlockLayout.Q6_KQh;
            sbyte* sc = (sbyte*)(src + BlockLayout.Q6_KScales);
            for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8, dst += 128)
            {
                for (int l = 0; l < 32; l++)
                {
                    int g = l / 16;
                    int q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    dst[l] = d * sc[g] * q1;
                    dst[l + 32] = d * sc[g + 2] * q2;
                    dst[l + 64] = d * sc[g + 4] * q3;
                    dst[l + 96] = d * sc[g + 6] * q4;
                }
            }
        }
    }

    public static void Q8_K(byte* src, float* dst, int n)
    {
        for (int b = 0; b < n / 256; b++, src += BlockLayout.Q8_KBytes, dst += 256)
        {
            float d = *(float*)src;
            sbyte* qs = (sbyte*)(src + BlockLayout.Q8_KQs);
            for (int i = 0; i < 256; i++) dst[i] = d * qs[i];
        }
    }
}
