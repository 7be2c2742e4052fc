using Scion.Tensors.Cpu;

namespace Scion.Tensors.Tests;

/// <summary>Seeded random inputs and the kernel levels this CPU can run.</summary>
internal static class TestData
{
    public static float[] Floats(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            // Mix a Gaussian bulk with occasional outliers, as real weights and activations have.
            double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
            double g = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            if (rng.Next(64) == 0) g *= 6;
            v[i] = (float)(g * scale);
        }
        return v;
    }

    public static byte[] Quantized(GgmlType type, float[] values)
    {
        var bytes = new byte[GgmlTypeInfo.RowBytes(type, values.Length)];
        Quantize.Row(type, values, bytes);
        return bytes;
    }

    public static float[] Dequantized(GgmlType type, byte[] bytes, int n)
    {
        var v = new float[n];
        Dequantize.Row(type, bytes, v);
        return v;
    }

    /// <summary>The SIMD levels this CPU runs. A test that compares them with the scalar twin compares nothing on a
    /// CPU without any, so it is reported skipped with the reason instead of passing.</summary>
    public static IReadOnlyList<KernelLevel> SimdLevels()
    {
        var levels = AvailableSimdLevels();
        Assert.SkipWhen(levels.Count == 0, "this CPU has no AVX2+FMA: no SIMD kernel to compare with the scalar twin");
        return levels;
    }

    /// <summary>Scalar and every SIMD level this CPU runs (the scalar level alone still checks against a reference).</summary>
    public static IEnumerable<KernelLevel> AllLevels() => AvailableSimdLevels().Prepend(KernelLevel.Scalar);

    private static List<KernelLevel> AvailableSimdLevels() =>
        [.. new[] { KernelLevel.Avx2, KernelLevel.Avx512 }.Where(KernelSelection.IsAvailable)];

    public static readonly GgmlType[] ComputeTypes =
        [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K];

    public static void Near(double expected, double actual, double tolerance, string what)
    {
        if (!(Math.Abs(expected - actual) <= tolerance))
            Assert.Fail($"{what}: expected {expected}, got {actual} (|diff| {Math.Abs(expected - actual)} > {tolerance}).");
    }
}
