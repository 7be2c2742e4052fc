using System.Text.Json;
using static Scion.Cli.Tests.QuantizeTestSupport;

namespace Scion.Cli.Tests;

public class BenchCommandTests
{
    [Fact]
    public void JsonReportHasTheDocumentedFields()
    {
        string dir = TempDir();
        string path = Path.Combine(dir, "tiny.gguf");
        RunOk("create", "--config", "tiny", "--type", "Q8_0", "--output", path);
        string json = RunOk("bench", "--model", path, "--threads", "2", "--prompt-tokens", "16", "--gen-tokens", "4",
            "--repetitions", "2", "--batch", "2", "--roofline-mib", "16", "--json");
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        foreach (var key in new[] { "prefill_tokens_per_s", "decode_tokens_per_s", "bandwidth_gb_s", "fma_peak_gflop_s",
                     "decode_roofline_ratio", "prefill_roofline_ratio", "load_ms", "file_size_bytes", "parameters" })
            Assert.True(r.GetProperty(key).GetDouble() > 0, key);
        foreach (var key in new[] { "prefill_tokens_per_s_sd", "decode_tokens_per_s_sd", "bandwidth_gb_s_sd", "fma_peak_gflop_s_sd",
                     "decode_roofline_ratio_sd", "prefill_roofline_ratio_sd" })
            Assert.True(r.GetProperty(key).GetDouble() >= 0, key);
        Assert.Equal(2, r.GetProperty("threads").GetInt32());
        Assert.Equal(2, r.GetProperty("batch").GetInt32());
        Assert.Equal(16, r.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(4, r.GetProperty("gen_tokens").GetInt32());
        Assert.Equal("Q8_0", r.GetProperty("type").GetString());
        Assert.Equal(2, r.GetProperty("decode_seconds").GetArrayLength());
        Assert.False(string.IsNullOrEmpty(r.GetProperty("cpu").GetString()));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void TableOutputAndDeepContext()
    {
        string dir = TempDir();
        string path = Path.Combine(dir, "tiny.gguf");
        RunOk("create", "--config", "tiny", "--type", "F16", "--output", path);
        string table = RunOk("bench", "--model", path, "--threads", "1", "--prompt-tokens", "0", "--gen-tokens", "3",
            "--repetitions", "1", "--depth", "100", "--roofline-mib", "16");
        Assert.Contains("tg3 @d100", table);
        Assert.DoesNotContain("pp", table.Split('\n').Where(l => l.StartsWith('|')).Aggregate("", (a, b) => a + b));
        Assert.Contains("GB/s", table);
        Directory.Delete(dir, true);
    }
}
