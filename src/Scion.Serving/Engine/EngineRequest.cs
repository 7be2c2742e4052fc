using Scion.Models.Sampling;

namespace Scion.Serving.Engine;

/// <summary>One completion request as the engine takes it: token ids in, options per request.</summary>
public sealed record EngineRequest
{
    public const int MaxLogprobs = 20;
    public const int MaxChoices = 128;

    public required IReadOnlyList<int> PromptTokens { get; init; }
    /// <summary>Adapter name resolved through the engine's <see cref="Adapters.IAdapterStore"/>; null for the base model.</summary>
    public string? Adapter { get; init; }
    public SamplingOptions Sampling { get; init; } = new();
    /// <summary>Seed of choice 0 (choice i uses seed + i); null: <see cref="SamplingOptions.Seed"/>.</summary>
    public ulong? Seed { get; init; }
    /// <summary>Completions sampled from the one prompt (forked sequences sharing its KV blocks).</summary>
    public int N { get; init; } = 1;
    /// <summary>Top alternatives reported with each token's log-probability (0..20); null: no log-probabilities.</summary>
    public int? Logprobs { get; init; }
    /// <summary>Also report the prompt's log-probabilities (completions' echo); the prompt is then prefilled in full,
    /// not from the prefix cache, because cached positions have no logits.</summary>
    public bool EchoPromptLogprobs { get; init; }
    /// <summary>Generation ends when the text contains one of these; the stop string itself is not returned.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];
    public int MaxTokens { get; init; } = 16;
    /// <summary>Added to a token's logit before sampling (OpenAI's logit_bias, -100..100; -100 bans, 100 all but
    /// forces). Log-probabilities are reported from the model's logits without it.</summary>
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }
    /// <summary>Keep going past end-of-generation tokens (benchmarks).</summary>
    public bool IgnoreEos { get; init; }
}
