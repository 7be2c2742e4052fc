using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Testing;

namespace Scion.Models.Tests.Golden;

/// <summary>Forward-pass logits and greedy continuations against llama.cpp's, on the golden token ids.</summary>
public class GoldenModelTests
{
    public static TheoryData<string, string, double, bool> Cases => new()
    {
        { "golden-tiny-F32.gguf", "golden-tiny-F32.jsonl", 1e-3, true },
        { "golden-tiny-f16.gguf", "golden-tiny-f16.jsonl", 1e-2, true },
        { "golden-tiny-BF16.gguf", "golden-tiny-BF16.jsonl", 5e-2, false },
        { "golden-tiny-Q8_0.gguf", "golden-tiny-Q8_0.jsonl", 5e-2, false },
        { "golden-tiny-Q4_0.gguf", "golden-tiny-Q4_0.jsonl", 5e-2, false },
        { "golden-k256-Q4_K_M.gguf", "golden-k256-Q4_K_M.jsonl", 5e-2, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void LogitsMatchLlamaCpp(string model, string golden, double tolerance, bool greedyMustMatch)
    {
        using var m = LlamaModel.LoadGguf(SharedData.Path("golden", model));
        GoldenRunner.Check(m, null, GoldenCase.Load(SharedData.Path("golden", golden)), tolerance, greedyMustMatch);
    }

    [Fact]
    public void HuggingFaceCopyMatchesF16Golden()
    {
        using var m = LlamaModel.LoadHuggingFace(SharedData.Path("golden", "hf-golden-tiny"));
        Assert.Equal(RopeStyle.HalfSplit, m.Config.RopeStyle);
        GoldenRunner.Check(m, null, GoldenCase.Load(SharedData.Path("golden", "golden-tiny-f16.jsonl")), 1e-2, true);
    }

    [Fact]
    public void Stories260KFromLlama2cMatches()
    {
        using var m = LlamaModel.LoadLlama2c(SharedData.Path("models", "stories260K", "stories260K.bin"));
        GoldenRunner.Check(m, null, GoldenCase.Load(SharedData.Path("golden", "stories260K.jsonl")), 1e-3, true);
    }

    [Theory]
    [InlineData("golden-tiny-F32.gguf")]
    [InlineData("golden-tiny-f16.gguf")]
    public void LoraGoldenUnmergedMatchesMergedLlamaCpp(string baseModel)
    {
        using var m = LlamaModel.LoadGguf(SharedData.Path("golden", baseModel));
        var adapter = Scion.Models.Adapters.AdapterLoader.Load(SharedData.Path("golden", "lora-golden-tiny"), m);
        GoldenRunner.Check(m, adapter, GoldenCase.Load(SharedData.Path("golden", "lora-golden-tiny.jsonl")), 1e-2, true);
    }

    [Fact]
    public void LoraGoldenOnHuggingFaceBase()
    {
        using var m = LlamaModel.LoadHuggingFace(SharedData.Path("golden", "hf-golden-tiny"));
        var adapter = Scion.Models.Adapters.AdapterLoader.Load(SharedData.Path("golden", "lora-golden-tiny"), m);
        GoldenRunner.Check(m, adapter, GoldenCase.Load(SharedData.Path("golden", "lora-golden-tiny.jsonl")), 1e-2, true);
    }

    [Fact]
    public void Stories260KGreedyMatches()
    {
        using var m = LlamaModel.LoadGguf(BundledModel.Stories260K);
        GoldenRunner.Check(m, null, GoldenCase.Load(SharedData.Path("golden", "stories260K.jsonl")), 1e-3, true);
    }
}

public static class GoldenRunner
{
    public static void Check(LlamaModel m, Scion.Models.Adapters.LoraAdapter? adapter, List<GoldenCase> cases, double tolerance, bool greedyMustMatch)
    {
        var cache = new PagedKvCache(m.Config, 512);
        double worst = 0;
        foreach (var (gc, ci) in cases.Select((g, i) => (g, i)))
        {
            cache.Clear();
            var batch = new ForwardBatch().AddSequence(0, gc.Tokens, 0, adapter, allLogits: true);
            var logits = m.Forward(batch, cache);
            int v = m.Config.Vocab;
            Assert.Equal(gc.Top.Length, gc.Tokens.Length);
            for (int p = 0; p < gc.Top.Length; p++)
                worst = Math.Max(worst, GoldenCompare.CheckPosition(gc.Top[p], logits.AsSpan(p * v, v), $"case {ci} position {p}"));
            // Greedy continuation, one token at a time through the cache.
            var greedy = new List<int>();
            var last = logits.AsSpan((gc.Tokens.Length - 1) * v, v);
            int next = ArgMax(last);
            for (int i = 0; i < gc.Greedy.Length; i++)
            {
                greedy.Add(next);
                if (i == gc.Greedy.Length - 1) break;
                var step = m.Forward(new ForwardBatch().Add(0, next, gc.Tokens.Length + i, true, adapter), cache);
                next = ArgMax(step);
            }
            if (greedyMustMatch)
                Assert.True(gc.Greedy.SequenceEqual(greedy), $"case {ci}: greedy {string.Join(",", greedy)} != golden {string.Join(",", gc.Greedy)}");
        }
        Console.Error.WriteLine($"worst |Δlogit|/std = {worst:E3} (tolerance {tolerance:E1})");
        Assert.True(worst <= tolerance, $"worst |Δlogit|/std {worst:E3} exceeds {tolerance:E1}");
    }

    public static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}

public class AdapterRefusalTests
{
    [Fact]
    public void AdapterForAnotherBaseIsRefusedNamingTheTensor()
    {
        using var m = LlamaModel.LoadGguf(BundledModel.Stories260K);
        var e = Assert.Throws<Scion.Models.Formats.ModelFormatException>(() =>
            Scion.Models.Adapters.AdapterLoader.Load(SharedData.Path("golden", "lora-golden-tiny"), m));
        Assert.Contains("base_model.model.model.layers.", e.Message);
        Assert.Contains("another base model", e.Message);
    }
}
