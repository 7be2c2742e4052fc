using Scion.Models.Sampling;
using Scion.Serving.Adapters;
using Scion.Serving.Engine;

namespace Scion.Serving.Benchmarking;

/// <summary>Drives a <see cref="ServingEngine"/> in process, greedy, one choice per request; adapters by name.</summary>
public sealed class EngineTarget(ServingEngine engine, bool ignoreEos, IReadOnlyList<string>? adapterNames = null, AdapterStore? store = null) : ILoadTarget
{
    public string Description => "in-process engine";

    public async Task<RequestOutcome> RunAsync(PlannedRequest request, Func<double> now, CancellationToken cancellationToken)
    {
        double sent = now();
        var tokens = new List<double>(request.MaxTokens);
        int? cached = null;
        string? error = null;
        try
        {
            var handle = engine.Submit(new EngineRequest
            {
                PromptTokens = request.PromptTokens,
                MaxTokens = request.MaxTokens,
                IgnoreEos = ignoreEos,
                Sampling = SamplingOptions.Greedy,
                Adapter = request.Adapter is { } a ? adapterNames![a] : null,
            }, cancellationToken);
            await foreach (var e in handle.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                switch (e)
                {
                    case TokenEvent: tokens.Add(now()); break;
                    case FinishEvent { Error: { } err }: error = err.Message; break;
                    case FinishEvent { Reason: FinishReason.Cancelled }: error = "cancelled"; break;
                    case UsageEvent u: cached = u.Usage.CachedTokens; break;
                }
            }
        }
        catch (Exception e) when (e is ArgumentException or EngineOverloadedException)
        {
            error = e.Message;
        }
        return new RequestOutcome(request.Index, sent, now(), tokens, request.PromptTokens.Length, cached, error);
    }

    public TargetCounters Counters()
    {
        var s = engine.Stats;
        var a = store?.Stats;
        return new TargetCounters
        {
            KvBlocksUsed = s.KvBlocksUsed, KvBlocksTotal = s.KvBlocksTotal, KvBlocksPeak = s.KvBlocksPeak,
            PrefixQueryTokens = s.PrefixQueryTokens, PrefixHitTokens = s.PrefixHitTokens, Preemptions = s.Preemptions,
            AdapterLoads = a?.Loads ?? 0, AdapterEvictions = a?.Evictions ?? 0, Steps = s.Steps, GeneratedTokens = s.GeneratedTokens,
        };
    }
}
