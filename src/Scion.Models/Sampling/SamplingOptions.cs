namespace Scion.Models.Sampling;

/// <summary>How the next token is chosen. Temperature 0 means greedy. Order: penalties, top-k, temperature, then top-p and
/// min-p on the tempered probabilities (transformers' and vLLM's order; llama.cpp applies temperature last).</summary>
public sealed record SamplingOptions
{
    public float Temperature { get; init; } = 0.8f;
    public int TopK { get; init; } = 40;          // 0 = off
    public float TopP { get; init; } = 0.95f;     // 1 = off
    public float MinP { get; init; } = 0.05f;     // 0 = off
    public float RepetitionPenalty { get; init; } = 1.0f; // 1 = off; divides positive logits, multiplies negative ones
    public float FrequencyPenalty { get; init; }  // subtract count × this
    public float PresencePenalty { get; init; }   // subtract this once a token has appeared
    public int PenaltyWindow { get; init; } = 64; // last N tokens the penalties look at
    public ulong Seed { get; init; } = 42;

    public static SamplingOptions Greedy { get; } = new() { Temperature = 0, TopK = 0, TopP = 1, MinP = 0 };

    public void Validate()
    {
        if (Temperature < 0 || float.IsNaN(Temperature)) throw new ArgumentException($"temperature must be >= 0, got {Temperature}.");
        if (TopK < 0) throw new ArgumentException($"top-k must be >= 0, got {TopK}.");
        if (TopP is <= 0 or > 1) throw new ArgumentException($"top-p must be in (0, 1], got {TopP}.");
        if (MinP is < 0 or > 1) throw new ArgumentException($"min-p must be in [0, 1], got {MinP}.");
        if (RepetitionPenalty <= 0) throw new ArgumentException($"repetition penalty must be > 0, got {RepetitionPenalty}.");
        if (PenaltyWindow < 0) throw new ArgumentException($"penalty window must be >= 0, got {PenaltyWindow}.");
    }
}
