using Scion.Tensors.Quant;

namespace Scion.Tensors.Reference;

/// <summary>
/// Scalar quantizers for activation rows (the "partner" formats the integer dot products read):
/// Q8_0 as ggml's x86 path makes it (id = 127/amax, round half to even) and Q8_K as quantize_row_q8_K_ref.
/// </summary>
internal static unsafe class ReferenceActivationQuant
{
    public static void Q8_0(float* x, byte* y, int n)
    {
        for (int b = 0; b < n / 32; b++, x += 32, y += BlockLayout.Q8_0Bytes)
        {
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = MathF.Max(amax, MathF.Abs(x[i]));
            float d = amax / 127f;
            float id = amax != 0 ? 127f / amax : 0f;
            *(ushort*)y = HalfConvert.FloatToHalf(d);
            sbyte* qs = (sbyte*)(y + 2);
            for (int i = 0; i < 32; i++) qs[i] = (sbyte)ReferenceQuantize.NearestInt(x[i] * id);
        }
    }

    public static void Q8_K(float* x, byte* y, int n)
    {
        for (int b = 0; b < n / 256; b++, x += 256, y += BlockLayout.Q8_KBytes)
        {
            float max = 0, amax = 0;
            for (int i = 0; i < 256; i++)
            {
                float ax = MathF.Abs(x[i]);
                if (ax > amax) { amax = ax; max = x[i]; }
            }
            sbyte* qs = (sbyte*)(y + BlockLayout.Q8_KQs);
            short* bsums = (short*)(y + BlockLayout.Q8_KBsums);
            if (amax == 0)
            {
                *(float*)y = 0;
                new Span<byte>(y + 4, BlockLayout.Q8_KBytes - 4).Clear();
                continue;
            }
            // The signed extreme maps to -127, as in ggml, so every |q| stays within 127.
            float iscale = -127f / max;
            for (int i = 0; i < 256; i++) qs[i] = (sbyte)Math.Min(127, ReferenceQuantize.NearestInt(iscale * x[i]));
            for (int g = 0; g < 16; g++)
            {
                int sum = 0;
                for (int i = 0; i < 16; i++) sum += qs[16 * g + i];
                bsums[g] = (short)sum;
            }
            *(float*)y = 1 / iscale;
        }
    }
}
