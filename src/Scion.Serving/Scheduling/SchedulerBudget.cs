namespace Scion.Serving.Scheduling;

/// <summary>What one engine step may spend.</summary>
/// <param name="MaxTokens">Tokens (prompt and decode alike) in one forward batch; prompts longer than what is left
/// are split into chunks across steps (Sarathi-Serve), so a long prompt never stalls decoding streams.</param>
/// <param name="MaxSequences">Sequences in one batch.</param>
/// <param name="MaxAdapters">Distinct adapters in one batch (the base model does not count).</param>
/// <param name="BlockSize">Tokens per KV block.</param>
public sealed record SchedulerBudget(int MaxTokens = 512, int MaxSequences = 64, int MaxAdapters = 8, int BlockSize = 16)
{
    public void Validate()
    {
        if (MaxTokens < 1) throw new ArgumentOutOfRangeException(nameof(MaxTokens), $"max batch tokens must be >= 1, got {MaxTokens}.");
        if (MaxSequences < 1) throw new ArgumentOutOfRangeException(nameof(MaxSequences), $"max sequences must be >= 1, got {MaxSequences}.");
        if (MaxAdapters < 1) throw new ArgumentOutOfRangeException(nameof(MaxAdapters), $"max adapters per step must be >= 1, got {MaxAdapters}.");
        if (BlockSize < 1) throw new ArgumentOutOfRangeException(nameof(BlockSize), $"block size must be >= 1, got {BlockSize}.");
    }
}
