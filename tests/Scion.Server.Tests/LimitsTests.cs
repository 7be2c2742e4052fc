using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Scion.Serving.Engine;

namespace Scion.Server.Tests;

/// <summary>Keys, body and token limits, a full queue, loading, and clients that go away — each answered with
/// OpenAI's error object and the right status.</summary>
public sealed class LimitsTests
{
    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static object Chat(int maxTokens = 8, bool stream = false) => new
    {
        model = ServerFixture.ModelId, messages = new[] { new { role = "user", content = "Once upon a time" } }, max_tokens = maxTokens, temperature = 0, stream,
    };

    /// <summary>The status and the error object's fields; fails when the body is not that object.</summary>
    private static async Task<(HttpStatusCode Status, string? Code, string? Param, string Message)> Error(HttpResponseMessage r)
    {
        var e = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(e.GetProperty("type").GetString()));
        Assert.True(r.Headers.Contains("x-request-id"));
        return (r.StatusCode, e.GetProperty("code").GetString(), e.GetProperty("param").GetString(), e.GetProperty("message").GetString()!);
    }

    [Fact]
    public async Task Keys_are_required_everywhere_but_health()
    {
        await using var f = await ServerFixture.StartAsync(new ServerOptions { ApiKeys = ["sk-one", "sk-two"] });
        Assert.Equal(HttpStatusCode.OK, (await f.Http.GetAsync("/health")).StatusCode);
        var none = await Error(await f.Http.GetAsync("/v1/models"));
        Assert.Equal((HttpStatusCode.Unauthorized, "invalid_api_key"), (none.Status, none.Code));
        var wrong = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(Chat()) };
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-one-but-longer");
        var wrongResponse = await f.Http.SendAsync(wrong);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongResponse.StatusCode);
        Assert.Equal("Bearer", wrongResponse.Headers.WwwAuthenticate.Single().Scheme);
        foreach (var key in new[] { "sk-one", "sk-two" })
        {
            var ok = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(Chat()) };
            ok.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            Assert.Equal(HttpStatusCode.OK, (await f.Http.SendAsync(ok)).StatusCode);
        }
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413()
    {
        await using var f = await ServerFixture.StartAsync(new ServerOptions { MaxBodyBytes = 4096 });
        string big = new('x', 8192);
        var e = await Error(await f.Http.PostAsync("/v1/completions", Json(new { prompt = big, max_tokens = 1 })));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, e.Status);
        Assert.Contains("4096", e.Message);
    }

    [Fact]
    public async Task Max_tokens_above_the_cap_and_prompts_beyond_the_context_are_400_naming_the_field()
    {
        await using var f = await ServerFixture.StartAsync(new ServerOptions { MaxTokensCap = 16 });
        var cap = await Error(await f.Http.PostAsync("/v1/chat/completions", Json(Chat(maxTokens: 17))));
        Assert.Equal((HttpStatusCode.BadRequest, "max_tokens"), (cap.Status, cap.Param));
        Assert.Contains("16", cap.Message);
        Assert.Equal(HttpStatusCode.OK, (await f.Http.PostAsync("/v1/chat/completions", Json(Chat(maxTokens: 16)))).StatusCode);
        string longPrompt = string.Join(' ', Enumerable.Repeat("Lily saw a big red ball.", 400));
        var tooLong = await Error(await f.Http.PostAsync("/v1/completions", Json(new { model = ServerFixture.ModelId, prompt = longPrompt, max_tokens = 4 })));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.Status);
        Assert.Contains("context", tooLong.Message);
    }

    [Fact]
    public async Task A_full_queue_is_429_with_retry_after()
    {
        await using var f = await ServerFixture.StartAsync(engine: new EngineOptions { MaxQueuedRequests = 1 });
        // Held, the engine takes nothing in: whichever request reaches the queue first fills it, the other is refused.
        Task<HttpResponseMessage> one, two;
        using (f.Host.Engine.HoldSteps())
        {
            one = f.Http.PostAsync("/v1/chat/completions", Json(Chat()));
            two = f.Http.PostAsync("/v1/chat/completions", Json(Chat()));
            var refused = await (await Task.WhenAny(one, two).WaitAsync(ServerFixture.Timeout));
            var e = await Error(refused);
            Assert.Equal(HttpStatusCode.TooManyRequests, e.Status);
            Assert.Equal("queue_full", e.Code);
            Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
        }
        // Released, the queued one is answered.
        var both = await Task.WhenAll(one, two).WaitAsync(ServerFixture.Timeout);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.TooManyRequests], both.Select(r => r.StatusCode).Order());
    }

    [Fact]
    public async Task Health_and_requests_are_503_until_the_model_is_set()
    {
        await using var server = new ScionServer(new ServerOptions { Port = 0 });
        await server.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = ServerFixture.Timeout };
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/health")).StatusCode);
        var e = await Error(await http.PostAsync("/v1/chat/completions", Json(Chat())));
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "model_loading"), (e.Status, e.Code));
        var missing = await Error(await http.GetAsync("/v1/nothing-here"));
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
    }

    [Fact]
    public async Task A_client_that_goes_away_mid_stream_frees_its_kv_blocks()
    {
        await using var f = await ServerFixture.StartAsync();
        var engine = f.Host.Engine;
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = Json(new { model = ServerFixture.ModelId, prompt = "Once upon a time", max_tokens = 400, ignore_eos = true, temperature = 0, stream = true }),
        };
        var response = await f.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();
        var first = new byte[64];
        Assert.True(await stream.ReadAsync(first) > 0);
        // The client vanishes with hundreds of tokens still to come.
        response.Dispose();
        // Wait on the engine (each probe runs between two steps) until it holds nothing: bounded, no sleeps.
        (int Running, int Blocks) state = (-1, -1);
        for (int probe = 0; probe < 100_000 && state != (0, 0); probe++)
            state = await engine.InspectAsync(() => (engine.Blocks.SequenceCount, engine.Blocks.UsedBlocks));
        Assert.Equal((0, 0), state);
        Assert.True(engine.Stats.GeneratedTokens < 400, $"{engine.Stats.GeneratedTokens} tokens generated: the request ran to the end");
    }
}
