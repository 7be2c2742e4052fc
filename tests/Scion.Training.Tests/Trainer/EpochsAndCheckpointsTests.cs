using System.Text.Json;
using Scion.Training.Peft;
using Scion.Training.Trainer;

namespace Scion.Training.Tests.Trainer;

public class EpochsAndCheckpointsTests
{
    [Fact]
    public void EpochsRunEveryExampleThatManyTimesAndEvalEveryLogsOnItsSteps()
    {
        using var tiny = new TinyTraining();
        // Ten 12-token examples, 24 tokens a batch: two examples a batch, five batches an epoch.
        var data = TinyTraining.Examples(10, 4, minLength: 12, maxLength: 12);
        var validation = TinyTraining.Examples(4, 5);
        var tuner = tiny.Tuner(new PeftOptions { Rank = 2, Alpha = 4, Targets = null },
            new TrainerOptions { Epochs = 3, BatchTokens = 24, LearningRate = 1e-3f, Seed = 1, EvalEvery = 4 }, data, validation);
        Assert.Equal(15, tuner.TotalSteps);
        var result = tuner.Run();
        Assert.Equal(15, result.Steps);
        Assert.Equal(15, result.Losses.Count);

        var lines = File.ReadAllLines(Path.Combine(tiny.Directory, FineTuner.MetricsFile)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var steps = lines.Where(l => l.TryGetProperty("loss", out _)).ToList();
        Assert.Equal(Enumerable.Range(1, 15), steps.Select(l => l.GetProperty("step").GetInt32()));
        Assert.Equal(3 * 10 * 12, steps.Sum(l => l.GetProperty("tokens").GetInt32())); // every example, three times
        var evals = lines.Where(l => l.TryGetProperty("eval_loss", out _)).ToList();
        Assert.Equal(new[] { 4, 8, 12, 15 }, evals.Select(l => l.GetProperty("step").GetInt32())); // every 4th step, then the final one
        Assert.Equal(Math.Round(result.FinalEval!.Loss, 6), evals[^1].GetProperty("eval_loss").GetDouble());
        Assert.Equal(validation.Sum(e => e.TargetCount), result.FinalEval.Tokens);
    }

    [Fact]
    public void ResumeFindsTheLatestCheckpointByStepNumber()
    {
        string root = Path.Combine(Path.GetTempPath(), "scion-ckpt-" + Guid.NewGuid().ToString("N"));
        try
        {
            string Make(string name, bool withState)
            {
                string dir = Path.Combine(root, name);
                Directory.CreateDirectory(dir);
                if (withState) File.WriteAllText(Path.Combine(dir, FineTuner.StateFile), "");
                return dir;
            }
            Make("checkpoint-9", true);
            string ten = Make("checkpoint-10", true);   // "10" sorts before "9" as text: the number decides
            Make("checkpoint-11", false);               // a half-written one without its state is not a checkpoint
            Make("checkpoint-latest", true);            // nor is a name without a step
            Make(".checkpoint-12.abc.tmp", true);       // nor a temporary folder of an interrupted write
            Assert.Equal(ten, FineTuner.FindCheckpoint(root));
            Assert.Equal(ten, FineTuner.FindCheckpoint(ten)); // a checkpoint folder itself
            string empty = Make("empty", false);
            var e = Assert.Throws<InvalidDataException>(() => FineTuner.FindCheckpoint(empty));
            Assert.Contains(FineTuner.StateFile, e.Message);
            Assert.Throws<DirectoryNotFoundException>(() => FineTuner.FindCheckpoint(Path.Combine(root, "missing")));
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }
}
