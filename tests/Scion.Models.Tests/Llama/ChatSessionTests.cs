using Scion.Models.Generation;
using Scion.Models.Loading;
using Scion.Models.Sampling;
using Scion.Testing;

namespace Scion.Models.Tests.Llama;

public class ChatSessionTests
{
    private static readonly GenerationOptions Greedy = new() { MaxTokens = 12, Sampling = SamplingOptions.Greedy };

    [Fact]
    public void SecondTurnReusesTheCacheAndMatchesAFreshSession()
    {
        using var loaded = ModelLoader.Load(BundledModel.Stories260K);
        string template = File.ReadAllText(SharedData.Path("chat-templates", "microsoft-Phi-3.5-mini-instruct.jinja"));
        var session = new ChatSession(loaded.Model, loaded.Tokenizer!, template);
        var first = session.Send("Once upon a time", Greedy);
        int cachedAfterFirst = session.CachedTokens;
        var second = session.Send("The dog ran", Greedy);
        // Only the new turn was prefilled, not the whole conversation.
        Assert.True(second.PromptTokens < session.Encode(false).Length - first.Tokens.Length, $"prefilled {second.PromptTokens}");
        Assert.True(cachedAfterFirst > 0);

        var fresh = new ChatSession(loaded.Model, loaded.Tokenizer!, template);
        fresh.Send("Once upon a time", Greedy);
        var again = fresh.Send("The dog ran", Greedy);
        Assert.Equal(second.Tokens, again.Tokens);
        Assert.Equal(4, session.Messages.Count);
    }

    /// <summary>The reply a fresh cache gives for <paramref name="prompt"/>: greedy, up to <paramref name="max"/> tokens,
    /// ending at an end-of-generation token, with every position prefilled from zero.</summary>
    private static int[] FreshGreedy(LoadedModel loaded, int[] prompt, int max)
    {
        var model = loaded.Model;
        var cache = new Scion.Models.KvCache.PagedKvCache(model.Config, model.Config.ContextLength);
        var logits = model.Forward(new Scion.Models.Llama.ForwardBatch().AddSequence(0, prompt, 0), cache);
        var reply = new List<int>();
        for (int i = 0; i < Math.Min(max, model.Config.ContextLength - prompt.Length); i++)
        {
            int next = new Sampler(SamplingOptions.Greedy).Sample(logits, []);
            if (loaded.Tokenizer!.IsEndOfGeneration(next)) break;
            reply.Add(next);
            logits = model.Forward(new Scion.Models.Llama.ForwardBatch().Add(0, next, prompt.Length + i, true), cache);
        }
        return [.. reply];
    }

    /// <summary>The prompt a session renders for a history (the fallback template, then the tokenizer's BOS rule).</summary>
    private static int[] EncodeHistory(LoadedModel loaded, IEnumerable<(string Role, string Content)> messages)
    {
        var template = Scion.Models.Tokenization.Templates.ChatTemplate.Parse(ChatSession.FallbackTemplate);
        var t = loaded.Tokenizer!;
        string text = template.RenderChat(messages.ToList(), true, t.TokenText(t.BosId), t.EosId >= 0 ? t.TokenText(t.EosId) : "");
        var ids = t.Encode(text, addSpecial: false, parseSpecial: true);
        return t.AddBos && (ids.Length == 0 || ids[0] != t.BosId) ? [t.BosId, .. ids] : ids;
    }

    [Fact]
    public void AfterResetTheCachedTokensOfTheOldConversationAreNotReused()
    {
        using var loaded = ModelLoader.Load(BundledModel.Stories260K);
        var session = new ChatSession(loaded.Model, loaded.Tokenizer!, null);
        session.Send("Once upon a time", Greedy);
        session.Reset();
        // The new history shares only the template's opening tokens with what is cached: the rest must be recomputed.
        var reply = session.Send("The dog ran to the park", Greedy);
        var fresh = new ChatSession(loaded.Model, loaded.Tokenizer!, null).Send("The dog ran to the park", Greedy);
        Assert.Equal(fresh.Tokens, reply.Tokens);
        Assert.Equal(FreshGreedy(loaded, EncodeHistory(loaded, session.Messages.Take(1)), Greedy.MaxTokens), reply.Tokens);
    }

    [Fact]
    public void EveryTurnEqualsAFreshPrefillOfTheWholeHistoryEvenWhenOldTurnsAreDropped()
    {
        using var loaded = ModelLoader.Load(BundledModel.Stories260K);
        // A window small enough that turns are dropped: the history then diverges from the cached tokens at its start.
        var session = new ChatSession(loaded.Model, loaded.Tokenizer!, null, system: "Be kind.", contextSize: 96);
        int dropped = 0;
        for (int turn = 0; turn < 6; turn++)
        {
            var r = session.Send($"Tell me about the dog number {turn}", Greedy with { MaxTokens = 16 });
            dropped += session.DroppedMessages;
            var prompt = EncodeHistory(loaded, session.Messages.Take(session.Messages.Count - 1));
            Assert.Equal(FreshGreedy(loaded, prompt, Math.Min(16, 96 - prompt.Length)), r.Tokens);
        }
        Assert.True(dropped > 0);
    }

    [Fact]
    public void ResetForgetsHistoryButKeepsSystem()
    {
        using var loaded = ModelLoader.Load(BundledModel.Stories260K);
        var session = new ChatSession(loaded.Model, loaded.Tokenizer!, null, system: "Be kind.");
        session.Send("Hi", Greedy);
        session.Reset();
        Assert.Single(session.Messages);
        Assert.Equal("system", session.Messages[0].Role);
    }

    [Fact]
    public void CancelledReplyStopsAndStaysInHistory()
    {
        using var loaded = ModelLoader.Load(BundledModel.Stories260K);
        var session = new ChatSession(loaded.Model, loaded.Tokenizer!, null);
        using var cts = new CancellationTokenSource();
        int pieces = 0;
        var r = session.Send("Once upon a time", Greedy with { MaxTokens = 50 }, _ => { if (++pieces == 3) cts.Cancel(); }, cts.Token);
        Assert.Equal("cancelled", r.FinishReason);
        Assert.True(r.Tokens.Length <= 4);
        Assert.Equal("assistant", session.Messages[^1].Role);
    }

    [Fact]
    public void LongConversationDropsOldestTurnsButKeepsTheSystemPrompt()
    {
        using var loaded = ModelLoader.Load(SharedData.Path("models", "stories260K", "stories260K.gguf"));
        // A small window so a few turns overflow it: before, the session threw once the history outgrew the context.
        var session = new ChatSession(loaded.Model, loaded.Tokenizer!, null, system: "Be kind.", contextSize: 96);
        int dropped = 0;
        for (int turn = 0; turn < 8; turn++)
        {
            var r = session.Send($"Tell me about the dog number {turn}", Greedy with { MaxTokens = 16 });
            Assert.True(r.PromptTokens + r.Tokens.Length <= session.ContextSize);
            dropped += session.DroppedMessages;
            Assert.True(session.CachedTokens <= session.ContextSize, $"turn {turn}: {session.CachedTokens} cached tokens");
        }
        Assert.True(dropped > 0);
        Assert.Equal(("system", "Be kind."), session.Messages[0]);
        Assert.Equal("user", session.Messages[1].Role);
        Assert.Equal("Tell me about the dog number 7", session.Messages[^2].Content);
    }

    [Fact]
    public void OneMessageLongerThanTheContextIsAnErrorAndLeavesHistoryAlone()
    {
        using var loaded = ModelLoader.Load(SharedData.Path("models", "stories260K", "stories260K.gguf"));
        var session = new ChatSession(loaded.Model, loaded.Tokenizer!, null, contextSize: 32);
        var e = Assert.Throws<ArgumentException>(() => session.Send(string.Join(' ', Enumerable.Repeat("dog", 64)), Greedy));
        Assert.Contains("context of 32", e.Message);
        Assert.Empty(session.Messages);
    }
}
