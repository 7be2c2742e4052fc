using Scion.Tensors.Cpu;
using Scion.Tensors.Quant;

namespace Scion.Tensors.Tests;

/// <summary>Every SIMD variant of activation quantization and the per-row dot against its scalar twin.</summary>
public class KernelTests
{
    [Theory]
    [InlineData(GgmlType.Q8_0, 32 * 37)]
    [InlineData(GgmlType.Q8_K, 256 * 5)]
    public unsafe void ActivationQuantizationIsByteExactAcrossLevels(GgmlType partner, int n)
    {
        var x = TestData.Floats(n, 3, 4f);
        // Exact ties and an all-zero block exercise rounding and the empty case.
        for (int i = 0; i < 32; i++) x[i] = i - 16.5f;
        for (int i = 32; i < 64; i++) x[n - 1 - (i - 32)] = 0;
        if (partner == GgmlType.Q8_K) for (int i = 256; i < 512; i++) x[i] = 0;
        x[300 % n] = -x[301 % n];   // equal magnitudes of both signs
        long bytes = GgmlTypeInfo.RowBytes(partner, n);
        var expected = new byte[bytes];
        fixed (float* px = x) fixed (byte* d = expected) ActivationQuant.Row(partner, px, d, n, KernelLevel.Scalar);
        foreach (var level in TestData.SimdLevels())
        {
            var got = new byte[bytes];
            fixed (float* px = x) fixed (byte* d = got) ActivationQuant.Row(partner, px, d, n, level);
            Assert.True(expected.AsSpan().SequenceEqual(got), $"{partner} at {level} differs from scalar");
        }
    }

    [Fact]
    public unsafe void Q8_KBlockSumsMatchTheirValues()
    {
        var x = TestData.Floats(256, 9);
        var q = new byte[292];
        fixed (float* px = x) fixed (byte* d = q) ActivationQuant.Row(GgmlType.Q8_K, px, d, 256, KernelSelection.Best);
        for (int g = 0; g < 16; g++)
        {
            int sum = 0;
            for (int i = 0; i < 16; i++) sum += (sbyte)q[4 + 16 * g + i];
            Assert.Equal(sum, BitConverter.ToInt16(q, 260 + 2 * g));
        }
    }

    [Fact]
    public unsafe void WordWideQ4_KScaleUnpackMatchesPerSubBlockUnpack()
    {
        var rng = new Random(17);
        var packed = new byte[12];
        for (int round = 0; round < 200; round++)
        {
            rng.NextBytes(packed);
            fixed (byte* p = packed)
            {
                SimdVecDot.UnpackScalesK4(p, out ulong scales, out ulong mins);
                for (int j = 0; j < 8; j++)
                {
                    BlockLayout.ScaleMinK4(j, p, out int sc, out int m);
                    Assert.Equal(sc, (int)((scales >> (8 * j)) & 0xFF));
                    Assert.Equal(m, (int)((mins >> (8 * j)) & 0xFF));
                }
            }
        }
    }

    public static IEnumerable<object[]> DotCases() =>
        from t in TestData.ComputeTypes from n in new[] { 256, 256 * 7 } select new object[] { t, n };

    [Theory]
    [MemberData(nameof(DotCases))]
    public unsafe void SimdDotMatchesScalarTwin(GgmlType type, int n)
    {
        int cols = type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 ? n + 13 : n;   // odd tails for float rows
        var w = TestData.Quantized(type, TestData.Floats(cols, 1));
        var x = TestData.Floats(cols, 2);
        GgmlType partner = ActivationQuant.PartnerType(type);
        byte[] act = partner == GgmlType.F32 ? new byte[cols * 4] : new byte[GgmlTypeInfo.RowBytes(partner, cols)];
        fixed (float* px = x) fixed (byte* pa = act)
        {
            if (partner == GgmlType.F32) Buffer.MemoryCopy(px, pa, cols * 4, cols * 4);
            else ActivationQuant.Row(partner, px, pa, cols, KernelLevel.Scalar);
        }
        fixed (byte* pw = w) fixed (byte* pa = act)
        {
            float expected = VecDot.Dot(type, pw, pa, cols, KernelLevel.Scalar);
            double magnitude = Magnitude(type, w, act, cols);
            foreach (var level in TestData.SimdLevels())
            {
                TestData.Near(expected, VecDot.DotSimd<MaddubsDot>(type, pw, pa, cols, level), 1e-5 * magnitude, $"{type} {level} maddubs");
                if (AvxVnniAvailable)
                    TestData.Near(expected, VecDot.DotSimd<VnniDot>(type, pw, pa, cols, level), 1e-5 * magnitude, $"{type} {level} vnni");
                TestData.Near(expected, VecDot.Dot(type, pw, pa, cols, level), 1e-5 * magnitude, $"{type} {level}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(DotCases))]
    public unsafe void FourTokenTileMatchesFourSingleDots(GgmlType type, int n)
    {
        int cols = type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 ? n + 13 : n;
        var w = TestData.Quantized(type, TestData.Floats(cols, 8));
        GgmlType partner = ActivationQuant.PartnerType(type);
        long stride = partner == GgmlType.F32 ? cols * 4L + 12 : GgmlTypeInfo.RowBytes(partner, cols) + 5;   // padded rows
        var act = new byte[stride * 4];
        for (int t = 0; t < 4; t++)
        {
            var x = TestData.Floats(cols, 9 + t);
            fixed (float* px = x) fixed (byte* pa = act)
            {
                if (partner == GgmlType.F32) Buffer.MemoryCopy(px, pa + t * stride, cols * 4, cols * 4);
                else ActivationQuant.Row(partner, px, pa + t * stride, cols, KernelLevel.Scalar);
            }
        }
        var got = new float[4];
        fixed (byte* pw = w) fixed (byte* pa = act) fixed (float* pr = got)
        {
            foreach (var level in TestData.AllLevels())
            {
                VecDot.Dot4(type, pw, pa, stride, cols, level, pr);
                for (int t = 0; t < 4; t++)
                {
                    float single = VecDot.Dot(type, pw, pa + t * stride, cols, KernelLevel.Scalar);
                    double magnitude = Magnitude(type, w, act.AsSpan((int)(t * stride), (int)stride).ToArray(), cols);
                    TestData.Near(single, got[t], 1e-5 * magnitude, $"{type} {level} token {t}");
                }
                if (level != KernelLevel.Scalar)
                {
                    VecDot.Dot4Simd<MaddubsDot>(type, pw, pa, stride, cols, level, pr);
                    for (int t = 0; t < 4; t++)
                        TestData.Near(VecDot.Dot(type, pw, pa + t * stride, cols, KernelLevel.Scalar), got[t], 1e-5 * Magnitude(type, w, act.AsSpan((int)(t * stride), (int)stride).ToArray(), cols), $"{type} {level} maddubs token {t}");
                }
            }
        }
    }

    /// <summary>K-quant dots share their float steps (KQuantAccumulate, llama.cpp's NEON order) at every level, so the
    /// SIMD dot, the four-token tile and the scalar reference must give the same bits: batched prefill then equals
    /// token-by-token decode exactly, and golden comparisons do not depend on the CPU.</summary>
    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q6_K)]
    public unsafe void KQuantDotsAreBitIdenticalAcrossLevelsAndTiles(GgmlType type)
    {
        const int cols = 256 * 11;
        var w = TestData.Quantized(type, TestData.Floats(cols, 21));
        long stride = GgmlTypeInfo.RowBytes(GgmlType.Q8_K, cols) + 3;
        var act = new byte[stride * 4];
        for (int t = 0; t < 4; t++)
            fixed (float* px = TestData.Floats(cols, 22 + t, 3f)) fixed (byte* pa = act)
                ActivationQuant.Row(GgmlType.Q8_K, px, pa + t * stride, cols, KernelLevel.Scalar);
        var got = new float[4];
        fixed (byte* pw = w) fixed (byte* pa = act) fixed (float* pr = got)
        {
            for (int t = 0; t < 4; t++)
            {
                float expected = VecDot.Dot(type, pw, pa + t * stride, cols, KernelLevel.Scalar);
                foreach (var level in TestData.SimdLevels())
                {
                    Assert.Equal(expected, VecDot.DotSimd<MaddubsDot>(type, pw, pa + t * stride, cols, level));
                    if (AvxVnniAvailable) Assert.Equal(expected, VecDot.DotSimd<VnniDot>(type, pw, pa + t * stride, cols, level));
                }
            }
            foreach (var level in TestData.SimdLevels())
            {
                VecDot.Dot4Simd<MaddubsDot>(type, pw, pa, stride, cols, level, pr);
                for (int t = 0; t < 4; t++) Assert.Equal(VecDot.Dot(type, pw, pa + t * stride, cols, KernelLevel.Scalar), got[t]);
                if (AvxVnniAvailable)
                {
                    VecDot.Dot4Simd<VnniDot>(type, pw, pa, stride, cols, level, pr);
                    for (int t = 0; t < 4; t++) Assert.Equal(VecDot.Dot(type, pw, pa + t * stride, cols, KernelLevel.Scalar), got[t]);
                }
            }
        }
    }

    /// <summary>The Q4_K float steps in llama.cpp's order: min term subtracted before the scaled integer total is added.</summary>
    [Fact]
    public void Q4_KAccumulatesMinTermFirst()
    {
        float sum = 1e8f, dx = 1f, d = 1f, dmin = 1f;
        // fp32 steps are 8 apart at 1e8: 1e8 − 3 rounds to 1e8, then + 5 rounds to 1e8 + 8; adding (5 − 3) at once would stay at 1e8.
        Assert.Equal(1e8f + 8f, KQuantAccumulate.Q4_K(sum, dx, d, dmin, sumi: 5, summ: 3));
    }

    /// <summary>Decode's four-rows-per-pass kernels give each row the bits of its single-row dot.</summary>
    [Theory]
    [MemberData(nameof(DotCases))]
    public unsafe void FourRowGemvMatchesSingleRowDotsBitwise(GgmlType type, int n)
    {
        int cols = type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 ? n + 13 : n;
        long rowBytes = GgmlTypeInfo.RowBytes(type, cols);
        var w = new byte[rowBytes * 4];
        for (int r = 0; r < 4; r++) TestData.Quantized(type, TestData.Floats(cols, 30 + r)).CopyTo(w, r * rowBytes);
        var x = TestData.Floats(cols, 35);
        GgmlType partner = ActivationQuant.PartnerType(type);
        byte[] act = partner == GgmlType.F32 ? new byte[cols * 4] : new byte[GgmlTypeInfo.RowBytes(partner, cols)];
        fixed (float* px = x) fixed (byte* pa = act)
        {
            if (partner == GgmlType.F32) Buffer.MemoryCopy(px, pa, cols * 4, cols * 4);
            else ActivationQuant.Row(partner, px, pa, cols, KernelLevel.Scalar);
        }
        var got = new float[4];
        fixed (byte* pw = w) fixed (byte* pa = act) fixed (float* pr = got)
        {
            foreach (var level in TestData.SimdLevels())
            {
                switch (type)
                {
                    case GgmlType.F32: SimdVecDot.Rows4<F32Loader>(pw, rowBytes, (float*)pa, cols, level, pr); break;
                    case GgmlType.F16: SimdVecDot.Rows4<HalfWidener>(pw, rowBytes, (float*)pa, cols, level, pr); break;
                    case GgmlType.BF16: SimdVecDot.Rows4<BFloat16Widener>(pw, rowBytes, (float*)pa, cols, level, pr); break;
                    default: VecDot.Rows4(type, pw, rowBytes, pa, cols, level, pr); break;
                }
                for (int r = 0; r < 4; r++) Assert.Equal(VecDot.Dot(type, pw + r * rowBytes, pa, cols, level), got[r]);
                if (partner != GgmlType.F32)
                {
                    VecDot.Rows4Simd<MaddubsDot>(type, pw, rowBytes, pa, cols, level, pr);
                    for (int r = 0; r < 4; r++) Assert.Equal(VecDot.DotSimd<MaddubsDot>(type, pw + r * rowBytes, pa, cols, level), got[r]);
                }
            }
        }
    }

    /// <summary>The 2-row x 4-token Q4_0/Q8_0 prefill kernel (unsigned weights, offset folded out through activation
    /// lane sums) keeps the bits of the single-row dots, with VNNI and (Q4_0) with maddubs.</summary>
    [Theory]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q8_0)]
    public unsafe void TwoRowFourTokenQuantTileMatchesSingleDotsBitwise(GgmlType type)
    {
        Assert.SkipUnless(KernelSelection.IsAvailable(KernelLevel.Avx512), "this CPU has no AVX-512 (F and BW): the AVX-512 kernel under test cannot run here");
        const int cols = 32 * 45;
        long rowBytes = GgmlTypeInfo.RowBytes(type, cols);
        var w = new byte[rowBytes * 2];
        for (int r = 0; r < 2; r++) TestData.Quantized(type, TestData.Floats(cols, 50 + r)).CopyTo(w, r * rowBytes);
        long stride = GgmlTypeInfo.RowBytes(GgmlType.Q8_0, cols) + 7;
        var act = new byte[stride * 4];
        for (int t = 0; t < 4; t++)
            fixed (float* px = TestData.Floats(cols, 55 + t, 2f)) fixed (byte* pa = act)
                ActivationQuant.Row(GgmlType.Q8_0, px, pa + t * stride, cols, KernelLevel.Scalar);
        var got = new float[8];
        fixed (byte* pw = w) fixed (byte* pa = act) fixed (float* pr = got)
        {
            if (AvxVnniAvailable)
            {
                SimdVecDot.QuantBlock32x2x4<VnniDot>(type, pw, pw + rowBytes, pa, stride, cols, pr);
                for (int r = 0; r < 2; r++)
                    for (int t = 0; t < 4; t++) Assert.Equal(VecDot.DotSimd<VnniDot>(type, pw + r * rowBytes, pa + t * stride, cols, KernelLevel.Avx512), got[4 * r + t]);
            }
            if (type == GgmlType.Q4_0)
            {
                SimdVecDot.QuantBlock32x2x4<MaddubsDot>(type, pw, pw + rowBytes, pa, stride, cols, pr);
                for (int r = 0; r < 2; r++)
                    for (int t = 0; t < 4; t++) Assert.Equal(VecDot.DotSimd<MaddubsDot>(type, pw + r * rowBytes, pa + t * stride, cols, KernelLevel.Avx512), got[4 * r + t]);
            }
        }
    }

    private static bool AvxVnniAvailable => System.Runtime.Intrinsics.X86.AvxVnni.IsSupported;

    /// <summary>Σ|w·x| in double over the dequantized rows: the scale float rounding errors are relative to.</summary>
    internal static double Magnitude(GgmlType type, byte[] w, byte[] act, int cols)
    {
        var wv = TestData.Dequantized(type, w, cols);
        GgmlType partner = ActivationQuant.PartnerType(type);
        var xv = partner == GgmlType.F32 ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(act).ToArray() : TestData.Dequantized(partner, act, cols);
        double m = 0;
        for (int i = 0; i < cols; i++) m += Math.Abs((double)wv[i] * xv[i]);
        return m;
    }

    [Theory]
    [MemberData(nameof(DotCases))]
    public unsafe void ScalarDotEqualsDequantizedDoubleDot(GgmlType type, int n)
    {
        var w = TestData.Quantized(type, TestData.Floats(n, 4));
        var x = TestData.Floats(n, 5);
        GgmlType partner = ActivationQuant.PartnerType(type);
        byte[] act = partner == GgmlType.F32 ? System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()).ToArray() : new byte[GgmlTypeInfo.RowBytes(partner, n)];
        if (partner != GgmlType.F32) ActivationQuant.Row(partner, x, act);
        var wv = TestData.Dequantized(type, w, n);
        var xv = partner == GgmlType.F32 ? x : TestData.Dequantized(partner, act, n);
        double exact = 0;
        for (int i = 0; i < n; i++) exact += (double)wv[i] * xv[i];
        float got = partner == GgmlType.F32 ? VecDot.Dot(type, w, x) : VecDot.DotQuantized(type, w, act, n);
        fixed (byte* pw = w) fixed (byte* pa = act)
            TestData.Near(exact, VecDot.Dot(type, pw, pa, n, KernelLevel.Scalar), 1e-5 * Magnitude(type, w, act, n), $"{type} scalar");
        TestData.Near(exact, got, 1e-5 * Magnitude(type, w, act, n), $"{type} public");
    }
}
