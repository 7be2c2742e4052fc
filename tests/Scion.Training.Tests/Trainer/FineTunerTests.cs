using Scion.Tensors;
using Scion.Training.Optim;
using Scion.Training.Peft;
using Scion.Training.Trainer;

namespace Scion.Training.Tests.Trainer;

public class FineTunerTests
{
    private static readonly TrainerOptions Options = new()
    {
        Steps = 6, LearningRate = 5e-3f, BatchTokens = 24, GradAccum = 2, WarmupSteps = 2, WeightDecay = 0.01f, Clip = 1f, Seed = 3,
        Schedule = LrDecay.Cosine,
    };

    [Theory]
    [InlineData(PeftMethod.Lora, false)]
    [InlineData(PeftMethod.Dora, true)]
    [InlineData(PeftMethod.Pissa, false)]
    public void ResumeIsBitIdenticalToAnUninterruptedRun(PeftMethod method, bool checkpointing)
    {
        using var tiny = new TinyTraining();
        var data = TinyTraining.Examples(20, 1);
        var peft = new PeftOptions { Method = method, Rank = 2, Alpha = 4, Dropout = 0.1f, Targets = null };
        var options = Options with { GradientCheckpointing = checkpointing };

        var straight = tiny.Tuner(peft, options, data, subdir: "straight");
        var full = straight.Run();
        Assert.False(full.Interrupted);
        Assert.Equal(6, full.Losses.Count);

        var first = tiny.Tuner(peft, options, data, subdir: "resumed");
        using var cancel = new CancellationTokenSource();
        first.StepCompleted += m => { if (m.Step == 3) cancel.Cancel(); };
        var half = first.Run(cancel.Token);
        Assert.True(half.Interrupted);
        Assert.Equal(3, half.Steps);
        Assert.NotNull(half.CheckpointDirectory);

        var second = tiny.Tuner(peft, options, data, subdir: "resumed");
        second.Resume(Path.Combine(tiny.Directory, "resumed"));
        var rest = second.Run();
        Assert.Equal(6, rest.Steps);
        Assert.Equal(full.Losses.Take(3), half.Losses);
        Assert.Equal(full.Losses.Skip(3), rest.Losses);
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(tiny.Directory, "straight", "adapter_model.safetensors")),
            File.ReadAllBytes(Path.Combine(tiny.Directory, "resumed", "adapter_model.safetensors")));
        var metrics = File.ReadAllLines(Path.Combine(tiny.Directory, "resumed", FineTuner.MetricsFile));
        Assert.Equal(File.ReadAllLines(Path.Combine(tiny.Directory, "straight", FineTuner.MetricsFile)).Length, metrics.Length);
    }

    [Fact]
    public void ResumeWithOtherOptionsIsRefused()
    {
        using var tiny = new TinyTraining();
        var data = TinyTraining.Examples(10, 1);
        var peft = new PeftOptions { Rank = 2, Alpha = 4, Targets = null };
        var tuner = tiny.Tuner(peft, Options with { CheckpointEvery = 2, Steps = 4 }, data);
        tuner.Run();
        var other = tiny.Tuner(peft, Options with { LearningRate = 1e-3f, Steps = 4 }, data);
        var e = Assert.Throws<InvalidDataException>(() => other.Resume(tiny.Directory));
        Assert.Contains("'lr'", e.Message);
    }

    [Fact]
    public void TrainingOverAQ4_0BaseLowersTheLoss()
    {
        using var tiny = new TinyTraining(GgmlType.Q4_0);
        var data = TinyTraining.Examples(40, 2);
        var validation = TinyTraining.Examples(8, 3);
        var tuner = tiny.Tuner(new PeftOptions { Rank = 4, Alpha = 8, Targets = null },
            new TrainerOptions { Steps = 30, LearningRate = 1e-2f, BatchTokens = 64, WarmupSteps = 3, Seed = 1 }, data, validation);
        var before = tuner.Evaluate()!;
        var result = tuner.Run();
        Assert.True(result.FinalEval!.Loss < before.Loss * 0.8, $"validation loss {before.Loss} → {result.FinalEval.Loss}");
        Assert.True(result.Losses.TakeLast(5).Average() < result.Losses.Take(5).Average());
        Assert.True(File.Exists(Path.Combine(tiny.Directory, "adapter_config.json")));
    }
}
