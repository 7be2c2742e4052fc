using Scion.Serving.Scheduling;

namespace Scion.Serving.Tests;

public class StepTimeGovernorTests
{
    [Fact]
    public void WithoutAMeasurementOrWithoutDecodesTheFullBudgetApplies()
    {
        var g = new StepTimeGovernor(0.5, 16);
        Assert.Equal(512, g.TokenBudget(512, decoding: 8));
        g.Observe(512, 5.12); // 10 ms a token
        Assert.Equal(512, g.TokenBudget(512, decoding: 0));
    }

    [Fact]
    public void WhileDecodingTheBudgetIsWhatTheTargetBuys()
    {
        var g = new StepTimeGovernor(0.5, 16);
        g.Observe(512, 5.12);
        Assert.Equal(0.01, g.SecondsPerToken!.Value, 12);
        Assert.Equal(50, g.TokenBudget(512, decoding: 8));
        // Fast steps: the target buys more than the ceiling.
        var fast = new StepTimeGovernor(0.5, 16);
        fast.Observe(512, 0.05);
        Assert.Equal(512, fast.TokenBudget(512, decoding: 8));
    }

    [Fact]
    public void TheBudgetNeverDropsBelowTheDecodesPlusOneChunk()
    {
        var g = new StepTimeGovernor(0.5, 16);
        g.Observe(100, 10.0); // 100 ms a token: the target buys 5
        Assert.Equal(8 + 16, g.TokenBudget(512, decoding: 8));
        Assert.Equal(20, g.TokenBudget(20, decoding: 8)); // but never above the configured ceiling
    }

    [Fact]
    public void SmallStepsDoNotCountAndLaterStepsAreSmoothedIn()
    {
        var g = new StepTimeGovernor(1.0, 16);
        g.Observe(StepTimeGovernor.MinSampleTokens - 1, 10.0); // a decode-only step: weight reads, not per-token work
        Assert.Null(g.SecondsPerToken);
        g.Observe(100, 1.0);  // 10 ms a token
        g.Observe(100, 2.0);  // 20 ms: moves 30% of the way
        Assert.Equal(0.013, g.SecondsPerToken!.Value, 12);
        Assert.Equal(76, g.TokenBudget(512, decoding: 4)); // floor(1 / 0.013)
        g.Observe(100, double.NaN);
        g.Observe(100, 0);
        Assert.Equal(0.013, g.SecondsPerToken!.Value, 12);
    }

    [Fact]
    public void ZeroTargetIsOff()
    {
        var g = new StepTimeGovernor(0, 16);
        g.Observe(512, 50);
        Assert.Equal(512, g.TokenBudget(512, decoding: 8));
    }
    [Fact]
    public void AStepOfExactlyTheSmallestSampleSizeCounts()
    {
        var g = new StepTimeGovernor(1.0, 16);
        g.Observe(StepTimeGovernor.MinSampleTokens, 0.16);
        Assert.Equal(0.01, g.SecondsPerToken!.Value, 12);
    }
}
