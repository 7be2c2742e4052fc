using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Tensors;
using Scion.Testing;

namespace Scion.Models.Tests.Golden;

/// <summary>
/// A Q8_0 KV cache changes logits by at most 0.05 std from the F16 cache's on the float golden-tiny models (llama.cpp's
/// golden prompts, every position, prefill and four one-token decode steps, the golden comparison's top-20 measure).
/// </summary>
public class QuantizedKvCacheTests
{
    // Float weights show the cache's own error: K q8_0 alone moves golden-tiny-F32's logits by 0.0015 std. Quantized
    // weights amplify any change: their activations are rounded to Q8_0 (Q8_K) before each product, and a tiny shift
    // flips roundings, so the same K-only change costs 0.043 std on golden-tiny-Q8_0. Their bounds are that noise.
    // Q4_0 values are the lossy part of a Q4_0 cache (0.37 std alone; Q4_0 keys alone 0.03).
    public static TheoryData<string, GgmlType, GgmlType, double> Cases => new()
    {
        { "golden-tiny-F32.gguf", GgmlType.Q8_0, GgmlType.Q8_0, 0.05 },
        { "golden-tiny-f16.gguf", GgmlType.Q8_0, GgmlType.Q8_0, 0.05 },
        { "golden-tiny-BF16.gguf", GgmlType.Q8_0, GgmlType.Q8_0, 0.05 },
        { "golden-tiny-F32.gguf", GgmlType.Q8_0, GgmlType.F16, 0.005 },
        { "golden-tiny-Q8_0.gguf", GgmlType.Q8_0, GgmlType.Q8_0, 0.1 },
        { "golden-tiny-Q4_0.gguf", GgmlType.Q8_0, GgmlType.Q8_0, 0.1 },
        { "golden-k256-Q4_K_M.gguf", GgmlType.Q8_0, GgmlType.Q8_0, 0.15 },
        { "golden-tiny-f16.gguf", GgmlType.Q4_0, GgmlType.F16, 0.05 },
        { "golden-tiny-f16.gguf", GgmlType.Q4_0, GgmlType.Q8_0, 0.06 },
        { "golden-tiny-f16.gguf", GgmlType.Q4_0, GgmlType.Q4_0, 0.5 },
        { "golden-k256-Q4_K_M.gguf", GgmlType.Q4_0, GgmlType.Q4_0, 0.6 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void LogitsStayNearTheF16Cache(string model, GgmlType keys, GgmlType values, double tolerance)
    {
        using var m = LlamaModel.LoadGguf(SharedData.Path("golden", model));
        var cases = GoldenCase.Load(SharedData.Path("golden", model.Replace(".gguf", ".jsonl")));
        double worst = Worst(m, cases, new KvCacheFormat(keys, values));
        Console.Error.WriteLine($"{model} K {keys} V {values}: worst |Δlogit|/std = {worst:F4}");
        Assert.True(worst > 0, "a quantized cache that changes nothing was not used");
        Assert.True(worst <= tolerance, $"{model} with K {keys} V {values}: worst |Δlogit|/std {worst:F4} exceeds {tolerance}");
    }

    [Fact]
    public void Stories260KKeepsItsGreedyStoryWithAQ8_0Cache()
    {
        using var loaded = Scion.Models.Loading.ModelLoader.Load(BundledModel.Stories260K);
        loaded.Model.KvFormat = new KvCacheFormat(GgmlType.Q8_0, GgmlType.Q8_0);
        var tokenizer = loaded.RequireTokenizer();
        var result = new Scion.Models.Generation.TextGenerator(loaded.Model, tokenizer).Generate(tokenizer.Encode("Once upon a time"),
            new Scion.Models.Generation.GenerationOptions { MaxTokens = 60, Sampling = new() { Temperature = 0 } });
        Assert.StartsWith(", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.", result.Text);
    }

    /// <summary>Largest |logit(format) − logit(F16)| / std(F16 logits at that position) over every prompt position and
    /// four decode steps of each golden case.</summary>
    private static double Worst(LlamaModel m, List<GoldenCase> cases, KvCacheFormat format)
    {
        var f16 = new PagedKvCache(m.Config, 512);
        var quantized = new PagedKvCache(m.Config, 512, format: format);
        int v = m.Config.Vocab;
        double worst = 0;
        foreach (var gc in cases)
        {
            f16.Clear();
            quantized.Clear();
            var want = m.Forward(new ForwardBatch().AddSequence(0, gc.Tokens, 0, allLogits: true), f16);
            var got = m.Forward(new ForwardBatch().AddSequence(0, gc.Tokens, 0, allLogits: true), quantized);
            for (int p = 0; p < gc.Tokens.Length; p++) worst = Math.Max(worst, Distance(want.AsSpan(p * v, v), got.AsSpan(p * v, v)));
            int next = GoldenRunner.ArgMax(want.AsSpan((gc.Tokens.Length - 1) * v, v));
            for (int i = 0; i < 4; i++)
            {
                // Both caches are fed the same (F16-greedy) tokens so every step compares like with like.
                var a = m.Forward(new ForwardBatch().Add(0, next, gc.Tokens.Length + i, true), f16);
                var b = m.Forward(new ForwardBatch().Add(0, next, gc.Tokens.Length + i, true), quantized);
                worst = Math.Max(worst, Distance(a, b));
                next = GoldenRunner.ArgMax(a);
            }
        }
        return worst;
    }

    /// <summary>As the golden comparison (../shared/README.md) measures: the largest difference over the reference's
    /// top-20 ids, over the standard deviation of the reference's logits.</summary>
    private static double Distance(ReadOnlySpan<float> want, ReadOnlySpan<float> got)
    {
        double mean = 0;
        foreach (float x in want) mean += x;
        mean /= want.Length;
        double var = 0;
        foreach (float x in want) var += (x - mean) * (x - mean);
        var order = new int[want.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var keys = want.ToArray();
        Array.Sort(keys, order);
        double max = 0;
        for (int r = 1; r <= 20; r++) max = Math.Max(max, Math.Abs(want[order[^r]] - got[order[^r]]));
        return max / Math.Sqrt(var / want.Length);
    }
}
