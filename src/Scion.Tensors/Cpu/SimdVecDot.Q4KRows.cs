using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors.Quant;

namespace Scion.Tensors.Cpu;

/// <summary>
/// Q4_K decode (GEMV) at Avx512: four weight rows against one Q8_K activation row. The single-row
/// <see cref="Q4_K512"/> spends most of a super-block on per-row overhead around its eight maddubs/madd: a scalar
/// scale unpack, two horizontal sums, two scalar half lookups and scalar float steps. Here those run once for four
/// rows, lane = row: the 12 packed scale bytes of four rows unpack in one 512-bit vector (128-bit lane r = row r),
/// the min terms of four rows come out of one vpmaddwd, the four rows' integer totals are reduced together by a
/// transpose-and-add tree, and <see cref="KQuantAccumulate.Q4_K"/>'s float steps run on a 4-lane vector. Integer
/// totals are exact and each lane performs the single-row float sequence (no FMA), so every row keeps the bits of
/// its single-row dot. The nibble split is one vgf2p8affineqb where GFNI exists, and the next row groups are
/// prefetched by hand: four interleaved row streams are more than the hardware prefetcher follows.
/// <para>One core, TinyLlama FFN-sized rows: 37 GB/s of weights from cache against 24 for four single-row dots; from
/// DRAM 27 against 22.</para>
/// </summary>
internal static unsafe partial class SimdVecDot
{
    /// <summary>Rows <c>w + r·rowBytes</c> for r in 0..3 against the Q8_K row <paramref name="a"/>; result[r].
    /// Always fully optimized, so the tests run the code decode runs (the tier-0 code differs: see Q4KChunkRows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_K512Rows4<TSplit>(byte* w, long rowBytes, byte* a, int n, float* result) where TSplit : struct, INibbleSplit
    {
        Vector128<float> sum = Vector128<float>.Zero;
        Vector512<byte> pair0 = ScalePairPattern(0), pair1 = ScalePairPattern(1), pair2 = ScalePairPattern(2), pair3 = ScalePairPattern(3);
        var unpack = ScaleUnpackK4Rows4.Create();
        byte* w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        for (int b = 0; b < n / 256; b++, a += BlockLayout.Q8_KBytes)
        {
            long o = (long)b * BlockLayout.Q4_KBytes;
            // Four interleaved row streams defeat the hardware prefetcher (one core streamed 16 GB/s from DRAM against
            // 22 for the single-row walk): fetch the rows two groups ahead (contiguous) at the pace this group
            // consumes its 4 x 144 bytes, 9 lines per block. One group ahead gave 23 GB/s, two 28.
            byte* next = w0 + 8 * rowBytes + 4 * o;
            Sse.Prefetch0(next); Sse.Prefetch0(next + 64); Sse.Prefetch0(next + 128); Sse.Prefetch0(next + 192); Sse.Prefetch0(next + 256);
            Sse.Prefetch0(next + 320); Sse.Prefetch0(next + 384); Sse.Prefetch0(next + 448); Sse.Prefetch0(next + 512);
            Vector512<uint> heads = LoadHeads(w0 + o, w1 + o, w2 + o, w3 + o);
            unpack.Unpack(heads, out Vector512<short> scales, out Vector512<short> mins);

            // Σ_j min_j·(sum of sub-block j's 32 activations), four partial sums per row: the pair sums of the
            // 16-value block sums fit in 16 bits (|Σ| ≤ 32·128), so one vpmaddwd against the mins serves four rows.
            Vector256<int> pairSums = Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(a + BlockLayout.Q8_KBsums)), Vector256.Create((short)1));
            Vector512<short> pairs = Avx512F.VL.ConvertToVector128Int16(pairSums).ToVector256Unsafe().ToVector512Unsafe();
            pairs = Avx512F.Shuffle4x128(pairs.AsInt32(), pairs.AsInt32(), 0).AsInt16();
            Vector512<int> minTerms = Avx512BW.MultiplyAddAdjacent(mins, pairs);

            sbyte* qa = (sbyte*)(a + BlockLayout.Q8_KQs);
            Vector512<sbyte> a0 = Vector512.Load(qa), a1 = Vector512.Load(qa + 64), a2 = Vector512.Load(qa + 128), a3 = Vector512.Load(qa + 192);
            Vector512<int> s0 = Q4KRowBlock<TSplit>(w0 + o, Broadcast128(scales, 0x00), a0, a1, a2, a3, pair0, pair1, pair2, pair3);
            Vector512<int> s1 = Q4KRowBlock<TSplit>(w1 + o, Broadcast128(scales, 0x55), a0, a1, a2, a3, pair0, pair1, pair2, pair3);
            Vector512<int> s2 = Q4KRowBlock<TSplit>(w2 + o, Broadcast128(scales, 0xAA), a0, a1, a2, a3, pair0, pair1, pair2, pair3);
            Vector512<int> s3 = Q4KRowBlock<TSplit>(w3 + o, Broadcast128(scales, 0xFF), a0, a1, a2, a3, pair0, pair1, pair2, pair3);
            Vector256<float> totals = Vector256.ConvertToSingle(RowTotals4(s0, s1, s2, s3, minTerms));
            Vector256<float> superScales = SuperScales4(heads);   // [d of rows 0..3, dmin of rows 0..3]

            Vector128<float> dx = Vector128.Create(*(float*)a);
            // KQuantAccumulate.Q4_K lane by lane: sum − (dx·dmin)·summ, then + (dx·d)·sumi.
            sum -= dx * superScales.GetUpper() * totals.GetUpper();
            sum += dx * superScales.GetLower() * totals.GetLower();
        }
        sum.Store(result);
    }

    // The first 16 bytes of four Q4_K blocks, 128-bit lane r = row r: dwords [d | dmin << 16, u0, u1, u2], the
    // super-scale pair and the 12 packed scale bytes.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<uint> LoadHeads(byte* b0, byte* b1, byte* b2, byte* b3) =>
        Vector512.Create(Vector256.Create(Vector128.Load(b0), Vector128.Load(b1)), Vector256.Create(Vector128.Load(b2), Vector128.Load(b3))).AsUInt32();

    // The fp16 super-scales of four blocks widened exactly (the rescale of HalfConvert.HalfToFloat, so the bits of
    // the lookup table): [d0, d1, d2, d3, dmin0, dmin1, dmin2, dmin3].
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> SuperScales4(Vector512<uint> heads)
    {
        Vector128<uint> packed = Avx512F.PermuteVar16x32(heads.AsInt32(), Vector512.Create(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)).GetLower().GetLower().AsUInt32();
        Vector256<uint> h = Vector256.Create(packed & Vector128.Create(0xFFFFu), packed >> 16);
        Vector256<uint> em = (h & Vector256.Create(0x7FFFu)) << 13;
        Vector256<uint> sign = (h & Vector256.Create(0x8000u)) << 16;
        Vector256<uint> finite = (em.AsSingle() * Vector256.Create(5.192296858534828e+33f)).AsUInt32();
        Vector256<uint> special = em | Vector256.Create(0x7F800000u);
        return (Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(em, Vector256.Create(0x7C00u << 13)), special, finite) | sign).AsSingle();
    }

    // One row's super-block: Σ over the four 64-value chunks of scale-weighted nibble·activation pairs, 16 lanes.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Q4KRowBlock<TSplit>(byte* block, Vector512<short> rowScales, Vector512<sbyte> a0, Vector512<sbyte> a1,
        Vector512<sbyte> a2, Vector512<sbyte> a3, Vector512<byte> pair0, Vector512<byte> pair1, Vector512<byte> pair2, Vector512<byte> pair3)
        where TSplit : struct, INibbleSplit
    {
        ulong* q = (ulong*)(block + BlockLayout.Q4_KQs);
        Vector512<int> acc = Q4KChunkRows<TSplit>(q, a0, Avx512BW.Shuffle(rowScales.AsByte(), pair0).AsInt16());
        acc += Q4KChunkRows<TSplit>(q + 4, a1, Avx512BW.Shuffle(rowScales.AsByte(), pair1).AsInt16());
        acc += Q4KChunkRows<TSplit>(q + 8, a2, Avx512BW.Shuffle(rowScales.AsByte(), pair2).AsInt16());
        acc += Q4KChunkRows<TSplit>(q + 12, a3, Avx512BW.Shuffle(rowScales.AsByte(), pair3).AsInt16());
        return acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Q4KChunkRows<TSplit>(ulong* q, Vector512<sbyte> qa, Vector512<short> scalePair) where TSplit : struct, INibbleSplit
    {
        // The 32-byte chunk in both halves. (Avx512F.BroadcastVector256ToVector512 loads only 16 bytes in .NET 10.0
        // optimized code — tier-0 code is right, so only fully optimized tests catch it: use the DQ form.)
        Vector512<byte> nibbles = TSplit.Split(Avx512DQ.BroadcastVector256ToVector512((int*)q).AsByte());
        return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(nibbles, qa), scalePair);
    }

    /// <summary>A 32-byte chunk of nibbles, present in both 256-bit halves → its low nibbles (low half) and high
    /// nibbles (high half) as bytes 0..15: sub-blocks 2c and 2c+1, lined up with 64 contiguous activations.</summary>
    internal interface INibbleSplit
    {
        static abstract Vector512<byte> Split(Vector512<byte> chunkTwice);
    }

    /// <summary>One vgf2p8affineqb: GF(2) bit matrices (qword byte 7−i selects the input bits of output bit i) that
    /// keep bits 0..3 in the low half and move bits 4..7 to 0..3 in the high half.</summary>
    internal struct GfniNibbleSplit : INibbleSplit
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<byte> Split(Vector512<byte> chunkTwice) =>
            // (Element-wise Create so the JIT emits one constant; Create(Vector256, Vector256) is rebuilt per use.)
            Gfni.V512.GaloisFieldAffineTransform(chunkTwice, Vector512.Create(0x0102040800000000UL, 0x0102040800000000UL, 0x0102040800000000UL,
                0x0102040800000000UL, 0x1020408000000000UL, 0x1020408000000000UL, 0x1020408000000000UL, 0x1020408000000000UL).AsByte(), 0);
    }

    /// <summary>Without GFNI: words shifted right by 0 (low half) or 4 (high half), then masked.</summary>
    internal struct ShiftNibbleSplit : INibbleSplit
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<byte> Split(Vector512<byte> chunkTwice) =>
            Avx512BW.ShiftRightLogicalVariable(chunkTwice.AsUInt16(), Vector512.Create(0UL, 0, 0, 0, 0x0004000400040004, 0x0004000400040004,
                0x0004000400040004, 0x0004000400040004).AsUInt16()).AsByte() & Vector512.Create((byte)0x0F);
    }

    // 128-bit lane r of v in all four lanes (control 0x00, 0x55, 0xAA, 0xFF for r = 0..3).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Broadcast128(Vector512<short> v, [ConstantExpected] byte control) =>
        Avx512F.Shuffle4x128(v.AsInt32(), v.AsInt32(), control).AsInt16();

    // vpshufb control on a lane holding the 8 scale words: words 0..15 (lanes 0, 1) take scale 2c, words 16..31
    // (lanes 2, 3) take scale 2c + 1.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> ScalePairPattern(int c)
    {
        Vector128<byte> even = Vector128.Create((ushort)(((4 * c + 1) << 8) | (4 * c))).AsByte();
        Vector128<byte> odd = Vector128.Create((ushort)(((4 * c + 3) << 8) | (4 * c + 2))).AsByte();
        return Vector512.Create(Vector256.Create(even, even), Vector256.Create(odd, odd));
    }

    /// <summary>The packed scales of four Q4_K blocks (one per row, from <see cref="LoadHeads"/>) at once: the
    /// word-wide mask-and-shift steps of <see cref="UnpackScalesK4"/> in dword lanes. 128-bit lane r of the scales
    /// holds row r's eight sub-block scales as words, the same lane of the mins its eight mins.</summary>
    internal readonly struct ScaleUnpackK4Rows4
    {
        // Per lane, dwords [scalesLo, scalesHi, minsLo, minsHi]:
        //   scalesLo = u0 & 0x3f…,  scalesHi = (u2 & 0x0f…)        | ((u0 >> 6) & 0x03…) << 4
        //   minsLo   = u1 & 0x3f…,  minsHi   = ((u2 >> 4) & 0x0f…) | ((u1 >> 6) & 0x03…) << 4
        private readonly Vector512<uint> _shifts, _masks, _topMasks;

        // Built once before a kernel's loop so the constants stay in registers (an out-of-line constructor call
        // would make the JIT spill every live vector around it).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ScaleUnpackK4Rows4 Create() => new(0);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private ScaleUnpackK4Rows4(int _)
        {
            _shifts = Vector512.Create(0u, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4);
            _masks = Vector512.Create(0x3f3f3f3fu, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f,
                0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f);
            _topMasks = Vector512.Create(0u, 0x03030303, 0, 0x03030303, 0, 0x03030303, 0, 0x03030303,
                0, 0x03030303, 0, 0x03030303, 0, 0x03030303, 0, 0x03030303);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Unpack(Vector512<uint> heads, out Vector512<short> scales, out Vector512<short> mins)
        {
            Vector512<uint> v = Avx512F.Shuffle(heads, 0b11_10_11_01);    // [u0, u2, u1, u2]
            Vector512<uint> top = Avx512F.Shuffle(heads, 0b10_10_01_01);  // [u0, u0, u1, u1]
            Vector512<byte> unpacked = ((Avx512F.ShiftRightLogicalVariable(v, _shifts) & _masks) | (((top >> 6) & _topMasks) << 4)).AsByte();
            scales = Avx512BW.UnpackLow(unpacked, Vector512<byte>.Zero).AsInt16();
            mins = Avx512BW.UnpackHigh(unpacked, Vector512<byte>.Zero).AsInt16();
        }
    }

    /// <summary>Four rows' 16-lane integer sums and their min terms (4 lanes per row in 128-bit lane r) reduced
    /// together: [Σ s0, Σ s1, Σ s2, Σ s3, Σ m_0, Σ m_1, Σ m_2, Σ m_3]. Integer, so the order is free.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> RowTotals4(Vector512<int> s0, Vector512<int> s1, Vector512<int> s2, Vector512<int> s3, Vector512<int> m)
    {
        // Lanes [s0 0+2, s0 1+3, s1 0+2, s1 1+3], then lane r = row r's four partial sums.
        Vector512<int> s01 = Avx512F.Shuffle4x128(s0, s1, 0x44) + Avx512F.Shuffle4x128(s0, s1, 0xEE);
        Vector512<int> s23 = Avx512F.Shuffle4x128(s2, s3, 0x44) + Avx512F.Shuffle4x128(s2, s3, 0xEE);
        Vector512<int> s = Avx512F.Shuffle4x128(s01, s23, 0x88) + Avx512F.Shuffle4x128(s01, s23, 0xDD);
        // Per lane [s.0 + s.2, s.1 + s.3, m.0 + m.2, m.1 + m.3], then [Σs, Σs, Σm, Σm].
        Vector512<int> z = Avx512F.UnpackLow(s.AsInt64(), m.AsInt64()).AsInt32() + Avx512F.UnpackHigh(s.AsInt64(), m.AsInt64()).AsInt32();
        z += Avx512F.Shuffle(z, 0b10_11_00_01);
        return Avx512F.PermuteVar16x32(z, Vector512.Create(0, 4, 8, 12, 2, 6, 10, 14, 0, 0, 0, 0, 0, 0, 0, 0)).GetLower();
    }
}
