using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Tensors;
using Scion.Training.Data;
using Scion.Training.Model;
using Scion.Training.Trainer;

namespace Scion.Training.Tests.Trainer;

/// <summary>The evaluator's loss against a direct computation: the inference forward's logits, a log-softmax in
/// double precision, averaged over target tokens only; and the options' validation, field by field.</summary>
public class EvaluatorTests
{
    /// <summary>Mean −log p(target) over every target of every example, from the inference forward (not the tape).</summary>
    private static (double Loss, long Tokens) Direct(LlamaModel model, IReadOnlyList<TrainingExample> examples)
    {
        double sum = 0;
        long count = 0;
        int v = model.Config.Vocab;
        foreach (var e in examples)
        {
            var logits = model.Forward(new ForwardBatch().AddSequence(0, e.Tokens, 0, allLogits: true), new PagedKvCache(model.Config, e.Length));
            for (int t = 0; t < e.Length; t++)
            {
                if (e.Targets[t] < 0) continue;
                var row = logits.AsSpan(t * v, v);
                double max = double.NegativeInfinity;
                foreach (float l in row) max = Math.Max(max, l);
                double z = 0;
                foreach (float l in row) z += Math.Exp(l - max);
                sum += -(row[e.Targets[t]] - max - Math.Log(z));
                count++;
            }
        }
        return (sum / count, count);
    }

    [Theory]
    [InlineData(4096)] // every example in one batch
    [InlineData(16)]   // one or two examples a batch: the mean must weigh batches by their target counts
    public void LossIsTheMeanNegativeLogLikelihoodOfTheTargets(int batchTokens)
    {
        using var t = new TinyTraining(GgmlType.F32);
        var examples = TinyTraining.Examples(9, seed: 4);
        var (loss, tokens) = Direct(t.Model, examples);
        var result = Evaluator.Evaluate(new TrainingModel(t.Model), examples, batchTokens);
        Assert.Equal(examples.Sum(e => (long)e.TargetCount), result.Tokens);
        Assert.Equal(tokens, result.Tokens);
        // The inference forward rounds keys and values to half in its cache; the tape keeps fp32.
        Assert.Equal(loss, result.Loss, 2e-3);
        Assert.Equal(Math.Exp(result.Loss), result.Perplexity, 1e-9);
        Assert.True(result.Loss > 1, $"a random model should be far from the rule, got loss {result.Loss}");
    }

    [Fact]
    public void NoTargetsIsNaNRatherThanZero()
    {
        using var t = new TinyTraining(GgmlType.F32);
        var none = TrainingExample.FromMask([1, 2, 3], [false, false, false], 1, 64);
        var result = Evaluator.Evaluate(new TrainingModel(t.Model), [none], 64);
        Assert.Equal(0, result.Tokens);
        Assert.True(double.IsNaN(result.Loss));
    }

    [Theory]
    [InlineData("--steps", nameof(TrainerOptions.Steps), 0)]
    [InlineData("--epochs", nameof(TrainerOptions.Epochs), 0)]
    [InlineData("--lr", nameof(TrainerOptions.LearningRate), 0.0)]
    [InlineData("--lr", nameof(TrainerOptions.LearningRate), double.NaN)]
    [InlineData("--batch-tokens", nameof(TrainerOptions.BatchTokens), 1)]
    [InlineData("--grad-accum", nameof(TrainerOptions.GradAccum), 0)]
    [InlineData("--warmup", nameof(TrainerOptions.WarmupSteps), -1)]
    [InlineData("--weight-decay", nameof(TrainerOptions.WeightDecay), -0.1)]
    [InlineData("--clip", nameof(TrainerOptions.Clip), -1.0)]
    [InlineData("--eval-every", nameof(TrainerOptions.EvalEvery), -1)]
    [InlineData("--checkpoint-every", nameof(TrainerOptions.CheckpointEvery), -1)]
    public void EachBadOptionIsRefusedNamingIt(string option, string property, object value)
    {
        var good = new TrainerOptions();
        good.Validate();
        var prop = typeof(TrainerOptions).GetProperty(property)!;
        var target = Nullable.GetUnderlyingType(prop.PropertyType) ?? prop.PropertyType;
        var bad = good with { };
        prop.SetValue(bad, Convert.ChangeType(value, target, System.Globalization.CultureInfo.InvariantCulture));
        var e = Assert.Throws<ArgumentException>(bad.Validate);
        Assert.Contains(option, e.Message);
    }
}
