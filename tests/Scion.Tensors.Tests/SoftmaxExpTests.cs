using System.Runtime.Intrinsics;
using Scion.Tensors.Cpu;

namespace Scion.Tensors.Tests;

/// <summary>The softmax exp: accuracy against double exp, and every vector lane equal to the scalar twin bitwise.</summary>
public class SoftmaxExpTests
{
    private static float[] Inputs()
    {
        var values = new List<float>();
        var rng = new Random(5);
        for (int i = 0; i < 200_000; i++) values.Add((float)(rng.NextDouble() * (88.0 + 87.33) - 87.33));
        for (int i = 0; i < 20_000; i++) values.Add((float)(-rng.NextDouble() * 12)); // the bulk of real softmax inputs
        values.AddRange([0f, -0f, 1f, -1f, 0.34657359f, -0.34657359f, 0.3465736f, -0.3465736f, 1e-8f, -1e-8f, -87.3f, -87.33654f, 88f,
            -87.34f, -100f, -1e30f, float.NegativeInfinity, float.NaN, float.MinValue]);
        return values.ToArray();
    }

    [Fact]
    public void WithinTwoUlpOfExactOverTheSoftmaxRange()
    {
        double worst = 0;
        float worstAt = 0;
        foreach (float x in Inputs())
        {
            if (!(x >= -87.33654f && x <= 88f)) continue;
            float got = SoftmaxExp.Exp(x);
            double exact = Math.Exp(x);
            float rounded = (float)exact;
            double ulp = MathF.BitIncrement(rounded) - rounded;
            double err = Math.Abs(got - exact) / ulp;
            if (err > worst) { worst = err; worstAt = x; }
        }
        Assert.True(worst <= 2.0, $"worst error {worst:F3} ulp at x = {worstAt:R}");
    }

    [Fact]
    public void AgreesWithMathFExpWithinTwoUlp()
    {
        foreach (float x in Inputs())
        {
            if (!(x >= -87.33654f && x <= 88f)) continue;
            int a = BitConverter.SingleToInt32Bits(SoftmaxExp.Exp(x)), b = BitConverter.SingleToInt32Bits(MathF.Exp(x));
            Assert.True(Math.Abs(a - b) <= 2, $"x = {x:R}: {SoftmaxExp.Exp(x):R} vs MathF.Exp {MathF.Exp(x):R}");
        }
    }

    [Fact]
    public void EdgesOfTheDomain()
    {
        Assert.Equal(1f, SoftmaxExp.Exp(0f));
        Assert.Equal(1f, SoftmaxExp.Exp(-0f));
        Assert.Equal(0f, SoftmaxExp.Exp(-87.34f));
        Assert.Equal(0f, SoftmaxExp.Exp(float.NegativeInfinity));
        Assert.Equal(0f, SoftmaxExp.Exp(float.MinValue));
        Assert.True(float.IsNaN(SoftmaxExp.Exp(float.NaN)));
        Assert.True(SoftmaxExp.Exp(-87.33f) > 0f);
        Assert.Equal(SoftmaxExp.Exp(88f), SoftmaxExp.Exp(1000f)); // clamped above, documented
    }

    [Fact]
    public void VectorLanesEqualTheScalarTwinBitwise()
    {
        var x = Inputs();
        int n = x.Length - x.Length % 16;
        for (int i = 0; i < n; i += 16)
        {
            var v512 = Vector512.Create(x.AsSpan(i, 16));
            var e512 = SoftmaxExp.Exp(v512);
            var e256a = SoftmaxExp.Exp(Vector256.Create(x.AsSpan(i, 8)));
            var e256b = SoftmaxExp.Exp(Vector256.Create(x.AsSpan(i + 8, 8)));
            for (int l = 0; l < 16; l++)
            {
                int want = BitConverter.SingleToInt32Bits(SoftmaxExp.Exp(x[i + l]));
                Assert.True(want == BitConverter.SingleToInt32Bits(e512[l]), $"512-bit lane, x = {x[i + l]:R}");
                float e256 = l < 8 ? e256a[l] : e256b[l - 8];
                Assert.True(want == BitConverter.SingleToInt32Bits(e256), $"256-bit lane, x = {x[i + l]:R}");
            }
        }
    }
}
