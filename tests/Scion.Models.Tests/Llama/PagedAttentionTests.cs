using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Models.Tests.Llama;

/// <summary>
/// The SIMD attention path (grouped kernels, vector exp) agrees with the scalar reference loop on the same F16 cache:
/// GQA groups, partial blocks, several rows of different lengths, with and without a sliding window.
/// </summary>
public class PagedAttentionTests
{
    [Theory]
    [InlineData(32, 4, 64, 0, 16)]    // TinyLlama's shape: groups of eight
    [InlineData(8, 8, 64, 0, 16)]     // MHA
    [InlineData(12, 4, 32, 0, 4)]     // groups of three, small blocks
    [InlineData(32, 4, 64, 37, 16)]   // sliding window
    [InlineData(6, 2, 24, 5, 4)]      // Dh a multiple of 8 only
    [InlineData(4, 2, 12, 0, 16)]     // Dh neither a multiple of 8 nor 16
    public void SimdPathsAgreeWithTheScalarLoop(int heads, int kvHeads, int headDim, int window, int blockSize)
    {
        var config = RandomModel.TinyConfig() with { Heads = heads, KvHeads = kvHeads, HeadDim = headDim, Dim = heads * headDim, RopeDim = headDim };
        var cache = new PagedKvCache(config, 512, blockSize);
        var rng = new Random(3);
        float Next() => (float)(rng.NextDouble() * 4 - 2);
        // Two sequences with cached prefixes of 150 and 23 positions; the batch holds their next rows.
        int[] lengths = [150, 23];
        for (int s = 0; s < lengths.Length; s++)
        {
            var table = cache.Reserve(s, lengths[s] + 3);
            for (int p = 0; p < lengths[s] + 3; p++)
            {
                var k = new float[cache.KvDim];
                var v = new float[cache.KvDim];
                for (int i = 0; i < k.Length; i++) { k[i] = Next(); v[i] = Next(); }
                cache.Write(1, table, p, k, v);
            }
        }
        int[] positions = [149, 150, 151, 20, 22];
        var tables = new[] { cache.Table(0)!, cache.Table(0)!, cache.Table(0)!, cache.Table(1)!, cache.Table(1)! };
        int rows = positions.Length, qDim = heads * headDim;
        var q = new float[rows * qDim];
        for (int i = 0; i < q.Length; i++) q[i] = Next();

        var expected = new float[rows * qDim];
        PagedAttention.Run(q, expected, rows, positions, tables, cache, 1, heads, kvHeads, headDim, window, WorkerPool.Shared, KernelLevel.Scalar);
        foreach (var level in new[] { KernelLevel.Avx2, KernelLevel.Avx512 })
        {
            if (!KernelSelection.IsAvailable(level)) continue;
            var got = new float[rows * qDim];
            PagedAttention.Run(q, got, rows, positions, tables, cache, 1, heads, kvHeads, headDim, window, WorkerPool.Shared, level);
            for (int i = 0; i < got.Length; i++)
                Assert.True(Math.Abs(expected[i] - got[i]) <= 2e-3f * (1 + Math.Abs(expected[i])),
                    $"{level}: row {i / qDim}, element {i % qDim}: {got[i]} vs scalar {expected[i]}");
        }
    }
}
