namespace Scion.Serving.Scheduling;

/// <summary>
/// Continuous batching as a pure function: (running, waiting, free blocks, budget) → <see cref="StepPlan"/>.
/// One token budget is spent down with one rule for prompt and decode tokens, in this order:
/// 1. running sequences that decode (one token left), by arrival;
/// 2. running sequences mid-prompt, by arrival, each taking a chunk of what the budget has left;
/// 3. waiting sequences, first come first served, starting after their cached prefix.
/// A running sequence that cannot get its blocks preempts the latest-arrived running sequence (itself, when that is
/// the latest) until it fits; waiting sequences never preempt: admission stops at the first that does not fit, and
/// nobody is admitted in a step that preempted. Sequences whose adapter would exceed the step's adapter cap wait.
/// </summary>
public static class Scheduler
{
    public static StepPlan Schedule(IReadOnlyList<SequenceView> running, IReadOnlyList<SequenceView> waiting, int freeBlocks, SchedulerBudget budget)
    {
        var state = new StepState(running, freeBlocks, budget);
        foreach (var r in running.Where(r => r.Remaining == 1).OrderBy(r => r.Arrival)) state.TryRunning(r);
        foreach (var r in running.Where(r => r.Remaining > 1).OrderBy(r => r.Arrival)) state.TryRunning(r);
        if (state.Preempted.Count == 0)
        {
            foreach (var w in waiting.OrderBy(w => w.Arrival))
                if (!state.TryWaiting(w)) break;
        }
        return new StepPlan([.. state.Scheduled], [.. state.Preempted]);
    }

    /// <summary>Blocks a sequence needs to hold for positions [0, length).</summary>
    public static int BlocksFor(int length, int blockSize) => (length + blockSize - 1) / blockSize;

    private sealed class StepState(IReadOnlyList<SequenceView> running, int freeBlocks, SchedulerBudget budget)
    {
        public readonly List<ScheduledSequence> Scheduled = [];
        public readonly List<long> Preempted = [];
        private readonly List<SequenceView> _victims = [.. running.OrderByDescending(r => r.Arrival)];
        private readonly Dictionary<long, string?> _adapterOf = [];
        private int _free = freeBlocks, _tokens = budget.MaxTokens;

        private bool HasRoom => _tokens > 0 && Scheduled.Count < budget.MaxSequences;

        private bool AdapterFits(string? adapter)
        {
            if (adapter is null) return true;
            var inUse = Scheduled.Select(s => _adapterOf[s.Id]).Where(a => a is not null).Distinct().ToList();
            return inUse.Contains(adapter) || inUse.Count < budget.MaxAdapters;
        }

        public void TryRunning(SequenceView r)
        {
            if (Preempted.Contains(r.Id) || !HasRoom || !AdapterFits(r.Adapter)) return;
            int n = Math.Min(r.Remaining, _tokens);
            int need = Math.Max(0, BlocksFor(r.ComputedTokens + n, budget.BlockSize) - r.HeldBlocks) + (r.SharedWriteBlock ? 1 : 0);
            while (need > _free)
            {
                var victim = _victims.FirstOrDefault(v => !Preempted.Contains(v.Id));
                Preempt(victim);
                if (victim.Id == r.Id) return;
            }
            Add(r, new ScheduledSequence(r.Id, r.ComputedTokens, n, Admitted: false, need));
        }

        public bool TryWaiting(SequenceView w)
        {
            if (!HasRoom) return false;
            if (!AdapterFits(w.Adapter)) return true; // the next waiting one may use an adapter already in the step
            int start = w.CachedTokens;
            int n = Math.Min(w.TotalTokens - start, _tokens);
            int need = BlocksFor(start + n, budget.BlockSize) - start / budget.BlockSize + w.EvictableCachedBlocks;
            if (need > _free) return false;
            Add(w, new ScheduledSequence(w.Id, start, n, Admitted: true, need));
            return true;
        }

        private void Add(SequenceView s, ScheduledSequence plan)
        {
            Scheduled.Add(plan);
            _adapterOf[s.Id] = s.Adapter;
            _free -= plan.BlocksTaken;
            _tokens -= plan.Tokens;
        }

        /// <summary>Frees a running sequence's blocks; if it was already planned this step, its tokens and blocks come back.</summary>
        private void Preempt(SequenceView victim)
        {
            Preempted.Add(victim.Id);
            _free += victim.ExclusiveBlocks;
            int index = Scheduled.FindIndex(s => s.Id == victim.Id);
            if (index < 0) return;
            _free += Scheduled[index].BlocksTaken;
            _tokens += Scheduled[index].Tokens;
            Scheduled.RemoveAt(index);
        }
    }
}
