using System.Text.Json;
using System.Text.Json.Nodes;
using Scion.Models.Tokenization.Templates;
using Scion.Server.Http;
using Scion.Serving.Engine;

namespace Scion.Server.Requests;

/// <summary>A parsed POST /v1/chat/completions: the messages rendered with the model's chat template, then tokenized.</summary>
internal sealed record ChatRequest(string Model, EngineRequest Request, bool Stream, bool IncludeUsage)
{
    public static ChatRequest Parse(JsonFields f, ModelHost host, ServerOptions options)
    {
        string model = f.String("model") ?? host.Id;
        string? adapter = host.ResolveAdapter(model);
        RejectResponseFormat(f);
        var prompt = Render(f, host);
        var shape = GenerationFields.Read(f, host, options.MaxTokensCap, out string maxTokensField, maxTokensField: "max_completion_tokens");
        int? top = f.Int("top_logprobs", 0, EngineRequest.MaxLogprobs);
        bool logprobs = f.Bool("logprobs") ?? false;
        if (top is not null && !logprobs) throw ApiError.BadField("top_logprobs", "top_logprobs: needs logprobs set to true.");
        bool stream = f.Bool("stream") ?? false;
        bool includeUsage = f.IncludeUsage();
        if (includeUsage && !stream) throw ApiError.BadField("stream_options", "stream_options: only allowed when stream is true.");
        var request = shape with
        {
            PromptTokens = prompt,
            Adapter = adapter,
            Logprobs = logprobs ? top ?? 0 : null,
            MaxTokens = GenerationFields.MaxTokensFor(shape.MaxTokens, prompt.Length, host, options.MaxTokensCap, defaultMaxTokens: null, maxTokensField),
        };
        return new ChatRequest(model, request, stream, includeUsage);
    }

    /// <summary>Structured output is a later issue: asking for it gets a clear 400, never silently free text.</summary>
    private static void RejectResponseFormat(JsonFields f)
    {
        var v = f["response_format"];
        if (v is null) return;
        if (v is not JsonObject o || o["type"]?.GetValueKind() != JsonValueKind.String) throw JsonFields.Wrong("response_format", "an object with a type", v);
        string type = o["type"]!.GetValue<string>();
        if (type == "text") return;
        throw ApiError.BadField("response_format", $"response_format: type '{type}' is not supported yet (constrained JSON output is not implemented); only 'text' is.");
    }

    private static int[] Render(JsonFields f, ModelHost host)
    {
        if (f["messages"] is not JsonArray messages || messages.Count == 0)
            throw JsonFields.Wrong("messages", "a non-empty list of messages", f["messages"]);
        var list = new List<JsonObject>();
        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i] is not JsonObject m) throw JsonFields.Wrong($"messages[{i}]", "an object", messages[i]);
            if (m["role"]?.GetValueKind() != JsonValueKind.String) throw JsonFields.Wrong($"messages[{i}].role", "a string", m["role"]);
            var copy = (JsonObject)m.DeepClone();
            // Content as a list of parts ({"type":"text","text":...}) is joined into one string: templates expect text.
            if (m["content"] is JsonArray parts)
                copy["content"] = string.Concat(parts.Select((p, j) => p is JsonObject part && part["type"]?.GetValue<string>() == "text" && part["text"]?.GetValueKind() == JsonValueKind.String
                    ? part["text"]!.GetValue<string>()
                    : throw ApiError.BadField($"messages[{i}].content", $"messages[{i}].content[{j}]: only text parts are supported.")));
            else if (m["content"] is { } c && c.GetValueKind() != JsonValueKind.String)
                throw JsonFields.Wrong($"messages[{i}].content", "a string or a list of text parts", c);
            list.Add(copy);
        }
        if (f["tools"] is { } tools && tools is not JsonArray) throw JsonFields.Wrong("tools", "a list", tools);
        var tk = host.Tokenizer;
        string bos = tk.BosId >= 0 ? tk.TokenText(tk.BosId) : "", eos = tk.EosId >= 0 ? tk.TokenText(tk.EosId) : "";
        // The variables transformers' apply_chat_template passes; tools and documents are None when absent.
        var variables = new JsonObject
        {
            ["messages"] = new JsonArray([.. list]),
            ["tools"] = f["tools"]?.DeepClone(),
            ["documents"] = null,
            ["add_generation_prompt"] = true,
            ["bos_token"] = bos,
            ["eos_token"] = eos,
        };
        string text;
        try
        {
            text = host.Template.Render(variables);
        }
        catch (TemplateException e)
        {
            throw ApiError.BadField("messages", $"messages: the chat template failed on them: {e.Message}");
        }
        var ids = tk.Encode(text, addSpecial: false, parseSpecial: true);
        // Templates usually print BOS themselves; add the id only when the tokenizer wants one and it is absent.
        if (tk.AddBos && tk.BosId >= 0 && (ids.Length == 0 || ids[0] != tk.BosId)) ids = [tk.BosId, .. ids];
        if (ids.Length >= host.ContextLength)
            throw ApiError.BadField("messages", $"messages: the rendered conversation is {ids.Length} tokens; the model's context is {host.ContextLength}.");
        return ids;
    }
}
