using System.Runtime.Intrinsics;
using Scion.Tensors;

namespace Scion.Training.Autograd;

public sealed partial class Tape
{
    /// <summary>Target id that <see cref="CrossEntropy"/> skips (PyTorch's ignore_index).</summary>
    public const int IgnoreIndex = -100;

    /// <summary>
    /// Mean token cross-entropy, −log softmax(logits)[target], over rows whose target is not
    /// <see cref="IgnoreIndex"/> (0 when every row is ignored); log-sum-exp with the row max
    /// subtracted, in double. logits [T, V], targets [T] → [1].
    /// </summary>
    public Tensor CrossEntropy(Tensor logits, int[] targets)
    {
        if (logits.Shape.Length != 2) throw new ArgumentException($"CrossEntropy: logits must be [tokens, vocab], found {logits}.");
        int tokens = logits.Rows, vocab = logits.Shape[1];
        int counted = CountTargets(targets, tokens, vocab, nameof(CrossEntropy));

        var lse = new float[tokens];      // [T]
        var rowLoss = new double[tokens]; // [T]
        var job = new RowLossJob { Logits = logits.Data, Targets = targets, Vocab = vocab, Lse = lse, RowLoss = rowLoss };
        Pool.Run(tokens, ref job);
        var loss = new Tensor([counted == 0 ? 0f : (float)(SumInOrder(rowLoss) / counted)], 1);

        if (counted > 0 && ShouldRecord(logits))
            Record(loss, lse.Length, () =>
            {
                var grad = new RowGradJob { Logits = logits.Data, Targets = targets, Vocab = vocab, Lse = lse, Scale = loss.Grad![0] / counted, Grad = logits.EnsureGrad() };
                Pool.Run(tokens, ref grad);
            });
        return loss;
    }

    /// <summary>
    /// <c>CrossEntropy(LinearFrozen(h, w), targets)</c> as one op: logits are formed only for rows with a target, turned
    /// into probabilities in place, and that one [counted, V] buffer becomes the logits' gradient in backward, so
    /// neither the [T, V] logits of ignored rows nor a second [T, V] gradient buffer ever exist. Same loss and
    /// gradients as the two ops. h [T, D], w [V, D], targets [T] → [1].
    /// </summary>
    public Tensor LinearCrossEntropy(Tensor h, IFrozenWeight w, int[] targets)
    {
        Expect2D(h, w.Cols, nameof(LinearCrossEntropy), "h");
        int tokens = h.Rows, dim = w.Cols, vocab = w.Rows;
        int counted = CountTargets(targets, tokens, vocab, nameof(LinearCrossEntropy));
        if (counted == 0) return new Tensor([0f], 1);

        // Rows with a target, compacted: [counted]; hc [counted, D] (h itself when nothing is ignored).
        var rows = new int[counted];
        var compactTargets = new int[counted];
        for (int t = 0, i = 0; t < tokens; t++)
            if (targets[t] != IgnoreIndex) { rows[i] = t; compactTargets[i++] = targets[t]; }
        float[] hc = counted == tokens ? h.Data : GC.AllocateUninitializedArray<float>(checked(counted * dim)); // rows copied in below
        if (counted != tokens)
            for (int i = 0; i < counted; i++) h.Data.AsSpan(rows[i] * dim, dim).CopyTo(hc.AsSpan(i * dim, dim));

        var probs = Tensor.ZeroedArray((long)counted * vocab); // [counted, V]: logits, then softmax, then the gradient
        w.Forward(hc, probs, counted);
        var lse = new float[counted];
        var rowLoss = new double[counted];
        var job = new RowLossJob { Logits = probs, Targets = compactTargets, Vocab = vocab, Lse = lse, RowLoss = rowLoss, ToProbabilities = true };
        Pool.Run(counted, ref job);
        var loss = new Tensor([(float)(SumInOrder(rowLoss) / counted)], 1);

        if (ShouldRecord(h))
            Record(loss, probs.Length, () =>
            {
                var grad = new ProbabilityGradJob { Probs = probs, Targets = compactTargets, Vocab = vocab, Scale = loss.Grad![0] / counted };
                Pool.Run(counted, ref grad);
                if (counted == tokens)
                {
                    w.BackwardInput(probs, h.EnsureGrad(), counted);
                    return;
                }
                var dhc = Tensor.ZeroedArray((long)counted * dim);
                w.BackwardInput(probs, dhc, counted);
                var dh = h.EnsureGrad();
                for (int i = 0; i < counted; i++)
                {
                    var src = dhc.AsSpan(i * dim, dim);
                    var dst = dh.AsSpan(rows[i] * dim, dim);
                    for (int c = 0; c < dim; c++) dst[c] += src[c];
                }
            });
        return loss;
    }

    private static int CountTargets(int[] targets, int tokens, int vocab, string op)
    {
        if (targets.Length != tokens) throw new ArgumentException($"{op}: {targets.Length} targets for {tokens} logit rows.");
        int counted = 0;
        for (int t = 0; t < tokens; t++)
        {
            if (targets[t] == IgnoreIndex) continue;
            if ((uint)targets[t] >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(targets), $"{op}: target {targets[t]} at row {t} is outside [0, {vocab}) and is not {IgnoreIndex}.");
            counted++;
        }
        return counted;
    }

    private static double SumInOrder(double[] values)
    {
        double total = 0;
        foreach (var v in values) total += v; // fixed order: reproducible
        return total;
    }

    private struct RowLossJob : IParallelJob
    {
        public float[] Logits;   // [rows, V]
        public int[] Targets;    // [rows]
        public int Vocab;
        public float[] Lse;      // [rows]
        public double[] RowLoss; // [rows]
        public bool ToProbabilities;

        public readonly void Execute(int t)
        {
            if (Targets[t] == IgnoreIndex) return;
            if (ToProbabilities)
            {
                SoftmaxRow(t);
                return;
            }
            var row = Logits.AsSpan(t * Vocab, Vocab);
            float max = float.NegativeInfinity;
            foreach (var z in row) if (z > max) max = z;
            double sum = 0;
            foreach (var z in row) sum += Math.Exp(z - max);
            double l = max + Math.Log(sum);
            float rowLse = (float)l;
            Lse[t] = rowLse;
            RowLoss[t] = l - row[Targets[t]];
        }

        // Logits row → probabilities in place with one exponential per value (vectorized), the sum in double.
        private readonly unsafe void SoftmaxRow(int t)
        {
            fixed (float* r = &Logits[t * Vocab])
            {
                int n = Vocab, i = 0;
                float target = r[Targets[t]];
                float max = float.NegativeInfinity;
                if (Vector512.IsHardwareAccelerated && n >= 16)
                {
                    var vm = Vector512.Create(float.NegativeInfinity);
                    for (; i + 16 <= n; i += 16) vm = Vector512.Max(vm, Vector512.Load(r + i));
                    for (int lane = 0; lane < 16; lane++) max = MathF.Max(max, vm.GetElement(lane));
                }
                for (; i < n; i++) max = MathF.Max(max, r[i]);
                double sum = 0;
                i = 0;
                if (Vector512.IsHardwareAccelerated && n >= 16)
                {
                    var vmax = Vector512.Create(max);
                    Vector512<double> s0 = Vector512<double>.Zero, s1 = Vector512<double>.Zero;
                    for (; i + 16 <= n; i += 16)
                    {
                        var e = Vector512.Exp(Vector512.Load(r + i) - vmax);
                        e.Store(r + i);
                        var (lo, hi) = Vector512.Widen(e);
                        s0 += lo;
                        s1 += hi;
                    }
                    sum = Vector512.Sum(s0 + s1);
                }
                for (; i < n; i++)
                {
                    float e = MathF.Exp(r[i] - max);
                    r[i] = e;
                    sum += e;
                }
                double l = max + Math.Log(sum);
                Lse[t] = (float)l;
                RowLoss[t] = l - target;
                float inv = (float)(1 / sum);
                Scion.Tensors.Ops.Scale(new Span<float>(r, n), inv);
            }
        }
    }

    private struct RowGradJob : IParallelJob
    {
        public float[] Logits, Lse, Grad; // [T, V], [T], [T, V]
        public int[] Targets;
        public int Vocab;
        public float Scale;

        public readonly void Execute(int t)
        {
            if (Targets[t] == IgnoreIndex) return;
            var row = Logits.AsSpan(t * Vocab, Vocab);
            var drow = Grad.AsSpan(t * Vocab, Vocab);
            float rowLse = Lse[t];
            for (int i = 0; i < Vocab; i++) drow[i] += Scale * MathF.Exp(row[i] - rowLse);
            drow[Targets[t]] -= Scale;
        }
    }

    private struct ProbabilityGradJob : IParallelJob
    {
        public float[] Probs; // [rows, V]: softmax in, d(loss)/d(logits) out
        public int[] Targets;
        public int Vocab;
        public float Scale;

        public readonly void Execute(int t)
        {
            var row = Probs.AsSpan(t * Vocab, Vocab);
            for (int i = 0; i < row.Length; i++) row[i] = Scale * row[i];
            row[Targets[t]] -= Scale;
        }
    }
}
