using Scion.Models.Llama;
using Scion.Models.Tokenization;

namespace Scion.Serving.Engine;

/// <summary>Checks a request at the boundary, before it is queued; messages name the field, what was expected and what was found.</summary>
internal static class RequestValidation
{
    public static int[] Check(EngineRequest r, LlamaConfig config, Tokenizer? tokenizer, int kvTokens)
    {
        ArgumentNullException.ThrowIfNull(r);
        if (r.PromptTokens is null || r.PromptTokens.Count == 0) throw new ArgumentException("prompt: expected at least one token, got none.");
        var prompt = r.PromptTokens.ToArray();
        for (int i = 0; i < prompt.Length; i++)
            if ((uint)prompt[i] >= (uint)config.Vocab)
                throw new ArgumentException($"prompt: token {prompt[i]} at index {i} is outside the vocabulary (0..{config.Vocab - 1}).");
        if (prompt.Length >= config.ContextLength)
            throw new ArgumentException($"prompt: {prompt.Length} tokens; the model's context is {config.ContextLength}, so at most {config.ContextLength - 1} fit with room to generate.");
        if (prompt.Length >= kvTokens)
            throw new ArgumentException($"prompt: {prompt.Length} tokens; the engine's KV cache holds {kvTokens} tokens in all.");
        if (r.MaxTokens < 0) throw new ArgumentException($"max_tokens: expected >= 0, got {r.MaxTokens}.");
        if (r.N is < 1 or > EngineRequest.MaxChoices) throw new ArgumentException($"n: expected 1..{EngineRequest.MaxChoices}, got {r.N}.");
        if (r.Logprobs is < 0 or > EngineRequest.MaxLogprobs) throw new ArgumentException($"logprobs: expected 0..{EngineRequest.MaxLogprobs}, got {r.Logprobs}.");
        if (r.Adapter is { Length: 0 }) throw new ArgumentException("adapter: expected a name or null, got an empty string.");
        if (r.Stop is null) throw new ArgumentException("stop: expected a list (possibly empty), got null.");
        if (r.Stop.Count > 0 && tokenizer is null) throw new ArgumentException("stop: stop strings need text, but the engine has no tokenizer.");
        foreach (var (token, bias) in r.LogitBias ?? new Dictionary<int, float>())
        {
            if ((uint)token >= (uint)config.Vocab) throw new ArgumentException($"logit_bias: token {token} is outside the vocabulary (0..{config.Vocab - 1}).");
            if (!(bias >= -100 && bias <= 100)) throw new ArgumentException($"logit_bias: the bias of token {token} must lie in [-100, 100], got {bias}.");
        }
        if (r.Sampling is null) throw new ArgumentException("sampling: expected options, got null.");
        r.Sampling.Validate();
        return prompt;
    }
}
