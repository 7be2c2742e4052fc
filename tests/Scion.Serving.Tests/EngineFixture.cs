using Scion.Models.Adapters;
using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Models.Sampling;
using Scion.Serving.Engine;
using Scion.Tensors;

namespace Scion.Serving.Tests;

/// <summary>Tiny seeded models, an engine over them that records every logits row it samples from, and the
/// independent reference: one sequence alone through the plain forward (whole prompt, then token by token).</summary>
internal static class EngineFixture
{
    /// <summary>A fresh seeded tiny model (same weights every call): the forward is not thread-safe, and tests run in
    /// parallel, so each engine gets its own.</summary>
    public static LlamaModel NewTiny(GgmlType weights = GgmlType.F32, bool wide = false)
    {
        // FFN width 64 so every matrix's input is whole 32-value quant blocks. The wide one has matrices of several
        // GEMM tiles and work items, so row splits and panel boundaries (64 tokens) fall inside the batch.
        var c = wide
            ? RandomModel.TinyConfig(vocab: 256) with { Dim = 128, Heads = 4, KvHeads = 2, HeadDim = 32, RopeDim = 32, FfnDim = 320 }
            : RandomModel.TinyConfig(vocab: 64) with { FfnDim = 64 };
        return new LlamaModel(c, RandomModel.Build(c, seed: 11, weights));
    }

    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public static int[] Tokens(int count, ulong seed, int vocab = 64)
    {
        var rng = new Xoshiro256(seed);
        return [.. Enumerable.Range(0, count).Select(_ => rng.NextInt(vocab))];
    }

    public sealed record Reference(int[] Tokens, List<float[]> Logits);

    /// <summary>What one request alone gives, computed without the engine.</summary>
    public static Reference Run(LlamaModel m, int[] prompt, int maxTokens, LoraAdapter? adapter = null, SamplingOptions? sampling = null)
    {
        var cache = m.NewCache(prompt.Length + maxTokens + 1, blockSize: 16);
        var sampler = new Sampler(sampling ?? SamplingOptions.Greedy);
        var history = new List<int>(prompt);
        var tokens = new List<int>();
        var rows = new List<float[]>();
        var logits = m.Forward(new ForwardBatch().AddSequence(0, prompt, 0, adapter), cache);
        for (int i = 0; i < maxTokens; i++)
        {
            rows.Add(logits);
            int next = sampler.Sample(logits, history);
            history.Add(next);
            tokens.Add(next);
            if (i + 1 < maxTokens) logits = m.Forward(new ForwardBatch().Add(0, next, prompt.Length + i, true, adapter), cache);
        }
        return new Reference([.. tokens], rows);
    }

    /// <summary>An engine that records the logits of every sample: (request id, choice) → rows in generation order.</summary>
    public sealed class Recording : IAsyncDisposable
    {
        private readonly Dictionary<(long, int), List<float[]>> _logits = [];

        public Recording(LlamaModel model, EngineOptions options, InMemoryAdapterStore? store = null, Scion.Models.Tokenization.Tokenizer? tokenizer = null)
        {
            Engine = new ServingEngine(model, tokenizer, options, store);
            Engine.LogitsObserver = (id, index, generated, row) =>
            {
                lock (_logits)
                {
                    if (!_logits.TryGetValue((id, index), out var list)) _logits[(id, index)] = list = [];
                    Assert.Equal(list.Count, generated); // one sample per generated token, also across preemptions
                    list.Add(row);
                }
            };
        }

        public ServingEngine Engine { get; }

        public List<float[]> Logits(long id, int index = 0)
        {
            lock (_logits) return _logits[(id, index)];
        }

        /// <summary>Submits all while the engine is held, so they share the first steps, then collects every result.</summary>
        public async Task<(RequestHandle Handle, CompletionResult Result)[]> RunTogether(IEnumerable<EngineRequest> requests)
        {
            RequestHandle[] handles;
            using (Engine.HoldSteps()) handles = [.. requests.Select(r => Engine.Submit(r))];
            var results = await Task.WhenAll(handles.Select(h => h.CollectAsync())).WaitAsync(Timeout);
            return [.. handles.Zip(results)];
        }

        public ValueTask DisposeAsync() => Engine.DisposeAsync();
    }

    /// <summary>Bitwise equality of two logits rows (the engine promises the same bits, not just close values).</summary>
    public static void AssertSameBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: logit {i} is {actual[i]:R}, alone it is {expected[i]:R} (difference {actual[i] - expected[i]:E2}).");
    }
}
