using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Models.Tests.Llama;

public class RopeAndWindowTests
{
    private static readonly int[] Tokens = [3, 14, 15, 9, 26, 53, 5, 8, 9, 7, 9, 3, 2, 38, 4, 6];

    private static float[] Run(LlamaModel m) =>
        m.Forward(new ForwardBatch().AddSequence(0, Tokens, 0, allLogits: true), new PagedKvCache(m.Config, 64, 4));

    [Fact]
    public void Llama3ScalingEqualsRopeFreqsTensor()
    {
        var scaling = new RopeScaling("llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 32);
        var c = RandomModel.TinyConfig() with { RopeTheta = 500000, RopeScaling = scaling };
        var source = RandomModel.Build(c, 4);
        using var scaled = new LlamaModel(c, source);
        // llama.cpp's converter stores the same scaling as per-frequency divisors in rope_freqs.weight.
        var factors = RotaryEmbedding.Llama3FreqFactors(c, scaling);
        source.AddFloats(TensorNames.RopeFreqs, factors, GgmlType.F32, factors.Length);
        using var withTensor = new LlamaModel(c with { RopeScaling = null }, source);
        ForwardEquivalenceTests.AssertClose(Run(scaled), Run(withTensor), 1e-5f);
        // The highest frequency is untouched and the lowest is divided by the factor.
        Assert.Equal(1f, factors[0], 1e-6f);
        Assert.Equal(8f, factors[^1], 1e-4f);
    }

    [Fact]
    public void ScalingChangesLogitsOnlyAwayFromPositionZero()
    {
        var c = RandomModel.TinyConfig();
        var source = RandomModel.Build(c, 5);
        using var plain = new LlamaModel(c, source);
        using var linear = new LlamaModel(c with { RopeScaling = new RopeScaling("linear", 4) }, source);
        var a = Run(plain);
        var b = Run(linear);
        int v = c.Vocab;
        ForwardEquivalenceTests.AssertClose(a.AsSpan(0, v), b.AsSpan(0, v), 1e-6f);
        Assert.NotEqual(a[5 * v], b[5 * v]);
    }

    [Fact]
    public void WindowOfOneSeesOnlyItself()
    {
        var c = RandomModel.TinyConfig() with { SlidingWindow = 1 };
        using var m = new LlamaModel(c, RandomModel.Build(c, 6));
        var all = Run(m);
        int v = c.Vocab;
        for (int p = 0; p < Tokens.Length; p += 5)
        {
            // One visible key means attention returns that position's value, so the rotation angle cannot matter.
            var alone = m.Forward(new ForwardBatch().Add(0, Tokens[p], 0, true), new PagedKvCache(c, 8));
            ForwardEquivalenceTests.AssertClose(alone, all.AsSpan(p * v, v), 1e-4f);
        }
    }

    [Fact]
    public void WideWindowEqualsFullAttention()
    {
        var c = RandomModel.TinyConfig();
        var source = RandomModel.Build(c, 7);
        using var full = new LlamaModel(c, source);
        using var windowed = new LlamaModel(c with { SlidingWindow = Tokens.Length }, source);
        using var narrow = new LlamaModel(c with { SlidingWindow = 4 }, source);
        ForwardEquivalenceTests.AssertClose(Run(full), Run(windowed), 0);
        Assert.NotEqual(Run(full)[^1], Run(narrow)[^1]);
    }
}
