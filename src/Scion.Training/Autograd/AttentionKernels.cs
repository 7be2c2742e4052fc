using Scion.Tensors;
using Layout = Scion.Training.Autograd.Tape.AttentionLayout;

namespace Scion.Training.Autograd;

/// <summary>
/// Causal attention as blocked matrix products (FlashAttention's shape, on the CPU): a block of up to
/// <see cref="QueryBlock"/> queries of one head meets all keys of its sequence up to its last query through
/// <see cref="PanelKernel"/>: S = Q Kᵀ, P = softmax(scale·S) masked causally, O = P V. Backward recomputes P from the
/// saved log-sum-exp. Forward items are (sequence, head, query block); backward items are (sequence, KV head), each
/// the only writer of its dK and dV rows, sweeping the group's heads and query blocks in a fixed order, so every sum
/// has the same order for any thread count.
/// </summary>
internal static unsafe class AttentionKernels
{
    public const int QueryBlock = 64;

    [ThreadStatic] private static float[]? t_scratch;

    public static void Forward(WorkerPool pool, Layout l, float[] q, float[] k, float[] v, float[] y, float[] lse)
    {
        var sequences = l.Sequences();
        var items = new List<(int Seq, int Q0)>();
        for (int i = 0; i < sequences.Length; i++)
            for (int q0 = sequences[i].Start; q0 < sequences[i].End; q0 += QueryBlock) items.Add((i, q0));
        fixed (float* pq = q, pk = k, pv = v, py = y, plse = lse)
        {
            var job = new ForwardJob { L = l, Sequences = sequences, Blocks = [.. items], Q = pq, K = pk, V = pv, Y = py, Lse = plse };
            pool.Run(job.Blocks.Length * l.Heads, ref job);
        }
    }

    public static void Backward(WorkerPool pool, Layout l, float[] q, float[] k, float[] v, float[] y, float[] dy, float[] lse,
        float[] dq, float[] dk, float[] dv)
    {
        var sequences = l.Sequences();
        fixed (float* pq = q, pk = k, pv = v, py = y, pdy = dy, plse = lse, pdq = dq, pdk = dk, pdv = dv)
        {
            var job = new BackwardJob
            {
                L = l, Sequences = sequences, Q = pq, K = pk, V = pv, Y = py, Dy = pdy, Lse = plse, Dq = pdq, Dk = pdk, Dv = pdv,
            };
            pool.Run(sequences.Length * l.KvHeads, ref job);
        }
    }

    private static float[] Scratch(long floats)
    {
        var b = t_scratch;
        if (b is null || b.Length < floats) t_scratch = b = new float[floats];
        return b;
    }

    /// <summary>dst [cols, rows] = src [rows, cols] with src rows <paramref name="stride"/> floats apart.</summary>
    private static void Transpose(float* src, int stride, int rows, int cols, float* dst)
    {
        for (int r = 0; r < rows; r++)
        {
            float* sr = src + (long)r * stride;
            for (int c = 0; c < cols; c++) dst[(long)c * rows + r] = sr[c];
        }
    }

    /// <summary>
    /// Turns raw scores S [qb, n] (row i is query q0 + i, column j key s0 + j) into probabilities in place and
    /// returns nothing; keys after the query get exactly 0. With <paramref name="lse"/> given per row (backward) it is
    /// used; otherwise it is computed and written to <paramref name="lseOut"/>.
    /// </summary>
    private static void Softmax(float* s, int qb, int n, int firstCount, float scale, float* lseIn, float* lseOut, int lseStride)
    {
        for (int i = 0; i < qb; i++)
        {
            float* row = s + (long)i * n;
            int count = firstCount + i; // keys s0 .. q0 + i
            if (lseIn is not null)
            {
                float rowLse = lseIn[(long)i * lseStride];
                for (int j = 0; j < count; j++) row[j] = MathF.Exp(row[j] * scale - rowLse);
            }
            else
            {
                float max = float.NegativeInfinity;
                for (int j = 0; j < count; j++)
                {
                    float sc = row[j] * scale;
                    row[j] = sc;
                    if (sc > max) max = sc;
                }
                float sum = 0f;
                for (int j = 0; j < count; j++)
                {
                    float e = MathF.Exp(row[j] - max);
                    row[j] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                for (int j = 0; j < count; j++) row[j] *= inv;
                lseOut[(long)i * lseStride] = max + MathF.Log(sum);
            }
            for (int j = count; j < n; j++) row[j] = 0f;
        }
    }

    private struct ForwardJob : IParallelJob
    {
        public Layout L;
        public (int Start, int End)[] Sequences;
        public (int Seq, int Q0)[] Blocks;
        public float* Q, K, V, Y, Lse;

        public readonly void Execute(int item)
        {
            var (seq, q0) = Blocks[item / L.Heads];
            int h = item % L.Heads, g = h / L.GroupSize, d = L.HeadDim;
            var (s0, s1) = Sequences[seq];
            int q1 = Math.Min(s1, q0 + QueryBlock), qb = q1 - q0, n = q1 - s0;
            var scratch = Scratch((long)d * n + (long)qb * n);
            fixed (float* buf = scratch)
            {
                float* kt = buf, s = buf + (long)d * n; // Kᵀ [d, n], S/P [qb, n]
                Transpose(K + (long)s0 * L.KvWidth + g * d, L.KvWidth, n, d, kt);
                new Span<float>(s, qb * n).Clear();
                float* qBlock = Q + (long)q0 * L.QWidth + h * d;
                PanelKernel.Accumulate(qBlock, L.QWidth, kt, n, s, n, qb, n, d);
                Softmax(s, qb, n, q0 - s0 + 1, L.Scale, null, Lse + (long)q0 * L.Heads + h, L.Heads);
                float* yBlock = Y + (long)q0 * L.QWidth + h * d; // zero: a fresh output
                PanelKernel.Accumulate(s, n, V + (long)s0 * L.KvWidth + g * d, L.KvWidth, yBlock, L.QWidth, qb, d, n);
            }
        }
    }

    private struct BackwardJob : IParallelJob
    {
        public Layout L;
        public (int Start, int End)[] Sequences;
        public float* Q, K, V, Y, Dy, Lse, Dq, Dk, Dv;

        public readonly void Execute(int item)
        {
            var (s0, s1) = Sequences[item / L.KvHeads];
            int g = item % L.KvHeads, d = L.HeadDim, len = s1 - s0;
            int qbMax = Math.Min(QueryBlock, len);
            // Kᵀ, Vᵀ [d, len]; P, dS [qb, n]; Pᵀ / dSᵀ [n, qb]; D [qb].
            var scratch = Scratch(2L * d * len + 3L * qbMax * len + qbMax);
            fixed (float* buf = scratch)
            {
                float* kt = buf, vt = kt + (long)d * len, p = vt + (long)d * len, ds = p + (long)qbMax * len;
                float* tr = ds + (long)qbMax * len, dd = tr + (long)qbMax * len;
                float* kSeq = K + (long)s0 * L.KvWidth + g * d, vSeq = V + (long)s0 * L.KvWidth + g * d;
                float* dkSeq = Dk + (long)s0 * L.KvWidth + g * d, dvSeq = Dv + (long)s0 * L.KvWidth + g * d;
                Transpose(kSeq, L.KvWidth, len, d, kt);
                Transpose(vSeq, L.KvWidth, len, d, vt);
                for (int h = g * L.GroupSize; h < (g + 1) * L.GroupSize; h++)
                    for (int q0 = s0; q0 < s1; q0 += QueryBlock)
                    {
                        int q1 = Math.Min(s1, q0 + QueryBlock), qb = q1 - q0, n = q1 - s0;
                        long qOff = (long)q0 * L.QWidth + h * d;
                        float* qBlock = Q + qOff, dyBlock = Dy + qOff, yBlock = Y + qOff, dqBlock = Dq + qOff;
                        // P = exp(scale·Q Kᵀ − lse), recomputed.
                        new Span<float>(p, qb * n).Clear();
                        PanelKernel.Accumulate(qBlock, L.QWidth, kt, len, p, n, qb, n, d);
                        Softmax(p, qb, n, q0 - s0 + 1, L.Scale, Lse + (long)q0 * L.Heads + h, null, L.Heads);
                        // dP = dO Vᵀ; D_i = dO_i · O_i; dS = scale · P ⊙ (dP − D).
                        new Span<float>(ds, qb * n).Clear();
                        PanelKernel.Accumulate(dyBlock, L.QWidth, vt, len, ds, n, qb, n, d);
                        for (int i = 0; i < qb; i++)
                        {
                            dd[i] = Gemm.Dot(dyBlock + (long)i * L.QWidth, yBlock + (long)i * L.QWidth, d);
                            float* pr = p + (long)i * n, dr = ds + (long)i * n;
                            for (int j = 0; j < n; j++) dr[j] = pr[j] * (dr[j] - dd[i]) * L.Scale;
                        }
                        // dQ += dS K; dV += Pᵀ dO; dK += dSᵀ Q.
                        PanelKernel.Accumulate(ds, n, kSeq, L.KvWidth, dqBlock, L.QWidth, qb, d, n);
                        Transpose(p, n, qb, n, tr);
                        PanelKernel.Accumulate(tr, qb, dyBlock, L.QWidth, dvSeq, L.KvWidth, n, d, qb);
                        Transpose(ds, n, qb, n, tr);
                        PanelKernel.Accumulate(tr, qb, qBlock, L.QWidth, dkSeq, L.KvWidth, n, d, qb);
                    }
            }
        }
    }
}
