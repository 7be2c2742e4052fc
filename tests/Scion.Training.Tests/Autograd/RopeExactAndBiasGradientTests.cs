using Scion.Models.Llama;
using Scion.Training.Autograd;
using Scion.Training.Tests.Autograd.Reference;
using AutogradRope = Scion.Training.Autograd.RopeStyle;

namespace Scion.Training.Tests.Autograd;

/// <summary>The two ops the training model added: RopeExact (inference-identical RoPE) and AddBias.</summary>
public class RopeExactAndBiasGradientTests
{
    private static readonly int[] Positions = [0, 1, 2, 7, 0, 3];

    private static double[] InverseFrequencies(int ropeDim, double theta) =>
        Enumerable.Range(0, ropeDim / 2).Select(i => Math.Pow(theta, -2.0 * i / ropeDim)).ToArray();

    [Theory]
    [InlineData(AutogradRope.HalfSplit)]
    [InlineData(AutogradRope.Interleaved)]
    public void FullRotationMatchesTheReference(AutogradRope style)
    {
        var x = GradCheck.Random(new Xoshiro256(1), Positions.Length * 16, 1f);
        var freq = InverseFrequencies(8, 10000);
        GradCheck.Check([new("x", x, [Positions.Length, 16])],
            (t, v) => t.RopeExact(v[0], Positions, 8, freq, 1.0, style),
            d => RefOps.Rope(d[0], Positions, 8, 10000, style == AutogradRope.HalfSplit));
    }

    [Theory]
    [InlineData(AutogradRope.HalfSplit)]
    [InlineData(AutogradRope.Interleaved)]
    public void PartialRotationWithPositionScale(AutogradRope style)
    {
        const int headDim = 8, ropeDim = 4, heads = 2;
        var x = GradCheck.Random(new Xoshiro256(2), Positions.Length * heads * headDim, 1f);
        var freq = InverseFrequencies(ropeDim, 500);
        double[] Reference(double[] v)
        {
            var y = (double[])v.Clone();
            int half = ropeDim / 2, stride = style == AutogradRope.HalfSplit ? 1 : 2, partner = style == AutogradRope.HalfSplit ? half : 1;
            for (int t = 0; t < Positions.Length; t++)
                for (int h = 0; h < heads; h++)
                    for (int i = 0; i < half; i++)
                    {
                        int i0 = (t * heads + h) * headDim + i * stride, i1 = i0 + partner;
                        double angle = Positions[t] * 0.5 * freq[i], c = Math.Cos(angle), s = Math.Sin(angle);
                        y[i0] = v[i0] * c - v[i1] * s;
                        y[i1] = v[i0] * s + v[i1] * c;
                    }
            return y;
        }
        GradCheck.Check([new("x", x, [Positions.Length, heads * headDim])],
            (t, v) => t.RopeExact(v[0], Positions, headDim, freq, 0.5, style), d => Reference(d[0]));
    }

    [Theory]
    [InlineData(Scion.Models.Llama.RopeStyle.HalfSplit)]
    [InlineData(Scion.Models.Llama.RopeStyle.Interleaved)]
    public void RotatesBitIdenticallyToInference(Scion.Models.Llama.RopeStyle style)
    {
        var config = RandomModel.TinyConfig() with
        {
            RopeStyle = style, RopeTheta = 500000, RopeScaling = new RopeScaling("llama3", 8, 1, 4, 64),
        };
        var rope = new RotaryEmbedding(config);
        int width = config.Heads * config.HeadDim;
        var x = GradCheck.Random(new Xoshiro256(3), Positions.Length * width, 2f);
        var expected = (float[])x.Clone();
        rope.Apply(expected, config.Heads, Positions);
        var y = new Tape().RopeExact(new Tensor(x, Positions.Length, width), Positions, config.HeadDim, rope.InverseFrequencies, rope.PositionScale,
            style == Scion.Models.Llama.RopeStyle.HalfSplit ? AutogradRope.HalfSplit : AutogradRope.Interleaved);
        Assert.Equal(expected, y.Data);
    }

    [Fact]
    public void AddBiasPassesTheGradientThrough()
    {
        var rng = new Xoshiro256(4);
        var x = GradCheck.Random(rng, 5 * 6, 1f);
        var bias = GradCheck.Random(rng, 6, 1f);
        GradCheck.Check([new("x", x, [5, 6])], (t, v) => t.AddBias(v[0], bias),
            d => d[0].Select((v, i) => v + bias[i % 6]).ToArray());
    }
}
