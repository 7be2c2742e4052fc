using Scion.Models.Sampling;
using Scion.Serving.Engine;

namespace Scion.Server.Requests;

/// <summary>The fields chat and completions share, turned into an engine request less its prompt. Defaults are
/// OpenAI's (temperature 1, top_p 1, no top-k or min-p), not the CLI's.</summary>
internal static class GenerationFields
{
    /// <param name="defaultMaxTokens">When the request names none: 16 for completions (OpenAI), the rest of the context for chat.</param>
    public static EngineRequest Read(JsonFields f, ModelHost host, int maxTokensCap, int? defaultMaxTokens, string maxTokensField = "max_tokens")
    {
        int cap = maxTokensCap > 0 ? Math.Min(maxTokensCap, host.ContextLength) : host.ContextLength;
        int? maxTokens = f.Int(maxTokensField, 0, int.MaxValue);
        if (maxTokens is null && maxTokensField != "max_tokens")
        {
            // Chat's older field name: an error then names the field the client sent.
            maxTokens = f.Int("max_tokens", 0, int.MaxValue);
            if (maxTokens is not null) maxTokensField = "max_tokens";
        }
        if (maxTokens > cap)
            throw Http.ApiError.BadField(maxTokensField, $"{maxTokensField}: at most {cap} tokens may be asked for, got {maxTokens}.");
        var sampling = new SamplingOptions
        {
            Temperature = (float)(f.Number("temperature", 0, 2) ?? 1),
            TopP = (float)(f.Number("top_p", 0, 1) ?? 1),
            TopK = f.Int("top_k", -1, int.MaxValue) is { } k and > 0 ? k : 0,
            MinP = (float)(f.Number("min_p", 0, 1) ?? 0),
            RepetitionPenalty = (float)(f.Number("repetition_penalty", 0.01, 100) ?? 1),
            PresencePenalty = (float)(f.Number("presence_penalty", -2, 2) ?? 0),
            FrequencyPenalty = (float)(f.Number("frequency_penalty", -2, 2) ?? 0),
        };
        if (sampling.TopP == 0) throw Http.ApiError.BadField("top_p", "top_p: expected a number in (0, 1], got 0.");
        // Unseeded requests get a fresh random seed: a fixed default would make every "random" reply the same.
        ulong seed = f.Long("seed") is { } s ? unchecked((ulong)s) : (ulong)Random.Shared.NextInt64();
        f.String("user"); // accepted and checked for type, not used
        return new EngineRequest
        {
            PromptTokens = [],
            Sampling = sampling with { Seed = seed },
            Seed = seed,
            N = f.Int("n", 1, EngineRequest.MaxChoices) ?? 1,
            Stop = f.Stop(),
            // -1: the rest of the context, known once the prompt is (chat without max_tokens).
            MaxTokens = maxTokens ?? defaultMaxTokens ?? -1,
            LogitBias = f.LogitBias(),
            IgnoreEos = f.Bool("ignore_eos") ?? false,
        };
    }
}
