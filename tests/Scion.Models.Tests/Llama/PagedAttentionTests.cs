using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Models.Tests.Llama;

/// <summary>
/// The SIMD attention path (grouped kernels, vector exp) agrees with the scalar reference loop on the same cache (F16,
/// Q8_0, Q4_0): GQA groups, partial blocks, several rows of different lengths, with and without a sliding window, and
/// both agree with a double-precision attention over the rows as dequantized by the library's own dequantizer.
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
    public void SimdPathsAgreeWithTheScalarLoop(int heads, int kvHeads, int headDim, int window, int blockSize) =>
        Compare(heads, kvHeads, headDim, window, blockSize, KvCacheFormat.F16);

    [Theory]
    [InlineData(32, 4, 64, 0, 16, GgmlType.Q8_0, GgmlType.Q8_0)]
    [InlineData(32, 4, 64, 37, 16, GgmlType.Q4_0, GgmlType.Q4_0)]
    [InlineData(8, 8, 64, 0, 16, GgmlType.Q8_0, GgmlType.F16)]
    [InlineData(12, 4, 32, 0, 4, GgmlType.F16, GgmlType.Q4_0)]
    [InlineData(4, 2, 16, 0, 4, GgmlType.Q8_0, GgmlType.Q4_0)]   // golden-tiny's heads: two per 32-value block
    [InlineData(8, 4, 8, 0, 4, GgmlType.Q4_0, GgmlType.Q8_0)]    // stories260K's: four per block
    [InlineData(6, 2, 48, 0, 16, GgmlType.Q4_0, GgmlType.Q4_0)]  // the second head starts in the middle of a block
    public void QuantizedCachesAgreeWithTheScalarLoopAndTheDequantizedRows(int heads, int kvHeads, int headDim, int window, int blockSize,
        GgmlType keys, GgmlType values) =>
        Compare(heads, kvHeads, headDim, window, blockSize, new KvCacheFormat(keys, values));

    private static void Compare(int heads, int kvHeads, int headDim, int window, int blockSize, KvCacheFormat format)
    {
        var config = RandomModel.TinyConfig() with { Heads = heads, KvHeads = kvHeads, HeadDim = headDim, Dim = heads * headDim, RopeDim = headDim };
        var cache = new PagedKvCache(config, 512, blockSize, format: format);
        var rng = new Random(3);
        float Next() => (float)(rng.NextDouble() * 4 - 2);
        // Two sequences with cached prefixes of 150 and 23 positions; the batch holds their next rows.
        int[] lengths = [150, 23];
        var written = new Dictionary<(int, int), (float[] K, float[] V)>();
        for (int s = 0; s < lengths.Length; s++)
        {
            var table = cache.Reserve(s, lengths[s] + 3);
            for (int p = 0; p < lengths[s] + 3; p++)
            {
                var k = new float[cache.KvDim];
                var v = new float[cache.KvDim];
                for (int i = 0; i < k.Length; i++) { k[i] = Next(); v[i] = Next(); }
                cache.Write(1, table, p, k, v);
                written[(s, p)] = (Stored(format.Keys, k), Stored(format.Values, v));
            }
        }
        int[] positions = [149, 150, 151, 20, 22];
        int[] sequences = [0, 0, 0, 1, 1];
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

        // Independently: softmax(q·k / √Dh)·v in double over the rows as the library's dequantizer reads them back.
        // An F16 cache also rounds the query and the probabilities to half; quantized ones keep them in float.
        int group = heads / kvHeads;
        for (int t = 0; t < rows; t++)
            for (int h = 0; h < heads; h++)
            {
                int g = h / group, first = window > 0 ? Math.Max(0, positions[t] + 1 - window) : 0;
                var scores = new List<double>();
                for (int p = first; p <= positions[t]; p++)
                {
                    double dot = 0;
                    for (int i = 0; i < headDim; i++)
                    {
                        float qi = q[t * qDim + h * headDim + i];
                        if (format.Keys == GgmlType.F16) qi = (float)(Half)qi;
                        dot += qi * (double)written[(sequences[t], p)].K[g * headDim + i];
                    }
                    scores.Add(dot / Math.Sqrt(headDim));
                }
                double max = scores.Max(), sum = scores.Sum(x => Math.Exp(x - max));
                for (int i = 0; i < headDim; i++)
                {
                    double o = 0;
                    for (int p = first; p <= positions[t]; p++)
                    {
                        double prob = Math.Exp(scores[p - first] - max) / sum;
                        if (format.Values == GgmlType.F16) prob = (double)(Half)prob;
                        o += prob * written[(sequences[t], p)].V[g * headDim + i];
                    }
                    double got = expected[t * qDim + h * headDim + i];
                    Assert.True(Math.Abs(o - got) <= 2e-3 * (1 + Math.Abs(o)), $"{format}: row {t}, head {h}, element {i}: {got} vs exact {o}");
                }
            }
    }

    /// <summary>
    /// A row's attention has the same bits whether it runs alone, as one row of a prompt chunk's tile, or beside rows of
    /// other sequences: tiles of one, four and seven rows, partial blocks, every cache format.
    /// </summary>
    [Theory]
    [InlineData(32, 4, 64, 16, GgmlType.F16, GgmlType.F16)]
    [InlineData(32, 4, 64, 16, GgmlType.Q8_0, GgmlType.Q8_0)]
    [InlineData(8, 8, 64, 4, GgmlType.F16, GgmlType.Q4_0)]
    [InlineData(4, 2, 16, 16, GgmlType.Q4_0, GgmlType.F16)]
    [InlineData(6, 2, 24, 8, GgmlType.F16, GgmlType.F16)]
    public void ARowsResultDoesNotDependOnItsTile(int heads, int kvHeads, int headDim, int blockSize, GgmlType keys, GgmlType values)
    {
        var config = RandomModel.TinyConfig() with { Heads = heads, KvHeads = kvHeads, HeadDim = headDim, Dim = heads * headDim, RopeDim = headDim };
        var format = new KvCacheFormat(keys, values);
        if (keys != GgmlType.F16 || values != GgmlType.F16) Assert.Equal(0, config.KvDim % 32);
        var cache = new PagedKvCache(config, 256, blockSize, format: format);
        var rng = new Random(5);
        var a = cache.Reserve(0, 70);
        var b = cache.Reserve(1, 20);
        foreach (var (table, n) in new[] { (a, 70), (b, 20) })
            for (int p = 0; p < n; p++)
            {
                var k = Enumerable.Range(0, cache.KvDim).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
                var v = Enumerable.Range(0, cache.KvDim).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
                cache.Write(1, table, p, k, v);
            }
        // A chunk of 11 rows of sequence 0 (positions 50..60), then two decode rows of sequence 1.
        var positions = Enumerable.Range(50, 11).Append(18).Append(19).ToArray();
        var tables = positions.Select((_, i) => i < 11 ? a : b).ToArray();
        int rows = positions.Length, qDim = heads * headDim;
        var q = Enumerable.Range(0, rows * qDim).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        foreach (var level in new[] { KernelLevel.Scalar, KernelLevel.Avx2, KernelLevel.Avx512 }.Where(KernelSelection.IsAvailable))
        {
            var alone = new float[rows * qDim];
            for (int t = 0; t < rows; t++)
                PagedAttention.Run(q.AsSpan(t * qDim, qDim), alone.AsSpan(t * qDim, qDim), 1, [positions[t]], [tables[t]], cache, 1, heads, kvHeads, headDim, 0,
                    WorkerPool.Shared, level);
            foreach (int tile in new[] { 1, 4, 7 })
            {
                var together = new float[rows * qDim];
                PagedAttention.Run(q, together, rows, positions, tables, cache, 1, heads, kvHeads, headDim, 0, WorkerPool.Shared, level, tile);
                for (int i = 0; i < together.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(alone[i]) == BitConverter.SingleToInt32Bits(together[i]),
                        $"{level}, tiles of {tile}: row {i / qDim}, element {i % qDim}: {together[i]} together, {alone[i]} alone");
            }
        }
    }

    /// <summary>A row as the cache gives it back: rounded to half, or quantized and dequantized by <see cref="Dequantize"/>.</summary>
    private static float[] Stored(GgmlType type, float[] x)
    {
        var bytes = new byte[GgmlTypeInfo.RowBytes(type, x.Length)];
        Quantize.Row(type, x, bytes);
        var back = new float[x.Length];
        Dequantize.Row(type, bytes, back);
        return back;
    }
}
