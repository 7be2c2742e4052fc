namespace Scion.Serving.Engine;

/// <summary>The engine's queue is full: try again later (HTTP 429 with Retry-After).</summary>
public sealed class EngineOverloadedException(string message) : Exception(message);
