using System.Diagnostics.Metrics;

namespace Scion.Serving.Engine;

/// <summary>
/// The engine's instruments (System.Diagnostics.Metrics only; exporting is the server's business), vLLM's metric set:
/// time to first token, inter-token latency, end-to-end latency, queue time, prompt and generated tokens, finished
/// choices by reason, and gauges over the stats snapshot (running, waiting, KV use, prefix queries and hits,
/// preemptions). Labels stay bounded: finish reason only (adapter names are unbounded). Recorded on the engine thread.
/// </summary>
public sealed class EngineMetrics : IDisposable
{
    public const string MeterName = "Scion.Serving";

    /// <summary>Request-level latencies, seconds: wide enough for the tails of a queue on a small machine.</summary>
    public static readonly double[] RequestLatencyBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 640];
    /// <summary>Gaps between tokens of one stream, seconds.</summary>
    public static readonly double[] TokenLatencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5, 10];

    private readonly Meter _meter;

    /// <summary>This engine's meter: an exporter listens to its instruments only (several engines may share a process).</summary>
    public Meter Meter => _meter;
    private readonly Histogram<double> _timeToFirstToken, _interTokenLatency, _endToEnd, _queueTime;
    private readonly Counter<long> _promptTokens, _generatedTokens, _finished;

    public EngineMetrics(IMeterFactory? factory, Func<EngineStats> stats)
    {
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        Histogram<double> Latency(string name, string description, double[] buckets) => _meter.CreateHistogram(name, "s", description,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = buckets });
        _timeToFirstToken = Latency("scion.time_to_first_token", "Submit to the first generated token.", RequestLatencyBuckets);
        _interTokenLatency = Latency("scion.inter_token_latency", "Gap between consecutive tokens of one choice.", TokenLatencyBuckets);
        _endToEnd = Latency("scion.e2e_request_latency", "Submit to the request's last event.", RequestLatencyBuckets);
        _queueTime = Latency("scion.request_queue_time", "Submit to the first step that ran the request.", RequestLatencyBuckets);
        _promptTokens = _meter.CreateCounter<long>("scion.prompt_tokens", "{token}", "Prompt tokens of finished requests.");
        _generatedTokens = _meter.CreateCounter<long>("scion.generation_tokens", "{token}", "Generated tokens.");
        _finished = _meter.CreateCounter<long>("scion.choices_finished", "{choice}", "Finished choices by finish reason.");
        _meter.CreateObservableGauge("scion.requests_running", () => stats().RunningSequences, "{sequence}", "Sequences holding KV blocks.");
        _meter.CreateObservableGauge("scion.requests_waiting", () => stats().QueuedRequests, "{sequence}", "Sequences waiting to run (adapter loads included).");
        _meter.CreateObservableGauge("scion.kv_cache_usage", () => stats().KvUsage, "1", "Fraction of KV blocks in use.");
        _meter.CreateObservableCounter("scion.prefix_cache_queries", () => stats().PrefixQueryTokens, "{token}", "Prompt tokens looked up in the prefix cache.");
        _meter.CreateObservableCounter("scion.prefix_cache_hits", () => stats().PrefixHitTokens, "{token}", "Prompt tokens found in the prefix cache.");
        _meter.CreateObservableCounter("scion.preemptions", () => stats().Preemptions, "{preemption}", "Sequences preempted for KV memory.");
    }

    internal void FirstToken(double seconds) => _timeToFirstToken.Record(seconds);
    internal void NextToken(double gap) => _interTokenLatency.Record(gap);
    internal void Generated() => _generatedTokens.Add(1);

    internal void ChoiceFinished(FinishReason reason) =>
        _finished.Add(1, new KeyValuePair<string, object?>("finish_reason", reason switch
        {
            FinishReason.Stop => "stop",
            FinishReason.Length => "length",
            FinishReason.Cancelled => "cancelled",
            _ => "error",
        }));

    internal void RequestFinished(int promptTokens, RequestTimings timings)
    {
        _promptTokens.Add(promptTokens);
        _endToEnd.Record(timings.TotalSeconds);
        _queueTime.Record(timings.QueueSeconds);
    }

    public void Dispose() => _meter.Dispose();
}
