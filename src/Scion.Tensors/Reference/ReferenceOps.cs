namespace Scion.Tensors.Reference;

/// <summary>Scalar element-wise kernels, straightforward loops in fp32 (RmsNorm sums fp32 squares in double, as ggml does).</summary>
internal static class ReferenceOps
{
    public static bool AllFinite(ReadOnlySpan<float> x)
    {
        foreach (float v in x) if (!float.IsFinite(v)) return false;
        return true;
    }

    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> dst)
    {
        float scale = 1f / MathF.Sqrt((float)(SumOfSquares(x) / x.Length) + eps);
        for (int i = 0; i < x.Length; i++) dst[i] = x[i] * scale * weight[i];
    }

    /// <summary>Σ x² with each square rounded to fp32 and the sum kept in double, as ggml's rms_norm does.</summary>
    public static double SumOfSquares(ReadOnlySpan<float> x)
    {
        double sum = 0;
        foreach (float v in x) sum += v * v;
        return sum;
    }

    public static void SiluMul(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> dst)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = gate[i] / (1f + MathF.Exp(-gate[i])) * up[i];
    }

    public static void Softmax(Span<float> x)
    {
        float max = float.NegativeInfinity;
        foreach (float v in x) max = MathF.Max(max, v);
        float sum = 0;
        for (int i = 0; i < x.Length; i++) { x[i] = MathF.Exp(x[i] - max); sum += x[i]; }
        float inv = 1f / sum;
        for (int i = 0; i < x.Length; i++) x[i] *= inv;
    }

    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = a[i] + b[i];
    }

    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    public static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] += alpha * x[i];
    }

    public static void Scale(Span<float> x, float factor)
    {
        for (int i = 0; i < x.Length; i++) x[i] *= factor;
    }
}
