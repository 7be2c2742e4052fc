using Scion.Models.Sampling;
using Scion.Serving.Engine;

namespace Scion.Server.Requests;

/// <summary>The fields chat and completions share, turned into an engine request less its prompt. Defaults are
/// OpenAI's (temperature 1, top_p 1, no top-k or min-p), not the CLI's.</summary>
internal static class GenerationFields
{
    /// <summary>The request less its prompt; MaxTokens is -1 when the request names none (<see cref="MaxTokensFor"/> decides).</summary>
    /// <param name="maxTokensField">The field read first (chat: max_completion_tokens, then the older max_tokens);
    /// <paramref name="usedField"/> is the one errors name.</param>
    public static EngineRequest Read(JsonFields f, ModelHost host, int maxTokensCap, out string usedField, string maxTokensField = "max_tokens")
    {
        int cap = maxTokensCap > 0 ? Math.Min(maxTokensCap, host.ContextLength) : host.ContextLength;
        usedField = f.Has(maxTokensField) || maxTokensField == "max_tokens" || !f.Has("max_tokens") ? maxTokensField : "max_tokens";
        int? maxTokens = f.Int(usedField, 0, int.MaxValue);
        // Above the cap is refused, as OpenAI refuses more than a model's output limit, rather than silently cut.
        if (maxTokens > cap)
            throw Http.ApiError.BadField(usedField, $"{usedField}: at most {cap} tokens may be asked for, got {maxTokens}.");
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
            // -1: not given; the default depends on the prompt's length (MaxTokensFor).
            MaxTokens = maxTokens ?? -1,
            LogitBias = f.LogitBias(),
            IgnoreEos = f.Bool("ignore_eos") ?? false,
        };
    }

    /// <summary>max_tokens for one prompt. A value the request gave must fit in the context after the prompt (else a
    /// 400 naming the field, as OpenAI and vLLM answer); without one, the default (16 for completions as OpenAI,
    /// the rest of the context for chat) is cut to what fits and to the server's cap.</summary>
    public static int MaxTokensFor(int requested, int promptLength, ModelHost host, int maxTokensCap, int? defaultMaxTokens, string field)
    {
        int room = host.ContextLength - promptLength;
        if (requested >= 0)
        {
            if (requested > room)
                throw Http.ApiError.BadField(field, $"{field}: {requested} tokens do not fit: the prompt is {promptLength} tokens and the model's context is {host.ContextLength}, leaving room for {room}.");
            return requested;
        }
        int value = Math.Min(defaultMaxTokens ?? room, room);
        return maxTokensCap > 0 ? Math.Min(value, maxTokensCap) : value;
    }
}
