using System.Text;
using System.Text.Json;
using Scion.Models.Tokenization;
using Scion.Serving.Engine;

namespace Scion.Server.Endpoints;

/// <summary>Writes JSON bodies with Utf8JsonWriter (no reflection, field order as OpenAI's).</summary>
internal static class Json
{
    /// <summary>Quotes as \" and text as UTF-8, as OpenAI writes them (the default encoder's \u0022 is valid but
    /// hard to read in curl); HTML-safe escaping is pointless in an API body.</summary>
    public static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Write(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Json.Options)) body(w);
        return buffer.ToArray();
    }

    public static string Reason(FinishReason reason) => reason switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        _ => "stop",
    };

    public static void Usage(Utf8JsonWriter w, RequestUsage u)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", u.PromptTokens);
        w.WriteNumber("completion_tokens", u.CompletionTokens);
        w.WriteNumber("total_tokens", u.PromptTokens + u.CompletionTokens);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", u.CachedTokens);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>A token as text: its bytes (a piece of a multi-byte character shows as U+FFFD, as OpenAI does).</summary>
    public static string TokenText(Tokenizer t, int id) => Encoding.UTF8.GetString(t.TokenBytes(id));

    public static void Bytes(Utf8JsonWriter w, Tokenizer t, int id)
    {
        w.WriteStartArray("bytes");
        foreach (byte b in t.TokenBytes(id)) w.WriteNumberValue(b);
        w.WriteEndArray();
    }

    /// <summary>Chat's logprobs.content entries.</summary>
    public static void ChatLogprobs(Utf8JsonWriter w, Tokenizer t, IEnumerable<TokenLogprob> logprobs)
    {
        w.WriteStartObject("logprobs");
        w.WriteStartArray("content");
        foreach (var lp in logprobs)
        {
            w.WriteStartObject();
            w.WriteString("token", TokenText(t, lp.TokenId));
            w.WriteNumber("logprob", lp.Logprob);
            Bytes(w, t, lp.TokenId);
            w.WriteStartArray("top_logprobs");
            foreach (var top in lp.Top)
            {
                w.WriteStartObject();
                w.WriteString("token", TokenText(t, top.TokenId));
                w.WriteNumber("logprob", top.Logprob);
                Bytes(w, t, top.TokenId);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNull("refusal");
        w.WriteEndObject();
    }

    /// <summary>Completions' legacy logprobs: parallel lists; the prompt's first token (echo) has null.</summary>
    public static void CompletionLogprobs(Utf8JsonWriter w, Tokenizer t, IReadOnlyList<(int Id, TokenLogprob? Logprob)> tokens, int textOffset)
    {
        w.WriteStartObject("logprobs");
        w.WriteStartArray("tokens");
        foreach (var (id, _) in tokens) w.WriteStringValue(TokenText(t, id));
        w.WriteEndArray();
        w.WriteStartArray("token_logprobs");
        foreach (var (_, lp) in tokens) if (lp is null) w.WriteNullValue(); else w.WriteNumberValue(lp.Logprob);
        w.WriteEndArray();
        w.WriteStartArray("top_logprobs");
        foreach (var (_, lp) in tokens)
        {
            if (lp is null) { w.WriteNullValue(); continue; }
            w.WriteStartObject();
            foreach (var top in lp.Top) w.WriteNumber(TokenText(t, top.TokenId), top.Logprob);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("text_offset");
        int offset = textOffset;
        foreach (var (id, _) in tokens)
        {
            w.WriteNumberValue(offset);
            offset += TokenText(t, id).Length;
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
