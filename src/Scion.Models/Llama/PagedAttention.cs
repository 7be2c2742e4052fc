using Scion.Models.KvCache;
using Scion.Tensors;
using Scion.Tensors.Cpu;

namespace Scion.Models.Llama;

/// <summary>
/// Causal attention of each batch row over its own sequence's cached keys and values, read through the block table.
/// One work item is a tile of up to <see cref="TileRows"/> consecutive rows of one sequence (a prompt chunk) and one
/// KV head: the tile's query heads (GQA group × rows) are scored together, so every key and value read and widened
/// from half serves all of them, as in a blocked matrix product; a decode row is a tile of one. Scores live in a
/// per-thread [queries, context] buffer, never in a [T, T] matrix.
/// Each score, probability and output value is computed in an order that does not depend on the tile (F16 keys are
/// stored transposed, one FMA chain per score over the head dimension; values are summed key by key), so a row gets
/// the same bits alone, in a chunk, or in a mixed batch: prefill, decode and preemption recompute agree.
/// Numerics follow an F16 KV cache as llama.cpp runs it: keys, values, the query and the softmax probabilities are
/// rounded to half before their dot products, which is what its golden outputs reflect. A quantized key cache takes the
/// query in float (llama.cpp rounds it to Q8_0; float loses less), and a quantized value cache keeps the probabilities
/// in float; quantized rows are widened chunk by chunk inside the same kernels. The scalar level runs the kernels'
/// scalar twins.
/// </summary>
internal static unsafe class PagedAttention
{
    /// <summary>Rows per tile: each widened key then serves 64 queries at TinyLlama's group of 8, and the tile's scores
    /// ([rows·group, context] floats, 512 KiB at 2,048 positions) stay in L2. Measured at 2,048 positions on a Zen 4:
    /// tiles of 1, 4, 8 and 16 rows ran 197, 146, 140 and 134 ms per layer (best of 8).</summary>
    internal const int TileRows = 8;

    [ThreadStatic] private static float[]? t_scratch;

    /// <param name="q">[T, H*Dh] rotated queries.</param>
    /// <param name="output">[T, H*Dh].</param>
    public static void Run(ReadOnlySpan<float> q, Span<float> output, int rows, int[] positions,
        KvBlockTable[] tables, PagedKvCache cache, int layer, int heads, int kvHeads, int headDim, int slidingWindow, WorkerPool pool) =>
        Run(q, output, rows, positions, tables, cache, layer, heads, kvHeads, headDim, slidingWindow, pool, KernelSelection.Current);

    /// <summary>The same at a chosen kernel level and tile height (tests compare levels, and tiles with single rows).</summary>
    internal static void Run(ReadOnlySpan<float> q, Span<float> output, int rows, int[] positions, KvBlockTable[] tables,
        PagedKvCache cache, int layer, int heads, int kvHeads, int headDim, int slidingWindow, WorkerPool pool, KernelLevel level, int tileRows = TileRows)
    {
        // Tiles only change speed, never bits: shorten them so a tile's scores stay within about 4 MiB per thread.
        int longest = 1;
        for (int t = 0; t < rows; t++) longest = Math.Max(longest, positions[t] + 1);
        int most = (int)Math.Clamp((1L << 20) / ((long)heads / kvHeads * longest), 1, tileRows);
        var tiles = Tiles(rows, positions, tables, slidingWindow > 0 ? 1 : most);
        fixed (float* qp = q, op = output)
        fixed (byte* kp = cache.Keys(layer), vp = cache.Values(layer))
        {
            var job = new Job
            {
                Q = qp, Output = op, Keys = kp, Values = vp, Finite = cache.AllFinite(layer), Positions = positions, Tables = tables, Tiles = tiles, Level = level,
                KeyType = cache.Format.Keys, ValueType = cache.Format.Values, KeysTransposed = cache.KeysTransposed,
                KeyRowBytes = cache.KeyRowBytes, ValueRowBytes = cache.ValueRowBytes, KvDim = cache.KvDim,
                Window = slidingWindow, BlockSize = cache.BlockSize, Heads = heads, KvHeads = kvHeads, HeadDim = headDim,
            };
            pool.Run(tiles.Length * kvHeads, ref job);
        }
    }

    /// <summary>Runs of consecutive rows of one sequence at consecutive positions, at most <paramref name="most"/> long:
    /// (first row, row count).</summary>
    private static (int Start, int Count)[] Tiles(int rows, int[] positions, KvBlockTable[] tables, int most)
    {
        var tiles = new List<(int, int)>(rows);
        for (int t = 0; t < rows;)
        {
            int n = 1;
            while (n < most && t + n < rows && ReferenceEquals(tables[t + n], tables[t]) && positions[t + n] == positions[t] + n) n++;
            tiles.Add((t, n));
            t += n;
        }
        return [.. tiles];
    }

    private struct Job : IParallelJob
    {
        public float* Q, Output;
        public byte* Keys, Values;   // F16 keys [blocks, KvDim, blockSize] halves, else [blocks·blockSize, KeyRowBytes]; values [blocks·blockSize, ValueRowBytes]
        public int[] Positions;
        public KvBlockTable[] Tables;
        public (int Start, int Count)[] Tiles;
        public KernelLevel Level;
        public GgmlType KeyType, ValueType;
        public bool Finite, KeysTransposed;
        public int KeyRowBytes, ValueRowBytes, KvDim, Window, BlockSize, Heads, KvHeads, HeadDim;

        public readonly void Execute(int item)
        {
            // Later tiles attend over more positions: hand them out first so no thread is left with a long tail.
            var (t0, rows) = Tiles[Tiles.Length - 1 - item / KvHeads];
            int g = item % KvHeads;
            int group = Heads / KvHeads, nq = rows * group;
            // With a sliding window (tiles of one row) only the last Window positions, this one included, are visible.
            int first = Window > 0 ? Math.Max(0, Positions[t0] + 1 - Window) : 0;
            int length = Positions[t0 + rows - 1] + 1 - first; // the tile's last row sees the most
            float scale = 1f / MathF.Sqrt(HeadDim);
            var blocks = Tables[t0].Blocks;

            var scratch = t_scratch;
            // More than eight queries: each block's keys and values are widened once into floats and read from there by
            // every eight of them (the same floats the kernels would form, so the same bits).
            bool widenOnce = nq > 8;
            long need = (long)nq * (length + 2 * HeadDim) + (widenOnce ? 2L * BlockSize * HeadDim : 0);
            if (scratch is null || scratch.Length < need) t_scratch = scratch = new float[Math.Max(need, (scratch?.Length ?? 0) * 2)];
            fixed (float* buffer = scratch)
            {
                float* queries = buffer;                    // [nq, Dh]: row r's group heads at r·group
                float* outputs = buffer + nq * HeadDim;     // [nq, Dh]
                float* scores = outputs + nq * HeadDim;     // [nq, length]
                float* widened = scores + (long)nq * length; // [blockSize, Dh] one block's keys (transposed for F16) or values
                for (int r = 0; r < rows; r++)
                {
                    // The group's query heads are adjacent in a row: [group, Dh].
                    float* q = Q + (long)(t0 + r) * Heads * HeadDim + g * group * HeadDim;
                    float* dst = queries + (long)r * group * HeadDim;
                    if (KeyType == GgmlType.F16) AttentionKernels.RoundToHalf(q, dst, group * HeadDim, Level);
                    else Buffer.MemoryCopy(q, dst, group * HeadDim * sizeof(float), group * HeadDim * sizeof(float));
                }
                // Every query is scored against all `length` keys; a row ignores those past its own position.
                for (int p = 0; p < length;)
                {
                    int pos = first + p;
                    int block = blocks[pos / BlockSize], slot = pos % BlockSize;
                    int count = Math.Min(BlockSize - slot, length - p);
                    if (KeysTransposed)
                    {
                        Half* kt = (Half*)Keys + ((long)block * KvDim + g * HeadDim) * BlockSize + slot;
                        if (!widenOnce) AttentionKernels.ScoresTransposed(queries, nq, HeadDim, kt, BlockSize, count, scale, scores + p, length, Finite, Level);
                        else
                        {
                            AttentionKernels.WidenTransposed(kt, BlockSize, HeadDim, count, widened, Level);
                            AttentionKernels.ScoresTransposed(queries, nq, HeadDim, widened, count, count, scale, scores + p, length, Level);
                        }
                    }
                    else
                    {
                        var keys = new KvRows(KeyType, Keys + ((long)block * BlockSize + slot) * KeyRowBytes, KeyRowBytes, g * HeadDim);
                        if (widenOnce)
                        {
                            AttentionKernels.WidenRows(keys, count, HeadDim, widened, Level);
                            keys = new KvRows(GgmlType.F32, (byte*)widened, HeadDim * sizeof(float), 0);
                        }
                        AttentionKernels.Scores(queries, nq, HeadDim, keys, count, scale, scores + p, length, Finite, Level);
                    }
                    p += count;
                }
                bool toHalf = ValueType == GgmlType.F16;
                for (int r = 0; r < rows; r++)
                    for (int j = 0; j < group; j++)
                        AttentionKernels.Softmax(scores + (long)(r * group + j) * length, Seen(t0, r, first), toHalf, Level);
                new Span<float>(outputs, nq * HeadDim).Clear();
                // Values key by key: keys [seen by row r-1, seen by row r) go to rows r.. of the tile, so each output's
                // sum runs over exactly its row's keys, in key order, as it would alone.
                int from = 0;
                for (int r = 0; r < rows; r++)
                {
                    int to = Seen(t0, r, first);
                    int queriesLeft = (rows - r) * group;
                    float* probs = scores + (long)r * group * length;
                    float* acc = outputs + (long)r * group * HeadDim;
                    for (int p = from; p < to;)
                    {
                        int pos = first + p;
                        int block = blocks[pos / BlockSize], slot = pos % BlockSize;
                        int count = Math.Min(BlockSize - slot, to - p);
                        var values = new KvRows(ValueType, Values + ((long)block * BlockSize + slot) * ValueRowBytes, ValueRowBytes, g * HeadDim);
                        if (widenOnce && queriesLeft > 8)
                        {
                            AttentionKernels.WidenRows(values, count, HeadDim, widened, Level);
                            values = new KvRows(GgmlType.F32, (byte*)widened, HeadDim * sizeof(float), 0);
                        }
                        AttentionKernels.AccumulateValues(probs + p, queriesLeft, length, values, count, acc, HeadDim, HeadDim, Finite, Level);
                        p += count;
                    }
                    from = to;
                }
                for (int r = 0; r < rows; r++)
                    new ReadOnlySpan<float>(outputs + (long)r * group * HeadDim, group * HeadDim)
                        .CopyTo(new Span<float>(Output + (long)(t0 + r) * Heads * HeadDim + g * group * HeadDim, group * HeadDim));
            }
        }

        /// <summary>Keys row r of the tile attends to, from the tile's first visible position.</summary>
        private readonly int Seen(int t0, int r, int first) => Positions[t0 + r] + 1 - first;
    }
}
