using System.ClientModel;
using OpenAI.Chat;
using Scion.Serving.Engine;

#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK

namespace Scion.Server.Tests;

/// <summary>The official OpenAI .NET SDK against the real server: what it parses is what OpenAI clients see.</summary>
public sealed class OpenAiSdkTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ServerFixture F => shared.Fixture;

    private static ChatCompletionOptions Greedy(int maxTokens = 24) => new() { Temperature = 0, MaxOutputTokenCount = maxTokens };

    [Fact]
    public async Task Models_list_the_base_first_then_the_adapter()
    {
        var models = (await F.Client().GetOpenAIModelClient().GetModelsAsync()).Value;
        Assert.Equal([ServerFixture.ModelId, ServerFixture.AdapterName], models.Select(m => m.Id));
        var one = (await F.Client().GetOpenAIModelClient().GetModelAsync(ServerFixture.AdapterName)).Value;
        Assert.Equal(ServerFixture.AdapterName, one.Id);
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => F.Client().GetOpenAIModelClient().GetModelAsync("nope"));
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task Greedy_chat_matches_the_engine_on_the_same_prompt_streamed_or_not()
    {
        var chat = F.Client().GetChatClient(ServerFixture.ModelId);
        List<ChatMessage> messages = [new UserChatMessage("Once upon a time")];
        var whole = (await chat.CompleteChatAsync(messages, Greedy())).Value;
        var streamed = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(messages, Greedy()))
        {
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
            finish ??= update.FinishReason;
        }
        // The independent side: the engine itself on the template-rendered prompt.
        string rendered = "<|im_start|>user\nOnce upon a time<|im_end|>\n<|im_start|>assistant\n";
        var tk = F.Host.Tokenizer;
        var ids = tk.Encode(rendered, addSpecial: false, parseSpecial: true);
        if (tk.AddBos && ids[0] != tk.BosId) ids = [tk.BosId, .. ids];
        var direct = await F.Host.Engine.Submit(new EngineRequest { PromptTokens = ids, MaxTokens = 24, Sampling = Scion.Models.Sampling.SamplingOptions.Greedy })
            .CollectAsync().WaitAsync(ServerFixture.Timeout);
        Assert.Equal(direct.Choices[0].Text, whole.Content[0].Text);
        Assert.Equal(whole.Content[0].Text, streamed.ToString());
        Assert.Equal(whole.FinishReason, finish);
        Assert.Equal(ids.Length, whole.Usage.InputTokenCount);
        Assert.Equal(direct.Choices[0].Tokens.Length, whole.Usage.OutputTokenCount);
        Assert.NotEmpty(whole.Content[0].Text);
    }

    [Fact]
    public async Task An_adapter_is_selected_by_model_name_and_changes_the_text()
    {
        List<ChatMessage> messages = [new UserChatMessage("Once upon a time")];
        var base_ = (await F.Client().GetChatClient(ServerFixture.ModelId).CompleteChatAsync(messages, Greedy())).Value;
        var adapted = (await F.Client().GetChatClient(ServerFixture.AdapterName).CompleteChatAsync(messages, Greedy())).Value;
        Assert.Equal(ServerFixture.AdapterName, adapted.Model);
        Assert.NotEqual(base_.Content[0].Text, adapted.Content[0].Text);
    }

    [Fact]
    public async Task Chat_logprobs_list_every_token_with_the_asked_alternatives()
    {
        var options = Greedy(8);
        options.IncludeLogProbabilities = true;
        options.TopLogProbabilityCount = 3;
        var result = (await F.Client().GetChatClient(ServerFixture.ModelId).CompleteChatAsync([new UserChatMessage("Lily")], options)).Value;
        Assert.Equal(result.Usage.OutputTokenCount, result.ContentTokenLogProbabilities.Count);
        foreach (var lp in result.ContentTokenLogProbabilities)
        {
            Assert.Equal(3, lp.TopLogProbabilities.Count);
            Assert.True(lp.LogProbability <= 0);
            // Greedy: the chosen token is the best alternative.
            Assert.Equal(lp.TopLogProbabilities[0].Token, lp.Token);
            Assert.Equal(lp.TopLogProbabilities[0].LogProbability, lp.LogProbability);
        }
    }

    [Fact]
    public async Task Seeded_sampling_repeats_and_errors_map_to_statuses()
    {
        var chat = F.Client().GetChatClient(ServerFixture.ModelId);
        var seeded = new ChatCompletionOptions { Temperature = 1, Seed = 7, MaxOutputTokenCount = 16 };
        var a = (await chat.CompleteChatAsync([new UserChatMessage("Tom")], seeded)).Value.Content[0].Text;
        var b = (await chat.CompleteChatAsync([new UserChatMessage("Tom")], seeded)).Value.Content[0].Text;
        Assert.Equal(a, b);

        var unknown = await Assert.ThrowsAsync<ClientResultException>(() => F.Client().GetChatClient("gpt-4").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(404, unknown.Status);
        var hot = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { Temperature = 5 }));
        Assert.Equal(400, hot.Status);
        Assert.Contains("temperature", hot.Message);
        var schema = new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("x", BinaryData.FromString("{\"type\":\"object\"}")) };
        var structured = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")], schema));
        Assert.Equal(400, structured.Status);
        Assert.Contains("response_format", structured.Message);
    }
}
