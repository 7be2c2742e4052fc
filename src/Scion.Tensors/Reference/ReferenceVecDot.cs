using Scion.Tensors.Quant;

namespace Scion.Tensors.Reference;

/// <summary>
/// Scalar dot products of one weight row with one activation row, integer sums per block then one float scale
/// per block as ggml's generic vec_dot does. Leaves out all SIMD and unrolling; the SIMD variants must agree up
/// to float summation order, except Q4_K and Q6_K, whose float steps all kernels share through
/// <see cref="KQuantAccumulate"/> so every level gives the same bits.
/// </summary>
internal static unsafe class ReferenceVecDot
{
    public static float F32(float* w, float* x, int n)
    {
        float s = 0;
        for (int i = 0; i < n; i++) s += w[i] * x[i];
        return s;
    }

    public static float F16(ushort* w, float* x, int n)
    {
        float s = 0;
        for (int i = 0; i < n; i++) s += HalfConvert.HalfToFloat(w[i]) * x[i];
        return s;
    }

    public static float BF16(ushort* w, float* x, int n)
    {
        float s = 0;
        for (int i = 0; i < n; i++) s += HalfConvert.BFloat16ToFloat(w[i]) * x[i];
        return s;
    }

    public static float Q8_0(byte* w, byte* a, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 32; b++, w += BlockLayout.Q8_0Bytes, a += BlockLayout.Q8_0Bytes)
        {
            sbyte* qw = (sbyte*)(w + 2);
            sbyte* qa = (sbyte*)(a + 2);
            int sumi = 0;
            for (int i = 0; i < 32; i++) sumi += qw[i] * qa[i];
            sum += sumi * (HalfConvert.HalfToFloat(*(ushort*)w) * HalfConvert.HalfToFloat(*(ushort*)a));
        }
        return sum;
    }

    public static float Q4_0(byte* w, byte* a, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 32; b++, w += BlockLayout.Q4_0Bytes, a += BlockLayout.Q8_0Bytes)
        {
            byte* qw = w + 2;
            sbyte* qa = (sbyte*)(a + 2);
            int sumi = 0;
            for (int i = 0; i < 16; i++)
                sumi += ((qw[i] & 0xF) - 8) * qa[i] + ((qw[i] >> 4) - 8) * qa[i + 16];
            sum += sumi * (HalfConvert.HalfToFloat(*(ushort*)w) * HalfConvert.HalfToFloat(*(ushort*)a));
        }
        return sum;
    }

    public static float Q4_K(byte* w, byte* a, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, w += BlockLayout.Q4_KBytes, a += BlockLayout.Q8_KBytes)
        {
            float dx = *(float*)a;
            sbyte* qa = (sbyte*)(a + BlockLayout.Q8_KQs);
            short* bsums = (short*)(a + BlockLayout.Q8_KBsums);
            byte* q = w + BlockLayout.Q4_KQs;
            int sumi = 0, summ = 0;
            for (int c = 0; c < 4; c++, q += 32, qa += 64)
            {
                BlockLayout.ScaleMinK4(2 * c, w + BlockLayout.Q4_KScales, out int sc0, out int m0);
                BlockLayout.ScaleMinK4(2 * c + 1, w + BlockLayout.Q4_KScales, out int sc1, out int m1);
                int dot0 = 0, dot1 = 0;
                for (int l = 0; l < 32; l++)
                {
                    dot0 += (q[l] & 0xF) * qa[l];
                    dot1 += (q[l] >> 4) * qa[l + 32];
                }
                sumi += sc0 * dot0 + sc1 * dot1;
                summ += m0 * (bsums[4 * c] + bsums[4 * c + 1]) + m1 * (bsums[4 * c + 2] + bsums[4 * c + 3]);
            }
            sum = KQuantAccumulate.Q4_K(sum, dx, HalfConvert.HalfToFloat(*(ushort*)w), HalfConvert.HalfToFloat(*(ushort*)(w + 2)), sumi, summ);
        }
        return sum;
    }

    public static float Q6_K(byte* w, byte* a, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, w += BlockLayout.Q6_KBytes, a += BlockLayout.Q8_KBytes)
        {
            float dx = *(float*)a;
            sbyte* qa = (sbyte*)(a + BlockLayout.Q8_KQs);
            byte* ql = w;
            byte* qh = w + BlockLayout.Q6_KQh;
            sbyte* sc = (sbyte*)(w + BlockLayout.Q6_KScales);
            int sumi = 0;
            for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8, qa += 128)
            {
                for (int g = 0; g < 2; g++)
                {
                    int s1 = 0, s2 = 0, s3 = 0, s4 = 0;
                    for (int l = 16 * g; l < 16 * g + 16; l++)
                    {
                        s1 += (((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32) * qa[l];
                        s2 += (((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32) * qa[l + 32];
                        s3 += (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32) * qa[l + 64];
                        s4 += (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32) * qa[l + 96];
                    }
                    sumi += sc[g] * s1 + sc[g + 2] * s2 + sc[g + 4] * s3 + sc[g + 6] * s4;
                }
            }
            sum = KQuantAccumulate.Q6_K(sum, dx, HalfConvert.HalfToFloat(*(ushort*)(w + BlockLayout.Q6_KD)), sumi);
        }
        return sum;
    }
}
