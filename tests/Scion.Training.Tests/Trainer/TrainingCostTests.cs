using System.Text.Json;
using Scion.Training.Peft;
using Scion.Training.Trainer;

namespace Scion.Training.Tests.Trainer;

public class TrainingCostTests
{
    [Fact]
    public void CountsEachFrozenProductTwiceAndEachAdapterProductThrice()
    {
        using var tiny = new TinyTraining();
        var c = TinyTraining.Config;
        var tuner = tiny.Tuner(new PeftOptions { Rank = 2, Alpha = 4, Targets = ["q_proj", "down_proj"] }, new TrainerOptions { Steps = 1, BatchTokens = 24 },
            TinyTraining.Examples(4, 1));
        int q = c.Heads * c.HeadDim, kv = c.KvHeads * c.HeadDim;
        long block = (long)c.Layers * (c.Dim * q + 2L * c.Dim * kv + q * c.Dim + 3L * c.Dim * c.FfnDim);
        long adapters = (long)c.Layers * 2 * ((c.Dim + q) + (c.FfnDim + c.Dim));
        Assert.Equal(block, tuner.Cost.BlockParams);
        Assert.Equal((long)c.Vocab * c.Dim, tuner.Cost.OutputParams);
        Assert.Equal(adapters, tuner.Cost.AdapterParams);
        // 10 tokens, 7 of them with a target: forward + input gradient of the frozen matrices (4 FLOPs per parameter),
        // the head for target rows only, the adapters' forward and their three backward products (6 per parameter).
        Assert.Equal(4.0 * block * 10 + 4.0 * c.Vocab * c.Dim * 7 + 6.0 * adapters * 10, tuner.Cost.StepFlops(10, 7));
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
