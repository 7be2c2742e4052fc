using Scion.Models.Adapters;
using Scion.Models.Sampling;

namespace Scion.Models.Generation;

public sealed record GenerationOptions
{
    public int MaxTokens { get; init; } = 128;
    public SamplingOptions Sampling { get; init; } = new();
    /// <summary>Generation ends when the text contains one of these; the stop string itself is not returned.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary>Keep going past end-of-generation tokens (benchmarks).</summary>
    public bool IgnoreEos { get; init; }
    public LoraAdapter? Adapter { get; init; }
}

/// <param name="FinishReason">"stop" (end-of-generation token or stop string), "length" (max tokens or context) or "cancelled".</param>
public sealed record GenerationResult(string Text, int[] Tokens, string FinishReason, int PromptTokens, double PrefillSeconds, double DecodeSeconds)
{
    public double PrefillTokensPerSecond => PrefillSeconds > 0 ? PromptTokens / PrefillSeconds : 0;
    public double DecodeTokensPerSecond => DecodeSeconds > 0 && Tokens.Length > 1 ? (Tokens.Length - 1) / DecodeSeconds : 0;
}
