using System.Text.Json;
using System.Text.Json.Nodes;
using Scion.Server.Http;
using Scion.Serving.Engine;

namespace Scion.Server.Requests;

/// <summary>A parsed POST /v1/completions: one engine request per prompt (choice index = prompt × n + choice).</summary>
internal sealed record CompletionRequest(string Model, IReadOnlyList<EngineRequest> Requests, bool Stream, bool IncludeUsage, bool Echo)
{
    public static CompletionRequest Parse(JsonFields f, ModelHost host, ServerOptions options)
    {
        string model = f.String("model") ?? host.Id;
        string? adapter = host.ResolveAdapter(model);
        var prompts = Prompts(f, host);
        var shape = GenerationFields.Read(f, host, options.MaxTokensCap, out string maxTokensField);
        bool echo = f.Bool("echo") ?? false;
        int? logprobs = f.Int("logprobs", 0, EngineRequest.MaxLogprobs);
        bool stream = f.Bool("stream") ?? false;
        bool includeUsage = f.IncludeUsage();
        if (includeUsage && !stream) throw ApiError.BadField("stream_options", "stream_options: only allowed when stream is true.");
        if (f.Has("best_of") && f.Int("best_of", 1, 1) != 1) throw ApiError.BadField("best_of", "best_of: only 1 is supported.");
        var requests = prompts.Select(p => shape with
        {
            PromptTokens = p,
            MaxTokens = GenerationFields.MaxTokensFor(shape.MaxTokens, p.Length, host, options.MaxTokensCap, defaultMaxTokens: 16, maxTokensField),
            Adapter = adapter,
            Logprobs = logprobs,
            EchoPromptLogprobs = echo && logprobs is not null,
        }).ToArray();
        return new CompletionRequest(model, requests, stream, includeUsage, echo);
    }

    /// <summary>prompt: a string, a list of strings, a list of token ids, or a list of such lists.</summary>
    private static List<int[]> Prompts(JsonFields f, ModelHost host)
    {
        var v = f["prompt"] ?? throw ApiError.BadField("prompt", "prompt: required (a string, a list of strings, token ids or lists of token ids).");
        var prompts = new List<int[]>();
        if (v.GetValueKind() == JsonValueKind.String) prompts.Add(Encode(host, v.GetValue<string>()));
        else if (v is JsonArray list && list.Count > 0)
        {
            var first = list[0]?.GetValueKind();
            if (first == JsonValueKind.Number) prompts.Add(Ids(list, "prompt"));
            else
                foreach (var item in list)
                {
                    if (item?.GetValueKind() == JsonValueKind.String) prompts.Add(Encode(host, item.GetValue<string>()));
                    else if (item is JsonArray ids && ids.Count > 0) prompts.Add(Ids(ids, "prompt"));
                    else throw JsonFields.Wrong("prompt", "strings or non-empty lists of token ids in the list", item);
                }
        }
        else throw JsonFields.Wrong("prompt", "a string, a list of strings, token ids or lists of token ids", v);
        if (prompts.Count > 64) throw ApiError.BadField("prompt", $"prompt: at most 64 prompts per request, got {prompts.Count}.");
        foreach (var p in prompts)
            if (p.Length >= host.ContextLength)
                throw ApiError.BadField("prompt", $"prompt: {p.Length} tokens; the model's context is {host.ContextLength}, so at most {host.ContextLength - 1} fit with room to generate.");
        return prompts;
    }

    private static int[] Encode(ModelHost host, string text)
    {
        var ids = host.Tokenizer.Encode(text, addSpecial: true, parseSpecial: false);
        if (ids.Length == 0) throw ApiError.BadField("prompt", "prompt: the text encodes to no tokens.");
        return ids;
    }

    public static int[] Ids(JsonArray list, string field)
    {
        var ids = new int[list.Count];
        for (int i = 0; i < ids.Length; i++)
        {
            if (list[i]?.GetValueKind() != JsonValueKind.Number || !list[i]!.AsValue().TryGetValue(out int id))
                throw JsonFields.Wrong(field, "token ids (integers)", list[i]);
            ids[i] = id;
        }
        return ids;
    }
}
