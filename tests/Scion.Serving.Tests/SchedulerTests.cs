using Scion.Serving.Scheduling;

namespace Scion.Serving.Tests;

/// <summary>The step function alone: no model, no cache, only views in and a plan out.</summary>
public class SchedulerTests
{
    private static readonly SchedulerBudget Budget = new(MaxTokens: 64, MaxSequences: 8, MaxAdapters: 2, BlockSize: 4);

    /// <summary>A running sequence decoding: its last token is not computed yet.</summary>
    private static SequenceView Decoding(long id, int total = 9, string? adapter = null) =>
        new(id, id, adapter, total, total - 1, HeldBlocks: Scheduler.BlocksFor(total - 1, 4), ExclusiveBlocks: Scheduler.BlocksFor(total - 1, 4));

    private static SequenceView Waiting(long id, int prompt, string? adapter = null, int cached = 0) =>
        new(id, id, adapter, prompt, CachedTokens: cached);

    private static int TokensOf(StepPlan plan, long id) => plan.Scheduled.Single(s => s.Id == id).Tokens;

    [Fact]
    public void DecodesComeFirstThenPromptChunksUnderTheTokenBudget()
    {
        var running = new[] { Decoding(1), Decoding(2), Decoding(3) };
        var waiting = new[] { Waiting(4, prompt: 100), Waiting(5, prompt: 10) };
        var plan = Scheduler.Schedule(running, waiting, freeBlocks: 100, Budget);
        Assert.Equal([1L, 2L, 3L, 4L], plan.Scheduled.Select(s => s.Id));
        Assert.All(plan.Scheduled.Take(3), s => Assert.Equal(1, s.Tokens));
        // The long prompt gets what is left of the budget; the next one waits for the next step.
        Assert.Equal(61, TokensOf(plan, 4));
        Assert.Equal(64, plan.TotalTokens);
        Assert.True(plan.Scheduled.Single(s => s.Id == 4).Admitted);
        Assert.Empty(plan.Preempted);
    }

    [Fact]
    public void ALongPromptIsSplitIntoChunksAcrossSteps()
    {
        var budget = Budget with { MaxTokens = 16 };
        int computed = 0, steps = 0;
        var plan = Scheduler.Schedule([], [Waiting(1, prompt: 50)], 100, budget);
        while (true)
        {
            var s = plan.Scheduled.Single(x => x.Id == 1);
            Assert.Equal(computed, s.StartToken);
            Assert.True(s.Tokens <= 16);
            computed += s.Tokens;
            steps++;
            if (computed == 50) break;
            var view = new SequenceView(1, 1, null, 50, computed, Scheduler.BlocksFor(computed, 4), Scheduler.BlocksFor(computed, 4));
            // A decoding stream that arrived later still runs in every step, before the chunk.
            plan = Scheduler.Schedule([view, Decoding(2)], [], 100, budget);
            Assert.Equal(2, plan.Scheduled[0].Id);
        }
        Assert.Equal(4, steps); // 16 + 15 + 15 + 4: later chunks share the step with the decode
    }

    [Fact]
    public void ACachedPrefixIsSkippedAndItsBlocksAreNotAllocatedAgain()
    {
        var plan = Scheduler.Schedule([], [Waiting(1, prompt: 20, cached: 16)], freeBlocks: 2, Budget);
        var s = plan.Scheduled.Single();
        Assert.Equal(16, s.StartToken);
        Assert.Equal(4, s.Tokens);
        Assert.Equal(1, s.BlocksTaken);
        // Cached blocks that sit on the free list are used up like new ones.
        var evictable = Waiting(1, prompt: 20, cached: 16) with { EvictableCachedBlocks = 4 };
        Assert.Empty(Scheduler.Schedule([], [evictable], freeBlocks: 2, Budget).Scheduled);
        Assert.Equal(5, Scheduler.Schedule([], [evictable], freeBlocks: 5, Budget).Scheduled.Single().BlocksTaken);
    }

    [Fact]
    public void SequencePerStepCapHolds()
    {
        var running = Enumerable.Range(1, 10).Select(i => Decoding(i)).ToArray();
        var plan = Scheduler.Schedule(running, [Waiting(11, 5)], 100, Budget);
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), plan.Scheduled.Select(s => s.Id));
    }

    [Fact]
    public void AdapterCapLeavesThirdAdapterWaitingButAdmitsLaterRequestsOfAdmittedAdapters()
    {
        var running = new[] { Decoding(1, adapter: "a"), Decoding(2, adapter: "b"), Decoding(3, adapter: "c"), Decoding(4) };
        var waiting = new[] { Waiting(5, 4, adapter: "d"), Waiting(6, 4, adapter: "a"), Waiting(7, 4) };
        var plan = Scheduler.Schedule(running, waiting, 100, Budget);
        Assert.Equal([1L, 2L, 4L, 6L, 7L], plan.Scheduled.Select(s => s.Id));
        Assert.True(plan.Scheduled.Select(s => running.Concat(waiting).Single(v => v.Id == s.Id).Adapter).Where(a => a is not null).Distinct().Count() <= 2);
    }

    [Fact]
    public void OutOfBlocksPreemptsTheLatestArrivedRunningSequence()
    {
        // Each decoding sequence sits at a block boundary: its next token needs a new block. Two are free.
        var running = Enumerable.Range(1, 4).Select(i => Decoding(i, total: 9)).ToArray();
        var plan = Scheduler.Schedule(running, [Waiting(9, 4)], freeBlocks: 2, Budget);
        // 1 and 2 take the free blocks; 3 preempts 4 (the latest), whose two blocks let 3 run.
        Assert.Equal([1L, 2L, 3L], plan.Scheduled.Select(s => s.Id));
        Assert.Equal([4L], plan.Preempted);
        // Nobody is admitted in a step that preempted.
        Assert.DoesNotContain(plan.Scheduled, s => s.Id == 9);
    }

    [Fact]
    public void APreemptedSequenceThatWasAlreadyPlannedGivesItsTokensAndBlocksBack()
    {
        // 5 decodes (arrived last) and is planned first; 1 is mid-prompt and needs more blocks than are free.
        var decode = Decoding(5, total: 9);
        var prompt = new SequenceView(1, 1, null, 40, 8, HeldBlocks: 2, ExclusiveBlocks: 2);
        var plan = Scheduler.Schedule([prompt, decode], [], freeBlocks: 6, Budget);
        Assert.Equal([5L], plan.Preempted);
        var s = plan.Scheduled.Single();
        Assert.Equal(1, s.Id);
        Assert.Equal(32, s.Tokens);
        Assert.Equal(8, s.BlocksTaken);
    }

    [Fact]
    public void TheLatestSequencePreemptsItselfWhenNothingLaterIsRunning()
    {
        var running = new[] { Decoding(1, total: 9), Decoding(2, total: 9) };
        var plan = Scheduler.Schedule(running, [], freeBlocks: 0, Budget);
        Assert.Equal([2L], plan.Preempted);
        Assert.Equal([1L], plan.Scheduled.Select(s => s.Id));
    }

    [Fact]
    public void ASharedPartialBlockCostsOneBlockToCopy()
    {
        var fork = new SequenceView(1, 1, null, 7, 6, HeldBlocks: 2, ExclusiveBlocks: 0, SharedWriteBlock: true);
        Assert.Empty(Scheduler.Schedule([fork], [], freeBlocks: 0, Budget).Scheduled);
        Assert.Equal(1, Scheduler.Schedule([fork], [], freeBlocks: 1, Budget).Scheduled.Single().BlocksTaken);
    }

    [Fact]
    public void WaitingRequestsAreAdmittedFirstComeFirstServed()
    {
        // 2 does not fit; 3 would, but does not jump the queue.
        var plan = Scheduler.Schedule([], [Waiting(1, 8), Waiting(2, 40), Waiting(3, 4)], freeBlocks: 6, Budget);
        Assert.Equal([1L], plan.Scheduled.Select(s => s.Id));
    }
    [Fact]
    public void MidPromptSequencesShareAShortBudgetByArrival()
    {
        // Listed out of order; the earlier arrival gets the whole budget, the later one waits for the next step.
        var later = new SequenceView(2, 2, null, 40, 20, HeldBlocks: 5, ExclusiveBlocks: 5);
        var earlier = new SequenceView(1, 1, null, 40, 20, HeldBlocks: 5, ExclusiveBlocks: 5);
        var plan = Scheduler.Schedule([later, earlier], [], freeBlocks: 100, Budget with { MaxTokens = 10 });
        Assert.Equal([1L], plan.Scheduled.Select(s => s.Id));
        Assert.Equal(10, plan.Scheduled[0].Tokens);
    }

    [Fact]
    public void TokensGivenBackByAPreemptedSequenceGoToTheNextRunningOne()
    {
        // Budget 34: decode 5 is planned first (1 token), prompt 1 takes 32 after preempting 5 (its token comes back),
        // which leaves 2 for prompt 3, whose next chunk fits in the block it already holds.
        var decode = Decoding(5, total: 9);
        var prompt = new SequenceView(1, 1, null, 40, 8, HeldBlocks: 2, ExclusiveBlocks: 2);
        var third = new SequenceView(3, 3, null, 40, 4, HeldBlocks: 2, ExclusiveBlocks: 2);
        var plan = Scheduler.Schedule([prompt, third, decode], [], freeBlocks: 6, Budget with { MaxTokens = 34 });
        Assert.Equal([5L], plan.Preempted);
        Assert.Equal([1L, 3L], plan.Scheduled.Select(s => s.Id));
        Assert.Equal(32, TokensOf(plan, 1));
        Assert.Equal(2, TokensOf(plan, 3));
        Assert.Equal(34, plan.TotalTokens);
    }

    [Fact]
    public void APlanIsEmptyOnlyWithNothingScheduledAndNothingPreempted()
    {
        Assert.True(new StepPlan([], []).IsEmpty);
        Assert.False(new StepPlan([], [3]).IsEmpty);
        Assert.False(new StepPlan([new ScheduledSequence(1, 0, 1, false, 0)], []).IsEmpty);
    }

    [Theory]
    [InlineData("tokens", "max batch tokens must be >= 1, got 0. (Parameter 'MaxTokens')")]
    [InlineData("sequences", "max sequences must be >= 1, got 0. (Parameter 'MaxSequences')")]
    [InlineData("adapters", "max adapters per step must be >= 1, got 0. (Parameter 'MaxAdapters')")]
    [InlineData("block", "block size must be >= 1, got 0. (Parameter 'BlockSize')")]
    public void ABudgetBelowOneIsRefusedNamingTheField(string field, string message)
    {
        var b = field switch
        {
            "tokens" => new SchedulerBudget(MaxTokens: 0),
            "sequences" => new SchedulerBudget(MaxSequences: 0),
            "adapters" => new SchedulerBudget(MaxAdapters: 0),
            _ => new SchedulerBudget(BlockSize: 0),
        };
        Assert.Equal(message, Assert.Throws<ArgumentOutOfRangeException>(b.Validate).Message);
        new SchedulerBudget(1, 1, 1, 1).Validate(); // the smallest budget is valid
    }
}
