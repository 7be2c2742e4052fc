namespace Scion.Serving.Engine;

/// <summary>A snapshot of the engine, published after every step (for metrics and bench-serve). Counters are totals
/// since start; rates divide them by the seconds spent in steps.</summary>
public sealed record EngineStats
{
    public int RunningSequences { get; init; }
    public int WaitingSequences { get; init; }
    /// <summary>Requests waiting for their adapter to load.</summary>
    public int LoadingRequests { get; init; }
    /// <summary>Requests not yet running: waiting sequences and adapter loads (what metrics call "waiting").</summary>
    public int QueuedRequests => WaitingSequences + LoadingRequests;
    public int KvBlocksUsed { get; init; }
    public int KvBlocksTotal { get; init; }
    /// <summary>Most blocks in use at once since the engine started.</summary>
    public int KvBlocksPeak { get; init; }
    /// <summary>Blocks findable by prefix hash (in use or evictable).</summary>
    public int KvBlocksCached { get; init; }
    public long KvEvictions { get; init; }
    /// <summary>Fraction of KV blocks in use (0 with no cache).</summary>
    public double KvUsage => KvBlocksTotal > 0 ? (double)KvBlocksUsed / KvBlocksTotal : 0;
    public long PrefixQueryTokens { get; init; }
    public long PrefixHitTokens { get; init; }
    public double PrefixHitRate => PrefixQueryTokens == 0 ? 0 : (double)PrefixHitTokens / PrefixQueryTokens;
    public long Preemptions { get; init; }
    public long Steps { get; init; }
    /// <summary>Prompt (and recomputed) tokens run through the forward.</summary>
    public long PromptTokensComputed { get; init; }
    public long GeneratedTokens { get; init; }
    public long RequestsFinished { get; init; }
    public double StepSeconds { get; init; }
    /// <summary>Seconds the engine spent in background work (training slices), and how many slices.</summary>
    public double BackgroundSeconds { get; init; }
    public long BackgroundSlices { get; init; }
    public double PromptTokensPerSecond => StepSeconds > 0 ? PromptTokensComputed / StepSeconds : 0;
    public double GeneratedTokensPerSecond => StepSeconds > 0 ? GeneratedTokens / StepSeconds : 0;
}
