using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Scion.Server.Http;
using Scion.Server.Requests;
using Scion.Serving.Engine;

namespace Scion.Server.Endpoints;

/// <summary>POST /v1/completions, whole or streamed as text_completion events. Choice index = prompt × n + choice.</summary>
internal static class CompletionsEndpoint
{
    public static async Task Handle(HttpContext context, ServerState state)
    {
        var host = state.RequireHost();
        var cancel = context.RequestAborted;
        var fields = await JsonFields.ReadAsync(context.Request, cancel);
        var request = CompletionRequest.Parse(fields, host, state.Options);
        var submission = Submission.Start(host.Engine, request.Requests, cancel);
        string id = ChoiceErrors.NewId("cmpl-");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (request.Stream) await StreamAsync(context, host, request, submission, id, created);
        else await WholeAsync(context, host, request, submission, id, created);
    }

    private static async Task WholeAsync(HttpContext context, ModelHost host, CompletionRequest request, Submission submission, string id, long created)
    {
        var results = await submission.CollectAsync(context.RequestAborted);
        foreach (var r in results) ChoiceErrors.ThrowIfFailed(r.Choices);
        var body = Json.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("object", "text_completion");
            w.WriteNumber("created", created);
            w.WriteString("model", request.Model);
            w.WriteStartArray("choices");
            for (int r = 0; r < results.Length; r++)
            {
                var engineRequest = request.Requests[r];
                // The prompt as text, without special tokens (a BOS the tokenizer added is not something the client wrote).
                string promptText = request.Echo ? host.Tokenizer.Decode(engineRequest.PromptTokens.ToArray(), skipSpecial: true) : "";
                for (int i = 0; i < results[r].Choices.Count; i++)
                {
                    var c = results[r].Choices[i];
                    w.WriteStartObject();
                    w.WriteString("text", promptText + c.Text);
                    w.WriteNumber("index", r * engineRequest.N + i);
                    if (engineRequest.Logprobs is null) w.WriteNull("logprobs");
                    else
                    {
                        var tokens = new List<(int, TokenLogprob?)>();
                        if (request.Echo && results[r].PromptLogprobs is { } prompt)
                            for (int t = 0; t < prompt.Count; t++) tokens.Add((engineRequest.PromptTokens[t], prompt[t]));
                        tokens.AddRange(c.Logprobs.Select(lp => (lp.TokenId, (TokenLogprob?)lp)));
                        Json.CompletionLogprobs(w, host.Tokenizer, tokens, 0);
                    }
                    w.WriteString("finish_reason", Json.Reason(c.FinishReason));
                    w.WriteEndObject();
                }
            }
            w.WriteEndArray();
            var usage = new RequestUsage(results.Sum(r => r.Usage.PromptTokens), results.Sum(r => r.Usage.CompletionTokens), results.Sum(r => r.Usage.CachedTokens));
            Json.Usage(w, usage);
            w.WriteEndObject();
        });
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    private static async Task StreamAsync(HttpContext context, ModelHost host, CompletionRequest request, Submission submission, string id, long created)
    {
        var sse = new SseWriter(context.Response, context.RequestAborted);
        bool includeUsage = request.IncludeUsage;
        void Head(Utf8JsonWriter w)
        {
            w.WriteString("id", id);
            w.WriteString("object", "text_completion");
            w.WriteNumber("created", created);
            w.WriteString("model", request.Model);
        }
        byte[] Chunk(int index, string text, IReadOnlyList<(int, TokenLogprob?)>? logprobs, FinishReason? finish) => Json.Write(w =>
        {
            w.WriteStartObject();
            Head(w);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteString("text", text);
            w.WriteNumber("index", index);
            if (logprobs is null) w.WriteNull("logprobs"); else Json.CompletionLogprobs(w, host.Tokenizer, logprobs, 0);
            if (finish is null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", Json.Reason(finish.Value));
            w.WriteEndObject();
            w.WriteEndArray();
            if (includeUsage) w.WriteNull("usage");
            w.WriteEndObject();
        });

        await StreamErrors.RunAsync(sse, submission, async () =>
        {
            int prompt = 0, completion = 0, cached = 0;
            await foreach (var (r, e) in submission.ReadAsync(context.RequestAborted))
            {
                var engineRequest = request.Requests[r];
                bool logprobs = engineRequest.Logprobs is not null;
                switch (e)
                {
                    case PromptLogprobsEvent p:
                        // Echo with logprobs: the prompt comes first, once per choice of this prompt.
                        var tokens = p.Logprobs.Select((lp, t) => (engineRequest.PromptTokens[t], lp)).ToArray();
                        for (int i = 0; i < engineRequest.N; i++)
                            await sse.WriteAsync(Chunk(r * engineRequest.N + i, host.Tokenizer.Decode(engineRequest.PromptTokens.ToArray(), skipSpecial: true), tokens, null));
                        break;
                    case TokenEvent t when t.Text.Length > 0 || t.Logprob is not null:
                        await sse.WriteAsync(Chunk(r * engineRequest.N + t.Index, t.Text, logprobs && t.Logprob is not null ? [(t.TokenId, t.Logprob)] : null, null));
                        break;
                    case FinishEvent { Reason: FinishReason.Error } f:
                        throw ChoiceErrors.From(f.Error);
                    case FinishEvent { Reason: FinishReason.Cancelled }:
                        return;
                    case FinishEvent f:
                        await sse.WriteAsync(Chunk(r * engineRequest.N + f.Index, f.Text, null, f.Reason));
                        break;
                    case UsageEvent u:
                        (prompt, completion, cached) = (prompt + u.Usage.PromptTokens, completion + u.Usage.CompletionTokens, cached + u.Usage.CachedTokens);
                        break;
                }
            }
            if (includeUsage)
                await sse.WriteAsync(Json.Write(w =>
                {
                    w.WriteStartObject();
                    Head(w);
                    w.WriteStartArray("choices");
                    w.WriteEndArray();
                    Json.Usage(w, new RequestUsage(prompt, completion, cached));
                    w.WriteEndObject();
                }));
            await sse.DoneAsync();
        });
    }
}
