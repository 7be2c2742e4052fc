using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Scion.Tensors.Cpu;
using Scion.Tensors.Reference;

namespace Scion.Tensors;

/// <summary>Element-wise and reduction kernels of the forward pass, fp32, with scalar twins in <see cref="ReferenceOps"/>.</summary>
public static class Ops
{
    /// <summary>llama RMSNorm: dst = x / sqrt(mean(x²) + eps) * weight. dst may alias x.</summary>
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> dst) =>
        RmsNorm(x, weight, eps, dst, KernelSelection.Current);

    /// <summary>SwiGLU: dst = silu(gate) * up, silu(g) = g / (1 + e^-g). dst may alias either input.</summary>
    public static void SiluMul(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> dst) =>
        SiluMul(gate, up, dst, KernelSelection.Current);

    /// <summary>In-place softmax, max-subtracted for stability.</summary>
    public static void Softmax(Span<float> x) => Softmax(x, KernelSelection.Current);

    /// <summary>dst = a + b. dst may alias either input.</summary>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst) => Add(a, b, dst, KernelSelection.Current);

    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => Dot(a, b, KernelSelection.Current);

    /// <summary>y += alpha * x.</summary>
    public static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y) => Axpy(alpha, x, y, KernelSelection.Current);

    /// <summary>x *= factor.</summary>
    public static void Scale(Span<float> x, float factor) => Scale(x, factor, KernelSelection.Current);

    /// <summary>Whether every value is finite (no NaN, no infinity): a logits row is checked before anything samples from it.</summary>
    public static bool AllFinite(ReadOnlySpan<float> x) => AllFinite(x, KernelSelection.Current);

    /// <summary>Pointer form of <see cref="Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/> for inner loops that run it
    /// millions of times per token (attention over a long cache): no length checks, the same arithmetic.</summary>
    public static unsafe float Dot(float* a, float* b, int n)
    {
        var level = KernelSelection.Current;
        return level == KernelLevel.Scalar ? ReferenceOps.Dot(new ReadOnlySpan<float>(a, n), new ReadOnlySpan<float>(b, n)) : SimdVecDot.F32Split(a, b, n, level);
    }

    /// <summary>Pointer form of <see cref="Axpy(float, ReadOnlySpan{float}, Span{float})"/>: y += alpha·x, the same arithmetic.</summary>
    public static unsafe void Axpy(float alpha, float* x, float* y, int n)
    {
        var level = KernelSelection.Current;
        if (level == KernelLevel.Scalar) ReferenceOps.Axpy(alpha, new ReadOnlySpan<float>(x, n), new Span<float>(y, n));
        else Map(new ReadOnlySpan<float>(x, n), new ReadOnlySpan<float>(y, n), new Span<float>(y, n), level, new AxpyOp(alpha));
    }

    private static void CheckSame(int a, int b, string what)
    {
        if (a != b) throw new ArgumentException($"{what}: lengths {a} and {b} differ.");
    }

    // Variants below: scalar delegates to the twin; SIMD levels use 512-bit vectors at Avx512 and 256-bit at Avx2.

    internal static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> dst, KernelLevel level)
    {
        CheckSame(x.Length, weight.Length, "RmsNorm x/weight");
        CheckSame(x.Length, dst.Length, "RmsNorm x/dst");
        if (level == KernelLevel.Scalar) { ReferenceOps.RmsNorm(x, weight, eps, dst); return; }
        float scale = 1f / MathF.Sqrt((float)(SumOfSquares(x, level) / x.Length) + eps);
        Map(x, weight, dst, level, new ScaleMul(scale));
    }

    /// <summary>Σ x² as ggml's rms_norm forms it: each square rounded to fp32, summed in double. A float-lane sum
    /// moves the norm's scale by an ulp now and then, and every normalized value with it; that tips fp16 rounding of
    /// K in the cache (and Q8_K rounding of activations) away from llama.cpp's. Double sums of the same float terms
    /// agree with the sequential sum after rounding to fp32, whatever the lane order.</summary>
    internal static unsafe double SumOfSquares(ReadOnlySpan<float> x, KernelLevel level)
    {
        if (level == KernelLevel.Scalar) return ReferenceOps.SumOfSquares(x);
        int n = x.Length, i = 0;
        fixed (float* p = x)
        {
            Vector256<double> a0 = Vector256<double>.Zero, a1 = Vector256<double>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> v = Vector256.Load(p + i);
                Vector256<float> sq = v * v;
                a0 += Vector256.WidenLower(sq);
                a1 += Vector256.WidenUpper(sq);
            }
            double sum = Vector256.Sum(a0 + a1);
            for (; i < n; i++) sum += p[i] * p[i];
            return sum;
        }
    }

    internal static void SiluMul(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> dst, KernelLevel level)
    {
        CheckSame(gate.Length, up.Length, "SiluMul gate/up");
        CheckSame(gate.Length, dst.Length, "SiluMul gate/dst");
        if (level == KernelLevel.Scalar) { ReferenceOps.SiluMul(gate, up, dst); return; }
        Map(gate, up, dst, level, new SiluMulOp());
    }

    internal static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst, KernelLevel level)
    {
        CheckSame(a.Length, b.Length, "Add a/b");
        CheckSame(a.Length, dst.Length, "Add a/dst");
        if (level == KernelLevel.Scalar) { ReferenceOps.Add(a, b, dst); return; }
        Map(a, b, dst, level, new AddOp());
    }

    internal static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y, KernelLevel level)
    {
        CheckSame(x.Length, y.Length, "Axpy x/y");
        if (level == KernelLevel.Scalar) { ReferenceOps.Axpy(alpha, x, y); return; }
        Map(x, y, y, level, new AxpyOp(alpha));
    }

    internal static void Scale(Span<float> x, float factor, KernelLevel level)
    {
        if (level == KernelLevel.Scalar) { ReferenceOps.Scale(x, factor); return; }
        Map(x, x, x, level, new ScaleMul(factor, ignoreSecond: true));
    }

    internal static bool AllFinite(ReadOnlySpan<float> x, KernelLevel level)
    {
        if (level == KernelLevel.Scalar) return ReferenceOps.AllFinite(x);
        // v·0 is ±0 for a finite v and NaN for NaN or ±Inf, and NaN survives every sum: one multiply-add per value
        // and a single test at the end, no per-element branch.
        int i = 0;
        float tail = 0;
        if (level == KernelLevel.Avx512)
        {
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= x.Length; i += 16) acc += Vector512.LoadUnsafe(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x), (nuint)i) * Vector512<float>.Zero;
            tail = Vector512.Sum(acc);
        }
        else
        {
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= x.Length; i += 8) acc += Vector256.LoadUnsafe(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x), (nuint)i) * Vector256<float>.Zero;
            tail = Vector256.Sum(acc);
        }
        for (; i < x.Length; i++) tail += x[i] * 0f;
        return tail == 0;
    }

    internal static unsafe float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b, KernelLevel level)
    {
        CheckSame(a.Length, b.Length, "Dot a/b");
        if (level == KernelLevel.Scalar) return ReferenceOps.Dot(a, b);
        fixed (float* pa = a) fixed (float* pb = b) return SimdVecDot.F32Split(pa, pb, a.Length, level);
    }

    internal static void Softmax(Span<float> x, KernelLevel level)
    {
        if (level == KernelLevel.Scalar || x.Length == 0) { ReferenceOps.Softmax(x); return; }
        float max = float.NegativeInfinity;
        int i = 0;
        if (level == KernelLevel.Avx512 && x.Length >= 16)
        {
            Vector512<float> m = Vector512.Create(float.NegativeInfinity);
            for (; i + 16 <= x.Length; i += 16) m = Vector512.Max(m, Vector512.LoadUnsafe(ref x[i]));
            for (int k = 0; k < 16; k++) max = MathF.Max(max, m[k]);
        }
        else if (x.Length >= 8)
        {
            Vector256<float> m = Vector256.Create(float.NegativeInfinity);
            for (; i + 8 <= x.Length; i += 8) m = Vector256.Max(m, Vector256.LoadUnsafe(ref x[i]));
            for (int k = 0; k < 8; k++) max = MathF.Max(max, m[k]);
        }
        for (; i < x.Length; i++) max = MathF.Max(max, x[i]);
        Map(x, x, x, level, new ExpShift(max));
        float sum = 0;
        foreach (float v in x) sum += v;
        Scale(x, 1f / sum, level);
    }

    private interface IBinaryOp
    {
        Vector512<float> Apply(Vector512<float> a, Vector512<float> b);
        Vector256<float> Apply(Vector256<float> a, Vector256<float> b);
        float Apply(float a, float b);
    }

    private static void Map<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst, KernelLevel level, TOp op) where TOp : struct, IBinaryOp
    {
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        ref float rd = ref MemoryMarshal.GetReference(dst);
        int n = dst.Length, i = 0;
        if (level == KernelLevel.Avx512)
            for (; i + 16 <= n; i += 16) op.Apply(Vector512.LoadUnsafe(ref ra, (nuint)i), Vector512.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        for (; i + 8 <= n; i += 8) op.Apply(Vector256.LoadUnsafe(ref ra, (nuint)i), Vector256.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++) dst[i] = op.Apply(a[i], b[i]);
    }

    private readonly struct ScaleMul(float s, bool ignoreSecond = false) : IBinaryOp
    {
        public Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => ignoreSecond ? a * s : a * s * b;
        public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => ignoreSecond ? a * s : a * s * b;
        public float Apply(float a, float b) => ignoreSecond ? a * s : a * s * b;
    }

    private readonly struct SiluMulOp : IBinaryOp
    {
        public Vector512<float> Apply(Vector512<float> g, Vector512<float> u) => g / (Vector512<float>.One + Vector512.Exp(-g)) * u;
        public Vector256<float> Apply(Vector256<float> g, Vector256<float> u) => g / (Vector256<float>.One + Vector256.Exp(-g)) * u;
        public float Apply(float g, float u) => g / (1f + MathF.Exp(-g)) * u;
    }

    private readonly struct AddOp : IBinaryOp
    {
        public Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => a + b;
        public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a + b;
        public float Apply(float a, float b) => a + b;
    }

    private readonly struct AxpyOp(float alpha) : IBinaryOp
    {
        public Vector512<float> Apply(Vector512<float> x, Vector512<float> y) => Vector512.FusedMultiplyAdd(x, Vector512.Create(alpha), y);
        public Vector256<float> Apply(Vector256<float> x, Vector256<float> y) => Vector256.FusedMultiplyAdd(x, Vector256.Create(alpha), y);
        public float Apply(float x, float y) => alpha * x + y;
    }

    private readonly struct ExpShift(float max) : IBinaryOp
    {
        public Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => Vector512.Exp(a - Vector512.Create(max));
        public Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => Vector256.Exp(a - Vector256.Create(max));
        public float Apply(float a, float b) => MathF.Exp(a - max);
    }
}
