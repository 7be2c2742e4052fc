using Scion.Training.Optim;
using Scion.Training.Peft;
using Scion.Training.Trainer;

namespace Scion.Training.Tests.Trainer;

/// <summary>The serving engine trains in slices between inference steps: how a run is cut must not change it.</summary>
public class SlicedRunTests
{
    private static readonly TrainerOptions Options = new()
    {
        Steps = 5, LearningRate = 5e-3f, BatchTokens = 24, GradAccum = 2, WarmupSteps = 1, Seed = 9, Schedule = LrDecay.Cosine,
        CheckpointEvery = 2,
    };

    [Theory]
    [InlineData(PeftMethod.Lora, false)]
    [InlineData(PeftMethod.Dora, true)]
    public void OneOpSlicesGiveTheBytesOfAStraightRun(PeftMethod method, bool checkpointing)
    {
        using var tiny = new TinyTraining();
        var data = TinyTraining.Examples(16, 4);
        var peft = new PeftOptions { Method = method, Rank = 2, Alpha = 4, Dropout = 0.1f, Targets = null };
        var options = Options with { GradientCheckpointing = checkpointing };

        var straight = tiny.Tuner(peft, options, data, subdir: "straight").Run();

        var sliced = tiny.Tuner(peft, options, data, subdir: "sliced");
        var checkpoints = new List<long>();
        sliced.CheckpointSaved += (step, _) => checkpoints.Add(step);
        int slices = 1;
        // A zero budget returns after every op: the finest cut there is.
        while (!sliced.RunFor(TimeSpan.Zero)) slices++;

        Assert.NotNull(sliced.Result);
        Assert.False(sliced.Result!.Interrupted);
        Assert.Equal(straight.Losses, sliced.Result.Losses);
        Assert.Equal([2L, 4L], checkpoints);
        // Each micro-batch alone is an embedding, two blocks, a loss and their backward ops: far more than one slice a step.
        Assert.True(slices > 10 * options.Steps!.Value, $"{slices} slices");
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(tiny.Directory, "straight", "adapter_model.safetensors")),
            File.ReadAllBytes(Path.Combine(tiny.Directory, "sliced", "adapter_model.safetensors")));
        Assert.True(sliced.RunFor(TimeSpan.Zero)); // finished stays finished
    }
}
