using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Serving.Scheduling;

namespace Scion.Serving.Engine;

/// <summary>Limits of one engine: KV memory, per-step budgets and queue sizes.</summary>
public sealed record EngineOptions
{
    /// <summary>Tokens of KV cache, shared by every sequence (rounded up to whole blocks). 0: as many as
    /// <see cref="KvCacheBytes"/> holds in the model's cache format.</summary>
    public int KvCacheTokens { get; init; }
    /// <summary>Memory for the KV cache when <see cref="KvCacheTokens"/> is 0. 0: what sixteen contexts of the model
    /// (at most 65,536 tokens) take as F16, so a Q8_0 cache holds about twice the tokens, and so the sequences, of
    /// an F16 one in the same memory, and a Q4_0 cache about 3.5 times.</summary>
    public long KvCacheBytes { get; init; }
    public int BlockSize { get; init; } = 16;
    /// <summary>Tokens per forward step, prompt and decode alike (the chunked-prefill budget).</summary>
    public int MaxBatchTokens { get; init; } = 512;
    /// <summary>While sequences decode, shrink a step's prompt chunk so the step takes about this long (measured cost
    /// per batch token; <see cref="Scheduling.StepTimeGovernor"/>), bounding the gap a long prompt puts between a
    /// stream's tokens. 0: off, every step may spend <see cref="MaxBatchTokens"/> (step sizes then depend on nothing
    /// timed, which tests rely on); <c>scion serve</c> and <c>bench-serve</c> default to 500.</summary>
    public int MaxStepMilliseconds { get; init; }
    /// <summary>Sequences per forward step.</summary>
    public int MaxSequences { get; init; } = 64;
    /// <summary>Distinct adapters per forward step. The batched adapter math costs rows × rank whatever the number of
    /// adapters, so the cap is only there to bound the segments of one step; below the concurrency it would leave
    /// streams of distinct adapters waiting (at 8, 32 streams over 1,000 adapters ran 8 rows a step).</summary>
    public int MaxAdaptersPerStep { get; init; } = 32;
    /// <summary>Requests submitted but not yet taken in by the engine; a submit beyond it is refused (HTTP 429).</summary>
    public int MaxQueuedRequests { get; init; } = 256;
    /// <summary>Requests the engine holds waiting for KV memory before it stops taking in queued ones.</summary>
    public int MaxWaitingRequests { get; init; } = 1024;
    /// <summary>Fraction of the engine's time that background work (training jobs) may take while inference has work,
    /// in [0, 0.95]; 0: train only while no request runs. See <see cref="Scheduling.CoServingBudget"/>.</summary>
    public double TrainingShare { get; init; } = 0.25;
    /// <summary>Reuse cached KV blocks of earlier prompts with the same beginning (automatic prefix caching).</summary>
    public bool PrefixCaching { get; init; } = true;

    internal SchedulerBudget Budget => new(MaxBatchTokens, MaxSequences, MaxAdaptersPerStep, BlockSize);

    /// <summary>The cache's size in tokens: <see cref="KvCacheTokens"/>, or what <see cref="KvCacheBytes"/> (or its
    /// default) holds at the format's bytes per token, in whole blocks.</summary>
    public int ResolveKvTokens(LlamaConfig config, KvCacheFormat format)
    {
        if (KvCacheTokens > 0) return KvCacheTokens;
        long f16Tokens = Math.Min(65536L, 16L * config.ContextLength);
        if (KvCacheBytes == 0 && format == KvCacheFormat.F16) return (int)f16Tokens;
        long bytes = KvCacheBytes > 0 ? KvCacheBytes : f16Tokens * KvCacheFormat.F16.BytesPerToken(config);
        long tokens = bytes / Math.Max(1, format.BytesPerToken(config)) / BlockSize * BlockSize;
        if (tokens < BlockSize)
            throw new ArgumentOutOfRangeException(nameof(KvCacheBytes), $"A KV cache of {bytes} bytes holds less than one block of {BlockSize} tokens at {format.BytesPerToken(config)} bytes per token ({format}).");
        return (int)Math.Min(tokens, 1 << 26);
    }

    public void Validate()
    {
        Budget.Validate();
        if (MaxStepMilliseconds < 0) throw new ArgumentOutOfRangeException(nameof(MaxStepMilliseconds), $"max step milliseconds must be >= 0 (0 = off), got {MaxStepMilliseconds}.");
        if (!(TrainingShare >= 0 && TrainingShare <= 0.95)) throw new ArgumentOutOfRangeException(nameof(TrainingShare), $"training share must be in [0, 0.95], got {TrainingShare}.");
        if (KvCacheBytes < 0) throw new ArgumentOutOfRangeException(nameof(KvCacheBytes), $"KV cache bytes must be >= 0 (0 = default), got {KvCacheBytes}.");
        if (KvCacheTokens < 0) throw new ArgumentOutOfRangeException(nameof(KvCacheTokens), $"KV cache tokens must be >= 0 (0 = default), got {KvCacheTokens}.");
        if (MaxQueuedRequests < 1) throw new ArgumentOutOfRangeException(nameof(MaxQueuedRequests), $"max queued requests must be >= 1, got {MaxQueuedRequests}.");
        if (MaxWaitingRequests < 1) throw new ArgumentOutOfRangeException(nameof(MaxWaitingRequests), $"max waiting requests must be >= 1, got {MaxWaitingRequests}.");
    }
}
