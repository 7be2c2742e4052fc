using Scion.Models.KvCache;
using Scion.Tensors;

namespace Scion.Models.Llama;

/// <summary>
/// The element-wise work between a forward's matmuls (residual adds, RMS norms, RoPE, KV cache writes, SwiGLU), run
/// on the pool across rows. Over a 512-token prefill it is a serial stretch while the other cores idle; split by rows
/// each row gets exactly the arithmetic it got on one thread, so results are bitwise the same. A single row (decode)
/// runs inline: the pool does that for one item, with no dispatch.
/// </summary>
internal static unsafe class ForwardRows
{
    /// <summary>A few items per thread so a descheduled thread's share is picked up by the others.</summary>
    private static int Items(int rows, WorkerPool pool) => rows < 2 ? 1 : Math.Min(rows, pool.ThreadCount * 4);

    /// <summary>Per row: x += delta (when given), then dst = RmsNorm(x) (when a weight is given). Fused so x is
    /// read once while still in cache. dst may be the buffer delta lives in: a row's delta is consumed before its dst
    /// is written, and rows are disjoint.</summary>
    /// <param name="x">[rows, dim] residual stream, updated in place.</param>
    /// <param name="delta">[rows, dim] or null.</param>
    /// <param name="dst">[rows, dim]; unused without a weight.</param>
    public static void AddNorm(float[] x, float[]? delta, float[]? weight, float eps, float[] dst, int rows, int dim, WorkerPool pool)
    {
        fixed (float* px = x, pd = delta, pn = dst)
        {
            int items = Items(rows, pool);
            var job = new AddNormJob
            {
                X = px, Delta = pd, Dst = pn, Weight = weight, Eps = eps, Rows = rows, Dim = dim, PerItem = (rows + items - 1) / items,
            };
            pool.Run((rows + job.PerItem - 1) / job.PerItem, ref job);
        }
    }

    private struct AddNormJob : IParallelJob
    {
        public float* X, Delta, Dst;
        public float[]? Weight;
        public float Eps;
        public int Rows, Dim, PerItem;

        public readonly void Execute(int item)
        {
            int end = Math.Min(Rows, (item + 1) * PerItem);
            for (int t = item * PerItem; t < end; t++)
            {
                var row = new Span<float>(X + (long)t * Dim, Dim);
                if (Delta != null) Ops.Add(row, new ReadOnlySpan<float>(Delta + (long)t * Dim, Dim), row);
                if (Weight is not null) Ops.RmsNorm(row, Weight, Eps, new Span<float>(Dst + (long)t * Dim, Dim));
            }
        }
    }

    /// <summary>Per row: rotates its queries and keys, then stores its key and value in the cache (rounded to half).
    /// Rows write distinct (sequence, position) slots.</summary>
    /// <param name="q">[rows, H*Dh]</param>
    /// <param name="k">[rows, Hkv*Dh]</param>
    /// <param name="v">[rows, Hkv*Dh]</param>
    public static void RopeAndCache(RotaryEmbedding rope, float[] q, float[] k, float[] v, int heads, int kvHeads, int rows,
        int[] positions, KvBlockTable[] tables, PagedKvCache cache, int layer, WorkerPool pool)
    {
        fixed (float* pq = q, pk = k, pv = v)
        {
            int items = Items(rows, pool);
            var job = new RopeCacheJob
            {
                Q = pq, K = pk, V = pv, Rope = rope, Positions = positions, Tables = tables, Cache = cache, Layer = layer,
                Heads = heads, KvHeads = kvHeads, Rows = rows, PerItem = (rows + items - 1) / items,
            };
            pool.Run((rows + job.PerItem - 1) / job.PerItem, ref job);
        }
    }

    private struct RopeCacheJob : IParallelJob
    {
        public float* Q, K, V;
        public RotaryEmbedding Rope;
        public int[] Positions;
        public KvBlockTable[] Tables;
        public PagedKvCache Cache;
        public int Layer, Heads, KvHeads, Rows, PerItem;

        public readonly void Execute(int item)
        {
            int qDim = Heads * Rope.HeadDim, kvDim = KvHeads * Rope.HeadDim;
            int end = Math.Min(Rows, (item + 1) * PerItem);
            for (int t = item * PerItem; t < end; t++)
            {
                var q = new Span<float>(Q + (long)t * qDim, qDim);
                var k = new Span<float>(K + (long)t * kvDim, kvDim);
                Rope.ApplyRow(q, Heads, k, KvHeads, Positions[t]);
                // The cache stores them in its format: halves rounded to nearest even (llama.cpp's default F16 numerics) or Q8_0/Q4_0 blocks.
                Cache.Write(Layer, Tables[t], Positions[t], k, new ReadOnlySpan<float>(V + (long)t * kvDim, kvDim));
            }
        }
    }

    /// <summary>gate = silu(gate) * up over the first <paramref name="length"/> values, in chunks that start on a
    /// multiple of 16 values: each value meets the same vector width (and the tail the same scalar loop) as in one
    /// <see cref="Ops.SiluMul"/> call over the whole buffer.</summary>
    public static void SiluMul(float[] gate, float[] up, long length, int rows, WorkerPool pool)
    {
        fixed (float* pg = gate, pu = up)
        {
            int items = Items(rows, pool);
            long chunk = (length + items - 1) / items;
            chunk = (chunk + 15) / 16 * 16;
            var job = new SiluMulJob { Gate = pg, Up = pu, Length = length, Chunk = Math.Max(chunk, 16) };
            pool.Run((int)((length + job.Chunk - 1) / job.Chunk), ref job);
        }
    }

    private struct SiluMulJob : IParallelJob
    {
        public float* Gate, Up;
        public long Length, Chunk;

        public readonly void Execute(int item)
        {
            long start = item * Chunk;
            int count = (int)Math.Min(Chunk, Length - start);
            var g = new Span<float>(Gate + start, count);
            Ops.SiluMul(g, new ReadOnlySpan<float>(Up + start, count), g);
        }
    }
}
