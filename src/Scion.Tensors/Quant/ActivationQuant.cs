using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors.Cpu;
using Scion.Tensors.Reference;

namespace Scion.Tensors.Quant;

/// <summary>
/// Quantizes activation rows once per matmul into the partner format of the weight type
/// (Q8_0 for Q8_0/Q4_0 weights, Q8_K for K-quants). The SIMD variants produce the same bytes as the scalar twins.
/// </summary>
public static unsafe class ActivationQuant
{
    /// <summary>The format activations are quantized to before an integer dot with weights of <paramref name="weightType"/>;
    /// F32 when the weight type is multiplied in floating point.</summary>
    public static GgmlType PartnerType(GgmlType weightType) => weightType switch
    {
        GgmlType.Q8_0 or GgmlType.Q4_0 => GgmlType.Q8_0,
        GgmlType.Q4_K or GgmlType.Q6_K => GgmlType.Q8_K,
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => GgmlType.F32,
        _ => throw new NotSupportedException($"No kernels multiply {weightType} weights."),
    };

    /// <summary>Quantizes <paramref name="x"/> (a whole number of blocks) into Q8_0 or Q8_K blocks.</summary>
    public static void Row(GgmlType partnerType, ReadOnlySpan<float> x, Span<byte> dst)
    {
        long need = GgmlTypeInfo.RowBytes(partnerType, x.Length);
        if (dst.Length < need) throw new ArgumentException($"{partnerType} row of {x.Length} values needs {need} bytes, got {dst.Length}.");
        fixed (float* px = x) fixed (byte* pd = dst) Row(partnerType, px, pd, x.Length, KernelSelection.Current);
    }

    internal static void Row(GgmlType partnerType, float* x, byte* dst, int n, KernelLevel level)
    {
        switch (partnerType)
        {
            case GgmlType.Q8_0:
                if (level == KernelLevel.Scalar) ReferenceActivationQuant.Q8_0(x, dst, n); else Q8_0Simd(x, dst, n);
                break;
            case GgmlType.Q8_K:
                if (level == KernelLevel.Scalar) ReferenceActivationQuant.Q8_K(x, dst, n); else Q8_KSimd(x, dst, n, level);
                break;
            default: throw new NotSupportedException($"{partnerType} is not an activation format.");
        }
    }

    /// <summary>
    /// Rounds fp32 activations to the precision of F16 or BF16 weights and back, as ggml does by converting them
    /// to the weight's type before its dot product; results stay fp32 so the kernels read one format.
    /// </summary>
    internal static void RoundThrough(GgmlType weightType, float* x, float* dst, int n, KernelLevel level)
    {
        int i = 0;
        if (weightType == GgmlType.F16)
        {
            if (level != KernelLevel.Scalar)
                for (; i + 8 <= n; i += 8) HalfConvert.HalfToFloat8(HalfConvert.FloatToHalf8(Vector256.Load(x + i))).Store(dst + i);
            for (; i < n; i++) dst[i] = HalfConvert.HalfToFloat(HalfConvert.FloatToHalf(x[i]));
        }
        else if (weightType == GgmlType.BF16)
        {
            if (level != KernelLevel.Scalar)
            {
                for (; i + 8 <= n; i += 8)
                {
                    Vector256<uint> u = Vector256.Load(x + i).AsUInt32();
                    Vector256<uint> rounded = (u + (Vector256.Create(0x7fffu) + ((u >> 16) & Vector256<uint>.One))) & Vector256.Create(0xffff0000u);
                    Vector256<uint> nan = (u & Vector256.Create(0xffff0000u)) | Vector256.Create(64u << 16);
                    Vector256<uint> isNan = Vector256.GreaterThan(u & Vector256.Create(0x7fffffffu), Vector256.Create(0x7f800000u));
                    Vector256.ConditionalSelect(isNan, nan, rounded).AsSingle().Store(dst + i);
                }
            }
            for (; i < n; i++) dst[i] = HalfConvert.BFloat16ToFloat(HalfConvert.FloatToBFloat16(x[i]));
        }
        else
        {
            throw new ArgumentException($"{weightType} weights do not round their activations.");
        }
    }

    private static void Q8_0Simd(float* x, byte* y, int n)
    {
        Vector256<float> signMask = Vector256.Create(0x7fffffff).AsSingle();
        for (int b = 0; b < n / 32; b++, x += 32, y += BlockLayout.Q8_0Bytes)
        {
            Vector256<float> v0 = Vector256.Load(x), v1 = Vector256.Load(x + 8), v2 = Vector256.Load(x + 16), v3 = Vector256.Load(x + 24);
            Vector256<float> m = Vector256.Max(Vector256.Max(v0 & signMask, v1 & signMask), Vector256.Max(v2 & signMask, v3 & signMask));
            float amax = MaxAcross(m);
            float d = amax / 127f;
            float id = amax != 0 ? 127f / amax : 0f;
            *(ushort*)y = HalfConvert.FloatToHalf(d);
            Vector256<float> vid = Vector256.Create(id);
            // cvtps2dq rounds with the default MXCSR mode, half to even, like the scalar twin.
            Vector256<int> i0 = Avx.ConvertToVector256Int32(v0 * vid), i1 = Avx.ConvertToVector256Int32(v1 * vid);
            Vector256<int> i2 = Avx.ConvertToVector256Int32(v2 * vid), i3 = Avx.ConvertToVector256Int32(v3 * vid);
            Vector256<sbyte> q = Vector256.Narrow(Vector256.Narrow(i0, i1), Vector256.Narrow(i2, i3));
            q.Store((sbyte*)(y + 2));
        }
    }

    private static void Q8_KSimd(float* x, byte* y, int n, KernelLevel level)
    {
        Vector256<float> signMask = Vector256.Create(0x7fffffff).AsSingle();
        for (int b = 0; b < n / 256; b++, x += 256, y += BlockLayout.Q8_KBytes)
        {
            Vector256<float> m = Vector256<float>.Zero;
            for (int i = 0; i < 256; i += 8) m = Vector256.Max(m, Vector256.Load(x + i) & signMask);
            float amax = MaxAcross(m);
            sbyte* qs = (sbyte*)(y + BlockLayout.Q8_KQs);
            short* bsums = (short*)(y + BlockLayout.Q8_KBsums);
            if (amax == 0)
            {
                *(float*)y = 0;
                new Span<byte>(y + 4, BlockLayout.Q8_KBytes - 4).Clear();
                continue;
            }
            // The first element reaching amax decides the sign, exactly as the scalar scan does.
            float max = 0;
            Vector256<float> vamax = Vector256.Create(amax);
            for (int i = 0; i < 256; i += 8)
            {
                uint hits = Vector256.Equals(Vector256.Load(x + i) & signMask, vamax).ExtractMostSignificantBits();
                if (hits != 0) { max = x[i + BitOperations.TrailingZeroCount(hits)]; break; }
            }
            float iscale = -127f / max;
            if (level == KernelLevel.Avx512)
            {
                Vector512<float> vs = Vector512.Create(iscale);
                Vector512<int> cap = Vector512.Create(127);
                for (int g = 0; g < 16; g++)
                {
                    Vector512<int> q = Vector512.Min(Avx512F.ConvertToVector512Int32(Vector512.Load(x + 16 * g) * vs), cap);
                    Avx512F.ConvertToVector128SByte(q).Store(qs + 16 * g);
                    bsums[g] = (short)Vector512.Sum(q);
                }
            }
            else
            {
                Vector256<float> vs = Vector256.Create(iscale);
                Vector256<int> cap = Vector256.Create(127);
                for (int g = 0; g < 16; g++)
                {
                    Vector256<int> q0 = Vector256.Min(Avx.ConvertToVector256Int32(Vector256.Load(x + 16 * g) * vs), cap);
                    Vector256<int> q1 = Vector256.Min(Avx.ConvertToVector256Int32(Vector256.Load(x + 16 * g + 8) * vs), cap);
                    Vector128<sbyte> packed = Vector128.Narrow(Vector128.Narrow(q0.GetLower(), q0.GetUpper()), Vector128.Narrow(q1.GetLower(), q1.GetUpper()));
                    packed.Store(qs + 16 * g);
                    bsums[g] = (short)Vector256.Sum(q0 + q1);
                }
            }
            *(float*)y = 1 / iscale;
        }
    }

    private static float MaxAcross(Vector256<float> v)
    {
        Vector128<float> m = Vector128.Max(v.GetLower(), v.GetUpper());
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2)));
        return m.ToScalar();
    }
}
