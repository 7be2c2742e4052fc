namespace Scion.Serving.Scheduling;

/// <summary>One sequence's share of a step: compute tokens [StartToken, StartToken + Tokens).</summary>
/// <param name="Admitted">A waiting sequence admitted this step (its first StartToken tokens come from the prefix cache).</param>
/// <param name="BlocksTaken">Free blocks the scheduler counted for it.</param>
public readonly record struct ScheduledSequence(long Id, int StartToken, int Tokens, bool Admitted, int BlocksTaken);

/// <summary>A step's plan, checkable by itself: who runs how many tokens, and who is preempted (in that order).</summary>
public sealed record StepPlan(IReadOnlyList<ScheduledSequence> Scheduled, IReadOnlyList<long> Preempted)
{
    public int TotalTokens => Scheduled.Sum(s => s.Tokens);
    public bool IsEmpty => Scheduled.Count == 0 && Preempted.Count == 0;
}
