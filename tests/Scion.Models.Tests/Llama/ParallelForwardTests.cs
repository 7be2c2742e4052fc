using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Models.Tests.Llama;

/// <summary>The element-wise work between matmuls runs across rows on the pool: any thread count must give the
/// one-thread result bit for bit, logits and cache contents alike.</summary>
public class ParallelForwardTests
{
    [Theory]
    [InlineData(48, GgmlType.F32)]
    [InlineData(44, GgmlType.F32)] // FfnDim not a multiple of 16: SwiGLU's chunks must keep the whole-buffer tail
    [InlineData(48, GgmlType.F16)]
    public void MultiRowForwardOnThreeThreadsEqualsOneThreadBitwise(int ffnDim, GgmlType type)
    {
        var c = RandomModel.TinyConfig() with { FfnDim = ffnDim };
        var rng = new Xoshiro256(21);
        var a = Enumerable.Range(0, 37).Select(_ => rng.NextInt(c.Vocab)).ToArray();
        var b = Enumerable.Range(0, 11).Select(_ => rng.NextInt(c.Vocab)).ToArray();

        (float[] Logits, PagedKvCache Cache) Run(int threads)
        {
            using var pool = new WorkerPool(threads);
            using var m = new LlamaModel(c, RandomModel.Build(c, 5, type)) { Pool = pool };
            var cache = new PagedKvCache(c, 128, blockSize: 4);
            // Two sequences in one batch, then a second multi-row step that continues one of them.
            var first = m.Forward(new ForwardBatch().AddSequence(1, a.AsSpan(0, 30), 0, allLogits: true).AddSequence(2, b, 0, allLogits: true), cache);
            var second = m.Forward(new ForwardBatch().AddSequence(1, a.AsSpan(30), 30, allLogits: true), cache);
            return ([.. first, .. second], cache);
        }

        var (one, oneCache) = Run(1);
        var (three, threeCache) = Run(3);
        Assert.Equal(one, three);
        for (int l = 0; l < c.Layers; l++)
        {
            Assert.Equal(oneCache.Keys(l), threeCache.Keys(l));
            Assert.Equal(oneCache.Values(l), threeCache.Values(l));
        }
    }
}
