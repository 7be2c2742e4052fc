using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Scion.Server.Http;
using Scion.Server.Requests;
using Scion.Serving.Engine;

namespace Scion.Server.Endpoints;

/// <summary>POST /v1/chat/completions, whole or streamed as chat.completion.chunk events.</summary>
internal static class ChatEndpoint
{
    public static async Task Handle(HttpContext context, ServerState state)
    {
        var host = state.RequireHost();
        var cancel = context.RequestAborted;
        var fields = await JsonFields.ReadAsync(context.Request, cancel);
        var request = ChatRequest.Parse(fields, host, state.Options);
        var submission = Submission.Start(host.Engine, [request.Request], cancel);
        string id = ChoiceErrors.NewId("chatcmpl-");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (request.Stream) await StreamAsync(context, host, request, submission, id, created);
        else await WholeAsync(context, host, request, submission, id, created);
    }

    private static async Task WholeAsync(HttpContext context, ModelHost host, ChatRequest request, Submission submission, string id, long created)
    {
        var result = (await submission.CollectAsync(context.RequestAborted))[0];
        ChoiceErrors.ThrowIfFailed(result.Choices);
        var body = Json.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("object", "chat.completion");
            w.WriteNumber("created", created);
            w.WriteString("model", request.Model);
            w.WriteStartArray("choices");
            for (int i = 0; i < result.Choices.Count; i++)
            {
                var c = result.Choices[i];
                w.WriteStartObject();
                w.WriteNumber("index", i);
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                w.WriteString("content", c.Text);
                w.WriteNull("refusal");
                w.WriteEndObject();
                if (request.Request.Logprobs is null) w.WriteNull("logprobs");
                else Json.ChatLogprobs(w, host.Tokenizer, c.Logprobs);
                w.WriteString("finish_reason", Json.Reason(c.FinishReason));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            Json.Usage(w, result.Usage);
            w.WriteEndObject();
        });
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    private static async Task StreamAsync(HttpContext context, ModelHost host, ChatRequest request, Submission submission, string id, long created)
    {
        var sse = new SseWriter(context.Response, context.RequestAborted);
        bool usage = request.IncludeUsage;
        void Head(Utf8JsonWriter w)
        {
            w.WriteString("id", id);
            w.WriteString("object", "chat.completion.chunk");
            w.WriteNumber("created", created);
            w.WriteString("model", request.Model);
        }
        byte[] Chunk(int index, string? role, string? content, TokenLogprob? logprob, FinishReason? finish) => Json.Write(w =>
        {
            w.WriteStartObject();
            Head(w);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", index);
            w.WriteStartObject("delta");
            if (role is not null) w.WriteString("role", role);
            if (content is not null) w.WriteString("content", content);
            w.WriteEndObject();
            if (logprob is null) w.WriteNull("logprobs");
            else Json.ChatLogprobs(w, host.Tokenizer, [logprob]);
            if (finish is null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", Json.Reason(finish.Value));
            w.WriteEndObject();
            w.WriteEndArray();
            if (usage) w.WriteNull("usage");
            w.WriteEndObject();
        });

        await StreamErrors.RunAsync(sse, submission, async () =>
        {
            // The role comes first, in a delta of its own per choice, as OpenAI sends it.
            for (int i = 0; i < request.Request.N; i++) await sse.WriteAsync(Chunk(i, "assistant", "", null, null));
            await foreach (var (_, e) in submission.ReadAsync(context.RequestAborted))
            {
                switch (e)
                {
                    case TokenEvent t when t.Text.Length > 0 || t.Logprob is not null:
                        await sse.WriteAsync(Chunk(t.Index, null, t.Text, t.Logprob, null));
                        break;
                    case FinishEvent { Reason: FinishReason.Error } f:
                        throw ChoiceErrors.From(f.Error);
                    case FinishEvent { Reason: FinishReason.Cancelled }:
                        return;
                    case FinishEvent f:
                        if (f.Text.Length > 0) await sse.WriteAsync(Chunk(f.Index, null, f.Text, null, null));
                        await sse.WriteAsync(Chunk(f.Index, null, null, null, f.Reason));
                        break;
                    case UsageEvent u when usage:
                        await sse.WriteAsync(Json.Write(w =>
                        {
                            w.WriteStartObject();
                            Head(w);
                            w.WriteStartArray("choices");
                            w.WriteEndArray();
                            Json.Usage(w, u.Usage);
                            w.WriteEndObject();
                        }));
                        break;
                }
            }
            await sse.DoneAsync();
        });
    }
}
