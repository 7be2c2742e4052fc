namespace Scion.Server;

/// <summary>What `scion serve` configures: where to listen, who may call, and the request limits.</summary>
public sealed record ServerOptions
{
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>0: any free port (tests); the bound one is in <see cref="ScionServer.Url"/>.</summary>
    public int Port { get; init; } = 8080;
    /// <summary>The id of the base model in /v1/models and requests' "model"; null: the model file's name.</summary>
    public string? ServedModelName { get; init; }
    /// <summary>Accepted bearer keys; empty: no authentication.</summary>
    public IReadOnlyList<string> ApiKeys { get; init; } = [];
    /// <summary>Largest request body in bytes (HTTP 413 beyond).</summary>
    public long MaxBodyBytes { get; init; } = 4 << 20;
    /// <summary>Largest file upload (POST /v1/files) in bytes.</summary>
    public long MaxUploadBytes { get; init; } = 512L << 20;
    /// <summary>Largest max_tokens a request may ask for; 0: the model's context.</summary>
    public int MaxTokensCap { get; init; }
    /// <summary>Chat template source overriding the model's own (--chat-template).</summary>
    public string? ChatTemplate { get; init; }
    /// <summary>Runtime adapter loads are confined to this folder (after resolving .. and symlinks); null: none allowed.</summary>
    public string? AdaptersDir { get; init; }

    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(Port), $"port: expected 0..65535, got {Port}.");
        if (MaxBodyBytes < 1024) throw new ArgumentOutOfRangeException(nameof(MaxBodyBytes), $"max body bytes: expected >= 1024, got {MaxBodyBytes}.");
        if (MaxUploadBytes < 1024) throw new ArgumentOutOfRangeException(nameof(MaxUploadBytes), $"max upload bytes: expected >= 1024, got {MaxUploadBytes}.");
        if (MaxTokensCap < 0) throw new ArgumentOutOfRangeException(nameof(MaxTokensCap), $"max tokens cap: expected >= 0, got {MaxTokensCap}.");
        foreach (var key in ApiKeys)
            if (string.IsNullOrWhiteSpace(key)) throw new ArgumentException("api keys: an empty key is not allowed.");
    }
}
