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
        AttentionKernels.Forward(Pool, layout, q.Data, k.Data, v.Data, y.Data, lse);

        if (ShouldRecord(q, k, v))
            Record(y, lse.Length, () =>
            {
                float[] dq = q.RequiresGrad ? q.EnsureGrad() : Tensor.ZeroedArray(q.Length);
                float[] dk = k.RequiresGrad ? k.EnsureGrad() : Tensor.ZeroedArray(k.Length);
                float[] dv = v.RequiresGrad ? v.EnsureGrad() : Tensor.ZeroedArray(v.Length);
                AttentionKernels.Backward(Pool, layout, q.Data, k.Data, v.Data, y.Data, y.Grad!, lse, dq, dk, dv);
            });
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

    internal sealed record AttentionLayout(int Tokens, int Heads, int KvHeads, int HeadDim, float Scale, int[] Starts)
    {
        public int GroupSize => Heads / KvHeads;
        public int QWidth => Heads * HeadDim;
        public int KvWidth => KvHeads * HeadDim;

        /// <summary>[start, end) of every packed sequence, in order.</summary>
        public (int Start, int End)[] Sequences()
        {
            var list = new List<(int, int)>();
            for (int t = 0; t < Tokens; t++)
                if (Starts[t] == t)
                {
                    int e = t + 1;
                    while (e < Tokens && Starts[e] == t) e++;
                    list.Add((t, e));
                }
            return [.. list];
        }
    }
}
