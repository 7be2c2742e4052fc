using Scion.Tensors.Quant;

namespace Scion.Tensors.Reference;

/// <summary>
/// Scalar twin of the packed Q4_0 / Q8_0 kernels (<see cref="Packed.PackedKernels"/>): one weight row (stored
/// format) against one Q8_0 activation row, one fp32 accumulator, blocks in order,
/// acc = fma(float(Σ w·a), d_w·d_a, acc). The packed kernels must give these bits exactly.
/// </summary>
internal static unsafe class ReferencePackedDot
{
    public static float Dot(GgmlType type, byte* w, byte* a, int n)
    {
        float acc = 0;
        for (int b = 0; b < n / 32; b++, a += BlockLayout.Q8_0Bytes)
        {
            sbyte* qa = (sbyte*)(a + 2);
            int sumi = 0;
            if (type == GgmlType.Q4_0)
            {
                byte* qw = w + 2;
                for (int i = 0; i < 16; i++)
                    sumi += ((qw[i] & 0xF) - 8) * qa[i] + ((qw[i] >> 4) - 8) * qa[i + 16];
            }
            else if (type == GgmlType.Q8_0)
            {
                sbyte* qw = (sbyte*)(w + 2);
                for (int i = 0; i < 32; i++) sumi += qw[i] * qa[i];
            }
            else
            {
                throw new NotSupportedException($"{type} has no packed kernels.");
            }
            acc = MathF.FusedMultiplyAdd(sumi, HalfConvert.HalfToFloat(*(ushort*)w) * HalfConvert.HalfToFloat(*(ushort*)a), acc);
            w += type == GgmlType.Q4_0 ? BlockLayout.Q4_0Bytes : BlockLayout.Q8_0Bytes;
        }
        return acc;
    }
}
