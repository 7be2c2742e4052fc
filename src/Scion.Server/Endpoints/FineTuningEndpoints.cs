using Microsoft.AspNetCore.Http;
using Scion.Server.FineTuning;
using Scion.Server.Http;
using Scion.Server.Requests;

namespace Scion.Server.Endpoints;

/// <summary>OpenAI's fine-tuning jobs API: create, list (after, limit, has_more), get, cancel, events, checkpoints.</summary>
internal static class FineTuningEndpoints
{
    public static FineTuningService Service(ServerState state) => state.RequireHost().FineTuning
        ?? throw new ApiError(404, "Fine-tuning is off on this server: start it with --data-dir DIR to keep files and jobs there.", null, "fine_tuning_disabled");

    public static async Task Create(HttpContext context, ServerState state)
    {
        var service = Service(state);
        var request = FineTuningRequest.Parse(await JsonFields.ReadAsync(context.Request, context.RequestAborted));
        var job = service.Create(request);
        await ModelsEndpoints.WriteJson(context, Json.Write(w => FineTuningJson.Job(w, job)));
    }

    public static async Task List(HttpContext context, ServerState state)
    {
        var (after, limit) = Paging(context);
        var page = Service(state).ListJobs(after, limit);
        await ModelsEndpoints.WriteJson(context, FineTuningJson.List(page.Items, FineTuningJson.Job, page.HasMore));
    }

    public static async Task Get(HttpContext context, ServerState state, string id)
    {
        var job = Service(state).GetJob(id);
        await ModelsEndpoints.WriteJson(context, Json.Write(w => FineTuningJson.Job(w, job)));
    }

    public static async Task Cancel(HttpContext context, ServerState state, string id)
    {
        var job = Service(state).Cancel(id);
        await ModelsEndpoints.WriteJson(context, Json.Write(w => FineTuningJson.Job(w, job)));
    }

    public static async Task Events(HttpContext context, ServerState state, string id)
    {
        var (after, limit) = Paging(context);
        var page = Service(state).ListEvents(id, after, limit);
        await ModelsEndpoints.WriteJson(context, FineTuningJson.List(page.Items, FineTuningJson.Event, page.HasMore));
    }

    public static async Task Checkpoints(HttpContext context, ServerState state, string id)
    {
        var (after, limit) = Paging(context);
        var page = Service(state).ListCheckpoints(id, after, limit);
        await ModelsEndpoints.WriteJson(context, FineTuningJson.List(page.Items, FineTuningJson.Checkpoint, page.HasMore));
    }

    /// <summary>OpenAI's cursor paging: ?after=ID&amp;limit=N (1..100, default 20).</summary>
    private static (string? After, int Limit) Paging(HttpContext context)
    {
        var q = context.Request.Query;
        string? after = q["after"] is { Count: > 0 } a ? a.ToString() : null;
        int limit = 20;
        if (q["limit"] is { Count: > 0 } l && (!int.TryParse(l.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 100))
            throw ApiError.BadField("limit", $"limit: expected an integer in 1..100, got '{l}'.");
        return (after, limit);
    }
}
