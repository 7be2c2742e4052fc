using System.Text;
using Scion.Models.Loading;
using Scion.Models.Sampling;
using Scion.Serving.Adapters;
using Scion.Serving.Engine;
using Scion.Testing;

namespace Scion.Server.Tests;

/// <summary>Keys, body and queue limits, the max_tokens cap, prompt length, loading, and a client that goes away.</summary>
public sealed class LimitsTests
{
    private const string Key = "test-key-1";
    private const string Chat = """{"messages":[{"role":"user","content":"Once upon a time"}],"temperature":0""";

    [Fact]
    public async Task Keys_guard_every_endpoint_but_health()
    {
        await using var f = await ServerFixture.StartAsync(new ServerOptions { ApiKeys = [Key, "other-key"] });
        Assert.Equal(200, (int)(await f.Http.GetAsync("/health")).StatusCode);
        var missing = await Http.SendAsync(f.Http, new HttpRequestMessage(HttpMethod.Get, "/v1/models"));
        Assert.Equal(401, missing.Status);
        Assert.Equal("invalid_api_key", missing.ErrorCode);
        Assert.Equal("authentication_error", missing.Json.GetProperty("error").GetProperty("type").GetString());
        Assert.True(missing.Response.Headers.Contains("x-request-id"));
        Assert.Equal(401, (await Http.PostAsync(f.Http, "/v1/chat/completions", Chat + "}", "wrong-key")).Status);
        Assert.Equal(401, (await Http.PostAsync(f.Http, "/v1/chat/completions", Chat + "}", Key + "x")).Status);
        Assert.Equal(200, (await Http.PostAsync(f.Http, "/v1/chat/completions", Chat + ",\"max_tokens\":2}", Key)).Status);
        Assert.Equal(200, (await Http.PostAsync(f.Http, "/v1/completions", """{"prompt":"Lily","max_tokens":2}""", "other-key")).Status);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413()
    {
        await using var f = await ServerFixture.StartAsync(new ServerOptions { MaxBodyBytes = 1024 });
        string big = $$"""{"prompt":"{{new string('a', 4000)}}","max_tokens":1}""";
        var r = await Http.PostAsync(f.Http, "/v1/completions", big);
        Assert.Equal(413, r.Status);
        Assert.Equal("body_too_large", r.ErrorCode);
        Assert.Equal(200, (await Http.PostAsync(f.Http, "/v1/completions", """{"prompt":"Lily","max_tokens":1}""")).Status);
    }

    [Fact]
    public async Task A_full_queue_is_429_with_retry_after()
    {
        await using var f = await ServerFixture.StartAsync(engine: new EngineOptions { MaxQueuedRequests = 1 });
        var engine = f.Host.Engine;
        RequestHandle first;
        using (engine.HoldSteps())
        {
            // The held engine takes nothing in: this request fills the one queue slot.
            first = engine.Submit(new EngineRequest { PromptTokens = [1, 2, 3], MaxTokens = 2, Sampling = SamplingOptions.Greedy });
            var r = await Http.PostAsync(f.Http, "/v1/chat/completions", Chat + ",\"max_tokens\":2}");
            Assert.Equal(429, r.Status);
            Assert.Equal("queue_full", r.ErrorCode);
            Assert.Equal("rate_limit_error", r.Json.GetProperty("error").GetProperty("type").GetString());
            Assert.Equal("1", Assert.Single(r.Response.Headers.GetValues("Retry-After")));
        }
        await first.CollectAsync().WaitAsync(ServerFixture.Timeout);
        Assert.Equal(200, (await Http.PostAsync(f.Http, "/v1/chat/completions", Chat + ",\"max_tokens\":2}")).Status);
    }

    [Fact]
    public async Task Max_tokens_above_the_cap_or_past_the_context_is_400_naming_the_field()
    {
        await using var f = await ServerFixture.StartAsync(new ServerOptions { MaxTokensCap = 8 });
        var over = await Http.PostAsync(f.Http, "/v1/completions", """{"prompt":"Lily","max_tokens":9}""");
        Assert.Equal(400, over.Status);
        Assert.Equal("max_tokens", over.ErrorParam);
        var chatOver = await Http.PostAsync(f.Http, "/v1/chat/completions", Chat + ",\"max_completion_tokens\":9}");
        Assert.Equal("max_completion_tokens", chatOver.ErrorParam);
        Assert.Equal("max_tokens", (await Http.PostAsync(f.Http, "/v1/chat/completions", Chat + ",\"max_tokens\":9}")).ErrorParam);
        // Without max_tokens, chat generates up to the cap, not to the end of the context.
        var capped = await Http.PostAsync(f.Http, "/v1/chat/completions", Chat + ",\"ignore_eos\":true}");
        Assert.Equal(200, capped.Status);
        Assert.Equal(8, capped.Json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("length", capped.Json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());

        int context = f.Host.ContextLength;
        string ids(int n) => "[" + string.Join(',', Enumerable.Repeat(5, n)) + "]";
        var tooLong = await Http.PostAsync(f.Http, "/v1/completions", $$"""{"prompt":{{ids(context + 10)}},"max_tokens":1}""");
        Assert.Equal(400, tooLong.Status);
        Assert.Equal("prompt", tooLong.ErrorParam);
        Assert.Contains(context.ToString(System.Globalization.CultureInfo.InvariantCulture), tooLong.Json.GetProperty("error").GetProperty("message").GetString());
        var noRoom = await Http.PostAsync(f.Http, "/v1/completions", $$"""{"prompt":{{ids(context - 4)}},"max_tokens":8}""");
        Assert.Equal(400, noRoom.Status);
        Assert.Equal("max_tokens", noRoom.ErrorParam);
        var longChat = await Http.PostAsync(f.Http, "/v1/chat/completions", $$"""{"messages":[{"role":"user","content":"{{string.Concat(Enumerable.Repeat("Lily ran. ", context))}}"}]}""");
        Assert.Equal(400, longChat.Status);
        Assert.Equal("messages", longChat.ErrorParam);
    }

    [Fact]
    public async Task Health_is_503_until_the_model_is_set()
    {
        await using var server = new ScionServer(new ServerOptions { Port = 0 });
        await server.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = ServerFixture.Timeout };
        var health = await Http.SendAsync(http, new HttpRequestMessage(HttpMethod.Get, "/health"));
        Assert.Equal(503, health.Status);
        Assert.Equal("loading", health.Json.GetProperty("status").GetString());
        var models = await Http.SendAsync(http, new HttpRequestMessage(HttpMethod.Get, "/v1/models"));
        Assert.Equal(503, models.Status);
        Assert.Equal("model_loading", models.ErrorCode);
        var loaded = ModelLoader.Load(BundledModel.Stories260K);
        server.SetModel(ModelHostFactory.Create(loaded, new ModelHostSettings { ModelPath = BundledModel.Stories260K }));
        Assert.Equal(200, (int)(await http.GetAsync("/health")).StatusCode);
        Assert.Equal(200, (int)(await http.GetAsync("/v1/models")).StatusCode);
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_cancels_its_request_and_frees_its_kv()
    {
        await using var f = await ServerFixture.StartAsync();
        var engine = f.Host.Engine;
        var baseline = await engine.WhenStatsAsync(s => s.RunningSequences == 0 && s.WaitingSequences == 0).WaitAsync(ServerFixture.Timeout);
        using var cancelled = new ManualResetEventSlim();
        engine.CancelObserver = _ => cancelled.Set();
        // The engine waits at the third token until the server has cancelled, so the request cannot finish first.
        engine.LogitsObserver = (_, _, index, _) =>
        {
            if (index == 2) cancelled.Wait(ServerFixture.Timeout);
        };
        const int maxTokens = 64;
        // No draining on dispose: disposing the response closes the connection at once.
        using var http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = new Uri(f.Url), Timeout = ServerFixture.Timeout };
        var response = await http.SendAsync(Http.Post("/v1/chat/completions", Chat + $$""","max_tokens":{{maxTokens}},"ignore_eos":true,"stream":true}"""),
            HttpCompletionOption.ResponseHeadersRead);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(), Encoding.UTF8);
        Assert.StartsWith("data: {", await reader.ReadLineAsync());
        response.Dispose();

        var after = await engine.WhenStatsAsync(s => s.RequestsFinished > baseline.RequestsFinished
                && s.RunningSequences == 0 && s.WaitingSequences == 0 && s.KvBlocksUsed == baseline.KvBlocksUsed)
            .WaitAsync(ServerFixture.Timeout);
        Assert.True(cancelled.IsSet);
        Assert.InRange(after.GeneratedTokens - baseline.GeneratedTokens, 0, maxTokens - 1);
        Assert.Equal(baseline.RequestsFinished + 1, after.RequestsFinished);
    }

    [Fact]
    public async Task A_named_adapter_does_not_open_its_siblings_to_runtime_loads()
    {
        string parent = Path.Combine(Path.GetTempPath(), $"scion-confine-{Guid.NewGuid():N}");
        string root = Path.Combine(parent, "root");
        Directory.CreateDirectory(root);
        try
        {
            var loaded = ModelLoader.Load(BundledModel.Stories260K);
            ServerFixture.WriteAdapter(loaded, Path.Combine(parent, "named"), seed: 1);
            ServerFixture.WriteAdapter(loaded, Path.Combine(parent, "sibling"), seed: 2);
            ServerFixture.WriteAdapter(loaded, Path.Combine(root, "inside"), seed: 3);
            await using var host = ModelHostFactory.Create(loaded, new ModelHostSettings
            {
                ModelPath = BundledModel.Stories260K,
                Adapters = [("named", Path.Combine(parent, "named"))],
                AdaptersDir = root,
            });
            var store = host.Adapters!;
            Assert.Equal(["inside", "named"], store.List().Select(a => a.Name));
            var refused = Assert.Throws<AdapterException>(() => store.Register("sibling", Path.Combine(parent, "sibling")));
            Assert.Contains("outside the adapter roots", refused.Message);
            Assert.Throws<AdapterException>(() => store.Register("sibling"));
            // The named one still serves.
            var result = await host.Engine.Submit(new EngineRequest { PromptTokens = [1, 2], MaxTokens = 2, Adapter = "named", Sampling = SamplingOptions.Greedy })
                .CollectAsync().WaitAsync(ServerFixture.Timeout);
            Assert.Equal(FinishReason.Length, result.Choices[0].FinishReason);
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }
}
