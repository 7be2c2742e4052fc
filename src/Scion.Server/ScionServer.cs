using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scion.Server.WebConsole;
using Scion.Server.Endpoints;
using Scion.Server.Http;

namespace Scion.Server;

/// <summary>
/// The OpenAI-compatible HTTP server: Kestrel with minimal-API endpoints that translate HTTP to engine requests
/// and back. It starts listening before the model is ready (/health says 503 until then), so a supervisor can
/// tell "loading" from "down".
/// </summary>
public sealed class ScionServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private bool _disposed;

    public ServerState State { get; }

    /// <summary>The bound address, e.g. http://127.0.0.1:8080 (the real port when 0 was asked for); set by <see cref="StartAsync"/>.</summary>
    public string Url { get; private set; } = "";

    public ScionServer(ServerOptions options, Action<ILoggingBuilder>? logging = null)
    {
        options.Validate();
        State = new ServerState(options);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logging is not null) logging(builder.Logging);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            k.AddServerHeader = false;
        });
        builder.WebHost.UseUrls($"http://{(options.Host.Contains(':') ? $"[{options.Host}]" : options.Host)}:{options.Port}");
        builder.Services.AddSingleton(State);
        // Not the console lifetime: it would take SIGINT/SIGTERM from the process that embeds the server (the
        // scion CLI routes Ctrl-C itself; tests must not lose their signals). Whoever starts the server stops it.
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        // On stop, streams still running get a few seconds to end before they are cut.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        _app = builder.Build();
        _app.UseMiddleware<ServerMiddleware>();
        MapEndpoints(_app, State);
    }

    private static void MapEndpoints(WebApplication app, ServerState state)
    {
        app.MapGet("/health", (HttpContext c) => HealthEndpoint.Handle(c, state));
        var v1 = app.MapGroup("/v1");
        v1.MapGet("/models", (HttpContext c) => ModelsEndpoints.List(c, state));
        v1.MapGet("/models/{**id}", (HttpContext c, string id) => ModelsEndpoints.Get(c, state, id));
        v1.MapPost("/completions", (HttpContext c) => CompletionsEndpoint.Handle(c, state));
        v1.MapPost("/chat/completions", (HttpContext c) => ChatEndpoint.Handle(c, state));
        v1.MapPost("/embeddings", (HttpContext c) => EmbeddingsEndpoint.Handle(c, state));
        v1.MapPost("/load_lora_adapter", (HttpContext c) => AdapterEndpoints.Load(c, state));
        v1.MapPost("/unload_lora_adapter", (HttpContext c) => AdapterEndpoints.Unload(c, state));
        v1.MapPost("/files", (HttpContext c) => FilesEndpoints.Upload(c, state));
        v1.MapGet("/files", (HttpContext c) => FilesEndpoints.List(c, state));
        v1.MapGet("/files/{id}", (HttpContext c, string id) => FilesEndpoints.Get(c, state, id));
        v1.MapGet("/files/{id}/content", (HttpContext c, string id) => FilesEndpoints.Content(c, state, id));
        v1.MapDelete("/files/{id}", (HttpContext c, string id) => FilesEndpoints.Delete(c, state, id));
        var jobs = v1.MapGroup("/fine_tuning/jobs");
        jobs.MapPost("", (HttpContext c) => FineTuningEndpoints.Create(c, state));
        jobs.MapGet("", (HttpContext c) => FineTuningEndpoints.List(c, state));
        jobs.MapGet("/{id}", (HttpContext c, string id) => FineTuningEndpoints.Get(c, state, id));
        jobs.MapPost("/{id}/cancel", (HttpContext c, string id) => FineTuningEndpoints.Cancel(c, state, id));
        jobs.MapGet("/{id}/events", (HttpContext c, string id) => FineTuningEndpoints.Events(c, state, id));
        jobs.MapGet("/{id}/checkpoints", (HttpContext c, string id) => FineTuningEndpoints.Checkpoints(c, state, id));
        app.MapGet("/metrics", async (HttpContext c) =>
        {
            string text = state.RequireHost().Metrics.Render();
            c.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await c.Response.WriteAsync(text, c.RequestAborted);
        });
        var scion = app.MapGroup("/scion");
        scion.MapGet("/stats", (HttpContext c) => ScionEndpoints.Stats(c, state));
        scion.MapGet("/adapters", (HttpContext c) => ScionEndpoints.Adapters(c, state));
        scion.MapPost("/adapters/{name}/load", (HttpContext c, string name) => ScionEndpoints.Load(c, state, name));
        scion.MapPost("/adapters/{name}/unload", (HttpContext c, string name) => ScionEndpoints.Unload(c, state, name));
        scion.MapPost("/files/{id}/check", (HttpContext c, string id) => ScionEndpoints.CheckFile(c, state, id));
        // The web console: one page and its files, embedded in this assembly.
        app.MapMethods("/", ["GET", "HEAD"], (HttpContext c) => ConsoleAssets.Serve(c, "index.html"));
        app.MapMethods("/console/{**file}", ["GET", "HEAD"], (HttpContext c, string file) => ConsoleAssets.Serve(c, file));
        app.MapPost("/tokenize", (HttpContext c) => TokenizeEndpoints.Tokenize(c, state));
        app.MapPost("/detokenize", (HttpContext c) => TokenizeEndpoints.Detokenize(c, state));
        // Anything else is OpenAI's 404 object, not an empty body.
        app.MapFallback((HttpContext c) => throw new ApiError(404, $"No endpoint {c.Request.Method} {c.Request.Path}.", null, "unknown_url"));
    }

    public async Task StartAsync(CancellationToken cancel = default)
    {
        await _app.StartAsync(cancel);
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Url = addresses.First().Replace("[::]", "localhost", StringComparison.Ordinal);
    }

    /// <summary>Makes the model available (after <see cref="StartAsync"/>: /health turns 200).</summary>
    public void SetModel(ModelHost host) => State.SetHost(host);

    /// <summary>Loads the model in the background while already listening; a failure is kept for /health and 503s.</summary>
    public Task LoadAsync(Func<ModelHost> load) => Task.Run(() =>
    {
        ModelHost host;
        try
        {
            host = load();
        }
        catch (Exception e)
        {
            State.LoadError = e.Message;
            throw;
        }
        // Stopped while loading (Ctrl-C during a long load): nobody will serve it, so free it here.
        lock (_gate)
            if (!_disposed)
            {
                State.SetHost(host);
                return;
            }
        host.DisposeAsync().AsTask().GetAwaiter().GetResult();
    });

    public async ValueTask DisposeAsync()
    {
        lock (_gate) _disposed = true;
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (State.Host is { } host) await host.DisposeAsync();
    }

    private sealed class EmbeddedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
