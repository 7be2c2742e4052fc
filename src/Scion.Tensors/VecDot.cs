using System.Runtime.Intrinsics.X86;
using Scion.Tensors.Cpu;
using Scion.Tensors.Quant;
using Scion.Tensors.Reference;

namespace Scion.Tensors;

/// <summary>
/// Dot product of one stored weight row with one activation row. Float weight types take fp32 activations;
/// quantized ones take the activation row already quantized to <see cref="ActivationQuant.PartnerType"/>.
/// </summary>
public static unsafe class VecDot
{
    /// <summary>Σ w[i]·x[i] for an F32, F16 or BF16 weight row of <c>x.Length</c> values.</summary>
    public static float Dot(GgmlType weightType, ReadOnlySpan<byte> weightRow, ReadOnlySpan<float> x)
    {
        CheckRow(weightType, weightRow, x.Length);
        if (ActivationQuant.PartnerType(weightType) != GgmlType.F32)
            throw new ArgumentException($"{weightType} weights need a quantized activation row; use DotQuantized.");
        fixed (byte* w = weightRow) fixed (float* px = x) return Dot(weightType, w, px, x.Length, KernelSelection.Current);
    }

    /// <summary>Σ w[i]·x[i] for a quantized weight row of <paramref name="cols"/> values and an activation row in the partner format.</summary>
    public static float DotQuantized(GgmlType weightType, ReadOnlySpan<byte> weightRow, ReadOnlySpan<byte> activationRow, int cols)
    {
        CheckRow(weightType, weightRow, cols);
        GgmlType partner = ActivationQuant.PartnerType(weightType);
        if (partner == GgmlType.F32) throw new ArgumentException($"{weightType} weights take fp32 activations; use Dot.");
        long need = GgmlTypeInfo.RowBytes(partner, cols);
        if (activationRow.Length < need) throw new ArgumentException($"{partner} activation row of {cols} values needs {need} bytes, got {activationRow.Length}.");
        fixed (byte* w = weightRow) fixed (byte* a = activationRow) return Dot(weightType, w, a, cols, KernelSelection.Current);
    }

    private static void CheckRow(GgmlType type, ReadOnlySpan<byte> row, int cols)
    {
        long need = GgmlTypeInfo.RowBytes(type, cols);
        if (row.Length < need) throw new ArgumentException($"{type} weight row of {cols} values needs {need} bytes, got {row.Length}.");
    }

    /// <summary>Pointer entry used by the matmul: <paramref name="x"/> is float* for float weight types, else the partner blocks.</summary>
    internal static float Dot(GgmlType type, byte* w, void* x, int n, KernelLevel level)
    {
        if (level == KernelLevel.Scalar)
        {
            return type switch
            {
                GgmlType.F32 => ReferenceVecDot.F32((float*)w, (float*)x, n),
                GgmlType.F16 => ReferenceVecDot.F16((ushort*)w, (float*)x, n),
                GgmlType.BF16 => ReferenceVecDot.BF16((ushort*)w, (float*)x, n),
                GgmlType.Q8_0 => ReferenceVecDot.Q8_0(w, (byte*)x, n),
                GgmlType.Q4_0 => ReferenceVecDot.Q4_0(w, (byte*)x, n),
                GgmlType.Q4_K => ReferenceVecDot.Q4_K(w, (byte*)x, n),
                GgmlType.Q6_K => ReferenceVecDot.Q6_K(w, (byte*)x, n),
                _ => throw new NotSupportedException($"No dot product for {type} weights."),
            };
        }
        if (KernelSelection.UsesVnni(level)) return DotSimd<VnniDot>(type, w, x, n, level);
        return DotSimd<MaddubsDot>(type, w, x, n, level);
    }

    internal static float DotSimd<TDot>(GgmlType type, byte* w, void* x, int n, KernelLevel level) where TDot : struct, IInt8DotProduct =>
        type switch
        {
            GgmlType.F32 => SimdVecDot.F32((float*)w, (float*)x, n, level),
            GgmlType.F16 => SimdVecDot.F16((ushort*)w, (float*)x, n, level),
            GgmlType.BF16 => SimdVecDot.BF16((ushort*)w, (float*)x, n, level),
            GgmlType.Q8_0 => SimdVecDot.Q8_0<TDot>(w, (byte*)x, n),
            GgmlType.Q4_0 => SimdVecDot.Q4_0<TDot>(w, (byte*)x, n),
            GgmlType.Q4_K => level == KernelLevel.Avx512 ? SimdVecDot.Q4_K512(w, (byte*)x, n) : SimdVecDot.Q4_K<TDot>(w, (byte*)x, n),
            GgmlType.Q6_K => SimdVecDot.Q6_K<TDot>(w, (byte*)x, n),
            _ => throw new NotSupportedException($"No dot product for {type} weights."),
        };

    /// <summary>
    /// One weight row against four activation rows starting at <paramref name="x"/>, <paramref name="strideBytes"/> apart
    /// (fp32 rows for float weights, partner blocks otherwise). The scalar level runs four reference dots.
    /// </summary>
    internal static void Dot4(GgmlType type, byte* w, byte* x, long strideBytes, int n, KernelLevel level, float* result)
    {
        if (level == KernelLevel.Scalar)
        {
            for (int t = 0; t < 4; t++) result[t] = Dot(type, w, x + t * strideBytes, n, level);
            return;
        }
        if (KernelSelection.UsesVnni(level)) Dot4Simd<VnniDot>(type, w, x, strideBytes, n, level, result);
        else Dot4Simd<MaddubsDot>(type, w, x, strideBytes, n, level, result);
    }

    internal static void Dot4Simd<TDot>(GgmlType type, byte* w, byte* x, long stride, int n, KernelLevel level, float* result)
        where TDot : struct, IInt8DotProduct
    {
        switch (type)
        {
            case GgmlType.F32: SimdVecDot.F32x4((float*)w, (float*)x, stride / sizeof(float), n, level, result); break;
            case GgmlType.Q8_0: SimdVecDot.Q8_0x4<TDot>(w, x, stride, n, result); break;
            case GgmlType.Q4_0: SimdVecDot.Q4_0x4<TDot>(w, x, stride, n, result); break;
            case GgmlType.Q4_K: SimdVecDot.Q4_Kx4<TDot>(w, x, stride, n, result); break;
            case GgmlType.Q6_K: SimdVecDot.Q6_Kx4<TDot>(w, x, stride, n, result); break;
            default:
                for (int t = 0; t < 4; t++) result[t] = DotSimd<TDot>(type, w, x + t * stride, n, level);
                break;
        }
    }

    /// <summary>Four weight rows, <paramref name="rowBytes"/> apart, against one activation row (decode); each result
    /// has the bits of the single-row <see cref="Dot"/>.</summary>
    internal static void Rows4(GgmlType type, byte* w, long rowBytes, byte* x, int n, KernelLevel level, float* result)
    {
        if (KernelSelection.UsesVnni(level)) Rows4Simd<VnniDot>(type, w, rowBytes, x, n, level, result);
        else Rows4Simd<MaddubsDot>(type, w, rowBytes, x, n, level, result);
    }

    internal static void Rows4Simd<TDot>(GgmlType type, byte* w, long rowBytes, byte* x, int n, KernelLevel level, float* result)
        where TDot : struct, IInt8DotProduct
    {
        if (type == GgmlType.Q4_0) { SimdVecDot.Q4_0Rows4<TDot>(w, rowBytes, x, n, result); return; }
        if (type == GgmlType.Q4_K && level == KernelLevel.Avx512)
        {
            if (Gfni.V512.IsSupported) SimdVecDot.Q4_K512Rows4<SimdVecDot.GfniNibbleSplit>(w, rowBytes, x, n, result);
            else SimdVecDot.Q4_K512Rows4<SimdVecDot.ShiftNibbleSplit>(w, rowBytes, x, n, result);
            return;
        }
        if (type == GgmlType.Q6_K) { SimdVecDot.Q6_KRows4<TDot>(w, rowBytes, x, n, result); return; }
        for (int r = 0; r < 4; r++) result[r] = DotSimd<TDot>(type, w + r * rowBytes, x, n, level);
    }
}
