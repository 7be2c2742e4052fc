using Scion.Models.Adapters;
using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Models.Tests.Llama;
using Scion.Tensors;

namespace Scion.Models.Tests.Adapters;

/// <summary>Grouped adapter application (any row order, any mix of adapters) against each row alone and against the
/// definition y += s·B(A x) written as plain dots.</summary>
public class BatchedLoraTests
{
    private static int[] Tokens(int n, int seed, int vocab = 64)
    {
        var rng = new Xoshiro256((ulong)seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextInt(vocab)).ToArray();
    }

    private static LoraModule Module(int rank, int inDim, int outDim, ulong seed, bool dora = false)
    {
        var rng = new Xoshiro256(seed);
        return new LoraModule
        {
            Rank = rank, In = inDim, Out = outDim, Scale = 1.5f,
            A = Enumerable.Range(0, rank * inDim).Select(_ => (float)rng.NextGaussian() * 0.3f).ToArray(),
            B = Enumerable.Range(0, outDim * rank).Select(_ => (float)rng.NextGaussian() * 0.3f).ToArray(),
            DoraFactor = dora ? Enumerable.Range(0, outDim).Select(_ => 0.5f + (float)rng.NextDouble()).ToArray() : null,
        };
    }

    /// <summary>The definition, in double: y + s·Σ_j B[o, j]·(A[j]·x); DoRA factor after.</summary>
    private static double[] Definition(LoraModule m, float[] x, float[] y)
    {
        var result = new double[m.Out];
        for (int o = 0; o < m.Out; o++)
        {
            double acc = y[o];
            for (int j = 0; j < m.Rank; j++)
            {
                double ax = 0;
                for (int c = 0; c < m.In; c++) ax += (double)m.A[j * m.In + c] * x[c];
                acc += m.Scale * ax * m.B[o * m.Rank + j];
            }
            result[o] = acc * (m.DoraFactor?[o] ?? 1);
        }
        return result;
    }

    [Fact]
    public void InterleavedGroupsEqualEachRowAloneAndTheDefinition()
    {
        const int inDim = 300 + 7, outDim = 200 + 5, rows = 19;
        var adapters = new[]
        {
            new LoraAdapter("r1", 1) { [0, LinearSlot.Q] = Module(1, inDim, outDim, 1) },
            new LoraAdapter("r8", 1) { [0, LinearSlot.Q] = Module(8, inDim, outDim, 2) },
            new LoraAdapter("dora", 1) { [0, LinearSlot.Q] = Module(5, inDim, outDim, 3, dora: true) },
            new LoraAdapter("no-q", 1) { [0, LinearSlot.V] = Module(4, inDim, outDim, 4) },
        };
        var rng = new Xoshiro256(5);
        // Row t uses adapter (t * 7) % 6 - 1 when that is in range, else the base model: scattered, repeating groups.
        var rowAdapters = Enumerable.Range(0, rows).Select(t => (t * 7 % 6) - 1 is var k && k >= 0 && k < adapters.Length ? adapters[k] : null).ToArray();
        var x = Enumerable.Range(0, rows * inDim).Select(_ => (float)rng.NextGaussian()).ToArray();
        var y0 = Enumerable.Range(0, rows * outDim).Select(_ => (float)rng.NextGaussian()).ToArray();
        var groups = AdapterRowGroups.Of(rowAdapters);
        Assert.Equal(adapters.Length, groups.Groups.Count);
        var y = (float[])y0.Clone();
        LoraApply.AddGroups(0, LinearSlot.Q, x, y, inDim, outDim, groups);

        for (int t = 0; t < rows; t++)
        {
            var xr = x.AsSpan(t * inDim, inDim).ToArray();
            var alone = y0.AsSpan(t * outDim, outDim).ToArray();
            var m = rowAdapters[t]?[0, LinearSlot.Q];
            if (m is not null) LoraApply.Add(m, xr, alone, 1);
            // Same bits as the row alone: a row's adapter term does not depend on its neighbours.
            Assert.Equal(alone, y.AsSpan(t * outDim, outDim).ToArray());
            if (m is null) continue;
            var expected = Definition(m, xr, y0.AsSpan(t * outDim, outDim).ToArray());
            for (int o = 0; o < outDim; o++)
                Assert.True(Math.Abs(expected[o] - y[t * outDim + o]) <= 1e-4 * (1 + Math.Abs(expected[o])), $"row {t} out {o}: {expected[o]} vs {y[t * outDim + o]}");
        }
    }

    /// <summary>32 one-row adapters (run side by side on the pool) and a 40-row one (its products split over the
    /// pool), interleaved with base rows: the same bits as on the calling thread and as each row alone.</summary>
    [Fact]
    public void PoolSplitsGiveTheSameBitsAsTheCallingThread()
    {
        const int inDim = 1024, outDim = 1024 + 16 + 3, rank = 8;
        var small = Enumerable.Range(0, 32).Select(i => new LoraAdapter($"s{i}", 1) { [0, LinearSlot.O] = Module(rank, inDim, outDim, (ulong)(10 + i), dora: i % 5 == 0) }).ToArray();
        var big = new LoraAdapter("big", 1) { [0, LinearSlot.O] = Module(rank, inDim, outDim, 99) };
        var rowAdapters = new List<LoraAdapter?>();
        for (int i = 0; i < 40; i++) { rowAdapters.Add(big); if (i < 32) rowAdapters.Add(small[i]); if (i % 7 == 0) rowAdapters.Add(null); }
        int rows = rowAdapters.Count;
        var groups = AdapterRowGroups.Of(rowAdapters);
        var rng = new Xoshiro256(8);
        var x = Enumerable.Range(0, rows * inDim).Select(_ => (float)rng.NextGaussian()).ToArray();
        var y0 = Enumerable.Range(0, rows * outDim).Select(_ => (float)rng.NextGaussian()).ToArray();
        var serial = (float[])y0.Clone();
        LoraApply.AddGroups(0, LinearSlot.O, x, serial, inDim, outDim, groups);
        using var pool = new WorkerPool(3);
        var pooled = (float[])y0.Clone();
        LoraApply.AddGroups(0, LinearSlot.O, x, pooled, inDim, outDim, groups, pool);
        Assert.Equal(serial, pooled);
        for (int t = 0; t < rows; t += 5)
        {
            var alone = y0.AsSpan(t * outDim, outDim).ToArray();
            if (rowAdapters[t]?[0, LinearSlot.O] is { } m) LoraApply.Add(m, x.AsSpan(t * inDim, inDim), alone, 1);
            Assert.Equal(alone, pooled.AsSpan(t * outDim, outDim).ToArray());
        }
    }

    [Fact]
    public void BatchMixingZeroToManyAdaptersEqualsEachSequenceAlone()
    {
        var c = RandomModel.TinyConfig();
        using var m = new LlamaModel(c, RandomModel.Build(c, 7));
        var adapters = Enumerable.Range(0, 5).Select(i => ForwardEquivalenceTests.RandomAdapter(c, 2 + 3 * i, (ulong)(40 + i), name: $"a{i}")).ToArray();
        int v = c.Vocab;
        foreach (int distinct in new[] { 0, 1, 3, 5 })
        {
            // 7 sequences; sequence s uses adapter s % (distinct + 1) - 1 (none for -1): several share one, some none.
            const int sequences = 7, length = 5;
            var seqAdapter = Enumerable.Range(0, sequences).Select(s => s % (distinct + 1) - 1 is var k && k >= 0 ? adapters[k] : null).ToArray();
            var prompts = Enumerable.Range(0, sequences).Select(s => Tokens(length, 100 + s)).ToArray();
            // Rows interleaved across sequences (step-major), so no adapter's rows are contiguous.
            var batch = new ForwardBatch();
            for (int i = 0; i < length; i++)
                for (int s = 0; s < sequences; s++) batch.Add(s, prompts[s][i], i, true, seqAdapter[s]);
            var mixed = m.Forward(batch, new PagedKvCache(c, 256, 4));
            for (int s = 0; s < sequences; s++)
            {
                var alone = m.Forward(new ForwardBatch().AddSequence(0, prompts[s], 0, seqAdapter[s], allLogits: true), new PagedKvCache(c, 64, 4));
                for (int i = 0; i < length; i++)
                    ForwardEquivalenceTests.AssertClose(alone.AsSpan(i * v, v), mixed.AsSpan((i * sequences + s) * v, v));
            }
        }
    }

    [Fact]
    public void GroupsFollowFirstAppearanceAndSkipBaseRows()
    {
        var a = new LoraAdapter("a", 1);
        var b = new LoraAdapter("b", 1);
        var sameNameOtherObject = new LoraAdapter("a", 1);
        var groups = AdapterRowGroups.Of([null, b, a, b, null, a, sameNameOtherObject]);
        // By reference: an adapter is its object, not its name (xunit would compare adapters member by member).
        (LoraAdapter Adapter, int[] Rows)[] expected = [(b, [1, 3]), (a, [2, 5]), (sameNameOtherObject, [6])];
        Assert.Equal(expected.Length, groups.Groups.Count);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Same(expected[i].Adapter, groups.Groups[i].Adapter);
            Assert.Equal(expected[i].Rows, groups.Groups[i].Rows.ToArray());
        }
        Assert.True(AdapterRowGroups.Of([null, null]).IsEmpty);
    }
}
