using System.Text.Json;
using System.Text.Json.Nodes;
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
        var prompt = RenderMessages(f, host);
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

    /// <summary>The request's messages (and tools) as prompt tokens; /tokenize uses it too (no room needed there).</summary>
    public static int[] RenderMessages(JsonFields f, ModelHost host, bool addGenerationPrompt = true, bool forGeneration = true)
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
        try
        {
            return ChatPrompt.Render(host, list, f["tools"], addGenerationPrompt, forGeneration);
        }
        catch (ArgumentException e)
        {
            throw ApiError.FromArgument(e);
        }
    }
}
