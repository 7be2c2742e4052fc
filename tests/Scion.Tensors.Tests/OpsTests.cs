using Scion.Tensors.Cpu;
using Scion.Tensors.Reference;

namespace Scion.Tensors.Tests;

public class OpsTests
{
    private const int N = 2048 + 19;

    private static void Close(float[] expected, float[] got, float tol, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            TestData.Near(expected[i], got[i], tol * (1 + Math.Abs(expected[i])), $"{what}[{i}]");
    }

    [Fact]
    public void RmsNormMatchesReference()
    {
        var x = TestData.Floats(N, 1, 3f);
        var w = TestData.Floats(N, 2);
        var expected = new float[N];
        ReferenceOps.RmsNorm(x, w, 1e-5f, expected);
        foreach (var level in TestData.AllLevels())
        {
            var got = new float[N];
            Ops.RmsNorm(x, w, 1e-5f, got, level);
            Close(expected, got, 1e-5f, $"RmsNorm {level}");
            var inPlace = (float[])x.Clone();
            Ops.RmsNorm(inPlace, w, 1e-5f, inPlace, level);
            Close(expected, inPlace, 1e-5f, $"RmsNorm in place {level}");
        }
        // Independent check of the definition on a tiny case: x = [3, 4], mean square 12.5.
        var small = new float[2];
        Ops.RmsNorm([3f, 4f], [1f, 2f], 0f, small);
        Assert.Equal(3 / MathF.Sqrt(12.5f), small[0], 5);
        Assert.Equal(8 / MathF.Sqrt(12.5f), small[1], 5);
    }

    /// <summary>ggml's rms_norm sums fp32-rounded squares in double; every level must give the same normalized bits,
    /// since a one-ulp change of the scale tips fp16 / Q8_K rounding of everything downstream.</summary>
    [Fact]
    public void RmsNormIsBitIdenticalAcrossLevels()
    {
        var x = TestData.Floats(N, 3, 7f);
        var w = TestData.Floats(N, 4);
        double sequential = 0;
        foreach (float v in x) sequential += (double)(v * v);
        Assert.Equal(sequential, ReferenceOps.SumOfSquares(x));
        var expected = new float[N];
        ReferenceOps.RmsNorm(x, w, 1e-5f, expected);
        foreach (var level in TestData.SimdLevels())
        {
            Assert.Equal((float)(sequential / N), (float)(Ops.SumOfSquares(x, level) / N));
            var got = new float[N];
            Ops.RmsNorm(x, w, 1e-5f, got, level);
            Assert.Equal(expected, got);
        }
    }

    [Fact]
    public void SiluMulMatchesReference()
    {
        var g = TestData.Floats(N, 3, 4f);
        g[0] = -100f; g[1] = 100f; g[2] = 0f;
        var u = TestData.Floats(N, 4);
        var expected = new float[N];
        ReferenceOps.SiluMul(g, u, expected);
        foreach (var level in TestData.AllLevels())
        {
            var got = new float[N];
            Ops.SiluMul(g, u, got, level);
            Close(expected, got, 1e-5f, $"SiluMul {level}");
        }
    }

    [Fact]
    public void SoftmaxMatchesReferenceAndSumsToOne()
    {
        foreach (int n in new[] { 1, 7, 33, N })
        {
            var x = TestData.Floats(n, n, 5f);
            var expected = (float[])x.Clone();
            ReferenceOps.Softmax(expected);
            foreach (var level in TestData.AllLevels())
            {
                var got = (float[])x.Clone();
                Ops.Softmax(got, level);
                Close(expected, got, 1e-5f, $"Softmax {n} {level}");
                Assert.Equal(1.0, got.Sum(v => (double)v), 4);
            }
        }
    }

    [Fact]
    public void AddAxpyScaleDotMatchReference()
    {
        var a = TestData.Floats(N, 5);
        var b = TestData.Floats(N, 6);
        foreach (var level in TestData.AllLevels())
        {
            var e = new float[N]; var g = new float[N];
            ReferenceOps.Add(a, b, e); Ops.Add(a, b, g, level);
            Close(e, g, 0, $"Add {level}");

            e = (float[])b.Clone(); g = (float[])b.Clone();
            ReferenceOps.Axpy(0.3f, a, e); Ops.Axpy(0.3f, a, g, level);
            Close(e, g, 1e-6f, $"Axpy {level}");

            e = (float[])a.Clone(); g = (float[])a.Clone();
            ReferenceOps.Scale(e, -1.7f); Ops.Scale(g, -1.7f, level);
            Close(e, g, 0, $"Scale {level}");

            TestData.Near(ReferenceOps.Dot(a, b), Ops.Dot(a, b, level), 1e-4 * N, $"Dot {level}");
        }
        Assert.Throws<ArgumentException>(() => Ops.Add(a, b.AsSpan(1), new float[N]));
    }

    [Fact]
    public void AllFiniteFindsEveryNaNAndInfinityWherePlaced()
    {
        foreach (int n in new[] { 0, 1, 7, 8, 15, 16, 17, 33, 32000 })
        {
            var x = TestData.Floats(n, 9);
            foreach (var level in TestData.AllLevels())
            {
                Assert.True(Ops.AllFinite(x, level), $"{level} n {n}: all finite");
                foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
                    foreach (int at in new[] { 0, n / 2, n - 1 }.Where(a => a >= 0 && a < n).Distinct())
                    {
                        var y = (float[])x.Clone();
                        y[at] = bad;
                        Assert.Equal(ReferenceOps.AllFinite(y), Ops.AllFinite(y, level));
                        Assert.False(Ops.AllFinite(y, level), $"{level} n {n}: {bad} at {at}");
                    }
            }
        }
        // The largest finite values are finite (a plain sum of them would overflow to infinity).
        Assert.True(Ops.AllFinite(Enumerable.Repeat(float.MaxValue, 64).ToArray()));
    }
}
