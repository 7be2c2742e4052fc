using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Scion.Server.Tests;

/// <summary>The stream byte for byte as OpenAI sends it: `data: {json}\n\n` events, one id and created, the role in the
/// first delta, finish_reason in the last, the usage chunk with empty choices, then `data: [DONE]\n\n`.</summary>
public sealed partial class SseFormatTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ServerFixture F => shared.Fixture;

    [GeneratedRegex(@"\A(data: [^\n]+\n\n)+data: \[DONE\]\n\n\z")]
    private static partial Regex EventStream();

    private async Task<(HttpResponseMessage Response, string Body)> Post(string path, object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json") };
        var response = await F.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return (response, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The JSON of every event but [DONE], checked for the framing first.</summary>
    private static List<JsonElement> Events(HttpResponseMessage response, string body)
    {
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Matches(EventStream(), body);
        return [.. body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).SkipLast(1).Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement)];
    }

    [Fact]
    public async Task Chat_stream_is_openai_shaped_and_says_what_the_whole_reply_says()
    {
        var messages = new[] { new { role = "user", content = "Once upon a time" } };
        var (response, body) = await Post("/v1/chat/completions", new
        {
            model = ServerFixture.ModelId, messages, max_tokens = 20, temperature = 0, stream = true, stream_options = new { include_usage = true },
        });
        var events = Events(response, body);
        string id = events[0].GetProperty("id").GetString()!;
        long created = events[0].GetProperty("created").GetInt64();
        Assert.StartsWith("chatcmpl-", id);
        foreach (var e in events)
        {
            Assert.Equal(id, e.GetProperty("id").GetString());
            Assert.Equal(created, e.GetProperty("created").GetInt64());
            Assert.Equal("chat.completion.chunk", e.GetProperty("object").GetString());
            Assert.Equal(ServerFixture.ModelId, e.GetProperty("model").GetString());
        }
        // The last event is the usage chunk: no choices, the token counts.
        var usage = events[^1];
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(20, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var chunks = events.SkipLast(1).Select(e => e.GetProperty("choices")[0]).ToList();
        Assert.Equal("assistant", chunks[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.All(chunks.Skip(1), c => Assert.False(c.GetProperty("delta").TryGetProperty("role", out _)));
        Assert.All(chunks.SkipLast(1), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("finish_reason").ValueKind));
        Assert.Equal("length", chunks[^1].GetProperty("finish_reason").GetString());
        string streamed = string.Concat(chunks.Select(c => c.GetProperty("delta").TryGetProperty("content", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : ""));

        var (wholeResponse, wholeBody) = await Post("/v1/chat/completions", new { model = ServerFixture.ModelId, messages, max_tokens = 20, temperature = 0 });
        Assert.Equal("application/json", wholeResponse.Content.Headers.ContentType?.MediaType);
        var whole = JsonDocument.Parse(wholeBody).RootElement;
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), streamed);
        Assert.Equal(whole.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Completions_stream_without_usage_ends_with_the_finish_reason_then_done()
    {
        var (response, body) = await Post("/v1/completions", new { model = ServerFixture.ModelId, prompt = "Once upon a time", max_tokens = 12, temperature = 0, stream = true });
        var events = Events(response, body);
        Assert.All(events, e => Assert.Equal("text_completion", e.GetProperty("object").GetString()));
        Assert.All(events, e => Assert.Equal(1, e.GetProperty("choices").GetArrayLength()));
        Assert.Equal("length", events[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        string streamed = string.Concat(events.Select(e => e.GetProperty("choices")[0].GetProperty("text").GetString()));
        var (_, wholeBody) = await Post("/v1/completions", new { model = ServerFixture.ModelId, prompt = "Once upon a time", max_tokens = 12, temperature = 0 });
        Assert.Equal(JsonDocument.Parse(wholeBody).RootElement.GetProperty("choices")[0].GetProperty("text").GetString(), streamed);
        Assert.StartsWith(", there was a little girl", streamed);
    }

    [Fact]
    public async Task Completions_take_lists_of_strings_and_token_ids_with_one_choice_per_prompt()
    {
        int[] ids = F.Host.Tokenizer.Encode("Once upon a time", addSpecial: true, parseSpecial: false);
        async Task<string[]> Texts(object prompt, int n = 1)
        {
            var (r, body) = await Post("/v1/completions", new { model = ServerFixture.ModelId, prompt, max_tokens = 6, temperature = 0, n });
            Assert.True(r.IsSuccessStatusCode, body);
            var choices = JsonDocument.Parse(body).RootElement.GetProperty("choices").EnumerateArray().ToList();
            Assert.Equal(Enumerable.Range(0, choices.Count), choices.Select(c => c.GetProperty("index").GetInt32()));
            return [.. choices.Select(c => c.GetProperty("text").GetString()!)];
        }
        string one = (await Texts("Once upon a time"))[0];
        Assert.Equal([one, one], await Texts(new[] { "Once upon a time", "Once upon a time" }));
        Assert.Equal([one], await Texts(ids));
        Assert.Equal([one, one], await Texts(new[] { ids, ids }));
        // n = 2 greedy: two identical choices.
        Assert.Equal([one, one], await Texts("Once upon a time", n: 2));
    }

    [Fact]
    public async Task Echo_and_logprobs_cover_the_prompt_and_every_generated_token()
    {
        var (r, body) = await Post("/v1/completions", new { model = ServerFixture.ModelId, prompt = "Once upon a time", max_tokens = 4, temperature = 0, echo = true, logprobs = 3 });
        Assert.True(r.IsSuccessStatusCode, body);
        var choice = JsonDocument.Parse(body).RootElement.GetProperty("choices")[0];
        Assert.StartsWith("Once upon a time", choice.GetProperty("text").GetString());
        var lp = choice.GetProperty("logprobs");
        int promptTokens = JsonDocument.Parse(body).RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        var tokens = lp.GetProperty("tokens").EnumerateArray().ToList();
        var tops = lp.GetProperty("top_logprobs").EnumerateArray().ToList();
        Assert.Equal(promptTokens + 4, tokens.Count);
        Assert.Equal(tokens.Count, lp.GetProperty("token_logprobs").GetArrayLength());
        // Greedy: each generated token is its position's most likely one, listed among 3 alternatives.
        for (int i = promptTokens; i < tokens.Count; i++)
        {
            var alternatives = tops[i].EnumerateObject().ToList();
            Assert.Equal(3, alternatives.Count);
            double chosen = lp.GetProperty("token_logprobs")[i].GetDouble();
            Assert.True(chosen <= 0);
            Assert.Equal(alternatives.Max(a => a.Value.GetDouble()), chosen, 1e-5);
        }
    }
}
