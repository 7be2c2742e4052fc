using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Scion.Server.Tests;

/// <summary>GET /metrics parses as Prometheus text (every sample under a declared family) and its counters move
/// by exactly what the requests did.</summary>
public sealed partial class MetricsTests
{
    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<braces>\{(?<labels>[^}]*)\})? (?<value>[-+]?(\d+(\.\d+)?([eE][-+]?\d+)?|\+Inf|NaN))$")]
    private static partial Regex Sample();

    [GeneratedRegex(@"^# (HELP|TYPE) (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) ?(?<rest>.*)$")]
    private static partial Regex Comment();

    /// <summary>Samples by "name{labels}"; fails on any line that is not a HELP, TYPE or sample, or a sample whose family has no TYPE.</summary>
    private static Dictionary<string, double> Parse(string text, out Dictionary<string, string> types)
    {
        types = [];
        var samples = new Dictionary<string, double>();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                var c = Comment().Match(line);
                Assert.True(c.Success, $"bad comment line: {line}");
                if (line.StartsWith("# TYPE", StringComparison.Ordinal))
                {
                    Assert.Contains(c.Groups["rest"].Value, new[] { "counter", "gauge", "histogram" });
                    Assert.True(types.TryAdd(c.Groups["name"].Value, c.Groups["rest"].Value), $"family declared twice: {line}");
                }
                continue;
            }
            var m = Sample().Match(line);
            Assert.True(m.Success, $"bad sample line: {line}");
            string name = m.Groups["name"].Value;
            string family = Regex.Replace(name, "_(bucket|sum|count)$", "");
            Assert.True(types.ContainsKey(name) || types.GetValueOrDefault(family) == "histogram", $"sample without a TYPE: {line}");
            Assert.StartsWith("scion_", name);
            string value = m.Groups["value"].Value;
            samples[m.Groups["braces"].Success ? $"{name}{{{m.Groups["labels"].Value}}}" : name] =
                value == "+Inf" ? double.PositiveInfinity : double.Parse(value, CultureInfo.InvariantCulture);
        }
        return samples;
    }

    private static async Task<Dictionary<string, double>> Scrape(ServerFixture f)
    {
        var r = await f.Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("text/plain", r.Content.Headers.ContentType?.MediaType);
        return Parse(await r.Content.ReadAsStringAsync(), out _);
    }

    private static double Delta(Dictionary<string, double> before, Dictionary<string, double> after, string key) =>
        after.GetValueOrDefault(key) - before.GetValueOrDefault(key);

    [Fact]
    public async Task Counters_and_histograms_move_by_what_the_requests_did()
    {
        await using var f = await ServerFixture.StartAsync();
        var before = await Scrape(f);
        var body = new { model = ServerFixture.AdapterName, prompt = "Once upon a time", max_tokens = 5, temperature = 0, ignore_eos = true };
        var r = await f.Http.PostAsync("/v1/completions", new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        var usage = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("usage");
        var after = await Scrape(f);

        Assert.Equal(5, Delta(before, after, "scion_generation_tokens_total"));
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32(), Delta(before, after, "scion_prompt_tokens_total"));
        Assert.Equal(1, Delta(before, after, "scion_choices_finished_total{finish_reason=\"length\"}"));
        Assert.Equal(1, Delta(before, after, "scion_time_to_first_token_seconds_count"));
        Assert.Equal(1, Delta(before, after, "scion_e2e_request_latency_seconds_count"));
        Assert.Equal(1, Delta(before, after, "scion_request_queue_time_seconds_count"));
        Assert.Equal(4, Delta(before, after, "scion_inter_token_latency_seconds_count"));
        Assert.True(Delta(before, after, "scion_prefix_cache_queries_total") >= usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(1, after["scion_adapter_requests_total{adapter=\"tiny-lora\"}"]);
        Assert.Equal(1, after["scion_adapter_loads_total"]);
        Assert.Equal(0, after["scion_requests_running"]);
        Assert.InRange(after["scion_kv_cache_usage_ratio"], 0, 1);
        // Buckets are cumulative and end at the count.
        var buckets = after.Where(kv => kv.Key.StartsWith("scion_inter_token_latency_seconds_bucket", StringComparison.Ordinal)).Select(kv => kv.Value).ToList();
        Assert.Equal(buckets.Order(), buckets);
        Assert.Equal(after["scion_inter_token_latency_seconds_count"], after["scion_inter_token_latency_seconds_bucket{le=\"+Inf\"}"]);
    }

    [Fact]
    public async Task Metrics_need_the_key_when_keys_are_set()
    {
        await using var f = await ServerFixture.StartAsync(new ServerOptions { ApiKeys = ["sk-metrics"] });
        Assert.Equal(HttpStatusCode.Unauthorized, (await f.Http.GetAsync("/metrics")).StatusCode);
        f.Http.DefaultRequestHeaders.Authorization = new("Bearer", "sk-metrics");
        Assert.Equal(HttpStatusCode.OK, (await f.Http.GetAsync("/metrics")).StatusCode);
    }
}
