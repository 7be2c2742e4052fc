using Scion.Models.Adapters;
using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Models.Tests.Llama;

/// <summary>Equivalences of the batched forward on seeded tiny models built in code.</summary>
public class ForwardEquivalenceTests
{
    private static LlamaModel Tiny(LlamaConfig? config = null, ulong seed = 7)
    {
        var c = config ?? RandomModel.TinyConfig();
        return new LlamaModel(c, RandomModel.Build(c, seed));
    }

    private static int[] Tokens(int n, int seed, int vocab = 64)
    {
        var rng = new Xoshiro256((ulong)seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextInt(vocab)).ToArray();
    }

    internal static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tol = 1e-4f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])), $"index {i}: {expected[i]} vs {actual[i]}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BatchOfSequencesEqualsSingleRuns(bool qkvBias)
    {
        using var m = Tiny(RandomModel.TinyConfig() with { QkvBias = qkvBias });
        var prompts = new[] { Tokens(5, 1), Tokens(9, 2), Tokens(1, 3), Tokens(13, 4) };
        var cache = new PagedKvCache(m.Config, 256, blockSize: 4);
        var batch = new ForwardBatch();
        for (int s = 0; s < prompts.Length; s++) batch.AddSequence(10 + s, prompts[s], 0, allLogits: true);
        var together = m.Forward(batch, cache);

        int v = m.Config.Vocab, row = 0;
        for (int s = 0; s < prompts.Length; s++)
        {
            var single = new PagedKvCache(m.Config, 256, blockSize: 4);
            var alone = m.Forward(new ForwardBatch().AddSequence(0, prompts[s], 0, allLogits: true), single);
            AssertClose(alone, together.AsSpan(row * v, prompts[s].Length * v));
            row += prompts[s].Length;
        }
    }

    [Fact]
    public void IncrementalDecodeEqualsFullPrefill()
    {
        using var m = Tiny();
        var tokens = Tokens(20, 5);
        var full = m.Forward(new ForwardBatch().AddSequence(0, tokens, 0, allLogits: true), new PagedKvCache(m.Config, 64, 4));
        var cache = new PagedKvCache(m.Config, 64, 4);
        int v = m.Config.Vocab;
        // Prefill 7, then chunks of 1 and 5, then single tokens.
        int pos = 0;
        foreach (int chunk in new[] { 7, 1, 5, 1, 1, 1, 1, 1, 1, 1 })
        {
            var logits = m.Forward(new ForwardBatch().AddSequence(0, tokens.AsSpan(pos, chunk), pos, allLogits: true), cache);
            AssertClose(full.AsSpan(pos * v, chunk * v), logits);
            pos += chunk;
        }
        Assert.Equal(20, pos);
        Assert.Equal(20, cache.Length(0));
    }

    [Fact]
    public void InterleavedSequencesAtDifferentPositions()
    {
        using var m = Tiny();
        var a = Tokens(10, 11);
        var b = Tokens(6, 12);
        var cache = new PagedKvCache(m.Config, 64, 4);
        m.Forward(new ForwardBatch().AddSequence(1, a.AsSpan(0, 8), 0).AddSequence(2, b.AsSpan(0, 3), 0), cache);
        // One decode step for a (position 8) and a 3-token chunk for b (positions 3..5), in one call.
        var batch = new ForwardBatch().Add(1, a[8], 8, true).AddSequence(2, b.AsSpan(3, 3), 3, allLogits: true);
        var mixed = m.Forward(batch, cache);
        int v = m.Config.Vocab;
        var refA = m.Forward(new ForwardBatch().AddSequence(0, a.AsSpan(0, 9), 0), new PagedKvCache(m.Config, 64, 4));
        var refB = m.Forward(new ForwardBatch().AddSequence(0, b.AsSpan(0, 6), 0, allLogits: true), new PagedKvCache(m.Config, 64, 4));
        AssertClose(refA, mixed.AsSpan(0, v));
        AssertClose(refB.AsSpan(3 * v, 3 * v), mixed.AsSpan(v, 3 * v));
    }

    [Fact]
    public void PositionGapIsRefused()
    {
        using var m = Tiny();
        var cache = new PagedKvCache(m.Config, 64, 4);
        var ex = Assert.Throws<ArgumentException>(() => m.Forward(new ForwardBatch().Add(0, 1, 5, true), cache));
        Assert.Contains("position 5", ex.Message);
    }

    [Fact]
    public void DuplicatePositionInOneBatchIsRefused()
    {
        // Rows write the cache in parallel, so two rows at one (sequence, position) must not reach the forward.
        using var m = Tiny();
        var cache = new PagedKvCache(m.Config, 64, 4);
        var batch = new ForwardBatch().Add(0, 1, 0, false).Add(0, 2, 1, false).Add(0, 3, 1, true);
        var ex = Assert.Throws<ArgumentException>(() => m.Forward(batch, cache));
        Assert.Contains("rows 1 and 2", ex.Message);
        Assert.Contains("position 1", ex.Message);
        // Two sequences may share a position.
        m.Forward(new ForwardBatch().Add(0, 1, 0, false).Add(1, 2, 0, true), cache);
    }

    [Fact]
    public void KvCacheFullIsReported()
    {
        using var m = Tiny();
        var cache = new PagedKvCache(m.Config, 8, 4);
        Assert.Throws<KvCacheFullException>(() => m.Forward(new ForwardBatch().AddSequence(0, Tokens(9, 1), 0), cache));
    }

    internal static LoraAdapter RandomAdapter(LlamaConfig c, int rank, ulong seed, bool zeroB = false, string name = "a")
    {
        var rng = new Xoshiro256(seed);
        var adapter = new LoraAdapter(name, c.Layers);
        for (int l = 0; l < c.Layers; l++)
        {
            foreach (var slot in Enum.GetValues<LinearSlot>())
            {
                var (outDim, inDim) = slot switch
                {
                    LinearSlot.Q => (c.QDim, c.Dim), LinearSlot.K or LinearSlot.V => (c.KvDim, c.Dim),
                    LinearSlot.O => (c.Dim, c.QDim), LinearSlot.Down => (c.Dim, c.FfnDim), _ => (c.FfnDim, c.Dim),
                };
                adapter[l, slot] = new LoraModule
                {
                    Rank = rank, In = inDim, Out = outDim, Scale = 2f,
                    A = Enumerable.Range(0, rank * inDim).Select(_ => (float)rng.NextGaussian() * 0.2f).ToArray(),
                    B = Enumerable.Range(0, outDim * rank).Select(_ => zeroB ? 0f : (float)rng.NextGaussian() * 0.2f).ToArray(),
                };
            }
        }
        return adapter;
    }

    [Fact]
    public void AdapterWithZeroBGivesBaseModel()
    {
        using var m = Tiny();
        var tokens = Tokens(12, 3);
        var baseLogits = m.Forward(new ForwardBatch().AddSequence(0, tokens, 0, allLogits: true), new PagedKvCache(m.Config, 64));
        var adapter = RandomAdapter(m.Config, 4, 99, zeroB: true);
        var adapted = m.Forward(new ForwardBatch().AddSequence(0, tokens, 0, adapter, allLogits: true), new PagedKvCache(m.Config, 64));
        AssertClose(baseLogits, adapted, 0);
    }

    [Fact]
    public void TwoAdaptersInOneBatchEqualEachAlone()
    {
        using var m = Tiny();
        var a1 = RandomAdapter(m.Config, 4, 1, name: "one");
        var a2 = RandomAdapter(m.Config, 8, 2, name: "two");
        var t1 = Tokens(7, 21);
        var t2 = Tokens(5, 22);
        var t3 = Tokens(6, 23);
        var cache = new PagedKvCache(m.Config, 128, 4);
        var mixed = m.Forward(new ForwardBatch().AddSequence(0, t1, 0, a1, true).AddSequence(1, t2, 0, a2, true).AddSequence(2, t3, 0, null, true), cache);
        int v = m.Config.Vocab;
        var r1 = m.Forward(new ForwardBatch().AddSequence(0, t1, 0, a1, true), new PagedKvCache(m.Config, 64));
        var r2 = m.Forward(new ForwardBatch().AddSequence(0, t2, 0, a2, true), new PagedKvCache(m.Config, 64));
        var r3 = m.Forward(new ForwardBatch().AddSequence(0, t3, 0, null, true), new PagedKvCache(m.Config, 64));
        AssertClose(r1, mixed.AsSpan(0, 7 * v));
        AssertClose(r2, mixed.AsSpan(7 * v, 5 * v));
        AssertClose(r3, mixed.AsSpan(12 * v, 6 * v));
        // And the adapters really change the output.
        Assert.NotEqual(r1[0], m.Forward(new ForwardBatch().AddSequence(0, t1, 0, null, true), new PagedKvCache(m.Config, 64))[0]);
    }
}
