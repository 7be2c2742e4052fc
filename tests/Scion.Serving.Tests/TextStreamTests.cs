using Scion.Models.Generation;
using Scion.Models.Loading;
using Scion.Models.Sampling;
using Scion.Serving.Engine;
using Scion.Testing;

namespace Scion.Serving.Tests;

/// <summary>On the bundled stories260K with its tokenizer: text deltas, end-of-generation and stop strings agree
/// with the single-sequence <see cref="TextGenerator"/>, also when many prompts share the steps.</summary>
public class TextStreamTests
{
    private static readonly string[] Prompts = ["Once upon a time", "The little dog", "Lily and Ben went to the park", "One day, a bird"];

    private static LoadedModel Load() => ModelLoader.Load(SharedData.Path("models", "stories260K", "stories260K.gguf"));

    [Fact]
    public async Task MixedRequestsStreamWhatTheSingleSequenceGeneratorGives()
    {
        using var loaded = Load();
        var tokenizer = loaded.RequireTokenizer();
        var generator = new TextGenerator(loaded.Model, tokenizer);
        // Sampled with seeds: each request's own RNG must give the generator's picks.
        SamplingOptions Sampling(int i) => new() { Temperature = 1f, Seed = (ulong)(40 + i) };
        var expected = Prompts.Select((p, i) => generator.Generate(tokenizer.Encode(p), new GenerationOptions { MaxTokens = 400, Sampling = Sampling(i) })).ToList();

        await using var rec = new EngineFixture.Recording(loaded.Model, new EngineOptions { MaxBatchTokens = 8 }, tokenizer: tokenizer);
        var results = await rec.RunTogether(Prompts.Select((p, i) => new EngineRequest
        {
            PromptTokens = tokenizer.Encode(p), MaxTokens = 400, Sampling = Sampling(i),
        }));
        for (int i = 0; i < Prompts.Length; i++)
        {
            var choice = results[i].Result.Choices[0];
            Assert.Equal(expected[i].Tokens, choice.Tokens);
            Assert.Equal(expected[i].Text, choice.Text);
            Assert.Equal(expected[i].FinishReason, choice.FinishReason == FinishReason.Stop ? "stop" : "length");
        }
        // 400 is beyond stories260K's context: every choice also ends exactly where the generator's context ends.
        Assert.All(results, r => Assert.Equal(loaded.Model.Config.ContextLength, r.Result.Usage.PromptTokens + r.Result.Usage.CompletionTokens));
    }

    [Fact]
    public async Task TheEndTokenEndsAChoiceWithStopUnlessIgnored()
    {
        using var loaded = Load();
        var tokenizer = loaded.RequireTokenizer();
        await using var engine = new ServingEngine(loaded.Model, tokenizer);
        var prompt = tokenizer.Encode(Prompts[1]);
        // A logit bias makes the end token the greedy pick at once (stories260K rarely ends within its context).
        var request = new EngineRequest
        {
            PromptTokens = prompt, MaxTokens = 30, Sampling = SamplingOptions.Greedy,
            LogitBias = new Dictionary<int, float> { [tokenizer.EosId] = 100 },
        };
        var ended = await engine.Submit(request).CollectAsync().WaitAsync(EngineFixture.Timeout);
        Assert.Equal(FinishReason.Stop, ended.Choices[0].FinishReason);
        Assert.Empty(ended.Choices[0].Tokens); // the end token itself is not part of the output
        var ignored = await engine.Submit(request with { IgnoreEos = true }).CollectAsync().WaitAsync(EngineFixture.Timeout);
        Assert.Equal(FinishReason.Length, ignored.Choices[0].FinishReason);
        Assert.Equal(Enumerable.Repeat(tokenizer.EosId, 30), ignored.Choices[0].Tokens);
        // Banning a token keeps it out of a greedy run that would otherwise pick it first.
        var free = await engine.Submit(request with { LogitBias = null }).CollectAsync().WaitAsync(EngineFixture.Timeout);
        int first = free.Choices[0].Tokens[0];
        var banned = await engine.Submit(request with { LogitBias = new Dictionary<int, float> { [first] = -100 } }).CollectAsync().WaitAsync(EngineFixture.Timeout);
        Assert.NotEqual(first, banned.Choices[0].Tokens[0]);
    }

    [Fact]
    public async Task AStopStringEndsTheChoiceAndIsNotReturned()
    {
        using var loaded = Load();
        var tokenizer = loaded.RequireTokenizer();
        var generator = new TextGenerator(loaded.Model, tokenizer);
        var prompt = tokenizer.Encode(Prompts[0]);
        var free = generator.Generate(prompt, new GenerationOptions { MaxTokens = 60, Sampling = SamplingOptions.Greedy, IgnoreEos = true });
        // A stop string from the middle of what the model says anyway.
        string stop = free.Text.Substring(free.Text.Length / 2, 4);
        var expected = generator.Generate(prompt, new GenerationOptions { MaxTokens = 60, Sampling = SamplingOptions.Greedy, IgnoreEos = true, Stop = [stop] });

        await using var engine = new ServingEngine(loaded.Model, tokenizer);
        var result = await engine.Submit(new EngineRequest
        {
            PromptTokens = prompt, MaxTokens = 60, Sampling = SamplingOptions.Greedy, IgnoreEos = true, Stop = [stop],
        }).CollectAsync().WaitAsync(EngineFixture.Timeout);
        var choice = result.Choices[0];
        Assert.Equal(FinishReason.Stop, choice.FinishReason);
        Assert.Equal(expected.Text, choice.Text);
        Assert.DoesNotContain(stop, choice.Text);
        Assert.StartsWith(choice.Text, free.Text);
        Assert.Equal(expected.Tokens, choice.Tokens);
    }
}
