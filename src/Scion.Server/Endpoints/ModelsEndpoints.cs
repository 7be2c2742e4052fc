using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Scion.Server.Http;

namespace Scion.Server.Endpoints;

/// <summary>GET /v1/models (the base first, then every registered adapter with parent = base) and GET /v1/models/{id}.</summary>
internal static class ModelsEndpoints
{
    public static async Task List(HttpContext context, ServerState state)
    {
        var host = state.RequireHost();
        var body = Json.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            Model(w, host, host.Id, null);
            foreach (var a in host.Adapters?.List() ?? []) Model(w, host, a.Name, host.Id);
            w.WriteEndArray();
            w.WriteEndObject();
        });
        await WriteJson(context, body);
    }

    public static async Task Get(HttpContext context, ServerState state, string id)
    {
        var host = state.RequireHost();
        string? parent = host.ResolveAdapter(id) is null ? null : host.Id;
        if (id.Length == 0) throw new ApiError(404, "The model '' does not exist.", "model", "model_not_found");
        await WriteJson(context, Json.Write(w => Model(w, host, id, parent)));
    }

    private static void Model(Utf8JsonWriter w, ModelHost host, string id, string? parent)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "model");
        w.WriteNumber("created", host.Created);
        w.WriteString("owned_by", "scion");
        w.WriteString("root", parent ?? host.Id);
        if (parent is null) w.WriteNull("parent"); else w.WriteString("parent", parent);
        w.WriteNumber("max_model_len", host.ContextLength);
        w.WriteEndObject();
    }

    public static async Task WriteJson(HttpContext context, byte[] body, int status = 200)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }
}
