namespace Scion.Serving.Engine;

/// <summary>Why a choice ended (mapped to OpenAI's strings at the HTTP edge).</summary>
public enum FinishReason
{
    /// <summary>End-of-generation token or a stop string.</summary>
    Stop,
    /// <summary>max tokens, or the model's context (or the KV cache) is full.</summary>
    Length,
    /// <summary>The caller cancelled.</summary>
    Cancelled,
    /// <summary>The request failed (an unusable adapter, an engine fault); see <see cref="FinishEvent.Error"/>.</summary>
    Error,
}

public readonly record struct TopLogprob(int TokenId, float Logprob);

/// <summary>A token's log-probability under the model (before sampling filters) and the best alternatives, best first.</summary>
public sealed record TokenLogprob(int TokenId, float Logprob, IReadOnlyList<TopLogprob> Top);

/// <param name="PromptTokens">Tokens of the prompt.</param>
/// <param name="CompletionTokens">Tokens generated over every choice.</param>
/// <param name="CachedTokens">Prompt tokens found in the prefix cache when the request was first admitted.</param>
public sealed record RequestUsage(int PromptTokens, int CompletionTokens, int CachedTokens);

/// <summary>What a request's stream carries. Per choice: tokens, then one finish; after every choice: usage, last.</summary>
public abstract record EngineEvent;

/// <summary>The prompt's log-probabilities (echo): one per prompt token, the first null (nothing precedes it).</summary>
public sealed record PromptLogprobsEvent(IReadOnlyList<TokenLogprob?> Logprobs) : EngineEvent;

/// <summary>A generated token of choice <paramref name="Index"/>, with the text it completed (UTF-8 safe, stop
/// strings held back; empty while a character or a possible stop string is incomplete, or without a tokenizer).</summary>
public sealed record TokenEvent(int Index, int TokenId, string Text, TokenLogprob? Logprob) : EngineEvent;

/// <summary>Choice <paramref name="Index"/> ended; <paramref name="Text"/> is text held back until the end.</summary>
public sealed record FinishEvent(int Index, FinishReason Reason, string Text = "", Exception? Error = null) : EngineEvent;

/// <param name="QueueSeconds">Submit to the first step that ran the request (or to its end, if it never ran).</param>
/// <param name="TimeToFirstTokenSeconds">Submit to the first generated token; null when none was generated.</param>
/// <param name="TotalSeconds">Submit to the end.</param>
public sealed record RequestTimings(double QueueSeconds, double? TimeToFirstTokenSeconds, double TotalSeconds);

/// <summary>The last event of a request.</summary>
public sealed record UsageEvent(RequestUsage Usage, RequestTimings Timings) : EngineEvent;
