namespace Scion.Tensors.Tests;

/// <summary>Blocks built byte by byte from the ggml layouts, decoded to known values.</summary>
public class BlockFormatTests
{
    private static void PutHalf(byte[] b, int at, float v) => BitConverter.TryWriteBytes(b.AsSpan(at), HalfConvert.FloatToHalf(v));

    [Fact]
    public void Q8_0BlockIsScaleThenSignedBytes()
    {
        var b = new byte[34];
        PutHalf(b, 0, 0.5f);
        for (int i = 0; i < 32; i++) b[2 + i] = (byte)(sbyte)(i - 16);
        var v = TestData.Dequantized(GgmlType.Q8_0, b, 32);
        for (int i = 0; i < 32; i++) Assert.Equal((i - 16) * 0.5f, v[i]);
    }

    [Fact]
    public void Q4_0LowNibblesAreFirstHalf()
    {
        var b = new byte[18];
        PutHalf(b, 0, 2f);
        for (int i = 0; i < 16; i++) b[2 + i] = (byte)(i | ((15 - i) << 4));
        var v = TestData.Dequantized(GgmlType.Q4_0, b, 32);
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal((i - 8) * 2f, v[i]);
            Assert.Equal((15 - i - 8) * 2f, v[i + 16]);
        }
    }

    [Fact]
    public void Q4_KSixBitScalesAndMinsUnpack()
    {
        var b = new byte[144];
        PutHalf(b, 0, 1f);      // d
        PutHalf(b, 2, 0.5f);    // dmin
        int[] sc = [1, 2, 3, 63, 17, 33, 48, 5];
        int[] mn = [0, 4, 62, 7, 19, 40, 1, 63];
        for (int j = 0; j < 4; j++) { b[4 + j] = (byte)sc[j]; b[4 + j + 4] = (byte)mn[j]; }
        for (int j = 4; j < 8; j++)
        {
            b[4 + j + 4] = (byte)((sc[j] & 0xF) | ((mn[j] & 0xF) << 4));
            b[4 + j - 4] |= (byte)((sc[j] >> 4) << 6);
            b[4 + j] |= (byte)((mn[j] >> 4) << 6);
        }
        // Element e of sub-block j holds level (e + j) % 16.
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                b[16 + 32 * c + l] = (byte)(((l + 2 * c) % 16) | (((l + 2 * c + 1) % 16) << 4));
        var v = TestData.Dequantized(GgmlType.Q4_K, b, 256);
        for (int j = 0; j < 8; j++)
            for (int l = 0; l < 32; l++)
                Assert.Equal(1f * sc[j] * ((l + j) % 16) - 0.5f * mn[j], v[32 * j + l]);
    }

    [Fact]
    public void Q6_KSplitsLowAndHighBits()
    {
        var b = new byte[210];
        var levels = new int[256];
        for (int i = 0; i < 256; i++) levels[i] = (i * 7 + 3) % 64;
        var scales = new sbyte[16];
        for (int g = 0; g < 16; g++) scales[g] = (sbyte)(g % 2 == 0 ? g + 1 : -g);
        for (int half = 0; half < 2; half++)
            for (int l = 0; l < 32; l++)
            {
                int q1 = levels[128 * half + l], q2 = levels[128 * half + l + 32], q3 = levels[128 * half + l + 64], q4 = levels[128 * half + l + 96];
                b[64 * half + l] = (byte)((q1 & 0xF) | ((q3 & 0xF) << 4));
                b[64 * half + l + 32] = (byte)((q2 & 0xF) | ((q4 & 0xF) << 4));
                b[128 + 32 * half + l] = (byte)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
            }
        for (int g = 0; g < 16; g++) b[192 + g] = (byte)scales[g];
        PutHalf(b, 208, 0.25f);
        var v = TestData.Dequantized(GgmlType.Q6_K, b, 256);
        for (int i = 0; i < 256; i++) Assert.Equal(0.25f * scales[i / 16] * (levels[i] - 32), v[i]);
    }

    [Fact]
    public void F16AndBF16RowsAreLittleEndianBitPatterns()
    {
        byte[] f16 = [0x00, 0x3C, 0x00, 0xC0];   // 1, -2
        Assert.Equal([1f, -2f], TestData.Dequantized(GgmlType.F16, f16, 2));
        byte[] bf16 = [0x80, 0x3F, 0x40, 0xC0];  // 1, -3
        Assert.Equal([1f, -3f], TestData.Dequantized(GgmlType.BF16, bf16, 2));
    }
}
