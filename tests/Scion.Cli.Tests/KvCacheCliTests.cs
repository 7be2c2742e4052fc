using System.Text.Json;

namespace Scion.Cli.Tests;

/// <summary>--cache-type-k / --cache-type-v (-ctk / -ctv) on generate, chat, logits, bench and serve.</summary>
public class KvCacheCliTests
{
    [Fact]
    public void GenerateWithAQ8_0CacheStillTellsTheStory()
    {
        var r = CliRunner.Run("generate", "-p", "Once upon a time", "--greedy", "-n", "40", "-ctk", "Q8_0", "--cache-type-v", "q8_0");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("Once upon a time, there was a little girl named Lily. She loved to play outside in the park.", r.Out);
    }

    [Fact]
    public void ChatTakesTheCacheTypes()
    {
        var r = CliRunner.RunWithInput("Hello\n", "chat", "--temperature", "0", "-ctk", "q4_0", "-ctv", "q8_0");
        Assert.True(r.ExitCode == 0, r.Err);
    }

    [Fact]
    public void AnUnknownCacheTypeIsAUsageErrorListingTheChoices()
    {
        var r = CliRunner.Run("generate", "-p", "x", "--cache-type-v", "q5_1");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--cache-type-v", r.Err);
        Assert.Contains("--cache-type-v: expected one of f16, q8_0, q4_0, got 'q5_1'", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Fact]
    public void BenchReportsTheCacheTypesAndTheirSmallerCache()
    {
        long Bytes(params string[] kv)
        {
            string json = QuantizeTestSupport.RunOk([.. new[] { "bench", "--threads", "1", "--prompt-tokens", "16", "--gen-tokens", "4", "--repetitions", "1",
                "--roofline-mib", "16", "--json" }, .. kv]);
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            Assert.Equal(kv.Length > 0 ? kv[1] : "f16", r.GetProperty("cache_type_k").GetString());
            Assert.Equal(kv.Length > 0 ? kv[3] : "f16", r.GetProperty("cache_type_v").GetString());
            Assert.True(r.GetProperty("decode_tokens_per_s").GetDouble() > 0);
            return r.GetProperty("kv_cache_bytes").GetInt64();
        }
        long f16 = Bytes();
        long q8 = Bytes("-ctk", "q8_0", "-ctv", "q8_0");
        long q4 = Bytes("-ctk", "q4_0", "-ctv", "q4_0");
        Assert.Equal(f16 * 34 / 64, q8);
        Assert.Equal(f16 * 18 / 64, q4);
    }
}
