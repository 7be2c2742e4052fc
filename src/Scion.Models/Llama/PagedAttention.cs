using Scion.Models.KvCache;
using Scion.Tensors;
using Scion.Tensors.Cpu;

namespace Scion.Models.Llama;

/// <summary>
/// Causal attention of each batch row over its own sequence's cached keys and values, read through the block table.
/// One work item is a (row, KV head) pair: the query heads that share that KV head (GQA) are scored together so
/// each key and value row is read (and widened from half) once for all of them. Scores live in a per-thread
/// [group, context] buffer, never in a [T, T] matrix.
/// Numerics follow an F16 KV cache as llama.cpp runs it: keys, values, the query and the softmax probabilities are
/// rounded to half before their dot products, which is what its golden outputs reflect. A quantized key cache takes the
/// query in float (llama.cpp rounds it to Q8_0; float loses less), and a quantized value cache keeps the probabilities
/// in float; quantized rows are widened chunk by chunk inside the same kernels. SIMD levels run
/// <see cref="AttentionKernels"/> (orders pinned by their scalar twins); the scalar level keeps a plain reference loop.
/// </summary>
internal static unsafe class PagedAttention
{
    [ThreadStatic] private static float[]? t_scores;

    /// <param name="q">[T, H*Dh] rotated queries.</param>
    /// <param name="output">[T, H*Dh].</param>
    public static void Run(ReadOnlySpan<float> q, Span<float> output, int rows, int[] positions,
        KvBlockTable[] tables, PagedKvCache cache, int layer, int heads, int kvHeads, int headDim, int slidingWindow, WorkerPool pool) =>
        Run(q, output, rows, positions, tables, cache, layer, heads, kvHeads, headDim, slidingWindow, pool, KernelSelection.Current);

    /// <summary>The same at a chosen kernel level (tests compare the SIMD paths with the scalar reference loop).</summary>
    internal static void Run(ReadOnlySpan<float> q, Span<float> output, int rows, int[] positions, KvBlockTable[] tables,
        PagedKvCache cache, int layer, int heads, int kvHeads, int headDim, int slidingWindow, WorkerPool pool, KernelLevel level)
    {
        fixed (float* qp = q, op = output)
        fixed (byte* kp = cache.Keys(layer), vp = cache.Values(layer))
        {
            var job = new Job
            {
                Q = qp, Output = op, Keys = kp, Values = vp, Finite = cache.AllFinite(layer), Positions = positions, Tables = tables, Level = level,
                KeyType = cache.Format.Keys, ValueType = cache.Format.Values, KeyRowBytes = cache.KeyRowBytes, ValueRowBytes = cache.ValueRowBytes,
                Window = slidingWindow, BlockSize = cache.BlockSize, Rows = rows, Heads = heads, KvHeads = kvHeads, HeadDim = headDim,
            };
            pool.Run(rows * kvHeads, ref job);
        }
    }

    private struct Job : IParallelJob
    {
        public float* Q, Output;
        public byte* Keys, Values;   // [blocks·blockSize, KeyRowBytes] and [blocks·blockSize, ValueRowBytes]
        public int[] Positions;
        public KvBlockTable[] Tables;
        public KernelLevel Level;
        public GgmlType KeyType, ValueType;
        public bool Finite;
        public int KeyRowBytes, ValueRowBytes, Window, BlockSize, Rows, Heads, KvHeads, HeadDim;

        public readonly void Execute(int item)
        {
            // Later rows attend over more positions: hand them out first so no thread is left with a long tail.
            int t = Rows - 1 - item / KvHeads;
            int g = item % KvHeads;
            int group = Heads / KvHeads;
            // With a sliding window only the last Window positions (this one included) are visible.
            int first = Window > 0 ? Math.Max(0, Positions[t] + 1 - Window) : 0;
            int length = Positions[t] + 1 - first;
            float scale = 1f / MathF.Sqrt(HeadDim);
            var blocks = Tables[t].Blocks;
            // The group's query heads are adjacent: [group, Dh] in, [group, Dh] out.
            float* q = Q + (long)t * Heads * HeadDim + g * group * HeadDim;
            float* output = Output + (long)t * Heads * HeadDim + g * group * HeadDim;

            var scratch = t_scores;
            int need = group * (length + 2 * HeadDim);
            if (scratch is null || scratch.Length < need) t_scores = scratch = new float[Math.Max(need, (scratch?.Length ?? 0) * 2)];
            fixed (float* buffer = scratch)
            {
                float* queries = buffer;                   // [group, Dh] rounded to half
                float* row = buffer + group * HeadDim;     // [Dh] one widened cache row (scalar path)
                float* scores = row + HeadDim;             // [group, length]
                if (Level == KernelLevel.Scalar) Reference(q, output, queries, row, scores, blocks, first, length, g, group, scale);
                else Simd(q, output, queries, scores, blocks, first, length, g, group, scale);
            }
        }

        private readonly void Simd(float* q, float* output, float* queries, float* scores, List<int> blocks,
            int first, int length, int g, int group, float scale)
        {
            if (KeyType == GgmlType.F16) AttentionKernels.RoundToHalf(q, queries, group * HeadDim, Level);
            else Buffer.MemoryCopy(q, queries, group * HeadDim * sizeof(float), group * HeadDim * sizeof(float));
            // Walk the block table block by block: positions inside a block are contiguous rows.
            for (int p = 0; p < length;)
            {
                int pos = first + p;
                int count = Math.Min(BlockSize - pos % BlockSize, length - p);
                var keys = new KvRows(KeyType, Keys + Row(blocks, pos) * KeyRowBytes, KeyRowBytes, g * HeadDim);
                AttentionKernels.Scores(queries, group, HeadDim, keys, count, scale, scores + p, length, Finite, Level);
                p += count;
            }
            bool toHalf = ValueType == GgmlType.F16;
            for (int j = 0; j < group; j++) AttentionKernels.Softmax(scores + (long)j * length, length, toHalf, Level);
            new Span<float>(output, group * HeadDim).Clear();
            for (int p = 0; p < length;)
            {
                int pos = first + p;
                int count = Math.Min(BlockSize - pos % BlockSize, length - p);
                var values = new KvRows(ValueType, Values + Row(blocks, pos) * ValueRowBytes, ValueRowBytes, g * HeadDim);
                AttentionKernels.AccumulateValues(scores + p, group, length, values, count, output, HeadDim, HeadDim, Finite, Level);
                p += count;
            }
        }

        /// <summary>The plain loop: one dot per (key, query head), MathF.Exp per score, one axpy per (value, head).</summary>
        private readonly void Reference(float* q, float* output, float* queries, float* row, float* scores, List<int> blocks,
            int first, int length, int g, int group, float scale)
        {
            for (int i = 0; i < group * HeadDim; i++) queries[i] = KeyType == GgmlType.F16 ? (float)(Half)q[i] : q[i];
            Span<float> max = stackalloc float[group];
            max.Fill(float.NegativeInfinity);
            for (int p = 0; p < length; p++)
            {
                Widen(KeyType, Keys + Row(blocks, first + p) * KeyRowBytes, g * HeadDim, row);
                for (int j = 0; j < group; j++)
                {
                    float s = Ops.Dot(queries + j * HeadDim, row, HeadDim) * scale;
                    scores[j * length + p] = s;
                    if (s > max[j]) max[j] = s;
                }
            }
            for (int j = 0; j < group; j++)
            {
                float* sc = scores + j * length;
                double sum = 0;
                for (int p = 0; p < length; p++)
                {
                    sc[p] = MathF.Exp(sc[p] - max[j]);
                    sum += sc[p];
                }
                float inv = (float)(1.0 / sum);
                for (int p = 0; p < length; p++) sc[p] = ValueType == GgmlType.F16 ? (float)(Half)(sc[p] * inv) : sc[p] * inv;
            }
            new Span<float>(output, group * HeadDim).Clear();
            for (int p = 0; p < length; p++)
            {
                Widen(ValueType, Values + Row(blocks, first + p) * ValueRowBytes, g * HeadDim, row);
                for (int j = 0; j < group; j++) Ops.Axpy(scores[j * length + p], row, output + j * HeadDim, HeadDim);
            }
        }

        /// <summary>One head's slice of a cache row, from value <paramref name="element"/>, as floats.</summary>
        private readonly void Widen(GgmlType type, byte* row, int element, float* dst)
        {
            for (int i = 0; i < HeadDim; i++) dst[i] = Scion.Tensors.Reference.ReferenceAttention.Element(type, row, element + i);
        }

        private readonly long Row(List<int> blocks, int p) => (long)blocks[p / BlockSize] * BlockSize + p % BlockSize;
    }
}
