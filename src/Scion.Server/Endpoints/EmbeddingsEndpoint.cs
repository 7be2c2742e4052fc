using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Server.Http;
using Scion.Server.Requests;

namespace Scion.Server.Endpoints;

/// <summary>
/// POST /v1/embeddings: each input's final hidden states (after the output norm) mean-pooled over its tokens and
/// L2-normalised; "encoding_format" float or base64 (little-endian float32, as OpenAI sends). The forward runs on the
/// engine thread between steps (<see cref="Scion.Serving.Engine.ServingEngine.RunExclusiveAsync{T}"/>), one input
/// at a time with a KV cache of its own, so streams in flight pause for one prompt's prefill at most.
/// </summary>
internal static class EmbeddingsEndpoint
{
    private const int MaxInputs = 256;

    public static async Task Handle(HttpContext context, ServerState state)
    {
        var host = state.RequireHost();
        var f = await JsonFields.ReadAsync(context.Request, context.RequestAborted);
        string model = f.String("model") ?? host.Id;
        string? adapterName = host.ResolveAdapter(model);
        string format = f.String("encoding_format") ?? "float";
        if (format is not ("float" or "base64")) throw ApiError.BadField("encoding_format", $"encoding_format: expected 'float' or 'base64', got '{format}'.");
        if (f.Int("dimensions", 1, int.MaxValue) is { } dims && dims != host.Model.Config.Dim)
            throw ApiError.BadField("dimensions", $"dimensions: this model's embeddings have {host.Model.Config.Dim} dimensions; shortening is not supported, got {dims}.");
        f.String("user");
        var inputs = Inputs(f, host);

        using var lease = adapterName is null ? null : await host.Adapters!.AcquireAsync(adapterName, context.RequestAborted);
        var vectors = new List<float[]>(inputs.Count);
        foreach (var ids in inputs)
        {
            context.RequestAborted.ThrowIfCancellationRequested();
            vectors.Add(await host.Engine.RunExclusiveAsync(m => Embed(m, ids, lease?.Adapter)));
        }
        int tokens = inputs.Sum(i => i.Length);
        await ModelsEndpoints.WriteJson(context, Json.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            for (int i = 0; i < vectors.Count; i++)
            {
                w.WriteStartObject();
                w.WriteString("object", "embedding");
                w.WriteNumber("index", i);
                if (format == "base64") w.WriteBase64String("embedding", MemoryMarshal.AsBytes(vectors[i].AsSpan()));
                else
                {
                    w.WriteStartArray("embedding");
                    foreach (float v in vectors[i]) w.WriteNumberValue(v);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("model", model);
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", tokens);
            w.WriteNumber("total_tokens", tokens);
            w.WriteEndObject();
            w.WriteEndObject();
        }));
    }

    /// <summary>The mean of the final normed hidden states over the tokens, scaled to unit length. [D]</summary>
    private static float[] Embed(LlamaModel model, int[] ids, Scion.Models.Adapters.LoraAdapter? adapter)
    {
        int d = model.Config.Dim;
        var hidden = model.ForwardHidden(new ForwardBatch().AddSequence(0, ids, 0, adapter), model.NewCache(ids.Length));
        var sum = new double[d];
        for (int t = 0; t < ids.Length; t++)
            for (int i = 0; i < d; i++) sum[i] += hidden[t * d + i];
        double norm = Math.Sqrt(sum.Sum(v => v * v));
        var result = new float[d];
        if (norm > 0) for (int i = 0; i < d; i++) result[i] = (float)(sum[i] / norm);
        return result;
    }

    /// <summary>input: a string, a list of strings, token ids, or lists of token ids (OpenAI's four forms).</summary>
    private static List<int[]> Inputs(JsonFields f, ModelHost host)
    {
        var v = f["input"] ?? throw ApiError.BadField("input", "input: required (a string, a list of strings, token ids or lists of token ids).");
        var inputs = new List<int[]>();
        int[] Text(string s) => s.Length == 0
            ? throw ApiError.BadField("input", "input: an empty string has no tokens to embed.")
            : host.Tokenizer.Encode(s, addSpecial: true, parseSpecial: false);
        if (v.GetValueKind() == JsonValueKind.String) inputs.Add(Text(v.GetValue<string>()));
        else if (v is JsonArray list && list.Count > 0)
        {
            if (list[0]?.GetValueKind() == JsonValueKind.Number) inputs.Add(CompletionRequest.Ids(list, "input"));
            else
                foreach (var item in list)
                {
                    if (item?.GetValueKind() == JsonValueKind.String) inputs.Add(Text(item.GetValue<string>()));
                    else if (item is JsonArray ids && ids.Count > 0) inputs.Add(CompletionRequest.Ids(ids, "input"));
                    else throw JsonFields.Wrong("input", "strings or non-empty lists of token ids in the list", item);
                }
        }
        else throw JsonFields.Wrong("input", "a string, a list of strings, token ids or lists of token ids", v);
        if (inputs.Count > MaxInputs) throw ApiError.BadField("input", $"input: at most {MaxInputs} inputs per request, got {inputs.Count}.");
        int vocab = host.Tokenizer.VocabSize;
        foreach (var ids in inputs)
        {
            if (ids.Length > host.ContextLength)
                throw ApiError.BadField("input", $"input: {ids.Length} tokens; the model's context is {host.ContextLength}.");
            foreach (int id in ids)
                if ((uint)id >= (uint)vocab) throw ApiError.BadField("input", $"input: token id {id} is outside the vocabulary of {vocab} tokens.");
        }
        return inputs;
    }
}
