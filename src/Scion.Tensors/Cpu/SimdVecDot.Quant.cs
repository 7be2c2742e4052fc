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
            float d = HalfConvert.HalfToFloatLookup(*(ushort*)w) * HalfConvert.HalfToFloatLookup(*(ushort*)a);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot), Vector256.Create(d), acc);
        }
        return Vector256.Sum(acc);
    }

    public static float Q4_0<TDot>(byte* w, byte* a, int n) where TDot : struct, IInt8DotProduct
    {
        Vector256<float> acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 32; b++, w += BlockLayout.Q4_0Bytes, a += BlockLayout.Q8_0Bytes)
        {
            Vector256<sbyte> qa = Vector256.Load((sbyte*)(a + 2));
            Vector256<int> dot = Q4_0Lanes<TDot>(w, qa, EightTimesLaneSums<TDot>(qa));
            float d = HalfConvert.HalfToFloatLookup(*(ushort*)w) * HalfConvert.HalfToFloatLookup(*(ushort*)a);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot), Vector256.Create(d), acc);
        }
        return Vector256.Sum(acc);
    }

    /// <summary>Four Q4_0 rows, <paramref name="rowBytes"/> apart, against one Q8_0 activation row (decode): the activation
    /// block, its scale and its lane sums are loaded once for four rows. Each row's lanes and float steps are those of
    /// <see cref="Q4_0{TDot}"/>, so the results are bit-identical to four single-row dots.</summary>
    public static void Q4_0Rows4<TDot>(byte* w, long rowBytes, byte* a, int n, float* result) where TDot : struct, IInt8DotProduct
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        byte* w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        for (int b = 0; b < n / 32; b++, a += BlockLayout.Q8_0Bytes)
        {
            Vector256<sbyte> qa = Vector256.Load((sbyte*)(a + 2));
            Vector256<int> bias = EightTimesLaneSums<TDot>(qa);
            float da = HalfConvert.HalfToFloatLookup(*(ushort*)a);
            long o = (long)b * BlockLayout.Q4_0Bytes;
            // The four rows are short streams the hardware prefetcher follows poorly (7 GB/s from DRAM, 23 with
            // this): walk the next four rows, which are contiguous, at the pace this group consumes its 4x18 bytes.
            byte* next = w0 + 4 * rowBytes + 4 * o;
            Sse.Prefetch0(next);
            Sse.Prefetch0(next + 64);
            c0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Q4_0Lanes<TDot>(w0 + o, qa, bias)), Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)(w0 + o)) * da), c0);
            c1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Q4_0Lanes<TDot>(w1 + o, qa, bias)), Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)(w1 + o)) * da), c1);
            c2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Q4_0Lanes<TDot>(w2 + o, qa, bias)), Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)(w2 + o)) * da), c2);
            c3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Q4_0Lanes<TDot>(w3 + o, qa, bias)), Vector256.Create(HalfConvert.HalfToFloatLookup(*(ushort*)(w3 + o)) * da), c3);
        }
        result[0] = Vector256.Sum(c0); result[1] = Vector256.Sum(c1); result[2] = Vector256.Sum(c2); result[3] = Vector256.Sum(c3);
    }

    // Lane i = Σ_{k=4i..4i+3} (nibble_k − 8)·a_k, computed as Σ nibble·a − 8·Σ a: the nibbles are already the unsigned
    // operand u8×s8 instructions want (no abs/sign pair), and 8·Σa depends on the activations only. Integer lanes are
    // exact, so they equal the signed-weight lanes bit for bit.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q4_0Lanes<TDot>(byte* block, Vector256<sbyte> qa, Vector256<int> eightTimesLaneSums) where TDot : struct, IInt8DotProduct
    {
        Vector128<byte> raw = Vector128.Load(block + 2);
        Vector256<byte> nibbles = Vector256.Create(raw, (raw.AsUInt16() >> 4).AsByte()) & Vector256.Create((byte)0x0F);
        return TDot.Dot4(Vector256<int>.Zero, nibbles, qa) - eightTimesLaneSums;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> EightTimesLaneSums<TDot>(Vector256<sbyte> qa) where TDot : struct, IInt8DotProduct =>
        TDot.Dot4(Vector256<int>.Zero, Vector256.Create((byte)8), qa);

    // u8×s8 instructions need one unsigned side: move x's sign onto y (|x|·sign(x)y = x·y).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SignedDot<TDot>(Vector256<sbyte> x, Vector256<sbyte> y) where TDot : struct, IInt8DotProduct =>
        TDot.Dot4(Vector256<int>.Zero, Avx2.Abs(x), Avx2.Sign(y, x));

    public static float Q4_K<TDot>(byte* w, byte* a, int n) where TDot : struct, IInt8DotProduct
    {
        float sum = 0;
        Vector256<byte> low = Vector256.Create((byte)0x0F);
        for (int b = 0; b < n / 256; b++, w += BlockLayout.Q4_KBytes, a += BlockLayout.Q8_KBytes)
        {
            UnpackScalesK4(w + BlockLayout.Q4_KScales, out ulong scales, out ulong mins);
            // Σ_j min_j·(sum of the 32 activations of sub-block j): pairs of 16-value block sums, weighted by the mins.
            Vector256<int> pairSums = Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(a + BlockLayout.Q8_KBsums)), Vector256.Create((short)1));
            Vector256<int> minTerms = Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(mins).AsByte()), pairSums);
            Vector256<short> scales16 = Avx2.ConvertToVector256Int16(Vector128.CreateScalar(scales).AsByte());
            byte* q = w + BlockLayout.Q4_KQs;
            sbyte* qa = (sbyte*)(a + BlockLayout.Q8_KQs);
            Vector256<int> sumi = Vector256<int>.Zero;
            for (int c = 0; c < 4; c++)
            {
                Vector256<byte> raw = Vector256.Load(q + 32 * c);
                Vector256<byte> lo = raw & low;
                Vector256<byte> hi = (raw.AsUInt16() >> 4).AsByte() & low;
                sumi = TDot.DotScaled(sumi, lo, Vector256.Load(qa + 64 * c), Broadcast(scales16, 2 * c));
                sumi = TDot.DotScaled(sumi, hi, Vector256.Load(qa + 64 * c + 32), Broadcast(scales16, 2 * c + 1));
            }
            // Integer totals are exact in any lane order; the float steps follow KQuantAccumulate (llama.cpp's order).
            sum = KQuantAccumulate.Q4_K(sum, *(float*)a, HalfConvert.HalfToFloatLookup(*(ushort*)w), HalfConvert.HalfToFloatLookup(*(ushort*)(w + 2)),
                Vector256.Sum(sumi), Vector256.Sum(minTerms));
        }
        return sum;
    }

    /// <summary>
    /// Q4_K at the Avx512 level: a 32-byte chunk of nibbles becomes one 512-bit vector (low nibbles, then high) that
    /// lines up with 64 contiguous activations, so each chunk takes one vpmaddubsw and one vpmaddwd against the two
    /// sub-block scales — no per-sub-block scale broadcasts. There is no 512-bit VNNI in .NET, but the 512-bit
    /// maddubs/madd pair does twice the work per instruction of the 256-bit VNNI pair. Integer totals are exact, so
    /// the result has the bits of every other Q4_K kernel.
    /// </summary>
    public static float Q4_K512(byte* w, byte* a, int n)
    {
        float sum = 0;
        Vector512<byte> low = Vector512.Create((byte)0x0F);
        Vector512<short> i0 = ScalePairIndex(0), i1 = ScalePairIndex(1), i2 = ScalePairIndex(2), i3 = ScalePairIndex(3);
        for (int b = 0; b < n / 256; b++, w += BlockLayout.Q4_KBytes, a += BlockLayout.Q8_KBytes)
        {
            UnpackScalesK4(w + BlockLayout.Q4_KScales, out ulong scales, out ulong mins);
            // The 8 scales as words 0..7 (vpmovzxbw; the upper words are never indexed).
            Vector512<short> words = Avx512BW.ConvertToVector512Int16(Vector128.CreateScalar(scales).AsByte().ToVector256Unsafe());
            Vector256<int> pairSums = Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(a + BlockLayout.Q8_KBsums)), Vector256.Create((short)1));
            Vector256<int> minTerms = Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(mins).AsByte()), pairSums);
            byte* q = w + BlockLayout.Q4_KQs;
            sbyte* qa = (sbyte*)(a + BlockLayout.Q8_KQs);
            Vector512<int> acc = Q4KChunk512(q, qa, low, Avx512BW.PermuteVar32x16(words, i0));
            acc += Q4KChunk512(q + 32, qa + 64, low, Avx512BW.PermuteVar32x16(words, i1));
            acc += Q4KChunk512(q + 64, qa + 128, low, Avx512BW.PermuteVar32x16(words, i2));
            acc += Q4KChunk512(q + 96, qa + 192, low, Avx512BW.PermuteVar32x16(words, i3));
            sum = KQuantAccumulate.Q4_K(sum, *(float*)a, HalfConvert.HalfToFloatLookup(*(ushort*)w), HalfConvert.HalfToFloatLookup(*(ushort*)(w + 2)),
                Vector512.Sum(acc), Vector256.Sum(minTerms));
        }
        return sum;
    }

    // Chunk c: 32 bytes of nibbles = sub-blocks 2c (low) and 2c+1 (high) = activations 64c..64c+63 in order.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Q4KChunk512(byte* q, sbyte* qa, Vector512<byte> low, Vector512<short> scalePair)
    {
        Vector256<byte> raw = Vector256.Load(q);
        Vector512<byte> nibbles = Vector512.Create(raw, (raw.AsUInt16() >> 4).AsByte()) & low;
        return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(nibbles, Vector512.Load(qa)), scalePair);
    }

    // vpermw indices: words 0..15 take scale 2c, words 16..31 take scale 2c+1.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> ScalePairIndex(int c) =>
        Vector512.Create(Vector256.Create((short)(2 * c)), Vector256.Create((short)(2 * c + 1)));

    /// <summary>The 12 packed bytes of a Q4_K block → 8 six-bit scales and 8 mins, one byte each, with three word-wide
    /// mask-and-shift steps instead of eight per-sub-block unpacks (same result as <see cref="BlockLayout.ScaleMinK4"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void UnpackScalesK4(byte* packed, out ulong scales, out ulong mins)
    {
        const uint six = 0x3f3f3f3f, four = 0x0f0f0f0f, two = 0x03030303;
        uint u0 = Unsafe.ReadUnaligned<uint>(packed), u1 = Unsafe.ReadUnaligned<uint>(packed + 4), u2 = Unsafe.ReadUnaligned<uint>(packed + 8);
        uint scalesLo = u0 & six;
        uint scalesHi = (u2 & four) | (((u0 >> 6) & two) << 4);
        uint minsLo = u1 & six;
        uint minsHi = ((u2 >> 4) & four) | (((u1 >> 6) & two) << 4);
        scales = scalesLo | ((ulong)scalesHi << 32);
        mins = minsLo | ((ulong)minsHi << 32);
    }

    // Word j of the scales, repeated over all 16 lanes: bring its dword everywhere, then pick the even or odd word.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Broadcast(Vector256<short> words, int j) =>
        Avx2.Shuffle(Avx2.PermuteVar8x32(words.AsInt32(), Vector256.Create(j >> 1)).AsByte(),
            (j & 1) == 0 ? Vector256.Create((ushort)0x0100).AsByte() : Vector256.Create((ushort)0x0302).AsByte()).AsInt16();

    // Words 2k (lanes 0..7) and 2k+1 (lanes 8..15): the scales of two consecutive 16-value groups.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> PairOfScales(Vector256<short> words, int k) =>
        Avx2.Shuffle(Avx2.PermuteVar8x32(words.AsInt32(), Vector256.Create(k)).AsByte(),
            Vector256.Create(Vector128.Create((ushort)0x0100), Vector128.Create((ushort)0x0302)).AsByte()).AsInt16();

    public static float Q6_K<TDot>(byte* w, byte* a, int n) where TDot : struct, IInt8DotProduct
    {
        float sum = 0;
        Vector256<byte> m4 = Vector256.Create((byte)0x0F);
        Vector256<byte> m2 = Vector256.Create((byte)0x03);
        for (int b = 0; b < n / 256; b++, w += BlockLayout.Q6_KBytes, a += BlockLayout.Q8_KBytes)
        {
            float dx = *(float*)a;
            Vector256<short> scales = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(w + BlockLayout.Q6_KScales)));
            // The -32 bias of every 6-bit level, folded out through the activation block sums: Σ_g scale_g·bsum_g·32.
            Vector256<int> sumi = Vector256<int>.Zero - (Avx2.MultiplyAddAdjacent(scales, Vector256.Load((short*)(a + BlockLayout.Q8_KBsums))) << 5);
            sbyte* qa = (sbyte*)(a + BlockLayout.Q8_KQs);
            for (int half = 0; half < 2; half++)
            {
                byte* ql = w + 64 * half;
                byte* qh = w + BlockLayout.Q6_KQh + 32 * half;
                sbyte* y = qa + 128 * half;
                Vector256<byte> l0 = Vector256.Load(ql), l1 = Vector256.Load(ql + 32), h = Vector256.Load(qh);
                Vector256<ushort> h16 = h.AsUInt16();
                Vector256<byte> q1 = (l0 & m4) | ((h & m2).AsUInt16() << 4).AsByte();
                Vector256<byte> q2 = (l1 & m4) | (((h16 >> 2).AsByte() & m2).AsUInt16() << 4).AsByte();
                Vector256<byte> q3 = ((l0.AsUInt16() >> 4).AsByte() & m4) | (((h16 >> 4).AsByte() & m2).AsUInt16() << 4).AsByte();
                Vector256<byte> q4 = ((l1.AsUInt16() >> 4).AsByte() & m4) | (((h16 >> 6).AsByte() & m2).AsUInt16() << 4).AsByte();
                sumi = TDot.DotScaled(sumi, q1, Vector256.Load(y), PairOfScales(scales, 4 * half));
                sumi = TDot.DotScaled(sumi, q2, Vector256.Load(y + 32), PairOfScales(scales, 4 * half + 1));
                sumi = TDot.DotScaled(sumi, q3, Vector256.Load(y + 64), PairOfScales(scales, 4 * half + 2));
                sumi = TDot.DotScaled(sumi, q4, Vector256.Load(y + 96), PairOfScales(scales, 4 * half + 3));
            }
            sum = KQuantAccumulate.Q6_K(sum, dx, HalfConvert.HalfToFloatLookup(*(ushort*)(w + BlockLayout.Q6_KD)), Vector256.Sum(sumi));
        }
        return sum;
    }

}
