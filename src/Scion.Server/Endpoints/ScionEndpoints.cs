using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Scion.Server.Http;
using Scion.Serving.Adapters;

namespace Scion.Server.Endpoints;

/// <summary>
/// Scion's own calls under /scion, for the web console and operators (OpenAI has no equivalent):
/// GET /scion/stats (a JSON twin of /metrics with recent latency percentiles), GET /scion/adapters (every registered
/// adapter with what the store knows of it), POST /scion/adapters/{name}/load and /unload (host-memory residency;
/// the adapter stays registered), POST /scion/files/{id}/check (read an upload the way a job will).
/// </summary>
internal static class ScionEndpoints
{
    /// <summary>The window of the recent latency percentiles.</summary>
    public static readonly TimeSpan LatencyWindow = TimeSpan.FromSeconds(60);

    public static async Task Stats(HttpContext context, ServerState state)
    {
        var host = state.RequireHost();
        var s = host.Engine.Stats;
        var body = Json.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "scion.stats");
            w.WriteNumber("time", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
            w.WriteString("model", host.Id);
            w.WriteStartObject("requests");
            w.WriteNumber("running", s.RunningSequences);
            w.WriteNumber("waiting", s.QueuedRequests);
            w.WriteNumber("finished", s.RequestsFinished);
            w.WriteNumber("preemptions", s.Preemptions);
            w.WriteEndObject();
            w.WriteStartObject("tokens");
            w.WriteNumber("prompt_computed", s.PromptTokensComputed);
            w.WriteNumber("generated", s.GeneratedTokens);
            w.WriteNumber("steps", s.Steps);
            w.WriteEndObject();
            w.WriteStartObject("kv_cache");
            w.WriteNumber("blocks_used", s.KvBlocksUsed);
            w.WriteNumber("blocks_total", s.KvBlocksTotal);
            w.WriteNumber("blocks_cached", s.KvBlocksCached);
            w.WriteNumber("usage", s.KvUsage);
            w.WriteNumber("tokens", host.Engine.KvCacheTokens);
            w.WriteNumber("bytes", host.Engine.KvCacheBytes);
            w.WriteString("type_k", Scion.Models.KvCache.KvCacheFormat.Name(host.Engine.KvFormat.Keys));
            w.WriteString("type_v", Scion.Models.KvCache.KvCacheFormat.Name(host.Engine.KvFormat.Values));
            w.WriteEndObject();
            w.WriteStartObject("prefix_cache");
            w.WriteNumber("query_tokens", s.PrefixQueryTokens);
            w.WriteNumber("hit_tokens", s.PrefixHitTokens);
            w.WriteNumber("hit_rate", s.PrefixHitRate);
            w.WriteEndObject();
            w.WriteStartObject("latency");
            w.WriteNumber("window_seconds", LatencyWindow.TotalSeconds);
            Percentiles(w, "time_to_first_token", host.Metrics.RecentTimeToFirstToken);
            Percentiles(w, "inter_token", host.Metrics.RecentInterTokenLatency);
            w.WriteEndObject();
            w.WriteStartObject("training");
            w.WriteNumber("share", host.Engine.Options.TrainingShare);
            w.WriteNumber("seconds", s.BackgroundSeconds);
            w.WriteNumber("slices", s.BackgroundSlices);
            if (host.FineTuning is { } tuning) w.WriteNumber("jobs_active", tuning.ActiveJobs); else w.WriteNull("jobs_active");
            w.WriteEndObject();
            if (host.Adapters is { } store)
            {
                var a = store.Stats;
                w.WriteStartObject("adapters");
                w.WriteNumber("registered", a.Registered);
                w.WriteNumber("resident", a.ResidentAdapters);
                w.WriteNumber("resident_bytes", a.ResidentBytes);
                w.WriteNumber("byte_budget", a.ByteBudget);
                w.WriteNumber("loads", a.Loads);
                w.WriteNumber("evictions", a.Evictions);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        });
        await ModelsEndpoints.WriteJson(context, body);
    }

    private static void Percentiles(Utf8JsonWriter w, string name, RecentLatencies recent)
    {
        var (p, count) = recent.Snapshot(LatencyWindow, 0.5, 0.9, 0.99);
        w.WriteStartObject(name);
        w.WriteNumber("count", count);
        string[] names = ["p50", "p90", "p99"];
        for (int i = 0; i < names.Length; i++)
            if (p[i] is { } v) w.WriteNumber(names[i], v); else w.WriteNull(names[i]);
        w.WriteEndObject();
    }

    public static async Task Adapters(HttpContext context, ServerState state)
    {
        var host = state.RequireHost();
        var body = Json.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            // Whether POST /v1/load_lora_adapter may register folders (the console shows its form only then).
            w.WriteBoolean("runtime_loads", state.Options.AdaptersDir is not null && host.Adapters is not null);
            w.WriteStartArray("data");
            foreach (var a in host.Adapters?.List() ?? []) Adapter(w, a, host.Id);
            w.WriteEndArray();
            w.WriteEndObject();
        });
        await ModelsEndpoints.WriteJson(context, body);
    }

    /// <summary>One adapter; its folder is left out (a server never shows its file layout).</summary>
    private static void Adapter(Utf8JsonWriter w, AdapterInfo a, string parent)
    {
        w.WriteStartObject();
        w.WriteString("id", a.Name);
        w.WriteString("object", "scion.adapter");
        w.WriteString("parent", parent);
        w.WriteString("state", a.IsLoaded ? "loaded" : a.IsLoading ? "loading" : "registered");
        w.WriteNumber("pins", a.Pins);
        w.WriteNumber("requests", a.Requests);
        if (a.Bytes is { } b) w.WriteNumber("bytes", b); else w.WriteNull("bytes");
        if (a.Rank is { } r) w.WriteNumber("rank", r); else w.WriteNull("rank");
        if (a.Alpha is { } al) w.WriteNumber("alpha", al); else w.WriteNull("alpha");
        if (a.Targets is { } t)
        {
            w.WriteStartArray("targets");
            foreach (string m in t) w.WriteStringValue(m);
            w.WriteEndArray();
        }
        else w.WriteNull("targets");
        w.WriteString("method", a.UseDora is null ? null : a.UseDora == true ? "dora" : a.UseRslora == true ? "rslora" : "lora");
        if (a.LastError is { } e) w.WriteString("last_error", e); else w.WriteNull("last_error");
        w.WriteEndObject();
    }

    private static AdapterStore Store(ModelHost host) =>
        host.Adapters ?? throw new ApiError(404, "This server has no adapter store.", "name", "model_not_found");

    private static AdapterInfo Find(AdapterStore store, string name) =>
        store.Find(name) ?? throw new ApiError(404, $"The adapter '{name}' is not registered.", "name", "model_not_found");

    public static async Task Load(HttpContext context, ServerState state, string name)
    {
        var host = state.RequireHost();
        var store = Store(host);
        Find(store, name);
        try
        {
            using var lease = await store.AcquireAsync(name, context.RequestAborted);
        }
        catch (AdapterException e)
        {
            throw new ApiError(400, $"The adapter '{name}' cannot be loaded: {e.Message}", "name", "adapter_load_failed");
        }
        await ModelsEndpoints.WriteJson(context, Json.Write(w => Adapter(w, Find(store, name), host.Id)));
    }

    public static async Task Unload(HttpContext context, ServerState state, string name)
    {
        var host = state.RequireHost();
        var store = Store(host);
        var info = Find(store, name);
        if (info.IsLoaded && !store.Unload(name))
        {
            info = Find(store, name);
            if (info.IsLoaded) // pinned: leased by running requests, or about to be
                throw new ApiError(409, $"The adapter '{name}' is in use by {info.Pins} running request(s); it can be unloaded once they finish.", "name", "adapter_in_use");
        }
        await ModelsEndpoints.WriteJson(context, Json.Write(w => Adapter(w, Find(store, name), host.Id)));
    }

    public static async Task CheckFile(HttpContext context, ServerState state, string id)
    {
        var check = FineTuningEndpoints.Service(state).CheckFile(id);
        await ModelsEndpoints.WriteJson(context, Json.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("id", check.Id);
            w.WriteString("object", "scion.file_check");
            w.WriteNumber("examples", check.Examples);
            w.WriteNumber("tokens", check.Tokens);
            w.WriteNumber("target_tokens", check.TargetTokens);
            w.WriteEndObject();
        }));
    }
}
