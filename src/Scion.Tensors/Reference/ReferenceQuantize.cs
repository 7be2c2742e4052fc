using Scion.Tensors.Quant;

namespace Scion.Tensors.Reference;

/// <summary>
/// Weight quantizers following llama.cpp's reference path (quantize_row_*_ref, no importance matrix), so
/// files written by <c>scion quantize</c> hold the same blocks llama.cpp would write, up to float rounding order.
/// </summary>
internal static unsafe class ReferenceQuantize
{
    public static void Row(GgmlType type, float* x, byte* dst, int n)
    {
        switch (type)
        {
            case GgmlType.F32: for (int i = 0; i < n; i++) ((float*)dst)[i] = x[i]; break;
            case GgmlType.F16: for (int i = 0; i < n; i++) ((ushort*)dst)[i] = HalfConvert.FloatToHalf(x[i]); break;
            case GgmlType.BF16: for (int i = 0; i < n; i++) ((ushort*)dst)[i] = HalfConvert.FloatToBFloat16(x[i]); break;
            case GgmlType.Q8_0: Q8_0(x, dst, n); break;
            case GgmlType.Q4_0: Q4_0(x, dst, n); break;
            case GgmlType.Q4_K: Q4_K(x, dst, n); break;
            case GgmlType.Q6_K: Q6_K(x, dst, n); break;
            case GgmlType.Q8_K: ReferenceActivationQuant.Q8_K(x, dst, n); break;
            default: throw new NotSupportedException($"Quantizing to {type} is not supported.");
        }
    }

    /// <summary>ggml's nearest_int: round half to even (the 1.5*2^23 trick), valid for |v| below 2^22.</summary>
    internal static int NearestInt(float v) => (int)MathF.Round(v, MidpointRounding.ToEven);

    public static void Q8_0(float* x, byte* y, int n)
    {
        for (int b = 0; b < n / 32; b++, x += 32, y += BlockLayout.Q8_0Bytes)
        {
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = MathF.Max(amax, MathF.Abs(x[i]));
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            *(ushort*)y = HalfConvert.FloatToHalf(d);
            sbyte* qs = (sbyte*)(y + 2);
            // roundf: halves away from zero, as the C reference does.
            for (int i = 0; i < 32; i++) qs[i] = (sbyte)MathF.Round(x[i] * id, MidpointRounding.AwayFromZero);
        }
    }

    public static void Q4_0(float* x, byte* y, int n)
    {
        for (int b = 0; b < n / 32; b++, x += 32, y += BlockLayout.Q4_0Bytes)
        {
            float amax = 0, max = 0;
            for (int i = 0; i < 32; i++)
            {
                if (amax < MathF.Abs(x[i])) { amax = MathF.Abs(x[i]); max = x[i]; }
            }
            // The signed extreme maps to -8 so the full 16-level range is used on its side.
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            *(ushort*)y = HalfConvert.FloatToHalf(d);
            byte* qs = y + 2;
            for (int i = 0; i < 16; i++)
            {
                int lo = Math.Min(15, (int)(sbyte)(int)(x[i] * id + 8.5f));
                int hi = Math.Min(15, (int)(sbyte)(int)(x[i + 16] * id + 8.5f));
                qs[i] = (byte)(lo | (hi << 4));
            }
        }
    }

    public static void Q4_K(float* x, byte* y, int n)
    {
        byte* L = stackalloc byte[256];
        byte* laux = stackalloc byte[32];
        float* weights = stackalloc float[32];
        float* mins = stackalloc float[8];
        float* scales = stackalloc float[8];
        for (int b = 0; b < n / 256; b++, x += 256, y += BlockLayout.Q4_KBytes)
        {
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 8; j++)
            {
                float sumX2 = 0;
                for (int l = 0; l < 32; l++) sumX2 += x[32 * j + l] * x[32 * j + l];
                float avX = MathF.Sqrt(sumX2 / 32);
                for (int l = 0; l < 32; l++) weights[l] = avX + MathF.Abs(x[32 * j + l]);
                scales[j] = QuantSearch.MakeQkx2Quants(32, 15, x + 32 * j, weights, L + 32 * j, out mins[j], laux, -1f, 0.1f, 20, false);
                if (scales[j] > maxScale) maxScale = scales[j];
                if (mins[j] > maxMin) maxMin = mins[j];
            }
            float invScale = maxScale > 0 ? 63f / maxScale : 0f;
            float invMin = maxMin > 0 ? 63f / maxMin : 0f;
            byte* packed = y + BlockLayout.Q4_KScales;
            for (int i = 0; i < 12; i++) packed[i] = 0;
            for (int j = 0; j < 8; j++)
            {
                int ls = Math.Min(63, NearestInt(invScale * scales[j]));
                int lm = Math.Min(63, NearestInt(invMin * mins[j]));
                if (j < 4)
                {
                    packed[j] = (byte)ls;
                    packed[j + 4] = (byte)lm;
                }
                else
                {
                    packed[j + 4] = (byte)((ls & 0xF) | ((lm & 0xF) << 4));
                    packed[j - 4] |= (byte)((ls >> 4) << 6);
                    packed[j] |= (byte)((lm >> 4) << 6);
                }
            }
            *(ushort*)y = HalfConvert.FloatToHalf(maxScale / 63f);
            *(ushort*)(y + 2) = HalfConvert.FloatToHalf(maxMin / 63f);
            float dAll = HalfConvert.HalfToFloat(*(ushort*)y);
            float dminAll = HalfConvert.HalfToFloat(*(ushort*)(y + 2));
            // Re-pick the levels against the rounded 6-bit scales so dequantization sees what the search optimized.
            for (int j = 0; j < 8; j++)
            {
                BlockLayout.ScaleMinK4(j, packed, out int sc, out int m);
                float d = dAll * sc;
                if (d == 0) continue;
                float dm = dminAll * m;
                for (int ii = 0; ii < 32; ii++)
                {
                    int l = NearestInt((x[32 * j + ii] + dm) / d);
                    L[32 * j + ii] = (byte)Math.Clamp(l, 0, 15);
                }
            }
            byte* q = y + BlockLayout.Q4_KQs;
            for (int j = 0; j < 256; j += 64, q += 32)
                for (int l = 0; l < 32; l++) q[l] = (byte)(L[j + l] | (L[j + l + 32] << 4));
        }
    }

    public static void Q6_K(float* x, byte* y, int n)
    {
        sbyte* L = stackalloc sbyte[256];
        float* scales = stackalloc float[16];
        for (int b = 0; b < n / 256; b++, x += 256, y += BlockLayout.Q6_KBytes)
        {
            float maxScale = 0, maxAbsScale = 0;
            for (int ib = 0; ib < 16; ib++)
            {
                float scale = QuantSearch.MakeQxQuants(16, 32, x + 16 * ib, L + 16 * ib, 1);
                scales[ib] = scale;
                if (MathF.Abs(scale) > maxAbsScale) { maxAbsScale = MathF.Abs(scale); maxScale = scale; }
            }
            if (maxAbsScale < QuantSearch.GroupMaxEps)
            {
                new Span<byte>(y, BlockLayout.Q6_KBytes).Clear();
                continue;
            }
            float iscale = -128f / maxScale;
            *(ushort*)(y + BlockLayout.Q6_KD) = HalfConvert.FloatToHalf(1 / iscale);
            sbyte* sc = (sbyte*)(y + BlockLayout.Q6_KScales);
            for (int ib = 0; ib < 16; ib++) sc[ib] = (sbyte)Math.Min(127, NearestInt(iscale * scales[ib]));
            float dAll = HalfConvert.HalfToFloat(*(ushort*)(y + BlockLayout.Q6_KD));
            for (int j = 0; j < 16; j++)
            {
                float d = dAll * sc[j];
                if (d == 0) continue;
                for (int ii = 0; ii < 16; ii++)
                {
                    int l = NearestInt(x[16 * j + ii] / d);
                    L[16 * j + ii] = (sbyte)(Math.Clamp(l, -32, 31) + 32);
                }
            }
            byte* ql = y;
            byte* qh = y + BlockLayout.Q6_KQh;
            for (int j = 0; j < 256; j += 128, ql += 64, qh += 32)
            {
                for (int l = 0; l < 32; l++)
                {
                    int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
                    ql[l] = (byte)((q1 & 0xF) | ((q3 & 0xF) << 4));
                    ql[l + 32] = (byte)((q2 & 0xF) | ((q4 & 0xF) << 4));
                    qh[l] = (byte)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
                }
            }
        }
    }
}
