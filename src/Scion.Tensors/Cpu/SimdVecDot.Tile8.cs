using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors.Quant;

namespace Scion.Tensors.Cpu;

/// <summary>
/// Q4_0 / Q8_0 prefill with two weight rows against eight activation rows. What depends on the activations only
/// (block scale as float, offset times lane sums) is computed once per matmul into side arrays
/// (<see cref="ActivationSides"/>), so each (row, token, block) step is four instructions: the u8×s8 dot
/// accumulating onto the negated offset sums (integer, exact), convert, scale product, FMA. Unpacking a weight block
/// serves eight tokens. Every output keeps the integer lanes and float steps of the single-row dot, bit for bit.
/// </summary>
internal static unsafe partial class SimdVecDot
{
    /// <summary>Tokens per pass of <see cref="QuantBlock32x2x8{TDot}"/>.</summary>
    public const int QuantTileTokens = 8;

    /// <summary>For one Q8_0 activation row: <paramref name="negLaneSums"/>[b, i] = −offset·Σ_{k&lt;4} a[b, 4i+k]
    /// ([blocks, 8] ints) and <paramref name="scales"/>[b] = the block scale as float ([blocks]). The offset is what the
    /// weights were shifted by to enter the dot unsigned: 8 for Q4_0 nibbles, 128 for Q8_0 bytes.</summary>
    public static void ActivationSides(byte* a, int blocks, int offset, int* negLaneSums, float* scales)
    {
        Vector256<short> ones = Vector256.Create((short)1);
        Vector256<int> negOffset = Vector256.Create(-offset);
        for (int b = 0; b < blocks; b++, a += BlockLayout.Q8_0Bytes)
        {
            Vector256<sbyte> y = Vector256.Load((sbyte*)(a + 2));
            // |pair sums| ≤ 2·128 fit 16 bits; lane sums are exact.
            Vector256<int> sums = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.Create((byte)1), y), ones);
            (sums * negOffset).Store(negLaneSums + 8 * b);
            scales[b] = HalfConvert.HalfToFloatLookup(*(ushort*)a);
        }
    }

    /// <summary>Two Q4_0 or Q8_0 weight rows (Q8_0 with VNNI only) against eight Q8_0 activation rows starting at
    /// <paramref name="a"/>, <paramref name="stride"/> bytes apart, whose sides start at <paramref name="negLaneSums"/>
    /// ([tokens, blocks, 8]) and <paramref name="scales"/> ([tokens, blocks]) for the first of them.
    /// result[8·row + token].</summary>
    public static void QuantBlock32x2x8<TDot>(GgmlType type, byte* w0, byte* w1, byte* a, long stride, int* negLaneSums, float* scales, int blocks, float* result)
        where TDot : struct, IInt8DotProduct
    {
        bool q4 = type == GgmlType.Q4_0;
        int wBytes = q4 ? BlockLayout.Q4_0Bytes : BlockLayout.Q8_0Bytes;
        Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default, c04 = default, c05 = default, c06 = default, c07 = default;
        Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default, c16 = default, c17 = default;
        for (int b = 0; b < blocks; b++, w0 += wBytes, w1 += wBytes)
        {
            Vector256<byte> u0 = UnsignedWeights(w0, q4), u1 = UnsignedWeights(w1, q4);
            Vector256<float> e0 = Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)w0));
            Vector256<float> e1 = Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)w1));
            {
                byte* blk = a + 0 * stride + b * BlockLayout.Q8_0Bytes;
                Vector256<sbyte> y = Vector256.Load((sbyte*)(blk + 2));
                int* k = negLaneSums + (0 * blocks + b) * 8;
                Vector256<float> d = Vector256.Create(scales[0 * blocks + b]);
                c00 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u0, y)), e0 * d, c00);
                c10 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u1, y)), e1 * d, c10);
            }
            {
                byte* blk = a + 1 * stride + b * BlockLayout.Q8_0Bytes;
                Vector256<sbyte> y = Vector256.Load((sbyte*)(blk + 2));
                int* k = negLaneSums + (1 * blocks + b) * 8;
                Vector256<float> d = Vector256.Create(scales[1 * blocks + b]);
                c01 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u0, y)), e0 * d, c01);
                c11 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u1, y)), e1 * d, c11);
            }
            {
                byte* blk = a + 2 * stride + b * BlockLayout.Q8_0Bytes;
                Vector256<sbyte> y = Vector256.Load((sbyte*)(blk + 2));
                int* k = negLaneSums + (2 * blocks + b) * 8;
                Vector256<float> d = Vector256.Create(scales[2 * blocks + b]);
                c02 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u0, y)), e0 * d, c02);
                c12 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u1, y)), e1 * d, c12);
            }
            {
                byte* blk = a + 3 * stride + b * BlockLayout.Q8_0Bytes;
                Vector256<sbyte> y = Vector256.Load((sbyte*)(blk + 2));
                int* k = negLaneSums + (3 * blocks + b) * 8;
                Vector256<float> d = Vector256.Create(scales[3 * blocks + b]);
                c03 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u0, y)), e0 * d, c03);
                c13 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u1, y)), e1 * d, c13);
            }
            {
                byte* blk = a + 4 * stride + b * BlockLayout.Q8_0Bytes;
                Vector256<sbyte> y = Vector256.Load((sbyte*)(blk + 2));
                int* k = negLaneSums + (4 * blocks + b) * 8;
                Vector256<float> d = Vector256.Create(scales[4 * blocks + b]);
                c04 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u0, y)), e0 * d, c04);
                c14 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u1, y)), e1 * d, c14);
            }
            {
                byte* blk = a + 5 * stride + b * BlockLayout.Q8_0Bytes;
                Vector256<sbyte> y = Vector256.Load((sbyte*)(blk + 2));
                int* k = negLaneSums + (5 * blocks + b) * 8;
                Vector256<float> d = Vector256.Create(scales[5 * blocks + b]);
                c05 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u0, y)), e0 * d, c05);
                c15 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u1, y)), e1 * d, c15);
            }
            {
                byte* blk = a + 6 * stride + b * BlockLayout.Q8_0Bytes;
                Vector256<sbyte> y = Vector256.Load((sbyte*)(blk + 2));
                int* k = negLaneSums + (6 * blocks + b) * 8;
                Vector256<float> d = Vector256.Create(scales[6 * blocks + b]);
                c06 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u0, y)), e0 * d, c06);
                c16 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u1, y)), e1 * d, c16);
            }
            {
                byte* blk = a + 7 * stride + b * BlockLayout.Q8_0Bytes;
                Vector256<sbyte> y = Vector256.Load((sbyte*)(blk + 2));
                int* k = negLaneSums + (7 * blocks + b) * 8;
                Vector256<float> d = Vector256.Create(scales[7 * blocks + b]);
                c07 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u0, y)), e0 * d, c07);
                c17 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot4(Vector256.Load(k), u1, y)), e1 * d, c17);
            }
        }
        result[0] = Vector256.Sum(c00); result[8] = Vector256.Sum(c10);
        result[1] = Vector256.Sum(c01); result[9] = Vector256.Sum(c11);
        result[2] = Vector256.Sum(c02); result[10] = Vector256.Sum(c12);
        result[3] = Vector256.Sum(c03); result[11] = Vector256.Sum(c13);
        result[4] = Vector256.Sum(c04); result[12] = Vector256.Sum(c14);
        result[5] = Vector256.Sum(c05); result[13] = Vector256.Sum(c15);
        result[6] = Vector256.Sum(c06); result[14] = Vector256.Sum(c16);
        result[7] = Vector256.Sum(c07); result[15] = Vector256.Sum(c17);
    }
}
