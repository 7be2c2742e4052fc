namespace Scion.Serving.Benchmarking;

/// <summary>
/// One load to generate. Arrivals are closed-loop (<see cref="Concurrency"/> clients, each sending its next request
/// when the last finished) or open-loop Poisson at <see cref="RequestRate"/> per second. The run ends after
/// <see cref="Requests"/> requests or <see cref="DurationSeconds"/> (whichever first; requests in flight then finish).
/// </summary>
public sealed record LoadSpec
{
    public int Concurrency { get; init; } = 8;
    /// <summary>Poisson arrivals per second; null: closed loop at <see cref="Concurrency"/>.</summary>
    public double? RequestRate { get; init; }
    public int Requests { get; init; } = 64;
    /// <summary>Stop sending after this many seconds; null: no time bound.</summary>
    public double? DurationSeconds { get; init; }
    public LengthDistribution PromptTokens { get; init; } = LengthDistribution.Fixed(80);
    public LengthDistribution OutputTokens { get; init; } = LengthDistribution.Fixed(64);
    /// <summary>Tokens every prompt starts with (counted inside the prompt length; a longer prefix makes the prompt longer).</summary>
    public int SharedPrefixTokens { get; init; }
    /// <summary>Adapters requests spread over; 0: base model only.</summary>
    public int Adapters { get; init; }
    /// <summary>0: uniform popularity; s > 0: Zipf(s).</summary>
    public double ZipfExponent { get; init; }
    public bool IgnoreEos { get; init; } = true;
    /// <summary>One extra request with a prompt this long (and one output token), sent at <see cref="LongPromptAtSeconds"/>:
    /// how much a long prefill disturbs the streams decoding meanwhile. 0: none.</summary>
    public int LongPromptTokens { get; init; }
    public double LongPromptAtSeconds { get; init; } = 5;
    public ulong Seed { get; init; } = 1;
    /// <summary>Prompt tokens are drawn from 1..Vocab-1 (token 0 is often padding or unknown).</summary>
    public int Vocab { get; init; } = 256;

    public void Validate()
    {
        if (Concurrency < 1) throw new ArgumentException($"concurrency must be >= 1, got {Concurrency}.");
        if (RequestRate is <= 0) throw new ArgumentException($"request rate must be > 0 per second, got {RequestRate}.");
        if (Requests < 1) throw new ArgumentException($"requests must be >= 1, got {Requests}.");
        if (DurationSeconds is <= 0) throw new ArgumentException($"duration must be > 0 seconds, got {DurationSeconds}.");
        if (SharedPrefixTokens < 0) throw new ArgumentException($"shared prefix must be >= 0 tokens, got {SharedPrefixTokens}.");
        if (Adapters < 0) throw new ArgumentException($"adapters must be >= 0, got {Adapters}.");
        if (ZipfExponent < 0) throw new ArgumentException($"Zipf exponent must be >= 0, got {ZipfExponent}.");
        if (LongPromptTokens < 0) throw new ArgumentException($"long prompt must be >= 0 tokens, got {LongPromptTokens}.");
        if (Vocab < 2) throw new ArgumentException($"vocabulary must have >= 2 tokens, got {Vocab}.");
    }
}
