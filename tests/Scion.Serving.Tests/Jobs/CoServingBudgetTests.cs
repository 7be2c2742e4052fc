using Scion.Serving.Scheduling;

namespace Scion.Serving.Tests.Jobs;

public class CoServingBudgetTests
{
    [Fact]
    public void EachStepEarnsItsShareOfTrainingTime()
    {
        var b = new CoServingBudget(share: 0.2, maxSliceSeconds: 1);
        // share/(1-share) = 0.25: a 40 ms step earns a 10 ms slice, so training takes 10/50 = 20% of busy time.
        Assert.Equal(0.010, b.AfterInferenceStep(0.040), 12);
        b.Spent(0.010);
        Assert.Equal(0, b.Credit, 12);
    }

    [Fact]
    public void AnOverrunIsPaidBackBeforeTheNextSlice()
    {
        var b = new CoServingBudget(share: 0.2, maxSliceSeconds: 1);
        b.AfterInferenceStep(0.040);
        b.Spent(0.030); // one op ran 20 ms past the 10 ms slice
        Assert.Equal(0, b.AfterInferenceStep(0.040)); // credit -0.020 + 0.010: no slice yet
        Assert.Equal(0, b.AfterInferenceStep(0.040)); // paid back
        Assert.Equal(0.010, b.AfterInferenceStep(0.040), 12);
        b.Spent(0.010);
        Assert.Equal(0, b.AfterInferenceStep(0.001)); // 0.25 ms earned: below the smallest slice, kept
        Assert.Equal(0.0005, b.AfterInferenceStep(0.001), 12);
    }

    [Fact]
    public void CreditIsCappedAndForgottenWhenIdle()
    {
        var b = new CoServingBudget(share: 0.5, maxSliceSeconds: 0.1);
        Assert.Equal(0.1, b.AfterInferenceStep(5.0), 12); // a 5 s prefill step earns 5 s, but a slice is at most 0.1 s
        b.Spent(0.5);
        Assert.True(b.Credit < 0);
        b.Idle();
        Assert.Equal(0, b.Credit);
    }

    [Fact]
    public void ShareZeroTrainsOnlyWhenIdle()
    {
        var b = new CoServingBudget(share: 0);
        Assert.Equal(0, b.AfterInferenceStep(1.0));
        Assert.Equal(0.05, b.IdleSliceSeconds);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(0.96)]
    [InlineData(double.NaN)]
    public void ShareOutsideTheRangeIsRefused(double share) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new CoServingBudget(share));
    [Fact]
    public void TheEndsOfTheAllowedRangesAreAcceptedAndEachBadValueRefused()
    {
        Assert.Equal(0.95, new CoServingBudget(0.95).Share);
        Assert.Equal("training share: expected 0..0.95, got 0.96. (Parameter 'share')",
            Assert.Throws<ArgumentOutOfRangeException>(() => new CoServingBudget(0.96)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CoServingBudget(-0.01));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CoServingBudget(double.NaN));
        Assert.Equal("slice lengths must be positive. (Parameter 'maxSliceSeconds')",
            Assert.Throws<ArgumentOutOfRangeException>(() => new CoServingBudget(0.2, maxSliceSeconds: 0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CoServingBudget(0.2, idleSliceSeconds: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CoServingBudget(0.2, maxSliceSeconds: double.NaN));
    }

    [Fact]
    public void ASliceOfExactlyTheSmallestLengthRunsAndAnEmptyStepEarnsNothing()
    {
        var b = new CoServingBudget(share: 0.5, maxSliceSeconds: 1); // ratio 1: a step earns its own length
        Assert.Equal(CoServingBudget.MinSliceSeconds, b.AfterInferenceStep(CoServingBudget.MinSliceSeconds));
        b.Spent(0);
        Assert.Equal(CoServingBudget.MinSliceSeconds, b.Credit);
        // A step of no measurable length (or NaN) hands out nothing, even with credit banked.
        Assert.Equal(0, b.AfterInferenceStep(0));
        Assert.Equal(0, b.AfterInferenceStep(double.NaN));
        Assert.Equal(CoServingBudget.MinSliceSeconds, b.Credit);
    }
}
