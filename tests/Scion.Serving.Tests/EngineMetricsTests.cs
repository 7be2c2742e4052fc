using System.Diagnostics.Metrics;
using Scion.Models.Sampling;
using Scion.Serving.Engine;

namespace Scion.Serving.Tests;

/// <summary>The engine's instruments move as requests complete (read with a MeterListener, scoped to this test's factory).</summary>
public class EngineMetricsTests
{
    private sealed class ScopedFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];
        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            _meters.Add(meter);
            return meter;
        }
        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }

    [Fact]
    public async Task CountersAndHistogramsMoveAsRequestsComplete()
    {
        using var factory = new ScopedFactory();
        var longs = new Dictionary<string, long>();
        var doubles = new Dictionary<string, List<double>>();
        var tags = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) => { if (instrument.Meter.Scope == factory) l.EnableMeasurementEvents(instrument); };
        listener.SetMeasurementEventCallback<long>((instrument, value, t, _) =>
        {
            lock (longs)
            {
                longs[instrument.Name] = longs.GetValueOrDefault(instrument.Name) + value;
                foreach (var tag in t) tags.Add($"{tag.Key}={tag.Value}");
            }
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            lock (doubles) { if (!doubles.TryGetValue(instrument.Name, out var list)) doubles[instrument.Name] = list = []; list.Add(value); }
        });
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => { lock (longs) longs[instrument.Name] = value; });
        listener.Start();

        using var model = EngineFixture.NewTiny();
        await using (var engine = new ServingEngine(model, null, new EngineOptions(), meterFactory: factory))
        {
            var prompt = EngineFixture.Tokens(40, 1);
            foreach (int n in new[] { 1, 2 })
            {
                var result = await engine.Submit(new EngineRequest { PromptTokens = prompt, MaxTokens = 5, N = n, Sampling = SamplingOptions.Greedy })
                    .CollectAsync().WaitAsync(EngineFixture.Timeout);
                Assert.NotNull(result.Timings);
                Assert.True(result.Timings!.TimeToFirstTokenSeconds <= result.Timings.TotalSeconds);
                Assert.True(result.Timings.QueueSeconds <= result.Timings.TimeToFirstTokenSeconds);
            }
            listener.RecordObservableInstruments();
        }
        lock (longs)
        {
            Assert.Equal(15, longs["scion.generation_tokens"]);
            Assert.Equal(80, longs["scion.prompt_tokens"]);
            Assert.Equal(3, longs["scion.choices_finished"]);
            Assert.Equal(["finish_reason=length", "finish_reason=length", "finish_reason=length"], tags);
            Assert.Equal(32, longs["scion.prefix_cache_hits"]); // the second request found the first's two full blocks
        }
        lock (doubles)
        {
            Assert.Equal(2, doubles["scion.time_to_first_token"].Count);
            Assert.Equal(2, doubles["scion.e2e_request_latency"].Count);
            Assert.Equal(4 + 2 * 4, doubles["scion.inter_token_latency"].Count);
            Assert.Equal(0, doubles["scion.kv_cache_usage"].Single());
        }
    }
}
