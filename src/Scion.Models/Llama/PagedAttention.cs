using Scion.Models.KvCache;
using Scion.Tensors;

namespace Scion.Models.Llama;

/// <summary>
/// Causal attention of each batch row over its own sequence's cached keys and values, read through the block table.
/// One work item is a (row, KV head) pair: the query heads that share that KV head (GQA) are scored together so
/// each key is read once. Scores live in a per-thread vector of context length, never in a [T, T] matrix.
/// Numerics follow an F16 KV cache as llama.cpp runs it: keys, values, the query and the softmax probabilities are
/// rounded to half before their dot products, which is what its golden outputs reflect.
/// </summary>
internal static unsafe class PagedAttention
{
    [ThreadStatic] private static float[]? t_scores;

    /// <param name="q">[T, H*Dh] rotated queries.</param>
    /// <param name="output">[T, H*Dh].</param>
    public static void Run(ReadOnlySpan<float> q, Span<float> output, int rows, int[] positions,
        KvBlockTable[] tables, PagedKvCache cache, int layer, int heads, int kvHeads, int headDim, int slidingWindow, WorkerPool pool)
    {
        fixed (float* qp = q, op = output, kp = cache.Keys(layer), vp = cache.Values(layer))
        {
            var job = new Job
            {
                Q = qp, Output = op, Keys = kp, Values = vp, Positions = positions, Tables = tables,
                Window = slidingWindow, BlockSize = cache.BlockSize, KvDim = cache.KvDim, Rows = rows, Heads = heads, KvHeads = kvHeads, HeadDim = headDim,
            };
            pool.Run(rows * kvHeads, ref job);
        }
    }

    private struct Job : IParallelJob
    {
        public float* Q, Output, Keys, Values;
        public int[] Positions;
        public KvBlockTable[] Tables;
        public int Window, BlockSize, KvDim, Rows, Heads, KvHeads, HeadDim;

        public readonly void Execute(int item)
        {
            // Later rows attend over more positions: hand them out first so no thread is left with a long tail.
            int t = Rows - 1 - item / KvHeads;
            int g = item % KvHeads;
            int group = Heads / KvHeads;
            // With a sliding window only the last Window positions (this one included) are visible.
            int first = Window > 0 ? Math.Max(0, Positions[t] + 1 - Window) : 0;
            int length = Positions[t] + 1 - first;
            int qDim = Heads * HeadDim;
            float scale = 1f / MathF.Sqrt(HeadDim);
            var blocks = Tables[t].Blocks;

            var scratch = t_scores;
            int need = group * (length + HeadDim);
            if (scratch is null || scratch.Length < need) t_scores = scratch = new float[Math.Max(need, (scratch?.Length ?? 0) * 2)];
            var queries = scratch.AsSpan(0, group * HeadDim);             // [group, Dh] rounded to half
            var scores = scratch.AsSpan(group * HeadDim, group * length); // [group, length]
            for (int j = 0; j < group; j++)
            {
                var src = new ReadOnlySpan<float>(Q + (long)t * qDim + (g * group + j) * HeadDim, HeadDim);
                for (int i = 0; i < HeadDim; i++) queries[j * HeadDim + i] = (float)(Half)src[i];
            }

            Span<float> max = stackalloc float[group];
            max.Fill(float.NegativeInfinity);
            fixed (float* qs = queries, sc = scores)
            {
                // Walk the block table block by block: positions inside a block are contiguous rows of KvDim.
                for (int p = 0; p < length;)
                {
                    int pos = first + p;
                    int inBlock = Math.Min(BlockSize - pos % BlockSize, length - p);
                    float* key = Keys + KeyOffset(blocks, pos) + g * HeadDim;
                    for (int k = 0; k < inBlock; k++, p++, key += KvDim)
                    {
                        for (int j = 0; j < group; j++)
                        {
                            float s = Ops.Dot(qs + j * HeadDim, key, HeadDim) * scale;
                            sc[j * length + p] = s;
                            if (s > max[j]) max[j] = s;
                        }
                    }
                }
                for (int j = 0; j < group; j++)
                {
                    float* row = sc + j * length;
                    double sum = 0;
                    for (int p = 0; p < length; p++)
                    {
                        row[p] = MathF.Exp(row[p] - max[j]);
                        sum += row[p];
                    }
                    float inv = (float)(1.0 / sum);
                    for (int p = 0; p < length; p++) row[p] = (float)(Half)(row[p] * inv);
                    new Span<float>(Output + (long)t * qDim + (g * group + j) * HeadDim, HeadDim).Clear();
                }
                for (int p = 0; p < length;)
                {
                    int pos = first + p;
                    int inBlock = Math.Min(BlockSize - pos % BlockSize, length - p);
                    float* value = Values + KeyOffset(blocks, pos) + g * HeadDim;
                    for (int k = 0; k < inBlock; k++, p++, value += KvDim)
                        for (int j = 0; j < group; j++)
                            Ops.Axpy(sc[j * length + p], value, Output + (long)t * qDim + (g * group + j) * HeadDim, HeadDim);
                }
            }
        }

        private readonly long KeyOffset(List<int> blocks, int p) => ((long)blocks[p / BlockSize] * BlockSize + p % BlockSize) * KvDim;
    }
}
