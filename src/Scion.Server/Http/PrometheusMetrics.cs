using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Scion.Serving.Engine;

namespace Scion.Server.Http;

/// <summary>
/// GET /metrics in Prometheus' text format (version 0.0.4), names prefixed scion_. Histograms and counters come from
/// the engine's own System.Diagnostics.Metrics instruments, through a MeterListener that hears this engine's meter
/// only (several servers may share a process); gauges are read from the engine's and adapter store's snapshots at
/// scrape time. Latency histograms are in seconds, with the engine's bucket boundaries.
/// </summary>
public sealed class PrometheusMetrics : IDisposable
{
    private readonly ModelHost _host;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, HistogramState> _histograms = new();
    private readonly ConcurrentDictionary<(string Name, string Labels), long> _counters = new();
    private readonly ConcurrentDictionary<string, string> _help = new();

    /// <summary>The last minutes of time-to-first-token and inter-token latency samples, for recent percentiles.</summary>
    internal RecentLatencies RecentTimeToFirstToken { get; } = new();
    internal RecentLatencies RecentInterTokenLatency { get; } = new();

    public PrometheusMetrics(ModelHost host)
    {
        _host = host;
        var meter = host.Engine.Metrics.Meter;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (!ReferenceEquals(instrument.Meter, meter)) return;
            if (instrument is Histogram<double> h)
            {
                string name = PromName(instrument);
                double[] bounds = [.. h.Advice?.HistogramBucketBoundaries ?? EngineMetrics.RequestLatencyBuckets];
                // TTFT and ITL also keep their recent samples (the console's last-minute percentiles).
                var recent = name switch
                {
                    "scion_time_to_first_token_seconds" => RecentTimeToFirstToken,
                    "scion_inter_token_latency_seconds" => RecentInterTokenLatency,
                    _ => null,
                };
                _histograms[name] = new HistogramState(bounds, recent);
                _help[name] = instrument.Description ?? "";
                listener.EnableMeasurementEvents(instrument, name);
            }
            else if (instrument is Counter<long>)
            {
                string name = PromName(instrument) + "_total";
                _help[name] = instrument.Description ?? "";
                listener.EnableMeasurementEvents(instrument, name);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, state) =>
        {
            if (state is string name && _histograms.TryGetValue(name, out var h)) h.Record(value);
        });
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, state) =>
        {
            if (state is not string name) return;
            var labels = new StringBuilder();
            foreach (var tag in tags)
            {
                if (labels.Length > 0) labels.Append(',');
                labels.Append(tag.Key).Append("=\"").Append(Escape(tag.Value?.ToString() ?? "")).Append('"');
            }
            _counters.AddOrUpdate((name, labels.ToString()), value, (_, old) => old + value);
        });
        _listener.Start();
    }

    /// <summary>"scion.time_to_first_token" in seconds → scion_time_to_first_token_seconds.</summary>
    private static string PromName(Instrument instrument) =>
        instrument.Name.Replace('.', '_') + (instrument.Unit == "s" ? "_seconds" : "");

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Num(double v) => double.IsPositiveInfinity(v) ? "+Inf" : v.ToString("R", CultureInfo.InvariantCulture);

    public string Render()
    {
        var s = _host.Engine.Stats;
        var w = new StringBuilder();
        void Metric(string name, string type, string help, IEnumerable<(string Labels, double Value)> samples)
        {
            w.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            w.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            foreach (var (labels, value) in samples)
                w.Append(name).Append(labels.Length > 0 ? "{" + labels + "}" : "").Append(' ').Append(Num(value)).Append('\n');
        }
        void One(string name, string type, string help, double value) => Metric(name, type, help, [("", value)]);

        One("scion_requests_running", "gauge", "Sequences running (holding KV blocks).", s.RunningSequences);
        One("scion_requests_waiting", "gauge", "Sequences waiting to run, adapter loads included.", s.QueuedRequests);
        One("scion_kv_cache_usage_ratio", "gauge", "Fraction of KV blocks in use.", s.KvUsage);
        One("scion_kv_cache_blocks_used", "gauge", "KV blocks in use.", s.KvBlocksUsed);
        One("scion_kv_cache_blocks_total", "gauge", "KV blocks in the cache.", s.KvBlocksTotal);
        One("scion_prefix_cache_queries_total", "counter", "Prompt tokens looked up in the prefix cache.", s.PrefixQueryTokens);
        One("scion_prefix_cache_hits_total", "counter", "Prompt tokens found in the prefix cache.", s.PrefixHitTokens);
        One("scion_preemptions_total", "counter", "Sequences preempted for KV memory.", s.Preemptions);
        One("scion_engine_steps_total", "counter", "Forward steps run.", s.Steps);
        One("scion_prompt_tokens_computed_total", "counter", "Prompt (and recomputed) tokens run through the forward.", s.PromptTokensComputed);
        One("scion_training_seconds_total", "counter", "Engine time spent in co-served training slices.", s.BackgroundSeconds);
        One("scion_training_slices_total", "counter", "Co-served training slices run.", s.BackgroundSlices);
        if (_host.FineTuning is { } tuning)
            One("scion_fine_tuning_jobs_active", "gauge", "Fine-tuning jobs queued or training in the engine.", tuning.ActiveJobs);
        if (_host.Adapters is { } store)
        {
            var a = store.Stats;
            One("scion_adapter_loads_total", "counter", "Adapters read into host memory.", a.Loads);
            One("scion_adapter_load_failures_total", "counter", "Adapter loads that failed.", a.LoadFailures);
            One("scion_adapter_evictions_total", "counter", "Adapters evicted from host memory.", a.Evictions);
            One("scion_adapters_resident", "gauge", "Adapters in host memory.", a.ResidentAdapters);
            One("scion_adapters_registered", "gauge", "Adapters registered.", a.Registered);
            One("scion_adapter_resident_bytes", "gauge", "Host memory held by resident adapters.", a.ResidentBytes);
            // Only adapters that served a request: the label stays bounded by what was used.
            Metric("scion_adapter_requests_total", "counter", "Requests that used each adapter.",
                store.List().Where(i => i.Requests > 0).OrderBy(i => i.Name, StringComparer.Ordinal).Select(i => ($"adapter=\"{Escape(i.Name)}\"", (double)i.Requests)));
        }
        foreach (var group in _counters.GroupBy(c => c.Key.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
            Metric(group.Key, "counter", _help.GetValueOrDefault(group.Key, ""), group.OrderBy(c => c.Key.Labels, StringComparer.Ordinal).Select(c => (c.Key.Labels, (double)c.Value)));
        foreach (var (name, h) in _histograms.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            var (buckets, sum, count) = h.Snapshot();
            w.Append("# HELP ").Append(name).Append(' ').Append(_help.GetValueOrDefault(name, "")).Append('\n');
            w.Append("# TYPE ").Append(name).Append(" histogram\n");
            long cumulative = 0;
            for (int i = 0; i < h.Bounds.Length; i++)
            {
                cumulative += buckets[i];
                w.Append(name).Append("_bucket{le=\"").Append(Num(h.Bounds[i])).Append("\"} ").Append(cumulative).Append('\n');
            }
            w.Append(name).Append("_bucket{le=\"+Inf\"} ").Append(count).Append('\n');
            w.Append(name).Append("_sum ").Append(Num(sum)).Append('\n');
            w.Append(name).Append("_count ").Append(count).Append('\n');
        }
        return w.ToString();
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>Per-bucket counts (not cumulative), the sum and the count; recorded on the engine thread, read by scrapes.</summary>
    private sealed class HistogramState(double[] bounds, RecentLatencies? recent)
    {
        private readonly Lock _gate = new();
        private readonly long[] _buckets = new long[bounds.Length + 1];
        private double _sum;
        private long _count;

        public double[] Bounds { get; } = bounds;

        public void Record(double value)
        {
            recent?.Record(value);
            int i = Array.BinarySearch(Bounds, value);
            if (i < 0) i = ~i; // first bound >= value (le is inclusive)
            lock (_gate)
            {
                _buckets[i]++;
                _sum += value;
                _count++;
            }
        }

        public (long[] Buckets, double Sum, long Count) Snapshot()
        {
            lock (_gate) return ((long[])_buckets.Clone(), _sum, _count);
        }
    }
}
