namespace Scion.Serving.Benchmarking;

/// <summary>What a run measured. Rates divide by <see cref="WallSeconds"/> (first send to last finish).</summary>
public sealed record BenchReport
{
    public required string Target { get; init; }
    public required int RequestsCompleted { get; init; }
    public required int RequestsFailed { get; init; }
    public string? FirstError { get; init; }
    public required long PromptTokens { get; init; }
    public required long OutputTokens { get; init; }
    public required double WallSeconds { get; init; }
    public double OutputTokensPerSecond => WallSeconds > 0 ? OutputTokens / WallSeconds : 0;
    public double RequestsPerSecond => WallSeconds > 0 ? RequestsCompleted / WallSeconds : 0;
    public required LatencySummary TimeToFirstToken { get; init; }
    /// <summary>Gaps between consecutive tokens of one request, over every request.</summary>
    public required LatencySummary InterTokenLatency { get; init; }
    public required LatencySummary EndToEnd { get; init; }
    /// <summary>TTFT of the first request sent (cold: nothing cached yet) and the median of the rest (warm when they share a prefix).</summary>
    public double? FirstRequestTtft { get; init; }
    public double? LaterRequestsTtftP50 { get; init; }
    /// <summary>The long-prompt probe's TTFT, and the worst gap of the other streams while it was being prefilled.</summary>
    public double? LongPromptTtft { get; init; }
    public double? WorstGapDuringLongPrompt { get; init; }
    public string? LongPromptError { get; init; }
    /// <summary>Engine counters over the run (null against a remote server).</summary>
    public EngineCounters? Engine { get; init; }
}

public sealed record EngineCounters(double KvPeakFraction, double KvMeanFraction, int KvBlocksTotal, long PrefixQueryTokens, long PrefixHitTokens,
    long Preemptions, long AdapterLoads, long AdapterEvictions, long Steps)
{
    public double PrefixHitRate => PrefixQueryTokens == 0 ? 0 : (double)PrefixHitTokens / PrefixQueryTokens;
}

/// <summary>A progress sample while running.</summary>
public sealed record BenchProgress(int Sent, int Completed, int Failed, int Total, long OutputTokens, double Seconds, int InFlight, double? KvFraction);
