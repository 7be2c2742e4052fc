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
            for (int p = 0; p < length; p++)
            {
                var key = new ReadOnlySpan<float>(Keys + KeyOffset(blocks, first + p) + g * HeadDim, HeadDim);
                for (int j = 0; j < group; j++)
                {
                    float s = Ops.Dot(queries.Slice(j * HeadDim, HeadDim), key) * scale;
                    scores[j * length + p] = s;
                    if (s > max[j]) max[j] = s;
                }
            }
            for (int j = 0; j < group; j++)
            {
                var row = scores.Slice(j * length, length);
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
            for (int p = 0; p < length; p++)
            {
                var value = new ReadOnlySpan<float>(Values + KeyOffset(blocks, first + p) + g * HeadDim, HeadDim);
                for (int j = 0; j < group; j++)
                    Ops.Axpy(scores[j * length + p], value, new Span<float>(Output + (long)t * qDim + (g * group + j) * HeadDim, HeadDim));
            }
        }

        private readonly long KeyOffset(List<int> blocks, int p) => ((long)blocks[p / BlockSize] * BlockSize + p % BlockSize) * KvDim;
    }
}
