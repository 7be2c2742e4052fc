using Scion.Training.Autograd;
using Scion.Training.Data;
using Scion.Training.Model;

namespace Scion.Training.Trainer;

/// <summary>Loss over a data set without gradients or dropout.</summary>
public static class Evaluator
{
    public static EvalResult Evaluate(TrainingModel model, IReadOnlyList<TrainingExample> examples, int batchTokens)
    {
        var order = new DataOrder(examples, batchTokens, seed: 0, shuffle: false);
        double sum = 0;
        long count = 0;
        var position = new DataPosition(0, 0);
        while (position.Epoch == 0)
        {
            (var batch, position) = order.Next(position);
            int n = batch.TargetCount;
            if (n == 0) continue;
            var tape = new Tape { Training = false, Pool = model.Pool };
            using var _ = tape.NoGrad();
            sum += (double)model.Loss(tape, batch.Ids, batch.Positions, batch.SequenceIds, batch.Targets).Data[0] * n;
            count += n;
        }
        return new EvalResult(count == 0 ? double.NaN : sum / count, count);
    }
}
