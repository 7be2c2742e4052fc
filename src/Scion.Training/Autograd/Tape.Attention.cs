namespace Scion.Training.Autograd;

public sealed partial class Tape
{
    /// <summary>
    /// Causal multi-head attention over packed sequences with GQA: query head h reads KV head
    /// h / (nHeads / nKvHeads); token t attends to tokens s ≤ t of its own sequence only; scores
    /// are scaled by 1/√headDim. Tokens of one sequence must be contiguous and in position order.
    /// Keeps only the per-row log-sum-exp [T, H] and recomputes probabilities in backward
    /// (FlashAttention's trade), so memory is linear in T.
    /// q [T, H·Dh], k [T, Hkv·Dh], v [T, Hkv·Dh], seqIds [T] → [T, H·Dh].
    /// </summary>
    public Tensor CausalAttention(Tensor q, Tensor k, Tensor v, int[] seqIds, int nHeads, int nKvHeads)
    {
        if (nHeads <= 0 || nKvHeads <= 0 || nHeads % nKvHeads != 0)
            throw new ArgumentException($"CausalAttention: {nHeads} query heads do not split over {nKvHeads} KV heads.");
        if (q.Shape.Length != 2 || q.Shape[1] % nHeads != 0)
            throw new ArgumentException($"CausalAttention: q must be [tokens, {nHeads}·headDim], found {q}.");
        int tokens = q.Rows, headDim = q.Shape[1] / nHeads, kvWidth = nKvHeads * headDim;
        Expect2D(k, kvWidth, nameof(CausalAttention), "k");
        Expect2D(v, kvWidth, nameof(CausalAttention), "v");
        if (k.Rows != tokens || v.Rows != tokens || seqIds.Length != tokens)
            throw new ArgumentException($"CausalAttention: q {q}, k {k}, v {v} and {seqIds.Length} sequence ids disagree on the token count.");
        var starts = SequenceStarts(seqIds); // [T] first token of each token's sequence

        var layout = new AttentionLayout(tokens, nHeads, nKvHeads, headDim, 1f / MathF.Sqrt(headDim), starts);
        var y = NewTensor(tokens, nHeads * headDim);
        var lse = new float[tokens * nHeads]; // [T, H]
        float[] qd = q.Data, kd = k.Data, vd = v.Data, yd = y.Data;
        Parallel.For(0, tokens * nHeads, () => new float[tokens], (row, _, scores) =>
        {
            AttentionForwardRow(layout, qd, kd, vd, yd, lse, row / nHeads, row % nHeads, scores);
            return scores;
        }, _ => { });

        if (ShouldRecord(q, k, v))
            Record(y, lse.Length, () => AttentionBackward(layout, q, k, v, y, lse));
        return y;
    }

    /// <summary>Sequence ids [T] for sequences of the given lengths packed back to back.</summary>
    public static int[] SequenceIdsFromLengths(ReadOnlySpan<int> lengths)
    {
        int total = 0;
        foreach (var n in lengths) total += n;
        var ids = new int[total];
        int t = 0;
        for (int s = 0; s < lengths.Length; s++)
            for (int i = 0; i < lengths[s]; i++) ids[t++] = s;
        return ids;
    }

    private static int[] SequenceStarts(int[] seqIds)
    {
        var starts = new int[seqIds.Length];
        var seen = new HashSet<int>();
        for (int t = 0; t < seqIds.Length; t++)
        {
            if (t > 0 && seqIds[t] == seqIds[t - 1])
            {
                starts[t] = starts[t - 1];
                continue;
            }
            if (!seen.Add(seqIds[t]))
                throw new ArgumentException($"CausalAttention: sequence {seqIds[t]} resumes at token {t} after another sequence; packed sequences must be contiguous.");
            starts[t] = t;
        }
        return starts;
    }

    private sealed record AttentionLayout(int Tokens, int Heads, int KvHeads, int HeadDim, float Scale, int[] Starts)
    {
        public int GroupSize => Heads / KvHeads;
        public int QWidth => Heads * HeadDim;
        public int KvWidth => KvHeads * HeadDim;
    }

    private static unsafe void AttentionForwardRow(AttentionLayout l, float[] q, float[] k, float[] v, float[] y, float[] lse, int t, int h, float[] scores)
    {
        int d = l.HeadDim, g = h / l.GroupSize, start = l.Starts[t], count = t - start + 1;
        fixed (float* pq = q, pk = k, pv = v, py = y)
        {
            float* qr = pq + (long)t * l.QWidth + h * d;
            float max = float.NegativeInfinity;
            for (int s = 0; s < count; s++)
            {
                float sc = Gemm.Dot(qr, pk + (long)(start + s) * l.KvWidth + g * d, d) * l.Scale;
                scores[s] = sc;
                if (sc > max) max = sc;
            }
            float sum = 0f;
            for (int s = 0; s < count; s++)
            {
                float e = MathF.Exp(scores[s] - max);
                scores[s] = e;
                sum += e;
            }
            float* yr = py + (long)t * l.QWidth + h * d;
            new Span<float>(yr, d).Clear();
            float invSum = 1f / sum;
            for (int s = 0; s < count; s++)
                Gemm.Axpy(scores[s] * invSum, pv + (long)(start + s) * l.KvWidth + g * d, yr, d);
            lse[t * l.Heads + h] = max + MathF.Log(sum);
        }
    }

    private static void AttentionBackward(AttentionLayout l, Tensor q, Tensor k, Tensor v, Tensor y, float[] lse)
    {
        // Work items are (KV head, sequence): dK and dV of a KV head within a sequence are written
        // by one task only, so the sums need no locks and keep a fixed order.
        var sequences = new List<(int Start, int End)>();
        for (int t = 0; t < l.Tokens; t++)
            if (l.Starts[t] == t) sequences.Add((t, t));
        for (int i = 0; i < sequences.Count; i++)
            sequences[i] = (sequences[i].Start, i + 1 < sequences.Count ? sequences[i + 1].Start : l.Tokens);
        float[] dq = q.RequiresGrad ? q.EnsureGrad() : new float[q.Length];
        float[] dk = k.RequiresGrad ? k.EnsureGrad() : new float[k.Length];
        float[] dv = v.RequiresGrad ? v.EnsureGrad() : new float[v.Length];
        var dy = y.Grad!;
        Parallel.For(0, l.KvHeads * sequences.Count, item =>
        {
            var (start, end) = sequences[item % sequences.Count];
            AttentionBackwardBlock(l, q.Data, k.Data, v.Data, y.Data, dy, lse, dq, dk, dv, item / sequences.Count, start, end);
        });
    }

    private static unsafe void AttentionBackwardBlock(AttentionLayout l, float[] q, float[] k, float[] v, float[] y, float[] dy, float[] lse,
        float[] dq, float[] dk, float[] dv, int g, int start, int end)
    {
        int d = l.HeadDim;
        fixed (float* pq = q, pk = k, pv = v, py = y, pdy = dy, pdq = dq, pdk = dk, pdv = dv)
        {
            for (int h = g * l.GroupSize; h < (g + 1) * l.GroupSize; h++)
                for (int t = start; t < end; t++)
                {
                    long qOff = (long)t * l.QWidth + h * d;
                    float* qr = pq + qOff, dyr = pdy + qOff, dqr = pdq + qOff;
                    float rowLse = lse[t * l.Heads + h];
                    // D = Σ_s p_s (dy·v_s) = dy·y
                    float dDot = Gemm.Dot(dyr, py + qOff, d);
                    for (int s = start; s <= t; s++)
                    {
                        long kvOff = (long)s * l.KvWidth + g * d;
                        float ps = MathF.Exp(Gemm.Dot(qr, pk + kvOff, d) * l.Scale - rowLse);
                        float dp = Gemm.Dot(dyr, pv + kvOff, d);
                        float ds = ps * (dp - dDot) * l.Scale;
                        Gemm.Axpy(ds, pk + kvOff, dqr, d);
                        Gemm.Axpy(ds, qr, pdk + kvOff, d);
                        Gemm.Axpy(ps, dyr, pdv + kvOff, d);
                    }
                }
        }
    }
}
