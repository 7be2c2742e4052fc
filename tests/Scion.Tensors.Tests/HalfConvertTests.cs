using Scion.Tensors.Cpu;

namespace Scion.Tensors.Tests;

public class HalfConvertTests
{
    [Fact]
    public unsafe void EveryHalfPatternWidensLikeTheScalarPath()
    {
        var all = new ushort[65536 + 5];   // odd tail on purpose
        for (int i = 0; i < all.Length; i++) all[i] = (ushort)i;
        var expected = new float[all.Length];
        for (int i = 0; i < all.Length; i++) expected[i] = (float)BitConverter.UInt16BitsToHalf(all[i]);
        foreach (var level in TestData.AllLevels())
        {
            var got = new float[all.Length];
            fixed (ushort* s = all) fixed (float* d = got) HalfConvert.HalfToFloat(s, d, all.Length, level);
            for (int i = 0; i < all.Length; i++)
            {
                if (float.IsNaN(expected[i])) Assert.True(float.IsNaN(got[i]), $"{level}: 0x{all[i]:x4} should be NaN");
                else Assert.True(BitConverter.SingleToUInt32Bits(expected[i]) == BitConverter.SingleToUInt32Bits(got[i]),
                    $"{level}: half 0x{all[i]:x4} → {got[i]}, expected {expected[i]}");
            }
        }
    }

    [Fact]
    public void FloatToHalfRoundsToNearestEven()
    {
        // 1 + 2^-11 lies halfway between 1 and the next half (1 + 2^-10): ties go to the even mantissa, 1.
        Assert.Equal((ushort)0x3C00, HalfConvert.FloatToHalf(1f + MathF.Pow(2, -11)));
        Assert.Equal((ushort)0x3C02, HalfConvert.FloatToHalf(1f + 3 * MathF.Pow(2, -11)));
        Assert.Equal((ushort)0x7C00, HalfConvert.FloatToHalf(1e6f));
        Assert.Equal((ushort)0x0001, HalfConvert.FloatToHalf(MathF.Pow(2, -24)));
    }

    [Fact]
    public unsafe void BFloat16MatchesScalarAndRoundsToNearestEven()
    {
        Assert.Equal((ushort)0x3F80, HalfConvert.FloatToBFloat16(BitConverter.UInt32BitsToSingle(0x3F808000))); // tie → even
        Assert.Equal((ushort)0x3F82, HalfConvert.FloatToBFloat16(BitConverter.UInt32BitsToSingle(0x3F818000))); // tie → even (up)
        Assert.Equal((ushort)0x3F81, HalfConvert.FloatToBFloat16(BitConverter.UInt32BitsToSingle(0x3F808001)));
        Assert.True(float.IsNaN(HalfConvert.BFloat16ToFloat(HalfConvert.FloatToBFloat16(float.NaN))));

        var src = TestData.Floats(1003, 7, 100f);
        src[5] = float.NaN; src[6] = float.PositiveInfinity; src[7] = -0f; src[8] = 3.4e38f;
        var expected = new ushort[src.Length];
        for (int i = 0; i < src.Length; i++) expected[i] = HalfConvert.FloatToBFloat16(src[i]);
        foreach (var level in TestData.AllLevels())
        {
            var got = new ushort[src.Length];
            fixed (float* s = src) fixed (ushort* d = got) HalfConvert.FloatToBFloat16(s, d, src.Length, level);
            Assert.Equal(expected, got);
            var back = new float[src.Length];
            fixed (ushort* s = got) fixed (float* d = back) HalfConvert.BFloat16ToFloat(s, d, src.Length, level);
            for (int i = 0; i < src.Length; i++)
                Assert.Equal(BitConverter.SingleToUInt32Bits(back[i]), (uint)got[i] << 16);
        }
    }

    [Fact]
    public void SpanOverloadsRoundTrip()
    {
        var src = TestData.Floats(37, 3);
        var halves = new Half[37];
        HalfConvert.FromFloat(src, halves);
        var back = new float[37];
        HalfConvert.ToFloat(halves, back);
        for (int i = 0; i < 37; i++) Assert.Equal((float)(Half)src[i], back[i]);
    }
}

public class FloatToHalfSimdTests
{
    [Fact]
    public unsafe void SimdNarrowingMatchesScalarOnEdgeCases()
    {
        var values = new List<float>(TestData.Floats(4001, 12, 1000f));
        values.AddRange(TestData.Floats(999, 13, 1e-5f));   // subnormal halves
        values.AddRange([0f, -0f, 65504f, 65519.99f, 65520f, -65520f, 1e30f, float.PositiveInfinity, float.NegativeInfinity,
            float.NaN, -float.NaN, BitConverter.UInt32BitsToSingle(0x7f800001), float.Epsilon, 5.96e-8f, 2.98e-8f, 2.99e-8f,
            6.1035156e-05f, 6.1e-05f, 1f + MathF.Pow(2, -11), 1f + 3 * MathF.Pow(2, -11), 2049f, 2051f]);
        // Every half's exact value and the midpoints between neighbours: the hardest ties.
        for (int h = 0; h < 0x7c00; h += 7)
        {
            float a = HalfConvert.HalfToFloat((ushort)h), b = HalfConvert.HalfToFloat((ushort)(h + 1));
            values.Add(a); values.Add((a + b) / 2); values.Add(-(a + b) / 2);
        }
        var src = values.ToArray();
        var expected = new ushort[src.Length];
        for (int i = 0; i < src.Length; i++) expected[i] = HalfConvert.FloatToHalf(src[i]);
        foreach (var level in TestData.SimdLevels())
        {
            var got = new ushort[src.Length];
            fixed (float* s = src) fixed (ushort* d = got) HalfConvert.FloatToHalf(s, d, src.Length, level);
            for (int i = 0; i < src.Length; i++)
            {
                if (float.IsNaN(src[i]))
                    Assert.True(Half.IsNaN(BitConverter.UInt16BitsToHalf(got[i])), $"{level}: NaN became 0x{got[i]:x4}");
                else
                    Assert.True(expected[i] == got[i], $"{level}: {src[i]:R} → 0x{got[i]:x4}, expected 0x{expected[i]:x4}");
            }
        }
    }
}
