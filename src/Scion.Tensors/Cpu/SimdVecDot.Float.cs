using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Scion.Tensors.Cpu;

/// <summary>Floating-point weight rows (F32, F16, BF16) against fp32 activations: widen on the fly, FMA in fp32.</summary>
internal static unsafe partial class SimdVecDot
{
    public static float F32(float* w, float* x, int n, KernelLevel level)
    {
        int i = 0;
        float sum = 0;
        if (level == KernelLevel.Avx512)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 64 <= n; i += 64)
            {
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w + i), Vector512.Load(x + i), a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(w + i + 16), Vector512.Load(x + i + 16), a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(w + i + 32), Vector512.Load(x + i + 32), a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(w + i + 48), Vector512.Load(x + i + 48), a3);
            }
            for (; i + 16 <= n; i += 16) a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w + i), Vector512.Load(x + i), a0);
            sum = Vector512.Sum((a0 + a1) + (a2 + a3));
        }
        else if (level == KernelLevel.Avx2)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 32 <= n; i += 32)
            {
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i), Vector256.Load(x + i), a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i + 8), Vector256.Load(x + i + 8), a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i + 16), Vector256.Load(x + i + 16), a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i + 24), Vector256.Load(x + i + 24), a3);
            }
            for (; i + 8 <= n; i += 8) a0 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i), Vector256.Load(x + i), a0);
            sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        for (; i < n; i++) sum += w[i] * x[i];
        return sum;
    }

    public static float F16(ushort* w, float* x, int n, KernelLevel level) => Widened<HalfWidener>(w, x, n, level);

    public static float BF16(ushort* w, float* x, int n, KernelLevel level) => Widened<BFloat16Widener>(w, x, n, level);

    private static float Widened<TW>(ushort* w, float* x, int n, KernelLevel level) where TW : struct, IWidener
    {
        int i = 0;
        float sum = 0;
        if (level == KernelLevel.Avx512)
        {
            Vector512<float> a0 = default, a1 = default;
            for (; i + 32 <= n; i += 32)
            {
                a0 = Vector512.FusedMultiplyAdd(TW.Widen16(Vector256.Load(w + i)), Vector512.Load(x + i), a0);
                a1 = Vector512.FusedMultiplyAdd(TW.Widen16(Vector256.Load(w + i + 16)), Vector512.Load(x + i + 16), a1);
            }
            for (; i + 16 <= n; i += 16) a0 = Vector512.FusedMultiplyAdd(TW.Widen16(Vector256.Load(w + i)), Vector512.Load(x + i), a0);
            sum = Vector512.Sum(a0 + a1);
        }
        else if (level == KernelLevel.Avx2)
        {
            Vector256<float> a0 = default, a1 = default;
            for (; i + 16 <= n; i += 16)
            {
                a0 = Vector256.FusedMultiplyAdd(TW.Widen8(Vector128.Load(w + i)), Vector256.Load(x + i), a0);
                a1 = Vector256.FusedMultiplyAdd(TW.Widen8(Vector128.Load(w + i + 8)), Vector256.Load(x + i + 8), a1);
            }
            for (; i + 8 <= n; i += 8) a0 = Vector256.FusedMultiplyAdd(TW.Widen8(Vector128.Load(w + i)), Vector256.Load(x + i), a0);
            sum = Vector256.Sum(a0 + a1);
        }
        for (; i < n; i++) sum += TW.Scalar(w[i]) * x[i];
        return sum;
    }
}

internal interface IWidener
{
    static abstract Vector512<float> Widen16(Vector256<ushort> v);
    static abstract Vector256<float> Widen8(Vector128<ushort> v);
    static abstract float Scalar(ushort v);
}

internal struct HalfWidener : IWidener
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Widen16(Vector256<ushort> v) => HalfConvert.HalfToFloat16(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Widen8(Vector128<ushort> v) => HalfConvert.HalfToFloat8(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Scalar(ushort v) => HalfConvert.HalfToFloat(v);
}

internal struct BFloat16Widener : IWidener
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Widen16(Vector256<ushort> v) => HalfConvert.BFloat16ToFloat16(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Widen8(Vector128<ushort> v) => HalfConvert.BFloat16ToFloat8(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Scalar(ushort v) => HalfConvert.BFloat16ToFloat(v);
}
