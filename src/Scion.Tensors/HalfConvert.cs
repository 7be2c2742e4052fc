using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Scion.Tensors.Cpu;

namespace Scion.Tensors;

/// <summary>
/// IEEE half (F16) and bfloat16 (BF16) conversions, bit-exact with ggml: half→float is exact, float→half and
/// float→bf16 round to nearest even. .NET 10 has no F16C intrinsics, so the SIMD path widens with integer ops.
/// </summary>
public static class HalfConvert
{
    // --- scalar ---

    /// <summary>Exact for every pattern; the same rescale trick as the SIMD path, a few integer ops instead of the
    /// framework's general conversion, because block scales are widened once per 32 values in the dot products.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HalfToFloat(ushort bits)
    {
        uint em = (uint)(bits & 0x7fff) << 13;
        uint sign = (uint)(bits & 0x8000) << 16;
        uint r = em >= 0x7c00u << 13 ? em | 0x7f800000u : BitConverter.SingleToUInt32Bits(BitConverter.UInt32BitsToSingle(em) * 5.192296858534828e+33f);
        return BitConverter.UInt32BitsToSingle(r | sign);
    }

    // Every half's float value (256 KiB). Block scales are widened once per 32 values inside the dot products, and
    // without F16C a table load is far cheaper than the bit manipulation; only the few distinct scales stay cached.
    private static readonly float[] Table = BuildTable();

    private static float[] BuildTable()
    {
        var t = GC.AllocateUninitializedArray<float>(65536, pinned: true);
        for (int i = 0; i < t.Length; i++) t[i] = HalfToFloat((ushort)i);
        return t;
    }

    /// <summary>Table lookup twin of <see cref="HalfToFloat(ushort)"/> for block scales in hot loops.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float HalfToFloatLookup(ushort bits) =>
        System.Runtime.CompilerServices.Unsafe.Add(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(Table), bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FloatToHalf(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BFloat16ToFloat(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>Round to nearest even like ggml_compute_fp32_to_bf16; NaNs stay NaN (quiet bit forced).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FloatToBFloat16(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if ((u & 0x7fffffff) > 0x7f800000) return (ushort)((u >> 16) | 64);
        return (ushort)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
    }

    // --- spans ---

    public static void ToFloat(ReadOnlySpan<Half> src, Span<float> dst) =>
        HalfToFloat(System.Runtime.InteropServices.MemoryMarshal.Cast<Half, ushort>(src), dst);

    public static void FromFloat(ReadOnlySpan<float> src, Span<Half> dst) =>
        FloatToHalf(src, System.Runtime.InteropServices.MemoryMarshal.Cast<Half, ushort>(dst));

    /// <summary>F16 bit patterns → float, <c>dst.Length</c> values.</summary>
    public static unsafe void HalfToFloat(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        if (src.Length < dst.Length) throw new ArgumentException($"Source has {src.Length} halves, destination wants {dst.Length}.");
        fixed (ushort* s = src) fixed (float* d = dst) HalfToFloat(s, d, dst.Length, KernelSelection.Current);
    }

    /// <summary>float → F16 bit patterns, round to nearest even, <c>dst.Length</c> values.</summary>
    public static unsafe void FloatToHalf(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        if (src.Length < dst.Length) throw new ArgumentException($"Source has {src.Length} floats, destination wants {dst.Length}.");
        fixed (float* s = src) fixed (ushort* d = dst) FloatToHalf(s, d, dst.Length, KernelSelection.Current);
    }

    public static unsafe void BFloat16ToFloat(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        if (src.Length < dst.Length) throw new ArgumentException($"Source has {src.Length} bf16 values, destination wants {dst.Length}.");
        fixed (ushort* s = src) fixed (float* d = dst) BFloat16ToFloat(s, d, dst.Length, KernelSelection.Current);
    }

    public static unsafe void FloatToBFloat16(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        if (src.Length < dst.Length) throw new ArgumentException($"Source has {src.Length} floats, destination wants {dst.Length}.");
        fixed (float* s = src) fixed (ushort* d = dst) FloatToBFloat16(s, d, dst.Length, KernelSelection.Current);
    }

    // --- pointer kernels, per level ---

    internal static unsafe void HalfToFloat(ushort* src, float* dst, int n, KernelLevel level)
    {
        int i = 0;
        if (level == KernelLevel.Avx512)
        {
            Vector256<ushort> mark = Vector256.Create((ushort)0x7c00);
            for (; i + 16 <= n; i += 16)
            {
                Vector256<ushort> h = Vector256.Load(src + i);
                mark = FiniteMark16(mark, h);
                Vector512.Store(FiniteHalfToFloat16(h), dst + i);
            }
            if (Vector256.EqualsAny(mark, Vector256<ushort>.Zero)) i = 0;   // an Inf/NaN: redo exactly
        }
        if (i == 0 && level == KernelLevel.Avx512)
            for (; i + 16 <= n; i += 16) Vector512.Store(HalfToFloat16(Vector256.Load(src + i)), dst + i);
        else if (level == KernelLevel.Avx2)
            for (; i + 8 <= n; i += 8) Vector256.Store(HalfToFloat8(Vector128.Load(src + i)), dst + i);
        for (; i < n; i++) dst[i] = HalfToFloat(src[i]);
    }

    internal static unsafe void BFloat16ToFloat(ushort* src, float* dst, int n, KernelLevel level)
    {
        int i = 0;
        if (level == KernelLevel.Avx512)
            for (; i + 16 <= n; i += 16) Vector512.Store(BFloat16ToFloat16(Vector256.Load(src + i)), dst + i);
        else if (level == KernelLevel.Avx2)
            for (; i + 8 <= n; i += 8) Vector256.Store(BFloat16ToFloat8(Vector128.Load(src + i)), dst + i);
        for (; i < n; i++) dst[i] = BFloat16ToFloat(src[i]);
    }

    internal static unsafe void FloatToHalf(float* src, ushort* dst, int n, KernelLevel level)
    {
        int i = 0;
        if (level >= KernelLevel.Avx2)
            for (; i + 8 <= n; i += 8) Vector128.Store(FloatToHalf8(Vector256.Load(src + i)), dst + i);
        for (; i < n; i++) dst[i] = FloatToHalf(src[i]);
    }

    // Round to nearest even with integer ops (no F16C in .NET): normals re-bias the exponent and round on the
    // dropped 13 bits, tiny values let an fp32 add against 0.5 do the subnormal rounding, and anything from
    // 65520 up becomes infinity. NaNs keep their sign and top payload bits with the quiet bit set.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<ushort> FloatToHalf8(Vector256<float> value)
    {
        Vector256<uint> u = value.AsUInt32();
        Vector256<uint> sign = u & Vector256.Create(0x80000000u);
        Vector256<uint> f = u ^ sign;
        Vector256<int> fi = f.AsInt32();
        Vector256<uint> nan = Vector256.Create(0x7e00u) | ((f >> 13) & Vector256.Create(0x3ffu));
        Vector256<uint> big = Vector256.ConditionalSelect(Vector256.GreaterThan(fi, Vector256.Create(0x7f800000)).AsUInt32(), nan, Vector256.Create(0x7c00u));
        Vector256<uint> tiny = (f.AsSingle() + Vector256.Create(0.5f)).AsUInt32() - Vector256.Create(0x3f000000u);
        Vector256<uint> normal = (f + Vector256.Create(0xC8000FFFu) + ((f >> 13) & Vector256<uint>.One)) >> 13;
        Vector256<uint> r = Vector256.ConditionalSelect(Vector256.LessThan(fi, Vector256.Create(0x38800000)).AsUInt32(), tiny, normal);
        r = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(fi, Vector256.Create(0x47800000)).AsUInt32(), big, r);
        r |= sign >> 16;
        return Vector128.Narrow(r.GetLower(), r.GetUpper());
    }

    internal static unsafe void FloatToBFloat16(float* src, ushort* dst, int n, KernelLevel level)
    {
        int i = 0;
        if (level >= KernelLevel.Avx2)
        {
            for (; i + 8 <= n; i += 8)
            {
                Vector256<uint> u = Vector256.Load(src + i).AsUInt32();
                Vector256<uint> rounded = (u + (Vector256.Create(0x7fffu) + ((u >> 16) & Vector256<uint>.One))) >> 16;
                Vector256<uint> nan = (u >> 16) | Vector256.Create(64u);
                Vector256<uint> isNan = Vector256.GreaterThan(u & Vector256.Create(0x7fffffffu), Vector256.Create(0x7f800000u));
                Vector256<uint> r = Vector256.ConditionalSelect(isNan, nan, rounded);
                Vector128.Store(Vector128.Narrow(r.GetLower(), r.GetUpper()), dst + i);
            }
        }
        for (; i < n; i++) dst[i] = FloatToBFloat16(src[i]);
    }

    // Half → float without F16C: move exponent+mantissa into float position and rescale by 2^112, which
    // also turns half subnormals into the right float normals; Inf/NaN get the full float exponent back.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> HalfToFloat16(Vector256<ushort> h)
    {
        (Vector256<uint> lo, Vector256<uint> hi) = Vector256.Widen(h);
        Vector512<uint> u = Vector512.Create(lo, hi);
        Vector512<uint> em = (u & Vector512.Create(0x7fffu)) << 13;
        Vector512<uint> sign = (u & Vector512.Create(0x8000u)) << 16;
        Vector512<uint> scaled = (em.AsSingle() * Vector512.Create(5.192296858534828e+33f)).AsUInt32();
        Vector512<uint> special = Vector512.GreaterThanOrEqual(em, Vector512.Create(0x7c00u << 13));
        Vector512<uint> r = Vector512.ConditionalSelect(special, em | Vector512.Create(0x7f800000u), scaled);
        return (r | sign).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> HalfToFloat8(Vector128<ushort> h)
    {
        (Vector128<uint> lo, Vector128<uint> hi) = Vector128.Widen(h);
        Vector256<uint> u = Vector256.Create(lo, hi);
        Vector256<uint> em = (u & Vector256.Create(0x7fffu)) << 13;
        Vector256<uint> sign = (u & Vector256.Create(0x8000u)) << 16;
        Vector256<uint> scaled = (em.AsSingle() * Vector256.Create(5.192296858534828e+33f)).AsUInt32();
        Vector256<uint> special = Vector256.GreaterThanOrEqual(em, Vector256.Create(0x7c00u << 13));
        Vector256<uint> r = Vector256.ConditionalSelect(special, em | Vector256.Create(0x7f800000u), scaled);
        return (r | sign).AsSingle();
    }

    // The fast form for finite halves: sign-extend each half to 32 bits, shift exponent+mantissa into float position
    // (a sign copy lands in bit 31, the mask clears the others) and rescale by 2^112 — four instructions instead of
    // ten, same values. Inf/NaN (exponent all ones) would come out finite, so loops using it keep a running
    // <see cref="FiniteMark16"/> over the halves they read and redo the row with the exact form if any was special.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> FiniteHalfToFloat16(Vector256<ushort> h)
    {
        Vector512<int> s = System.Runtime.Intrinsics.X86.Avx512F.ConvertToVector512Int32(h.AsInt16());
        return ((s << 13) & Vector512.Create(unchecked((int)0x8FFFE000))).AsSingle() * Vector512.Create(5.192296858534828e+33f);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> FiniteHalfToFloat8(Vector128<ushort> h)
    {
        Vector256<int> s = System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int32(h.AsInt16());
        return ((s << 13) & Vector256.Create(unchecked((int)0x8FFFE000))).AsSingle() * Vector256.Create(5.192296858534828e+33f);
    }

    /// <summary>Running minimum of the clear exponent bits: a lane reaches 0 once a half with an all-ones exponent
    /// (Inf/NaN) has been seen. Start from <c>Vector128.Create((ushort)0x7c00)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<ushort> FiniteMark8(Vector128<ushort> mark, Vector128<ushort> h) =>
        Vector128.Min(mark, Vector128.AndNot(Vector128.Create((ushort)0x7c00), h));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<ushort> FiniteMark16(Vector256<ushort> mark, Vector256<ushort> h) =>
        Vector256.Min(mark, Vector256.AndNot(Vector256.Create((ushort)0x7c00), h));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> BFloat16ToFloat16(Vector256<ushort> h) =>
        (System.Runtime.Intrinsics.X86.Avx512F.ConvertToVector512UInt32(h) << 16).AsSingle();   // one vpmovzxwd, one shift

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> BFloat16ToFloat8(Vector128<ushort> h)
    {
        (Vector128<uint> lo, Vector128<uint> hi) = Vector128.Widen(h);
        return (Vector256.Create(lo, hi) << 16).AsSingle();
    }
}
