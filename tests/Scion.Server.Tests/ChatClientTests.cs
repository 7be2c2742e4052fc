using Microsoft.Extensions.AI;
using Scion.Models.Loading;
using Scion.Testing;

namespace Scion.Server.Tests;

/// <summary>Microsoft.Extensions.AI both ways: the OpenAI SDK's IChatClient against the real server and
/// <see cref="ScionChatClient"/> in process give the same greedy text, whole and streamed.</summary>
public sealed class ChatClientTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ServerFixture F => shared.Fixture;

    private static readonly List<ChatMessage> Prompt = [new(ChatRole.User, "Once upon a time")];

    private static ChatOptions Greedy(string model) => new() { ModelId = model, Temperature = 0, Seed = 3, MaxOutputTokens = 24 };

    private IChatClient OverHttp(string model) => F.Client().GetChatClient(model).AsIChatClient();

    private sealed record Reply(string Text, ChatFinishReason? Finish, long? Input, long? Output);

    private static async Task<(Reply Whole, Reply Streamed)> AskBothWays(IChatClient client, ChatOptions options)
    {
        var whole = await client.GetResponseAsync(Prompt, options).WaitAsync(ServerFixture.Timeout);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(Prompt, options)) updates.Add(u);
        var streamed = updates.ToChatResponse();
        return (new(whole.Text, whole.FinishReason, whole.Usage?.InputTokenCount, whole.Usage?.OutputTokenCount),
            new(string.Concat(updates.Select(u => u.Text)), streamed.FinishReason, streamed.Usage?.InputTokenCount, streamed.Usage?.OutputTokenCount));
    }

    [Theory]
    [InlineData(ServerFixture.ModelId)]
    [InlineData(ServerFixture.AdapterName)]
    public async Task Greedy_text_is_the_same_over_http_and_in_process_whole_and_streamed(string model)
    {
        using var local = new ScionChatClient(F.Host);
        var (httpWhole, httpStreamed) = await AskBothWays(OverHttp(model), Greedy(model));
        var (localWhole, localStreamed) = await AskBothWays(local, Greedy(model));
        Assert.NotEmpty(localWhole.Text);
        Assert.Equal(httpWhole, localWhole);
        Assert.Equal(localWhole, localStreamed);
        // Over HTTP the streamed usage needs include_usage, which the SDK asks for: the same counts come back.
        Assert.Equal(httpWhole, httpStreamed);
        Assert.Equal(ChatFinishReason.Length, localWhole.Finish);
    }

    [Fact]
    public async Task The_adapter_changes_the_text_and_the_response_names_the_model()
    {
        using var local = new ScionChatClient(F.Host);
        var base_ = await local.GetResponseAsync(Prompt, Greedy(ServerFixture.ModelId));
        var adapted = await local.GetResponseAsync(Prompt, Greedy(ServerFixture.AdapterName));
        Assert.NotEqual(base_.Text, adapted.Text);
        Assert.Equal(ServerFixture.AdapterName, adapted.ModelId);
        // The default model is the client's own; an adapter can be the default too.
        using var defaulted = new ScionChatClient(F.Host, ServerFixture.AdapterName);
        var again = await defaulted.GetResponseAsync(Prompt, new ChatOptions { Temperature = 0, Seed = 3, MaxOutputTokens = 24 });
        Assert.Equal(adapted.Text, again.Text);
    }

    [Fact]
    public async Task Stop_sequences_and_seeded_sampling_map_to_the_engine()
    {
        using var local = new ScionChatClient(F.Host);
        var free = await local.GetResponseAsync(Prompt, Greedy(ServerFixture.ModelId));
        string stop = free.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2];
        var options = Greedy(ServerFixture.ModelId);
        options.StopSequences = [stop];
        var stopped = await local.GetResponseAsync(Prompt, options);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);

        var seeded = new ChatOptions { Temperature = 1, TopP = 0.9f, TopK = 20, Seed = 11, MaxOutputTokens = 16, FrequencyPenalty = 0.5f, PresencePenalty = 0.5f };
        var a = await local.GetResponseAsync(Prompt, seeded);
        var b = await OverHttp(ServerFixture.ModelId).GetResponseAsync(Prompt, seeded);
        Assert.Equal(a.Text, (await local.GetResponseAsync(Prompt, seeded)).Text);
        // TopK is no OpenAI field, so the HTTP side samples without it; both repeat for a seed all the same.
        Assert.Equal(b.Text, (await OverHttp(ServerFixture.ModelId).GetResponseAsync(Prompt, seeded)).Text);
    }

    [Fact]
    public async Task A_bad_model_id_or_option_is_a_clear_exception()
    {
        using var local = new ScionChatClient(F.Host);
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => local.GetResponseAsync(Prompt, new ChatOptions { ModelId = "gpt-4" }));
        Assert.Contains("ChatOptions.ModelId: the model 'gpt-4' does not exist", unknown.Message);
        Assert.Contains($"'{ServerFixture.AdapterName}'", unknown.Message);
        await Assert.ThrowsAsync<ArgumentException>(async () =>
        {
            await foreach (var _ in local.GetStreamingResponseAsync(Prompt, new ChatOptions { ModelId = "gpt-4" })) { }
        });
        Assert.Throws<ArgumentException>(() => new ScionChatClient(F.Host, "gpt-4"));
        var hot = await Assert.ThrowsAsync<ArgumentException>(() => local.GetResponseAsync(Prompt, new ChatOptions { Temperature = 5 }));
        Assert.Equal("ChatOptions.Temperature: expected a number in [0, 2], got 5.", hot.Message);
        await Assert.ThrowsAsync<NotSupportedException>(() => local.GetResponseAsync(Prompt, new ChatOptions { ResponseFormat = ChatResponseFormat.Json }));
        // Over HTTP the same mistake is the server's 404, surfaced by the SDK.
        var remote = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => OverHttp("gpt-4").GetResponseAsync(Prompt));
        Assert.Equal(404, remote.Status);
    }

    [Fact]
    public void Metadata_and_services_name_scion_and_the_model()
    {
        using var local = new ScionChatClient(F.Host);
        var meta = local.GetService<ChatClientMetadata>();
        Assert.NotNull(meta);
        Assert.Equal("scion", meta.ProviderName);
        Assert.Equal(ServerFixture.ModelId, meta.DefaultModelId);
        Assert.Same(local, local.GetService<ScionChatClient>());
        Assert.Same(local, local.GetService<IChatClient>());
        Assert.Same(F.Host, local.GetService<ModelHost>());
        Assert.Null(local.GetService<ChatClientMetadata>("keyed"));
        Assert.Null(local.GetService<string>());
    }

    [Fact]
    public async Task Load_gives_a_client_of_its_own_named_for_the_file()
    {
        await using var loaded = ScionChatClient.Load(BundledModel.Stories260K);
        Assert.Equal("stories260K", loaded.Metadata.DefaultModelId);
        using var local = new ScionChatClient(F.Host);
        var options = Greedy("stories260K");
        Assert.Equal((await local.GetResponseAsync(Prompt, options)).Text, (await loaded.GetResponseAsync("Once upon a time", options)).Text);
    }

    [Fact]
    public async Task Cancelling_mid_stream_stops_the_engine_request()
    {
        // An engine of its own, so its token count is this test's alone.
        var loaded = ModelLoader.Load(BundledModel.Stories260K);
        await using var host = ModelHostFactory.Create(loaded, new ModelHostSettings { ModelPath = BundledModel.Stories260K });
        await using var local = new ScionChatClient(host);
        using var cancel = new CancellationTokenSource();
        // The engine thread cancels at the 4th generated token, so the stream cannot have finished first.
        host.Engine.LogitsObserver = (_, _, index, _) => { if (index == 3) Task.Run(cancel.Cancel); };
        var options = new ChatOptions { Temperature = 0, AdditionalProperties = new() { ["ignore_eos"] = true } };
        int updates = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in local.GetStreamingResponseAsync(Prompt, options, cancel.Token)) updates++;
        }).WaitAsync(ServerFixture.Timeout);
        host.Engine.LogitsObserver = null;
        // A later request runs after the cancelled one has left the engine: its tokens and the few before the
        // cancel are all that was generated, far from the rest of the context the first one asked for.
        var after = await local.GetResponseAsync(Prompt, new ChatOptions { Temperature = 0, MaxOutputTokens = 4 }).WaitAsync(ServerFixture.Timeout);
        Assert.Equal(4, after.Usage!.OutputTokenCount);
        long generated = host.Engine.Stats.GeneratedTokens;
        Assert.True(generated < host.ContextLength / 2, $"{generated} tokens generated; the cancelled stream asked for up to {host.ContextLength}");
        Assert.True(updates < host.ContextLength / 2);
    }
}
