using Scion.Models.Generation;
using Scion.Models.Llama;
using Scion.Models.Tokenization;
using Scion.Models.Tokenization.Templates;
using Scion.Server.Http;
using Scion.Serving.Adapters;
using Scion.Serving.Engine;

namespace Scion.Server;

/// <summary>The served model once loaded: its engine, tokenizer, chat template, id and adapters.</summary>
public sealed class ModelHost : IAsyncDisposable
{
    public ModelHost(string id, LlamaModel model, Tokenizer tokenizer, string? chatTemplate, ServingEngine engine, AdapterStore? adapters)
    {
        Id = id;
        Model = model;
        Tokenizer = tokenizer;
        Engine = engine;
        Adapters = adapters;
        try
        {
            // A base model without a template chats in ChatML, as `scion chat` and llama.cpp do.
            Template = ChatTemplate.Parse(chatTemplate ?? ChatSession.FallbackTemplate);
        }
        catch (TemplateException e)
        {
            throw new ArgumentException($"chat template: {e.Message}", e);
        }
        Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Metrics = new PrometheusMetrics(this);
    }

    /// <summary>What GET /metrics renders: the engine's instruments and snapshots.</summary>
    public PrometheusMetrics Metrics { get; }

    public string Id { get; }
    public LlamaModel Model { get; }
    public Tokenizer Tokenizer { get; }
    public ChatTemplate Template { get; }
    public ServingEngine Engine { get; }
    public AdapterStore? Adapters { get; }
    /// <summary>The files and fine-tuning APIs; null when the server keeps no data folder.</summary>
    public FineTuning.FineTuningService? FineTuning { get; internal set; }
    public long Created { get; }
    public int ContextLength => Model.Config.ContextLength;

    /// <summary>A request's "model": the base id (or empty, as many clients send) → null; an adapter name → that name; else 404.</summary>
    public string? ResolveAdapter(string? model)
    {
        if (string.IsNullOrEmpty(model) || model == Id) return null;
        if (Adapters?.Find(model) is not null) return model;
        throw new ApiError(404, $"The model '{model}' does not exist: this server serves '{Id}'" +
            (Adapters is null ? "." : " and its registered adapters (GET /v1/models lists them)."), "model", "model_not_found");
    }

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        FineTuning?.Dispose();
        Metrics.Dispose();
        Model.Dispose();
    }
}
