using System.Text.Json;
using Scion.Training.Peft;
using Scion.Training.Trainer;

namespace Scion.Training.Tests.Trainer;

public class TrainingCostTests
{
    [Fact]
    public void CountsInputGradientsOnlyWhereAnAdapterIsUpstream()
    {
        using var tiny = new TinyTraining();
        var c = TinyTraining.Config; // 2 layers
        var data = TinyTraining.Examples(4, 1);
        int d = c.Dim, q = c.Heads * c.HeadDim, kv = c.KvHeads * c.HeadDim, f = c.FfnDim, r = 2;
        long perLayer = (long)d * q + 2L * d * kv + (long)q * d + 3L * d * f, block = c.Layers * perLayer, head = (long)c.Vocab * d;
        long qkv = (long)d * q + 2L * d * kv;

        // q_proj and down_proj adapted in both layers: layer 0's q, k and v read the embeddings (no gradient), every
        // later projection reads something downstream of layer 0's q adapter.
        var both = tiny.Tuner(new PeftOptions { Rank = r, Alpha = 4, Targets = ["q_proj", "down_proj"] }, new TrainerOptions { Steps = 1, BatchTokens = 24 }, data);
        var cost = both.Cost;
        Assert.Equal(block, cost.BlockParams);
        Assert.Equal(block - qkv, cost.InputGradientParams);
        Assert.Equal(head, cost.OutputParams);
        Assert.True(cost.OutputInputGradient);
        Assert.Equal(2L * r * ((d + q) + (f + d)), cost.AdapterParams);
        Assert.Equal(2L * r * (q + d), cost.AdapterOutputParams);
        Assert.Equal((long)r * d + 2L * r * f, cost.AdapterInputGradientParams); // layer 1's q, both layers' down
        // 10 tokens, 7 with a target: forward 2 per frozen parameter, input gradients 2 where they run, the head for
        // target rows only; adapters 6·r·(in + out) where their input gradient runs, 2·r·in less where it does not.
        double adapters = 6.0 * r * ((d + q) + (f + d)) * 2 - 2.0 * r * d;
        Assert.Equal(4.0 * block * 10 - 2.0 * qkv * 10 + 4.0 * head * 7 + adapters * 10, cost.StepFlops(10, 7), 6);

        // Only layer 1's up_proj: layer 0 runs forward only; in layer 1 only down reads the adapter's output.
        var late = tiny.Tuner(new PeftOptions { Rank = r, Alpha = 4, Targets = ["up_proj"], Layers = [1] }, new TrainerOptions { Steps = 1, BatchTokens = 24 }, data, subdir: "late");
        Assert.Equal((long)f * d, late.Cost.InputGradientParams);
        Assert.Equal(0, late.Cost.AdapterInputGradientParams);
        Assert.Equal(2.0 * block * 3 + 2.0 * f * d * 3 + (4.0 * r * (d + f) + 2.0 * r * f) * 3 + 4.0 * head * 2, late.Cost.StepFlops(3, 2), 6);
    }

    [Fact]
    public void MetricsCarryUsefulFlopsAndTheShareOfThePeak_AndAFreshRunStartsANewLog()
    {
        using var tiny = new TinyTraining();
        var data = TinyTraining.Examples(12, 1);
        var peft = new PeftOptions { Rank = 2, Alpha = 4, Targets = null };
        var first = tiny.Tuner(peft, new TrainerOptions { Steps = 5, BatchTokens = 24 }, data);
        first.Run();
        const double peak = 1e12;
        var again = tiny.Tuner(peft, new TrainerOptions { Steps = 3, BatchTokens = 24 }, data); // the same folder, as --force
        again.FmaPeakFlops = peak;
        var seen = new List<StepMetrics>();
        again.StepCompleted += seen.Add;
        again.Run();

        var lines = File.ReadAllLines(Path.Combine(tiny.Directory, FineTuner.MetricsFile)).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal([1, 2, 3], lines.Select(l => l.GetProperty("step").GetInt32()));
        var cost = again.Cost;
        foreach (var (line, m) in lines.Zip(seen))
        {
            double flops = line.GetProperty("flops_per_s").GetDouble(), tokens = line.GetProperty("tokens_per_s").GetDouble();
            Assert.Equal(Math.Round(m.FlopsPerSecond), flops);
            Assert.Equal(Math.Round(m.FlopsPerSecond / peak, 4), line.GetProperty("peak_fraction").GetDouble());
            // FLOPs per token lie between "no row has a target" and "every row has one".
            double perToken = m.FlopsPerSecond / m.TokensPerSecond;
            Assert.InRange(perToken, cost.StepFlops(1, 0), cost.StepFlops(1, 1));
            Assert.True(tokens > 0);
        }
        Assert.Contains("GFLOP/s (", FineTuner.Speed(seen[^1]));
    }
}
