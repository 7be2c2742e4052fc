using Microsoft.AspNetCore.Http;

namespace Scion.Server.Endpoints;

/// <summary>GET /health: 503 while the model loads (or after it failed to), then 200 {"status":"ok"}. No key needed.</summary>
internal static class HealthEndpoint
{
    public static Task Handle(HttpContext context, ServerState state)
    {
        if (state.Host is not null) return ModelsEndpoints.WriteJson(context, "{\"status\":\"ok\"}"u8.ToArray());
        var body = Json.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("status", state.LoadError is null ? "loading" : "error");
            if (state.LoadError is not null) w.WriteString("error", state.LoadError);
            w.WriteEndObject();
        });
        return ModelsEndpoints.WriteJson(context, body, 503);
    }
}
