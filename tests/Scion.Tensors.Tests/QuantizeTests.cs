using Scion.Tensors.Cpu;

namespace Scion.Tensors.Tests;

public class QuantizeTests
{
    // Relative RMS error bounds of dequant(quant(x)) for Gaussian data with outliers.
    [Theory]
    [InlineData(GgmlType.F32, 0.0)]
    [InlineData(GgmlType.F16, 1e-3)]
    [InlineData(GgmlType.BF16, 5e-3)]
    [InlineData(GgmlType.Q8_0, 0.01)]
    [InlineData(GgmlType.Q6_K, 0.03)]
    [InlineData(GgmlType.Q4_K, 0.12)]
    [InlineData(GgmlType.Q4_0, 0.15)]
    public void RoundTripErrorIsBounded(GgmlType type, double maxRelativeRms)
    {
        var x = TestData.Floats(256 * 6, 11);
        var back = TestData.Dequantized(type, TestData.Quantized(type, x), x.Length);
        double err = 0, norm = 0;
        for (int i = 0; i < x.Length; i++) { err += (back[i] - x[i]) * (double)(back[i] - x[i]); norm += x[i] * (double)x[i]; }
        double rel = Math.Sqrt(err / norm);
        Assert.True(rel <= maxRelativeRms, $"{type}: relative RMS error {rel} > {maxRelativeRms}");
    }

    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q6_K)]
    public void RequantizingADequantizedRowIsStable(GgmlType type)
    {
        var x = TestData.Floats(256 * 4, 5);
        var once = TestData.Dequantized(type, TestData.Quantized(type, x), x.Length);
        var twice = TestData.Dequantized(type, TestData.Quantized(type, once), x.Length);
        double err = 0, norm = 0;
        for (int i = 0; i < x.Length; i++) { err += (twice[i] - once[i]) * (double)(twice[i] - once[i]); norm += once[i] * (double)once[i]; }
        // Values already on the grid should land on (almost) the same grid again.
        Assert.True(Math.Sqrt(err / norm) < 0.01, $"{type}: requantization drifted by {Math.Sqrt(err / norm)}");
    }

    [Fact]
    public void ZeroRowsQuantizeToZero()
    {
        foreach (var type in TestData.ComputeTypes)
        {
            var back = TestData.Dequantized(type, TestData.Quantized(type, new float[256]), 256);
            Assert.All(back, v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void Q8_0UsesAbsMaxOver127AndRoundsHalfAwayFromZero()
    {
        var x = new float[32];
        x[0] = 127f; x[1] = -2.5f; x[2] = 0.5f; x[3] = -63.5f;
        var b = TestData.Quantized(GgmlType.Q8_0, x);
        Assert.Equal(1f, HalfConvert.HalfToFloat(BitConverter.ToUInt16(b, 0)));
        Assert.Equal(127, (sbyte)b[2]);
        Assert.Equal(-3, (sbyte)b[3]);
        Assert.Equal(1, (sbyte)b[4]);
        Assert.Equal(-64, (sbyte)b[5]);
    }

    [Fact]
    public void Q4_0MapsTheSignedExtremeToMinusEight()
    {
        var x = new float[32];
        x[0] = -16f; x[1] = 8f; x[17] = 2f;
        var b = TestData.Quantized(GgmlType.Q4_0, x);
        Assert.Equal(2f, HalfConvert.HalfToFloat(BitConverter.ToUInt16(b, 0)));   // d = max / -8
        var back = TestData.Dequantized(GgmlType.Q4_0, b, 32);
        Assert.Equal(-16f, back[0]);
        Assert.Equal(8f, back[1]);
        Assert.Equal(2f, back[17]);
    }

    [Fact]
    public void UnsupportedTargetsThrow()
    {
        Assert.Throws<NotSupportedException>(() => Quantize.Row(GgmlType.Q5_K, new float[256], new byte[1024]));
        Assert.Throws<ArgumentException>(() => Quantize.Row(GgmlType.Q8_0, new float[30], new byte[64]));
    }

    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q6_K)]
    public unsafe void SimdDequantizeMatchesScalar(GgmlType type)
    {
        var x = TestData.Floats(256 * 3, 21);
        var q = TestData.Quantized(type, x);
        var expected = new float[x.Length];
        fixed (byte* s = q) fixed (float* d = expected) Dequantize.Row(type, s, d, x.Length, KernelLevel.Scalar);
        foreach (var level in TestData.SimdLevels())
        {
            var got = new float[x.Length];
            fixed (byte* s = q) fixed (float* d = got) Dequantize.Row(type, s, d, x.Length, level);
            Assert.Equal(expected, got);
        }
    }
}

public class QuantizeRowsTests
{
    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.BF16)]
    public void ParallelMatrixQuantizationEqualsRowByRow(GgmlType type)
    {
        const int rows = 13, cols = 512;
        var x = TestData.Floats(rows * cols, 77);
        long rowBytes = GgmlTypeInfo.RowBytes(type, cols);
        var expected = new byte[rowBytes * rows];
        for (int r = 0; r < rows; r++) Quantize.Row(type, x.AsSpan(r * cols, cols), expected.AsSpan((int)(r * rowBytes), (int)rowBytes));
        using var pool = new WorkerPool(3);
        var got = new byte[expected.Length];
        Quantize.Rows(type, x, cols, got, pool);
        Assert.Equal(expected, got);
        Assert.Throws<ArgumentException>(() => Quantize.Rows(type, x.AsSpan(1), cols, got, pool));
    }
}
