using System.Text.Json;
using static Scion.Cli.Tests.QuantizeTestSupport;

namespace Scion.Cli.Tests;

public class BenchServeCommandTests
{
    [Fact]
    public void InProcessJsonCountsAddUpWithAdaptersAndAPrefix()
    {
        string dir = TempDir();
        string file = Path.Combine(dir, "result.json");
        string json = RunOk("bench-serve", "--threads", "1", "--concurrency", "3", "--requests", "12", "--prompt-tokens", "24..40",
            "--output-tokens", "4", "--ignore-eos", "--shared-prefix", "16", "--adapters", "3", "--adapter-rank", "2",
            "--adapter-cache-mib", "0", "--warmup", "1", "--json", "--output", file);
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        Assert.Equal(12, r.GetProperty("requests_completed").GetInt32());
        Assert.Equal(0, r.GetProperty("requests_failed").GetInt32());
        Assert.Equal(48, r.GetProperty("output_tokens").GetInt64());
        Assert.Equal(12, r.GetProperty("ttft_s").GetProperty("count").GetInt32());
        Assert.Equal(36, r.GetProperty("itl_s").GetProperty("count").GetInt32());
        Assert.True(r.GetProperty("output_tokens_per_s").GetDouble() > 0);
        var engine = r.GetProperty("engine");
        Assert.True(engine.GetProperty("adapter_loads").GetInt64() >= 3);
        Assert.True(engine.GetProperty("prefix_hit_tokens").GetInt64() > 0);
        Assert.Equal(3, r.GetProperty("load").GetProperty("adapters").GetInt32());
        Assert.Equal(json.Trim(), File.ReadAllText(file).Trim());
        Directory.Delete(dir, true);
    }

    [Fact]
    public void TheSummaryNamesEveryFigure()
    {
        string text = RunOk("bench-serve", "--threads", "1", "--concurrency", "2", "--requests", "4", "--prompt-tokens", "8", "--output-tokens", "3", "--ignore-eos");
        foreach (var word in new[] { "requests", "tokens/s", "TTFT", "ITL", "e2e", "KV peak", "prefix hits", "preemptions" }) Assert.Contains(word, text);
    }

    [Theory]
    [InlineData("--prompt-tokens", "ten", "--prompt-tokens")]
    [InlineData("--url", "ftp://x", "--url")]
    [InlineData("--adapter-targets", "q_proj,wings", "wings")]
    public void BadOptionsAreUsageErrorsNamingTheOption(string option, string value, string named)
    {
        var (code, _, err) = CliRunner.Run("bench-serve", option, value);
        Assert.Equal(2, code);
        Assert.Contains(named, err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void AnUnreachableServerIsAPlainError()
    {
        // Port 9 on loopback: nothing listens there on a test machine, the connection is refused at once.
        var (code, _, err) = CliRunner.Run("bench-serve", "--url", "http://127.0.0.1:9", "--requests", "1");
        Assert.Equal(1, code);
        Assert.Contains("cannot reach", err);
    }
}
