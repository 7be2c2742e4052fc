using Scion.Models.Sampling;
using Scion.Serving.Adapters;
using Scion.Serving.Engine;

namespace Scion.Serving.Tests;

/// <summary>Per-request options through the engine: n forks, log-probabilities, echo, limits and errors.</summary>
public class RequestOptionsTests
{
    private static readonly SamplingOptions Sampled = new() { Temperature = 1f, TopK = 0, TopP = 1, MinP = 0 };

    [Fact]
    public async Task NChoicesForkTheSharedPromptAndEachEqualsItsSeedAlone()
    {
        using var model = EngineFixture.NewTiny();
        var prompt = EngineFixture.Tokens(37, 1); // a partial last block: the forks copy it on write
        await using var rec = new EngineFixture.Recording(model, new EngineOptions { KvCacheTokens = 1024 });
        var (handle, result) = (await rec.RunTogether([new EngineRequest
        {
            PromptTokens = prompt, N = 4, MaxTokens = 15, Sampling = Sampled, Seed = 100,
        }]))[0];
        Assert.Equal(4, result.Choices.Count);
        for (int i = 0; i < 4; i++)
        {
            var alone = EngineFixture.Run(model, prompt, 15, sampling: Sampled with { Seed = 100 + (ulong)i });
            Assert.Equal(alone.Tokens, result.Choices[i].Tokens);
            for (int t = 0; t < 15; t++) EngineFixture.AssertSameBits(alone.Logits[t], rec.Logits(handle.Id, i)[t], $"choice {i} token {t}");
        }
        Assert.True(result.Choices.Select(c => string.Join(",", c.Tokens)).Distinct().Count() > 1, "seeds differ, so should choices");
        Assert.Equal(60, result.Usage.CompletionTokens);
        Assert.Equal(prompt.Length, result.Usage.PromptTokens);
        Assert.Equal(0, await rec.Engine.InspectAsync(() => { rec.Engine.Blocks.Validate(); return rec.Engine.Blocks.UsedBlocks; }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task NChoicesThatEndAtTheirFirstSampleStillAllFinish(int maxTokens)
    {
        using var model = EngineFixture.NewTiny();
        await using var rec = new EngineFixture.Recording(model, new EngineOptions());
        var (_, result) = (await rec.RunTogether([new EngineRequest { PromptTokens = EngineFixture.Tokens(9, 1), N = 3, MaxTokens = maxTokens, Sampling = Sampled }]))[0];
        Assert.All(result.Choices, c => Assert.Equal(FinishReason.Length, c.FinishReason));
        Assert.All(result.Choices, c => Assert.Equal(maxTokens, c.Tokens.Length));
        Assert.Equal(0, await rec.Engine.InspectAsync(() => { rec.Engine.Blocks.Validate(); return rec.Engine.Blocks.UsedBlocks; }));
    }

    [Fact]
    public async Task LogprobsAreTheModelsLogSoftmaxWithTopAlternativesBestFirst()
    {
        using var model = EngineFixture.NewTiny();
        var prompt = EngineFixture.Tokens(12, 2);
        await using var rec = new EngineFixture.Recording(model, new EngineOptions());
        var (handle, result) = (await rec.RunTogether([new EngineRequest
        {
            PromptTokens = prompt, MaxTokens = 6, Sampling = SamplingOptions.Greedy, Logprobs = 20,
        }]))[0];
        var choice = result.Choices[0];
        Assert.Equal(6, choice.Logprobs.Length);
        for (int t = 0; t < 6; t++)
        {
            var logits = rec.Logits(handle.Id)[t];
            double max = logits.Max(), lse = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
            var lp = choice.Logprobs[t];
            Assert.Equal(choice.Tokens[t], lp.TokenId);
            Assert.Equal(logits[lp.TokenId] - lse, lp.Logprob, 4);
            Assert.Equal(20, lp.Top.Count);
            var expectedTop = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).Take(20).ToArray();
            Assert.Equal(expectedTop, lp.Top.Select(x => x.TokenId));
            Assert.Equal(lp.TokenId, lp.Top[0].TokenId); // greedy picks the best
            Assert.Equal(lp.Logprob, lp.Top[0].Logprob);
        }
    }

    [Fact]
    public async Task EchoReportsThePromptsLogprobsFromAFullPrefill()
    {
        using var model = EngineFixture.NewTiny();
        var prompt = EngineFixture.Tokens(40, 3);
        // Chunked, and after an identical earlier prompt: echo must not take the cached prefix (it has no logits).
        await using var rec = new EngineFixture.Recording(model, new EngineOptions { MaxBatchTokens = 16 });
        await rec.RunTogether([new EngineRequest { PromptTokens = prompt, MaxTokens = 2, Sampling = SamplingOptions.Greedy }]);
        var (_, result) = (await rec.RunTogether([new EngineRequest
        {
            PromptTokens = prompt, MaxTokens = 0, EchoPromptLogprobs = true, Logprobs = 3, Sampling = SamplingOptions.Greedy,
        }]))[0];
        Assert.Equal(FinishReason.Length, result.Choices[0].FinishReason);
        Assert.Empty(result.Choices[0].Tokens);
        var echo = result.PromptLogprobs!;
        Assert.Equal(prompt.Length, echo.Count);
        Assert.Null(echo[0]);
        var full = model.Forward(new Scion.Models.Llama.ForwardBatch().AddSequence(0, prompt, 0, allLogits: true),
            new Scion.Models.KvCache.PagedKvCache(model.Config, 64));
        int v = model.Config.Vocab;
        for (int p = 0; p + 1 < prompt.Length; p++)
        {
            var row = full.AsSpan(p * v, v).ToArray();
            double max = row.Max(), lse = max + Math.Log(row.Sum(l => Math.Exp(l - max)));
            Assert.Equal(prompt[p + 1], echo[p + 1]!.TokenId);
            Assert.Equal(row[prompt[p + 1]] - lse, echo[p + 1]!.Logprob, 4);
            Assert.Equal(3, echo[p + 1]!.Top.Count);
        }
    }

    [Fact]
    public async Task AnUnknownAdapterFailsOnlyItsRequest()
    {
        using var model = EngineFixture.NewTiny();
        var store = new InMemoryAdapterStore();
        await using var rec = new EngineFixture.Recording(model, new EngineOptions(), store);
        var results = await rec.RunTogether([
            new EngineRequest { PromptTokens = EngineFixture.Tokens(5, 1), MaxTokens = 4, Sampling = SamplingOptions.Greedy, Adapter = "missing", N = 2 },
            new EngineRequest { PromptTokens = EngineFixture.Tokens(5, 2), MaxTokens = 4, Sampling = SamplingOptions.Greedy },
        ]);
        Assert.All(results[0].Result.Choices, c =>
        {
            Assert.Equal(FinishReason.Error, c.FinishReason);
            Assert.Contains("missing", Assert.IsType<AdapterException>(c.Error).Message);
        });
        Assert.Equal(FinishReason.Length, results[1].Result.Choices[0].FinishReason);
        Assert.Equal(4, results[1].Result.Choices[0].Tokens.Length);
    }

    [Fact]
    public async Task NonFiniteLogitsFailTheirRequestNamingTheAdapterAndNothingElse()
    {
        using var model = EngineFixture.NewTiny();
        var store = new InMemoryAdapterStore();
        var broken = InMemoryAdapterStore.RandomAdapter("broken", model.Config, 3);
        broken[0, Scion.Models.Llama.LinearSlot.V]!.A[0] = float.NaN;
        store.Add(broken);
        await using var rec = new EngineFixture.Recording(model, new EngineOptions(), store);
        var results = await rec.RunTogether([
            new EngineRequest { PromptTokens = EngineFixture.Tokens(5, 1), MaxTokens = 4, Sampling = SamplingOptions.Greedy, Adapter = "broken", N = 2 },
            new EngineRequest { PromptTokens = EngineFixture.Tokens(5, 2), MaxTokens = 4, Sampling = SamplingOptions.Greedy },
        ]);
        Assert.All(results[0].Result.Choices, c =>
        {
            Assert.Equal(FinishReason.Error, c.FinishReason);
            Assert.Empty(c.Tokens);
            var e = Assert.IsType<Scion.Models.Sampling.NonFiniteLogitsException>(c.Error);
            Assert.Contains("adapter 'broken'", e.Message);
            Assert.Contains("position 4", e.Message);
        });
        Assert.Equal(FinishReason.Length, results[1].Result.Choices[0].FinishReason);
        Assert.Equal(EngineFixture.Run(model, EngineFixture.Tokens(5, 2), 4).Tokens, results[1].Result.Choices[0].Tokens);
        Assert.Equal(0, await rec.Engine.InspectAsync(() => { rec.Engine.Blocks.Validate(); return rec.Engine.Blocks.UsedBlocks; }));
    }

    [Fact]
    public async Task ALoadingAdapterDoesNotStallOtherRequests()
    {
        using var model = EngineFixture.NewTiny();
        var store = new InMemoryAdapterStore { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        store.Add(InMemoryAdapterStore.RandomAdapter("slow", model.Config, 5));
        await using var rec = new EngineFixture.Recording(model, new EngineOptions(), store);
        var slow = rec.Engine.Submit(new EngineRequest { PromptTokens = EngineFixture.Tokens(5, 1), MaxTokens = 4, Sampling = SamplingOptions.Greedy, Adapter = "slow" });
        var fast = await rec.Engine.Submit(new EngineRequest { PromptTokens = EngineFixture.Tokens(5, 2), MaxTokens = 4, Sampling = SamplingOptions.Greedy })
            .CollectAsync().WaitAsync(EngineFixture.Timeout);
        Assert.Equal(4, fast.Choices[0].Tokens.Length);
        Assert.False(slow.Events.Completion.IsCompleted);
        store.Gate.SetResult();
        var done = await slow.CollectAsync().WaitAsync(EngineFixture.Timeout);
        Assert.Equal(4, done.Choices[0].Tokens.Length);
        Assert.Equal(0, store.ActiveLeases);
    }

    [Fact]
    public async Task CancellingARunningRequestEndsEveryChoiceAtTheNextStepAndFreesItsBlocks()
    {
        using var model = EngineFixture.NewTiny();
        await using var engine = new ServingEngine(model, null, new EngineOptions());
        using var source = new CancellationTokenSource();
        // Cancelled from the engine thread itself as the 5th token is sampled: no race with a fast engine.
        engine.LogitsObserver = (_, index, generated, _) => { if (index == 0 && generated == 4) source.Cancel(); };
        var handle = engine.Submit(new EngineRequest { PromptTokens = EngineFixture.Tokens(5, 1), MaxTokens = 200, N = 3, Sampling = Sampled }, source.Token);
        var result = await handle.CollectAsync().WaitAsync(EngineFixture.Timeout);
        Assert.All(result.Choices, c => Assert.Equal(FinishReason.Cancelled, c.FinishReason));
        Assert.All(result.Choices, c => Assert.Equal(5, c.Tokens.Length));
        Assert.Equal(0, await engine.InspectAsync(() => { engine.Blocks.Validate(); return engine.Blocks.UsedBlocks; }));
    }

    [Fact]
    public async Task CancellingAQueuedRequestEndsItWithoutRunningIt()
    {
        using var model = EngineFixture.NewTiny();
        await using var engine = new ServingEngine(model, null, new EngineOptions());
        RequestHandle handle;
        using (engine.HoldSteps())
        {
            handle = engine.Submit(new EngineRequest { PromptTokens = [1, 2, 3], MaxTokens = 10, N = 2 });
            handle.Cancel();
        }
        var result = await handle.CollectAsync().WaitAsync(EngineFixture.Timeout);
        Assert.All(result.Choices, c => Assert.Equal(FinishReason.Cancelled, c.FinishReason));
        Assert.All(result.Choices, c => Assert.Empty(c.Tokens));
        Assert.Equal(0, engine.Stats.Steps);
    }

    [Fact]
    public async Task BadRequestsAreRefusedAtSubmitNamingTheField()
    {
        using var model = EngineFixture.NewTiny();
        await using var engine = new ServingEngine(model, null, new EngineOptions());
        EngineRequest Ok() => new() { PromptTokens = [1, 2, 3] };
        Assert.Contains("prompt", Assert.Throws<ArgumentException>(() => engine.Submit(Ok() with { PromptTokens = [] })).Message);
        Assert.Contains("token 64", Assert.Throws<ArgumentException>(() => engine.Submit(Ok() with { PromptTokens = [1, 64] })).Message);
        Assert.Contains("logprobs", Assert.Throws<ArgumentException>(() => engine.Submit(Ok() with { Logprobs = 21 })).Message);
        Assert.Contains("n:", Assert.Throws<ArgumentException>(() => engine.Submit(Ok() with { N = 0 })).Message);
        Assert.Contains("max_tokens", Assert.Throws<ArgumentException>(() => engine.Submit(Ok() with { MaxTokens = -1 })).Message);
        Assert.Contains("tokenizer", Assert.Throws<ArgumentException>(() => engine.Submit(Ok() with { Stop = ["x"] })).Message);
        Assert.Contains("context", Assert.Throws<ArgumentException>(() => engine.Submit(Ok() with { PromptTokens = new int[256] })).Message);
        Assert.Contains("logit_bias", Assert.Throws<ArgumentException>(() => engine.Submit(Ok() with { LogitBias = new Dictionary<int, float> { [70] = 1 } })).Message);
        Assert.Contains("[-100, 100]", Assert.Throws<ArgumentException>(() => engine.Submit(Ok() with { LogitBias = new Dictionary<int, float> { [1] = float.NaN } })).Message);
        Assert.Contains("temperature", Assert.Throws<ArgumentException>(() => engine.Submit(Ok() with { Sampling = new SamplingOptions { Temperature = -1 } })).Message);
    }

    [Fact]
    public async Task AFullQueueRefusesWithOverloaded()
    {
        using var model = EngineFixture.NewTiny();
        await using var engine = new ServingEngine(model, null, new EngineOptions { MaxQueuedRequests = 2 });
        var request = new EngineRequest { PromptTokens = [1, 2, 3], MaxTokens = 2 };
        RequestHandle[] accepted;
        using (engine.HoldSteps())
        {
            accepted = [engine.Submit(request), engine.Submit(request)];
            Assert.Throws<EngineOverloadedException>(() => engine.Submit(request));
        }
        foreach (var h in accepted) Assert.Equal(2, (await h.CollectAsync().WaitAsync(EngineFixture.Timeout)).Choices[0].Tokens.Length);
    }

    [Fact]
    public async Task RequestsInFlightEndCancelledWhenTheEngineStops()
    {
        using var model = EngineFixture.NewTiny();
        var engine = new ServingEngine(model, null, new EngineOptions());
        RequestHandle handle;
        using (engine.HoldSteps()) handle = engine.Submit(new EngineRequest { PromptTokens = [1, 2, 3], MaxTokens = 100 });
        await engine.DisposeAsync();
        var result = await handle.CollectAsync().WaitAsync(EngineFixture.Timeout);
        Assert.Equal(FinishReason.Cancelled, result.Choices[0].FinishReason);
        Assert.Throws<ObjectDisposedException>(() => engine.Submit(new EngineRequest { PromptTokens = [1] }));
    }
}
