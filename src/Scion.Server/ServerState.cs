using Scion.Server.Http;

namespace Scion.Server;

/// <summary>What every endpoint shares: the options and the model host, which is null while the model loads.</summary>
public sealed class ServerState(ServerOptions options)
{
    private volatile ModelHost? _host;

    public ServerOptions Options { get; } = options;
    public ModelHost? Host => _host;
    /// <summary>Why loading failed, if it did (/health reports it).</summary>
    public string? LoadError { get; internal set; }

    internal void SetHost(ModelHost host) => _host = host;

    public ModelHost RequireHost() => _host ?? throw new ApiError(503, LoadError is null
        ? "The model is still loading; GET /health answers 200 once it is ready."
        : $"The model failed to load: {LoadError}", null, "model_loading");
}
