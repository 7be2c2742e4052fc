using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Scion.Server.Http;
using Scion.Server.Requests;

namespace Scion.Server.Endpoints;

/// <summary>
/// POST /tokenize and POST /detokenize in vLLM's shapes: {"prompt": text} or {"messages": [...]} (rendered with the
/// chat template, as the chat endpoint does) → {"tokens", "count", "max_model_len"}; {"tokens": [...]} → {"prompt"}.
/// </summary>
internal static class TokenizeEndpoints
{
    public static async Task Tokenize(HttpContext context, ServerState state)
    {
        var host = state.RequireHost();
        var f = await JsonFields.ReadAsync(context.Request, context.RequestAborted);
        if (f.String("model") is { } model) host.ResolveAdapter(model);
        int[] ids;
        if (f.Has("messages"))
        {
            if (f.Has("prompt")) throw ApiError.BadField("prompt", "prompt: give either prompt or messages, not both.");
            ids = ChatRequest.RenderMessages(f, host, f.Bool("add_generation_prompt") ?? true, forGeneration: false);
        }
        else
        {
            string prompt = f.String("prompt") ?? throw ApiError.BadField("prompt", "prompt: required (a string), or messages (a list of chat messages).");
            ids = host.Tokenizer.Encode(prompt, addSpecial: f.Bool("add_special_tokens") ?? true, parseSpecial: false);
        }
        await ModelsEndpoints.WriteJson(context, Json.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("tokens");
            foreach (int id in ids) w.WriteNumberValue(id);
            w.WriteEndArray();
            w.WriteNumber("count", ids.Length);
            w.WriteNumber("max_model_len", host.ContextLength);
            w.WriteEndObject();
        }));
    }

    public static async Task Detokenize(HttpContext context, ServerState state)
    {
        var host = state.RequireHost();
        var f = await JsonFields.ReadAsync(context.Request, context.RequestAborted);
        if (f.String("model") is { } model) host.ResolveAdapter(model);
        if (f["tokens"] is not JsonArray list) throw JsonFields.Wrong("tokens", "a list of token ids", f["tokens"]);
        int[] ids = CompletionRequest.Ids(list, "tokens");
        int vocab = host.Tokenizer.VocabSize;
        foreach (int id in ids)
            if ((uint)id >= (uint)vocab) throw ApiError.BadField("tokens", $"tokens: id {id} is outside the vocabulary of {vocab} tokens.");
        string text = host.Tokenizer.Decode(ids);
        await ModelsEndpoints.WriteJson(context, Json.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("prompt", text);
            w.WriteEndObject();
        }));
    }
}
