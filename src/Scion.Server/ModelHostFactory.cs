using Scion.Models.Loading;
using Scion.Serving.Adapters;
using Scion.Serving.Engine;

namespace Scion.Server;

/// <summary>What `scion serve` loads: the model, its engine and the adapter store with the named and rooted adapters.</summary>
public sealed record ModelHostSettings
{
    public required string ModelPath { get; init; }
    public string? ServedModelName { get; init; }
    public string? ChatTemplate { get; init; }
    public EngineOptions Engine { get; init; } = new();
    /// <summary>--adapter NAME=DIR pairs.</summary>
    public IReadOnlyList<(string Name, string Folder)> Adapters { get; init; } = [];
    public string? AdaptersDir { get; init; }
    public long AdapterCacheBytes { get; init; } = 2L << 30;
    public int? Threads { get; init; }
    /// <summary>How the engine's KV cache stores keys and values (--cache-type-k / --cache-type-v).</summary>
    public Scion.Models.KvCache.KvCacheFormat KvFormat { get; init; } = Scion.Models.KvCache.KvCacheFormat.F16;
    /// <summary>Where files, fine-tuning jobs and their adapters live (--data-dir); null: no fine-tuning API.</summary>
    public string? DataDir { get; init; }
    /// <summary>Job progress lines for the server's log.</summary>
    public Action<string>? JobLog { get; init; }
}

public static class ModelHostFactory
{
    public static ModelHost Load(ModelHostSettings s)
    {
        var loaded = ModelLoader.Load(s.ModelPath);
        try
        {
            if (s.Threads is { } threads) loaded.Model.Pool = new Scion.Tensors.WorkerPool(threads);
            loaded.Model.KvFormat = s.KvFormat;
            return Create(loaded, s);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }

    public static ModelHost Create(LoadedModel loaded, ModelHostSettings s)
    {
        var tokenizer = loaded.RequireTokenizer();
        AdapterStore? store = null;
        if (s.Adapters.Count > 0 || s.AdaptersDir is not null || s.DataDir is not null)
        {
            store = new AdapterStore(loaded.Model, new AdapterStoreOptions { ByteBudget = s.AdapterCacheBytes });
            // Named adapters are registered one folder each, adding no root: runtime loads stay confined to
            // --adapters-dir, never to the folders beside a named adapter.
            foreach (var (name, folder) in s.Adapters) store.RegisterFolder(name, folder);
            if (s.AdaptersDir is not null) store.RegisterRoot(s.AdaptersDir);
        }
        string id = s.ServedModelName ?? Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(s.ModelPath));
        var engine = new ServingEngine(loaded.Model, tokenizer, s.Engine, store);
        string? template = s.ChatTemplate ?? loaded.ChatTemplate;
        var host = new ModelHost(id, loaded.Model, tokenizer, template, engine, store);
        if (s.DataDir is not null)
        {
            // Training data in the messages form renders with the same template chat requests use.
            var queue = new Scion.Serving.Jobs.TrainingJobQueue(engine, loaded.Model);
            host.FineTuning = new FineTuning.FineTuningService(s.DataDir, id, loaded.Model.Config, tokenizer,
                template ?? Scion.Models.Generation.ChatSession.FallbackTemplate, store!, queue, s.JobLog);
        }
        return host;
    }
}
