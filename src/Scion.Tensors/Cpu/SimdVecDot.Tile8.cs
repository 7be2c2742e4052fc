using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors.Quant;

namespace Scion.Tensors.Cpu;

/// <summary>
/// Q4_0 / Q8_0 prefill with two weight rows against a group of eight activation rows. What depends on the
/// activations only is prepared once per matmul (<see cref="ActivationSides"/>): the quants repacked so the group's
/// eight blocks b lie side by side, the block scales as float, and the offset times the lane sums, negated. Each
/// (row, token, block) step is then the u8×s8 dot accumulating onto those negated sums (integer, exact: the same
/// lanes as dot − offset·sums), convert, scale product, FMA; a weight block is unpacked once per eight tokens, and
/// every operand sits at a constant offset from three pointers. Every output keeps the integer lanes and float
/// steps of the single-row dot, bit for bit.
/// </summary>
internal static unsafe partial class SimdVecDot
{
    /// <summary>Tokens per group of <see cref="QuantBlock32x2x8{TDot}"/>.</summary>
    public const int QuantTileTokens = 8;

    /// <summary>Side-array bytes per token and activation block: 32 quants, 8 negated lane sums, 1 scale.</summary>
    public const int SideBytesPerBlock = 32 + 8 * sizeof(int) + sizeof(float);

    /// <summary>Prepares token <paramref name="j"/> of a group from its Q8_0 activation row <paramref name="a"/>. The
    /// group's arrays are <paramref name="qs"/> [blocks, 8, 32] bytes, <paramref name="negLaneSums"/> [blocks, 8, 8]
    /// = −offset·Σ_{k&lt;4} a[b, 4i+k], <paramref name="scales"/> [blocks, 8]. The offset is what the weights were
    /// shifted by to enter the dot unsigned: 8 for Q4_0 nibbles, 128 for Q8_0 bytes.</summary>
    public static void ActivationSides(byte* a, int blocks, int offset, int j, sbyte* qs, int* negLaneSums, float* scales)
    {
        Vector256<short> ones = Vector256.Create((short)1);
        Vector256<int> negOffset = Vector256.Create(-offset);
        for (int b = 0; b < blocks; b++, a += BlockLayout.Q8_0Bytes)
        {
            Vector256<sbyte> y = Vector256.Load((sbyte*)(a + 2));
            y.Store(qs + 256L * b + 32 * j);
            // |pair sums| ≤ 2·128 fit 16 bits; lane sums are exact.
            Vector256<int> sums = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.Create((byte)1), y), ones);
            (sums * negOffset).Store(negLaneSums + 64L * b + 8 * j);
            scales[8L * b + j] = HalfConvert.HalfToFloatLookup(*(ushort*)a);
        }
    }

    /// <summary>Two Q4_0 or Q8_0 weight rows (Q8_0 with VNNI only) against a group of eight activation rows prepared by
    /// <see cref="ActivationSides"/>. The integer lanes come from 256-bit dots (no 512-bit u8×s8 dot is exposed); the
    /// float steps run on both rows at once, row 0 in lanes 0-7 and row 1 in lanes 8-15, which halves convert, scale
    /// and FMA work on a full-width AVX-512 core. Lane for lane these are the 256-bit steps of the single-row dot.
    /// result[8·row + token].</summary>
    public static void QuantBlock32x2x8<TDot>(GgmlType type, byte* w0, byte* w1, sbyte* qs, int* negLaneSums, float* scales, int blocks, float* result)
        where TDot : struct, IInt8DotProduct
    {
        if (type == GgmlType.Q4_0) Kernel<TDot, Q4_0Unpack>(w0, w1, qs, negLaneSums, scales, blocks, result);
        else Kernel<TDot, Q8_0Unpack>(w0, w1, qs, negLaneSums, scales, blocks, result);
    }

    private static void Kernel<TDot, TUnpack>(byte* w0, byte* w1, sbyte* qs, int* negLaneSums, float* scales, int blocks, float* result)
        where TDot : struct, IInt8DotProduct where TUnpack : struct, IUnsignedWeights
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int b = 0; b < blocks; b++, w0 += TUnpack.BlockBytes, w1 += TUnpack.BlockBytes, qs += 256, negLaneSums += 64, scales += 8)
        {
            Vector256<byte> u0 = TUnpack.Load(w0), u1 = TUnpack.Load(w1);
            Vector512<float> e = Avx512F.InsertVector256(Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)w0)).ToVector512Unsafe(),
                Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)w1)), 1);
            {
                Vector256<sbyte> y = Vector256.Load(qs + 0);
                Vector256<int> k = Vector256.Load(negLaneSums + 0);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                c0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e * Vector512.Create(scales[0]), c0);
            }
            {
                Vector256<sbyte> y = Vector256.Load(qs + 32);
                Vector256<int> k = Vector256.Load(negLaneSums + 8);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                c1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e * Vector512.Create(scales[1]), c1);
            }
            {
                Vector256<sbyte> y = Vector256.Load(qs + 64);
                Vector256<int> k = Vector256.Load(negLaneSums + 16);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                c2 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e * Vector512.Create(scales[2]), c2);
            }
            {
                Vector256<sbyte> y = Vector256.Load(qs + 96);
                Vector256<int> k = Vector256.Load(negLaneSums + 24);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                c3 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e * Vector512.Create(scales[3]), c3);
            }
            {
                Vector256<sbyte> y = Vector256.Load(qs + 128);
                Vector256<int> k = Vector256.Load(negLaneSums + 32);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                c4 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e * Vector512.Create(scales[4]), c4);
            }
            {
                Vector256<sbyte> y = Vector256.Load(qs + 160);
                Vector256<int> k = Vector256.Load(negLaneSums + 40);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                c5 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e * Vector512.Create(scales[5]), c5);
            }
            {
                Vector256<sbyte> y = Vector256.Load(qs + 192);
                Vector256<int> k = Vector256.Load(negLaneSums + 48);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                c6 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e * Vector512.Create(scales[6]), c6);
            }
            {
                Vector256<sbyte> y = Vector256.Load(qs + 224);
                Vector256<int> k = Vector256.Load(negLaneSums + 56);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                c7 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e * Vector512.Create(scales[7]), c7);
            }
        }
        result[0] = Vector256.Sum(c0.GetLower()); result[8] = Vector256.Sum(c0.GetUpper());
        result[1] = Vector256.Sum(c1.GetLower()); result[9] = Vector256.Sum(c1.GetUpper());
        result[2] = Vector256.Sum(c2.GetLower()); result[10] = Vector256.Sum(c2.GetUpper());
        result[3] = Vector256.Sum(c3.GetLower()); result[11] = Vector256.Sum(c3.GetUpper());
        result[4] = Vector256.Sum(c4.GetLower()); result[12] = Vector256.Sum(c4.GetUpper());
        result[5] = Vector256.Sum(c5.GetLower()); result[13] = Vector256.Sum(c5.GetUpper());
        result[6] = Vector256.Sum(c6.GetLower()); result[14] = Vector256.Sum(c6.GetUpper());
        result[7] = Vector256.Sum(c7.GetLower()); result[15] = Vector256.Sum(c7.GetUpper());
    }

    /// <summary>Four weight rows, <paramref name="rowBytes"/> apart, against a group of eight prepared activation rows:
    /// as <see cref="QuantBlock32x2x8{TDot}"/> with rows 0-1 and 2-3 paired in zmm, so each activation load and scale
    /// broadcast serves four rows. result[8·row + token].</summary>
    public static void QuantBlock32x4x8<TDot>(GgmlType type, byte* w, long rowBytes, sbyte* qs, int* negLaneSums, float* scales, int blocks, float* result)
        where TDot : struct, IInt8DotProduct
    {
        if (type == GgmlType.Q4_0) Kernel4<TDot, Q4_0Unpack>(w, rowBytes, qs, negLaneSums, scales, blocks, result);
        else Kernel4<TDot, Q8_0Unpack>(w, rowBytes, qs, negLaneSums, scales, blocks, result);
    }

    private static void Kernel4<TDot, TUnpack>(byte* w, long rowBytes, sbyte* qs, int* negLaneSums, float* scales, int blocks, float* result)
        where TDot : struct, IInt8DotProduct where TUnpack : struct, IUnsignedWeights
    {
        byte* w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int b = 0; b < blocks; b++, w0 += TUnpack.BlockBytes, w1 += TUnpack.BlockBytes, w2 += TUnpack.BlockBytes, w3 += TUnpack.BlockBytes,
            qs += 256, negLaneSums += 64, scales += 8)
        {
            Vector256<byte> u0 = TUnpack.Load(w0), u1 = TUnpack.Load(w1), u2 = TUnpack.Load(w2), u3 = TUnpack.Load(w3);
            Vector512<float> e01 = Avx512F.InsertVector256(Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)w0)).ToVector512Unsafe(),
                Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)w1)), 1);
            Vector512<float> e23 = Avx512F.InsertVector256(Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)w2)).ToVector512Unsafe(),
                Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)w3)), 1);
            {
                Vector256<sbyte> y = Vector256.Load(qs + 0);
                Vector256<int> k = Vector256.Load(negLaneSums + 0);
                Vector512<float> d = Vector512.Create(scales[0]);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                a0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e01 * d, a0);
                lanes = Avx512F.InsertVector256(TDot.Dot4(k, u2, y).ToVector512Unsafe(), TDot.Dot4(k, u3, y), 1);
                c0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e23 * d, c0);
            }
            {
                Vector256<sbyte> y = Vector256.Load(qs + 32);
                Vector256<int> k = Vector256.Load(negLaneSums + 8);
                Vector512<float> d = Vector512.Create(scales[1]);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                a1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e01 * d, a1);
                lanes = Avx512F.InsertVector256(TDot.Dot4(k, u2, y).ToVector512Unsafe(), TDot.Dot4(k, u3, y), 1);
                c1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e23 * d, c1);
            }
            {
                Vector256<sbyte> y = Vector256.Load(qs + 64);
                Vector256<int> k = Vector256.Load(negLaneSums + 16);
                Vector512<float> d = Vector512.Create(scales[2]);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e01 * d, a2);
                lanes = Avx512F.InsertVector256(TDot.Dot4(k, u2, y).ToVector512Unsafe(), TDot.Dot4(k, u3, y), 1);
                c2 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e23 * d, c2);
            }
            {
                Vector256<sbyte> y = Vector256.Load(qs + 96);
                Vector256<int> k = Vector256.Load(negLaneSums + 24);
                Vector512<float> d = Vector512.Create(scales[3]);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                a3 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e01 * d, a3);
                lanes = Avx512F.InsertVector256(TDot.Dot4(k, u2, y).ToVector512Unsafe(), TDot.Dot4(k, u3, y), 1);
                c3 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e23 * d, c3);
            }
            {
                Vector256<sbyte> y = Vector256.Load(qs + 128);
                Vector256<int> k = Vector256.Load(negLaneSums + 32);
                Vector512<float> d = Vector512.Create(scales[4]);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                a4 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e01 * d, a4);
                lanes = Avx512F.InsertVector256(TDot.Dot4(k, u2, y).ToVector512Unsafe(), TDot.Dot4(k, u3, y), 1);
                c4 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e23 * d, c4);
            }
            {
                Vector256<sbyte> y = Vector256.Load(qs + 160);
                Vector256<int> k = Vector256.Load(negLaneSums + 40);
                Vector512<float> d = Vector512.Create(scales[5]);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                a5 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e01 * d, a5);
                lanes = Avx512F.InsertVector256(TDot.Dot4(k, u2, y).ToVector512Unsafe(), TDot.Dot4(k, u3, y), 1);
                c5 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e23 * d, c5);
            }
            {
                Vector256<sbyte> y = Vector256.Load(qs + 192);
                Vector256<int> k = Vector256.Load(negLaneSums + 48);
                Vector512<float> d = Vector512.Create(scales[6]);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                a6 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e01 * d, a6);
                lanes = Avx512F.InsertVector256(TDot.Dot4(k, u2, y).ToVector512Unsafe(), TDot.Dot4(k, u3, y), 1);
                c6 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e23 * d, c6);
            }
            {
                Vector256<sbyte> y = Vector256.Load(qs + 224);
                Vector256<int> k = Vector256.Load(negLaneSums + 56);
                Vector512<float> d = Vector512.Create(scales[7]);
                Vector512<int> lanes = Avx512F.InsertVector256(TDot.Dot4(k, u0, y).ToVector512Unsafe(), TDot.Dot4(k, u1, y), 1);
                a7 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e01 * d, a7);
                lanes = Avx512F.InsertVector256(TDot.Dot4(k, u2, y).ToVector512Unsafe(), TDot.Dot4(k, u3, y), 1);
                c7 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(lanes), e23 * d, c7);
            }
        }
        result[0] = Vector256.Sum(a0.GetLower()); result[8] = Vector256.Sum(a0.GetUpper()); result[16] = Vector256.Sum(c0.GetLower()); result[24] = Vector256.Sum(c0.GetUpper());
        result[1] = Vector256.Sum(a1.GetLower()); result[9] = Vector256.Sum(a1.GetUpper()); result[17] = Vector256.Sum(c1.GetLower()); result[25] = Vector256.Sum(c1.GetUpper());
        result[2] = Vector256.Sum(a2.GetLower()); result[10] = Vector256.Sum(a2.GetUpper()); result[18] = Vector256.Sum(c2.GetLower()); result[26] = Vector256.Sum(c2.GetUpper());
        result[3] = Vector256.Sum(a3.GetLower()); result[11] = Vector256.Sum(a3.GetUpper()); result[19] = Vector256.Sum(c3.GetLower()); result[27] = Vector256.Sum(c3.GetUpper());
        result[4] = Vector256.Sum(a4.GetLower()); result[12] = Vector256.Sum(a4.GetUpper()); result[20] = Vector256.Sum(c4.GetLower()); result[28] = Vector256.Sum(c4.GetUpper());
        result[5] = Vector256.Sum(a5.GetLower()); result[13] = Vector256.Sum(a5.GetUpper()); result[21] = Vector256.Sum(c5.GetLower()); result[29] = Vector256.Sum(c5.GetUpper());
        result[6] = Vector256.Sum(a6.GetLower()); result[14] = Vector256.Sum(a6.GetUpper()); result[22] = Vector256.Sum(c6.GetLower()); result[30] = Vector256.Sum(c6.GetUpper());
        result[7] = Vector256.Sum(a7.GetLower()); result[15] = Vector256.Sum(a7.GetUpper()); result[23] = Vector256.Sum(c7.GetLower()); result[31] = Vector256.Sum(c7.GetUpper());
    }

    private interface IUnsignedWeights
    {
        static abstract int BlockBytes { get; }
        static abstract Vector256<byte> Load(byte* block);
    }

    private struct Q4_0Unpack : IUnsignedWeights
    {
        public static int BlockBytes => BlockLayout.Q4_0Bytes;
        public static Vector256<byte> Load(byte* block) => UnsignedWeights(block, q4: true);
    }

    private struct Q8_0Unpack : IUnsignedWeights
    {
        public static int BlockBytes => BlockLayout.Q8_0Bytes;
        public static Vector256<byte> Load(byte* block) => UnsignedWeights(block, q4: false);
    }
}
