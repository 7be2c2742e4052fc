using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors.Cpu;
using Scion.Tensors.Quant;

namespace Scion.Tensors.Packed;

/// <summary>What the packed kernels need of one Q8_0 activation block besides its quants: the scale as float and
/// −offset·Σa (offset 8 for Q4_0, 128 for Q8_0), which turns the unsigned weight dot into the signed one.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ActivationSide
{
    public float Scale;
    public int Bias;

    /// <summary>Sides of one Q8_0 activation row [blocks].</summary>
    public static void Fill(byte* row, int blocks, int offset, ActivationSide* side)
    {
        for (int b = 0; b < blocks; b++, row += BlockLayout.Q8_0Bytes)
        {
            Vector256<sbyte> q = Vector256.Load((sbyte*)(row + 2));
            (Vector256<short> lo, Vector256<short> hi) = Vector256.Widen(q);
            side[b].Scale = HalfConvert.HalfToFloatLookup(*(ushort*)row);
            side[b].Bias = -offset * Vector256.Sum(lo + hi);
        }
    }
}

/// <summary>The unsigned weight vectors of one packed block: u_k pairs with activation column quad k (bytes 4k..4k+3).</summary>
internal unsafe interface IPackedFormat
{
    static abstract int QuantBytes { get; }
    static abstract int Offset { get; }

    static abstract void Load(byte* q, out Vector256<byte> u0, out Vector256<byte> u1, out Vector256<byte> u2, out Vector256<byte> u3,
        out Vector256<byte> u4, out Vector256<byte> u5, out Vector256<byte> u6, out Vector256<byte> u7);
}

internal unsafe struct PackedQ4_0 : IPackedFormat
{
    public static int QuantBytes => 128;
    public static int Offset => 8;

    // Vector k carries quad k in its low nibbles and quad k + 4 (columns 16 + 4k..) in its high nibbles.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load(byte* q, out Vector256<byte> u0, out Vector256<byte> u1, out Vector256<byte> u2, out Vector256<byte> u3,
        out Vector256<byte> u4, out Vector256<byte> u5, out Vector256<byte> u6, out Vector256<byte> u7)
    {
        Vector256<byte> m = Vector256.Create((byte)0x0F);
        Vector256<byte> v0 = Vector256.Load(q), v1 = Vector256.Load(q + 32), v2 = Vector256.Load(q + 64), v3 = Vector256.Load(q + 96);
        u0 = v0 & m; u1 = v1 & m; u2 = v2 & m; u3 = v3 & m;
        u4 = (v0.AsUInt16() >> 4).AsByte() & m; u5 = (v1.AsUInt16() >> 4).AsByte() & m;
        u6 = (v2.AsUInt16() >> 4).AsByte() & m; u7 = (v3.AsUInt16() >> 4).AsByte() & m;
    }
}

internal unsafe struct PackedQ8_0 : IPackedFormat
{
    public static int QuantBytes => 256;
    public static int Offset => 128;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load(byte* q, out Vector256<byte> u0, out Vector256<byte> u1, out Vector256<byte> u2, out Vector256<byte> u3,
        out Vector256<byte> u4, out Vector256<byte> u5, out Vector256<byte> u6, out Vector256<byte> u7)
    {
        u0 = Vector256.Load(q); u1 = Vector256.Load(q + 32); u2 = Vector256.Load(q + 64); u3 = Vector256.Load(q + 96);
        u4 = Vector256.Load(q + 128); u5 = Vector256.Load(q + 160); u6 = Vector256.Load(q + 192); u7 = Vector256.Load(q + 224);
    }
}

/// <summary>
/// Packed 8-row kernels. Lane r of every vector is row r of the group; per row the float steps are, block by block in
/// order, acc = fma(float(Σ w·a), d_w·d_a, acc) with one accumulator, the order of
/// <see cref="Reference.ReferencePackedDot"/>. The integer lanes are exact, so GEMV, every GEMM tile and the scalar
/// twin give the same bits for a token.
/// </summary>
internal static unsafe class PackedKernels
{
    // Σ_k u_k·a[quad k] onto init, in two chains so consecutive dots need not wait on each other.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot8<TDot>(Vector256<byte> u0, Vector256<byte> u1, Vector256<byte> u2, Vector256<byte> u3,
        Vector256<byte> u4, Vector256<byte> u5, Vector256<byte> u6, Vector256<byte> u7, byte* a, Vector256<int> init)
        where TDot : struct, IInt8DotProduct
    {
        Vector256<int> x = TDot.Dot4(init, u0, Quad(a, 0));
        Vector256<int> y = TDot.Dot4(Vector256<int>.Zero, u1, Quad(a, 1));
        x = TDot.Dot4(x, u2, Quad(a, 2));
        y = TDot.Dot4(y, u3, Quad(a, 3));
        x = TDot.Dot4(x, u4, Quad(a, 4));
        y = TDot.Dot4(y, u5, Quad(a, 5));
        x = TDot.Dot4(x, u6, Quad(a, 6));
        y = TDot.Dot4(y, u7, Quad(a, 7));
        return x + y;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Quad(byte* a, int k) => Vector256.Create(*(int*)(a + 4 * k)).AsSByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Scales(byte* group, int blocks, int b, int quantBytes) =>
        HalfConvert.FiniteHalfToFloat8(Vector128.Load((ushort*)(group + (long)blocks * quantBytes) + 8 * b));

    /// <summary>One group of 8 rows against one token: <paramref name="y8"/>[r] = row r · activation row.</summary>
    /// <param name="act">Q8_0 activation row [blocks]</param>
    /// <param name="side">its sides [blocks]</param>
    /// <param name="next">where the next group this thread reads starts: fetched as this one is consumed</param>
    public static void Gemv<TDot, TFormat>(byte* group, int blocks, byte* act, ActivationSide* side, float* y8, byte* next)
        where TDot : struct, IInt8DotProduct where TFormat : struct, IPackedFormat
    {
        Vector256<float> acc = Vector256<float>.Zero;
        byte* q = group, ahead = next;
        ushort* scales = (ushort*)(group + (long)blocks * TFormat.QuantBytes), aheadScales = (ushort*)(next + (long)blocks * TFormat.QuantBytes);
        byte* a = act + 2;
        for (int b = 0; b < blocks; b++, q += TFormat.QuantBytes, ahead += TFormat.QuantBytes, scales += 8, aheadScales += 8, a += BlockLayout.Q8_0Bytes)
        {
            // The hardware prefetcher follows the two streams of a group (quants, scales) poorly on this class of
            // machine: walk the next group at the pace this one is consumed, one group ahead.
            Sse.Prefetch0(ahead);
            Sse.Prefetch0(ahead + 64);
            if (TFormat.QuantBytes == 256)
            {
                Sse.Prefetch0(ahead + 128);
                Sse.Prefetch0(ahead + 192);
            }
            Sse.Prefetch0(aheadScales);
            TFormat.Load(q, out var u0, out var u1, out var u2, out var u3, out var u4, out var u5, out var u6, out var u7);
            Vector256<int> lanes = Dot8<TDot>(u0, u1, u2, u3, u4, u5, u6, u7, a, Vector256.Create(side[b].Bias));
            Vector256<float> d = HalfConvert.FiniteHalfToFloat8(Vector128.Load(scales)) * Vector256.Create(side[b].Scale);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(lanes), d, acc);
        }
        acc.Store(y8);
    }

    // One token's step on one block: its lanes onto its accumulator.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step<TDot>(Vector256<float> c, Vector256<byte> u0, Vector256<byte> u1, Vector256<byte> u2, Vector256<byte> u3,
        Vector256<byte> u4, Vector256<byte> u5, Vector256<byte> u6, Vector256<byte> u7, byte* a, ActivationSide* s, Vector256<float> dw)
        where TDot : struct, IInt8DotProduct
    {
        Vector256<int> lanes = Dot8<TDot>(u0, u1, u2, u3, u4, u5, u6, u7, a, Vector256.Create(s->Bias));
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(lanes), dw * Vector256.Create(s->Scale), c);
    }

    /// <summary>One group of 8 rows against 8 tokens (see <see cref="Gemm4{TDot, TFormat}"/>).</summary>
    public static void Gemm8<TDot, TFormat>(byte* group, int blocks, byte* act, long actStride, ActivationSide* side, float* y, long yStride)
        where TDot : struct, IInt8DotProduct where TFormat : struct, IPackedFormat
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int b = 0; b < blocks; b++)
        {
            TFormat.Load(group + (long)b * TFormat.QuantBytes, out var u0, out var u1, out var u2, out var u3, out var u4, out var u5, out var u6, out var u7);
            Vector256<float> dw = Scales(group, blocks, b, TFormat.QuantBytes);
            byte* a = act + b * BlockLayout.Q8_0Bytes + 2;
            ActivationSide* s = side + b;
            c0 = Step<TDot>(c0, u0, u1, u2, u3, u4, u5, u6, u7, a, s, dw);
            c1 = Step<TDot>(c1, u0, u1, u2, u3, u4, u5, u6, u7, a + actStride, s + blocks, dw);
            c2 = Step<TDot>(c2, u0, u1, u2, u3, u4, u5, u6, u7, a + 2 * actStride, s + 2 * blocks, dw);
            c3 = Step<TDot>(c3, u0, u1, u2, u3, u4, u5, u6, u7, a + 3 * actStride, s + 3 * blocks, dw);
            c4 = Step<TDot>(c4, u0, u1, u2, u3, u4, u5, u6, u7, a + 4 * actStride, s + 4 * blocks, dw);
            c5 = Step<TDot>(c5, u0, u1, u2, u3, u4, u5, u6, u7, a + 5 * actStride, s + 5 * blocks, dw);
            c6 = Step<TDot>(c6, u0, u1, u2, u3, u4, u5, u6, u7, a + 6 * actStride, s + 6 * blocks, dw);
            c7 = Step<TDot>(c7, u0, u1, u2, u3, u4, u5, u6, u7, a + 7 * actStride, s + 7 * blocks, dw);
        }
        c0.Store(y); c1.Store(y + yStride); c2.Store(y + 2 * yStride); c3.Store(y + 3 * yStride);
        c4.Store(y + 4 * yStride); c5.Store(y + 5 * yStride); c6.Store(y + 6 * yStride); c7.Store(y + 7 * yStride);
    }

    /// <summary>One group of 8 rows against 4 tokens: the block's weight vectors are loaded once for the four.</summary>
    /// <param name="act">Q8_0 activation rows [4, actStride]</param>
    /// <param name="side">their sides [4, blocks]</param>
    /// <param name="y">output: token j's 8 rows at y + j·yStride</param>
    public static void Gemm4<TDot, TFormat>(byte* group, int blocks, byte* act, long actStride, ActivationSide* side, float* y, long yStride)
        where TDot : struct, IInt8DotProduct where TFormat : struct, IPackedFormat
    {
        Vector256<float> c0 = Vector256<float>.Zero, c1 = Vector256<float>.Zero, c2 = Vector256<float>.Zero, c3 = Vector256<float>.Zero;
        ActivationSide* s0 = side, s1 = side + blocks, s2 = side + 2 * blocks, s3 = side + 3 * blocks;
        for (int b = 0; b < blocks; b++)
        {
            TFormat.Load(group + (long)b * TFormat.QuantBytes, out var u0, out var u1, out var u2, out var u3, out var u4, out var u5, out var u6, out var u7);
            Vector256<float> dw = Scales(group, blocks, b, TFormat.QuantBytes);
            byte* a = act + b * BlockLayout.Q8_0Bytes + 2;
            Vector256<int> l0 = Dot8<TDot>(u0, u1, u2, u3, u4, u5, u6, u7, a, Vector256.Create(s0[b].Bias));
            c0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(l0), dw * Vector256.Create(s0[b].Scale), c0);
            Vector256<int> l1 = Dot8<TDot>(u0, u1, u2, u3, u4, u5, u6, u7, a + actStride, Vector256.Create(s1[b].Bias));
            c1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(l1), dw * Vector256.Create(s1[b].Scale), c1);
            Vector256<int> l2 = Dot8<TDot>(u0, u1, u2, u3, u4, u5, u6, u7, a + 2 * actStride, Vector256.Create(s2[b].Bias));
            c2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(l2), dw * Vector256.Create(s2[b].Scale), c2);
            Vector256<int> l3 = Dot8<TDot>(u0, u1, u2, u3, u4, u5, u6, u7, a + 3 * actStride, Vector256.Create(s3[b].Bias));
            c3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(l3), dw * Vector256.Create(s3[b].Scale), c3);
        }
        c0.Store(y); c1.Store(y + yStride); c2.Store(y + 2 * yStride); c3.Store(y + 3 * yStride);
    }
}
