using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Scion.Tensors.Cpu;

/// <summary>
/// The u8×s8 multiply-accumulate step of the integer dot products, as a generic strategy so each kernel is
/// written once and the JIT specializes it for VNNI and for plain AVX2.
/// </summary>
internal interface IInt8DotProduct
{
    /// <summary>acc[i] += Σ_{k&lt;4} u[4i+k]·s[4i+k].</summary>
    static abstract Vector256<int> Dot4(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s);

    /// <summary>acc[i] += scale[2i]·(u·s over bytes 4i..4i+1) + scale[2i+1]·(bytes 4i+2..4i+3): pair sums weighted by
    /// per-16-bit-lane scales (the K-quant sub-block scales). Needs |u·s pair sums| to fit 16 bits (u ≤ 63 here).</summary>
    static abstract Vector256<int> DotScaled(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s, Vector256<short> scale);
}

/// <summary>AVX-VNNI: vpdpbusd / vpdpwssd accumulate in one instruction.</summary>
internal struct VnniDot : IInt8DotProduct
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot4(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s) =>
        AvxVnni.MultiplyWideningAndAdd(acc, u, s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotScaled(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s, Vector256<short> scale) =>
        AvxVnni.MultiplyWideningAndAdd(acc, Avx2.MultiplyAddAdjacent(u, s), scale);
}

/// <summary>Plain AVX2: vpmaddubsw to 16-bit pair sums, then vpmaddwd to 32-bit.</summary>
internal struct MaddubsDot : IInt8DotProduct
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot4(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s) =>
        Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), Vector256.Create((short)1)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotScaled(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s, Vector256<short> scale) =>
        Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), scale));
}
