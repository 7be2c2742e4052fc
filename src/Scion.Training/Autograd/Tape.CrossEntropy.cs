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
        if (targets.Length != tokens) throw new ArgumentException($"CrossEntropy: {targets.Length} targets for {tokens} logit rows.");
        int counted = 0;
        for (int t = 0; t < tokens; t++)
        {
            if (targets[t] == IgnoreIndex) continue;
            if ((uint)targets[t] >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(targets), $"CrossEntropy: target {targets[t]} at row {t} is outside [0, {vocab}) and is not {IgnoreIndex}.");
            counted++;
        }

        var lse = new float[tokens];      // [T]
        var rowLoss = new double[tokens]; // [T]
        float[] ld = logits.Data;
        Parallel.For(0, tokens, t =>
        {
            if (targets[t] == IgnoreIndex) return;
            var row = ld.AsSpan(t * vocab, vocab);
            float max = float.NegativeInfinity;
            foreach (var z in row) if (z > max) max = z;
            double sum = 0;
            foreach (var z in row) sum += Math.Exp(z - max);
            double l = max + Math.Log(sum);
            lse[t] = (float)l;
            rowLoss[t] = l - row[targets[t]];
        });
        double total = 0;
        for (int t = 0; t < tokens; t++) total += rowLoss[t]; // fixed order: reproducible
        var loss = new Tensor([counted == 0 ? 0f : (float)(total / counted)], 1);

        if (counted > 0 && ShouldRecord(logits))
            Record(loss, lse.Length, () =>
            {
                float g = loss.Grad![0] / counted;
                var dl = logits.EnsureGrad();
                Parallel.For(0, tokens, t =>
                {
                    if (targets[t] == IgnoreIndex) return;
                    var row = ld.AsSpan(t * vocab, vocab);
                    var drow = dl.AsSpan(t * vocab, vocab);
                    float rowLse = lse[t];
                    for (int i = 0; i < vocab; i++) drow[i] += g * MathF.Exp(row[i] - rowLse);
                    drow[targets[t]] -= g;
                });
            });
        return loss;
    }
}
