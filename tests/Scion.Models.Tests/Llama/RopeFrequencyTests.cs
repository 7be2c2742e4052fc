using Scion.Models.Llama;

namespace Scion.Models.Tests.Llama;

/// <summary>
/// RoPE frequencies checked against numbers computed outside the code under test: the Llama 3.1 divisors below
/// were computed in Python (double precision) from transformers' `_compute_llama3_parameters` formula at Llama
/// 3.1 8B's real shape, where pairs 29..34 fall in the smoothing band between the two wavelength bounds.
/// </summary>
public class RopeFrequencyTests
{
    private static LlamaConfig Shape(RopeScaling? scaling) => new()
    {
        Architecture = "llama", Dim = 4096, Layers = 1, Heads = 32, KvHeads = 8, HeadDim = 128, RopeDim = 128, FfnDim = 14336,
        Vocab = 128256, RopeTheta = 500000, RopeScaling = scaling,
    };

    /// <summary>Divisor of each pair's base frequency: 1 below the band, 8 above it, these in between.</summary>
    private static readonly Dictionary<int, double> Band = new()
    {
        [29] = 1.207483871283662, [30] = 1.5534146285049255, [31] = 2.0263132059050557,
        [32] = 2.694529687894733, [33] = 3.6842525277457185, [34] = 5.257326588708467,
    };

    private static double ExpectedDivisor(int pair) => pair < 29 ? 1 : Band.TryGetValue(pair, out var d) ? d : 8;

    [Fact]
    public void Llama3FrequenciesMatchTheIndependentlyComputedDivisorsAtEveryPair()
    {
        var scaling = new RopeScaling("llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 8192);
        var c = Shape(scaling);
        var rope = new RotaryEmbedding(c);
        Assert.Equal(64, rope.InverseFrequencies.Length);
        for (int i = 0; i < 64; i++)
        {
            double baseFreq = Math.Pow(500000, -2.0 * i / 128);
            double expected = baseFreq / ExpectedDivisor(i);
            Assert.True(Math.Abs(rope.InverseFrequencies[i] - expected) <= 1e-12 * expected,
                $"pair {i}: inverse frequency {rope.InverseFrequencies[i]:R}, expected {expected:R}");
        }
        // llama.cpp's rope_freqs tensor form of the same scaling (float32 divisors).
        var factors = RotaryEmbedding.Llama3FreqFactors(c, scaling);
        for (int i = 0; i < 64; i++) Assert.Equal(ExpectedDivisor(i), factors[i], 1e-5);
        Assert.Equal(1.0, rope.PositionScale);
    }

    [Fact]
    public void LinearScalingDividesEveryAngleByTheFactor()
    {
        var c = Shape(new RopeScaling("linear", 4));
        var rope = new RotaryEmbedding(c);
        Assert.Equal(0.25, rope.PositionScale);
        // One head of (1, 0) pairs rotated at position 100: each interleaved pair becomes (cos θ, sin θ), θ = 100/4 · f_i.
        var x = new float[128];
        for (int i = 0; i < 64; i++) x[2 * i] = 1;
        rope.Apply(x, heads: 1, positions: [100]);
        for (int i = 0; i < 64; i++)
        {
            double theta = 25.0 * Math.Pow(500000, -2.0 * i / 128);
            Assert.Equal(Math.Cos(theta), x[2 * i], 1e-5);
            Assert.Equal(Math.Sin(theta), x[2 * i + 1], 1e-5);
        }
    }
}
