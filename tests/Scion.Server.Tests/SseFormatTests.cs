using System.Text;
using System.Text.Json;

namespace Scion.Server.Tests;

/// <summary>The raw bytes of streams against OpenAI's format: <c>data: {json}\n\n</c> events, one id and created,
/// the role in the first delta only, finish_reason in the last choice chunk, the usage chunk with empty choices,
/// <c>data: [DONE]\n\n</c> last; and an error after streaming began as a <c>data: {"error": ...}</c> event.</summary>
public sealed class SseFormatTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ServerFixture F => shared.Fixture;

    /// <summary>The stream's events (checked for framing) as parsed JSON, [DONE] excluded.</summary>
    private static async Task<List<JsonElement>> StreamAsync(HttpClient http, string path, string json)
    {
        using var response = await http.SendAsync(Http.Post(path, json), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        string text = Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync());
        Assert.EndsWith("\n\ndata: [DONE]\n\n", text);
        var events = text.Split("\n\n");
        Assert.Equal("", events[^1]);
        Assert.Equal("data: [DONE]", events[^2]);
        var chunks = new List<JsonElement>();
        foreach (var e in events[..^2])
        {
            Assert.StartsWith("data: ", e);
            Assert.DoesNotContain('\n', e);
            Assert.DoesNotContain('\r', e);
            chunks.Add(JsonDocument.Parse(e["data: ".Length..]).RootElement);
        }
        Assert.NotEmpty(chunks);
        return chunks;
    }

    private static void SameIdAndCreated(List<JsonElement> chunks, string idPrefix, string obj)
    {
        string id = chunks[0].GetProperty("id").GetString()!;
        Assert.StartsWith(idPrefix, id);
        long created = chunks[0].GetProperty("created").GetInt64();
        foreach (var c in chunks)
        {
            Assert.Equal(id, c.GetProperty("id").GetString());
            Assert.Equal(created, c.GetProperty("created").GetInt64());
            Assert.Equal(obj, c.GetProperty("object").GetString());
            Assert.Equal(ServerFixture.ModelId, c.GetProperty("model").GetString());
        }
    }

    [Fact]
    public async Task A_chat_stream_is_framed_as_OpenAI_sends_it()
    {
        const string body = """{"model":"stories260K","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":12,"temperature":0,"ignore_eos":true""";
        var chunks = await StreamAsync(F.Http, "/v1/chat/completions", body + ""","stream":true,"stream_options":{"include_usage":true}}""");
        SameIdAndCreated(chunks, "chatcmpl-", "chat.completion.chunk");
        var usage = chunks[^1];
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(12, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var choices = chunks[..^1];
        var text = new StringBuilder();
        for (int i = 0; i < choices.Count; i++)
        {
            var c = choices[i];
            Assert.Equal(JsonValueKind.Null, c.GetProperty("usage").ValueKind);
            var choice = Assert.Single(c.GetProperty("choices").EnumerateArray());
            Assert.Equal(0, choice.GetProperty("index").GetInt32());
            var delta = choice.GetProperty("delta");
            Assert.Equal(i == 0, delta.TryGetProperty("role", out var role));
            if (i == 0) Assert.Equal("assistant", role.GetString());
            if (delta.TryGetProperty("content", out var content)) text.Append(content.GetString());
            var finish = choice.GetProperty("finish_reason");
            if (i == choices.Count - 1) Assert.Equal("length", finish.GetString());
            else Assert.Equal(JsonValueKind.Null, finish.ValueKind);
        }
        var whole = await Http.PostAsync(F.Http, "/v1/chat/completions", body + "}");
        Assert.Equal(whole.Json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), text.ToString());
    }

    [Fact]
    public async Task A_completions_stream_is_framed_as_OpenAI_sends_it()
    {
        const string body = """{"model":"stories260K","prompt":"Once upon a time","max_tokens":10,"temperature":0,"ignore_eos":true""";
        var chunks = await StreamAsync(F.Http, "/v1/completions", body + ""","stream":true,"stream_options":{"include_usage":true}}""");
        SameIdAndCreated(chunks, "cmpl-", "text_completion");
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(10, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var text = new StringBuilder();
        var choices = chunks[..^1];
        for (int i = 0; i < choices.Count; i++)
        {
            var choice = Assert.Single(choices[i].GetProperty("choices").EnumerateArray());
            text.Append(choice.GetProperty("text").GetString());
            var finish = choice.GetProperty("finish_reason");
            if (i == choices.Count - 1) Assert.Equal("length", finish.GetString());
            else Assert.Equal(JsonValueKind.Null, finish.ValueKind);
        }
        var whole = await Http.PostAsync(F.Http, "/v1/completions", body + "}");
        Assert.Equal(whole.Json.GetProperty("choices")[0].GetProperty("text").GetString(), text.ToString());

        // Without include_usage there is no usage chunk and no usage field.
        var plain = await StreamAsync(F.Http, "/v1/completions", body + ""","stream":true}""");
        Assert.All(plain, c => Assert.False(c.TryGetProperty("usage", out _)));
        Assert.All(plain, c => Assert.Equal(1, c.GetProperty("choices").GetArrayLength()));
    }

    [Fact]
    public async Task An_error_after_the_stream_began_is_a_data_error_event_then_done()
    {
        await using var f = await ServerFixture.StartAsync();
        // An adapter that registers (it has a config file) but cannot load: the failure comes after the role chunk.
        string broken = Path.Combine(f.AdaptersDir, "broken");
        Directory.CreateDirectory(broken);
        File.WriteAllText(Path.Combine(broken, "adapter_config.json"), "this is not json");
        f.Host.Adapters!.Register("broken");
        var chunks = await StreamAsync(f.Http, "/v1/chat/completions", """{"model":"broken","messages":[{"role":"user","content":"hi"}],"stream":true}""");
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var error = chunks[^1].GetProperty("error");
        Assert.Contains("broken", error.GetProperty("message").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Equal(2, chunks.Count);
    }
}
