namespace Scion.Serving.Scheduling;

/// <summary>
/// What the scheduler knows of one sequence: no prefill or decode phase, only tokens known and tokens computed (vLLM
/// v1). A running sequence with one token left to compute is decoding; one with more is mid-prompt (or recomputing
/// after preemption).
/// </summary>
/// <param name="Id">The engine's sequence id.</param>
/// <param name="Arrival">Order of the request's arrival (then its choice index): lower runs first, higher is preempted first.</param>
/// <param name="Adapter">Adapter name, null for the base model.</param>
/// <param name="TotalTokens">Prompt plus generated tokens.</param>
/// <param name="ComputedTokens">Tokens whose keys and values are in the cache (running sequences).</param>
/// <param name="HeldBlocks">KV blocks the sequence holds (running).</param>
/// <param name="ExclusiveBlocks">Held blocks no other sequence references: freed at once on preemption.</param>
/// <param name="SharedWriteBlock">The next write lands in a partial block shared with a fork: it costs a block to copy.</param>
/// <param name="CachedTokens">Waiting: tokens the prefix cache already holds (a multiple of the block size).</param>
/// <param name="EvictableCachedBlocks">Waiting: how many of those cached blocks are free now, so taking them uses free blocks.</param>
public readonly record struct SequenceView(
    long Id, long Arrival, string? Adapter, int TotalTokens,
    int ComputedTokens = 0, int HeldBlocks = 0, int ExclusiveBlocks = 0, bool SharedWriteBlock = false,
    int CachedTokens = 0, int EvictableCachedBlocks = 0)
{
    public int Remaining => TotalTokens - ComputedTokens;
}
