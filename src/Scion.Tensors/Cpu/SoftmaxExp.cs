using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Scion.Tensors.Cpu;

/// <summary>
/// e^x for softmax, vectorized with the same operations in every width so a lane gives exactly what the scalar
/// form gives (FMA everywhere, no estimate instructions). Range reduction x = n·ln2 + r with n = round(x·log2 e)
/// (a magic-number add, round to nearest even), r by a two-constant Cody–Waite step, e^r by a degree-7 Taylor
/// polynomial (truncation error below 1e-8 on |r| ≤ ln2/2), then the exponent bits of 2^n are added.
/// Error against the exact value: at most 0.93 ulp over [-87.3, 88] (tests hold it to 2 ulp). Domain: inputs below ln(2^-126) give 0 (softmax never needs weights that
/// small: they vanish in the half rounding of probabilities); inputs above 88 are clamped to 88 (softmax feeds x ≤ 0);
/// NaN stays NaN.
/// </summary>
public static class SoftmaxExp
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693145751953125f;     // high bits of ln 2: n·Ln2Hi is exact for |n| < 2^8
    private const float Ln2Lo = 1.42860682030941723e-6f; // ln 2 − Ln2Hi
    private const float Magic = 12582912f;               // 1.5·2^23: adding it leaves round(y) in the low mantissa bits
    private const float Lowest = -87.3365478515625f;     // ≈ ln(2^-126): below this the result is 0
    private const float Highest = 88f;
    private const float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;
    // bits(Magic + n) = 0x4B400000 + n, so bits(2^n) = (bits(Magic + n) − 0x4B400000 + 127) << 23.
    private const int ExponentShift = 127 - 0x4B400000;

    /// <summary>The scalar twin: bitwise what every vector lane computes.</summary>
    public static float Exp(float x)
    {
        float xc = MathF.Min(MathF.Max(x, Lowest), Highest);
        float t = MathF.FusedMultiplyAdd(xc, Log2E, Magic);
        float n = t - Magic;
        float r = MathF.FusedMultiplyAdd(n, -Ln2Hi, xc);
        r = MathF.FusedMultiplyAdd(n, -Ln2Lo, r);
        float p = MathF.FusedMultiplyAdd(C7, r, C6);
        p = MathF.FusedMultiplyAdd(p, r, C5);
        p = MathF.FusedMultiplyAdd(p, r, C4);
        p = MathF.FusedMultiplyAdd(p, r, C3);
        p = MathF.FusedMultiplyAdd(p, r, C2);
        p = MathF.FusedMultiplyAdd(p, r, 1f);
        p = MathF.FusedMultiplyAdd(p, r, 1f);
        float scale = BitConverter.Int32BitsToSingle((BitConverter.SingleToInt32Bits(t) + ExponentShift) << 23);
        float e = p * scale;
        if (x < Lowest) e = 0f;
        return float.IsNaN(x) ? x : e;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        Vector512<float> xc = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(Lowest)), Vector512.Create(Highest));
        Vector512<float> t = Vector512.FusedMultiplyAdd(xc, Vector512.Create(Log2E), Vector512.Create(Magic));
        Vector512<float> n = t - Vector512.Create(Magic);
        Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), xc);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        Vector512<float> p = Vector512.FusedMultiplyAdd(Vector512.Create(C7), r, Vector512.Create(C6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C5));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        Vector512<float> scale = ((t.AsInt32() + Vector512.Create(ExponentShift)) << 23).AsSingle();
        Vector512<float> e = Vector512.AndNot(p * scale, Vector512.LessThan(x, Vector512.Create(Lowest)));
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), e, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        Vector256<float> xc = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(Lowest)), Vector256.Create(Highest));
        Vector256<float> t = Vector256.FusedMultiplyAdd(xc, Vector256.Create(Log2E), Vector256.Create(Magic));
        Vector256<float> n = t - Vector256.Create(Magic);
        Vector256<float> r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi), xc);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo), r);
        Vector256<float> p = Vector256.FusedMultiplyAdd(Vector256.Create(C7), r, Vector256.Create(C6));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C5));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        Vector256<float> scale = ((t.AsInt32() + Vector256.Create(ExponentShift)) << 23).AsSingle();
        Vector256<float> e = Vector256.AndNot(p * scale, Vector256.LessThan(x, Vector256.Create(Lowest)));
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), e, x);
    }
}
