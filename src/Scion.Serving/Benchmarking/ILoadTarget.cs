namespace Scion.Serving.Benchmarking;

/// <summary>What one request did, times in seconds from the start of the run.</summary>
/// <param name="TokenSeconds">Arrival of each generated token (for HTTP: of each streamed chunk that carried one).</param>
/// <param name="CachedTokens">Prompt tokens served from the prefix cache, when the target says.</param>
public sealed record RequestOutcome(int Index, double SentSeconds, double EndSeconds, IReadOnlyList<double> TokenSeconds, int PromptTokens,
    int? CachedTokens, string? Error);

/// <summary>Engine counters, totals since the engine started (the runner subtracts a snapshot taken at the start).</summary>
public sealed record TargetCounters
{
    public int KvBlocksUsed { get; init; }
    public int KvBlocksTotal { get; init; }
    public int KvBlocksPeak { get; init; }
    public long PrefixQueryTokens { get; init; }
    public long PrefixHitTokens { get; init; }
    public long Preemptions { get; init; }
    public long AdapterLoads { get; init; }
    public long AdapterEvictions { get; init; }
    public long Steps { get; init; }
    public long GeneratedTokens { get; init; }
}

/// <summary>Something a load runs against: the engine in process, or an OpenAI-compatible server over HTTP.</summary>
public interface ILoadTarget
{
    /// <summary>Sends one request and waits for its last token. Never throws for a failed request: the outcome carries
    /// the error (only cancellation of the whole run propagates).</summary>
    Task<RequestOutcome> RunAsync(PlannedRequest request, Func<double> now, CancellationToken cancellationToken);

    /// <summary>The target's own counters now; null when it has none (a remote server).</summary>
    TargetCounters? Counters();

    /// <summary>What the target is, for the report.</summary>
    string Description { get; }
}
