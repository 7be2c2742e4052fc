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
}

public static class ModelHostFactory
{
    public static ModelHost Load(ModelHostSettings s)
    {
        var loaded = ModelLoader.Load(s.ModelPath);
        try
        {
            if (s.Threads is { } threads) loaded.Model.Pool = new Scion.Tensors.WorkerPool(threads);
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
        if (s.Adapters.Count > 0 || s.AdaptersDir is not null)
        {
            store = new AdapterStore(loaded.Model, new AdapterStoreOptions { ByteBudget = s.AdapterCacheBytes });
            // Named adapters are registered one folder each, adding no root: runtime loads stay confined to
            // --adapters-dir, never to the folders beside a named adapter.
            foreach (var (name, folder) in s.Adapters) store.RegisterFolder(name, folder);
            if (s.AdaptersDir is not null) store.RegisterRoot(s.AdaptersDir);
        }
        string id = s.ServedModelName ?? Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(s.ModelPath));
        var engine = new ServingEngine(loaded.Model, tokenizer, s.Engine, store);
        return new ModelHost(id, loaded.Model, tokenizer, s.ChatTemplate ?? loaded.ChatTemplate, engine, store);
    }
}
