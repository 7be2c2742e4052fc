using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Scion.Server.Http;

/// <summary>Around every request: an x-request-id header, the API-key check (not for /health and the console's
/// static files), and every failure
/// turned into OpenAI's error object with its status (500 only for our bugs, logged).</summary>
internal sealed partial class ServerMiddleware(RequestDelegate next, ServerState state, ILogger<ServerMiddleware> log)
{
    private readonly ApiKeys _keys = new(state.Options.ApiKeys);

    public async Task InvokeAsync(HttpContext context)
    {
        // The client's id is kept when it sends one (for tracing across proxies), else a fresh one.
        string id = context.Request.Headers["x-request-id"] is { Count: > 0 } given && given[0] is { Length: > 0 and <= 128 } s
            ? s : Guid.NewGuid().ToString("N");
        context.Response.Headers["x-request-id"] = id;
        try
        {
            if (_keys.Enabled && context.Request.Path != "/health" && !WebConsole.ConsoleAssets.IsConsolePath(context.Request.Path) && !_keys.Accepts(context.Request.Headers.Authorization))
                throw new ApiError(401, "Missing or wrong API key: send the header 'Authorization: Bearer KEY'.", null, "invalid_api_key");
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; its engine requests are already cancelled through RequestAborted.
        }
        catch (Exception e)
        {
            var error = e switch
            {
                ApiError a => a,
                BadHttpRequestException { StatusCode: 413 } => new ApiError(413, $"The request body is over the limit of {state.Options.MaxBodyBytes} bytes.", null, "body_too_large"),
                BadHttpRequestException b => new ApiError(b.StatusCode, $"Bad request: {b.Message}", null, "bad_request"),
                _ => null,
            };
            if (error is null)
            {
                LogBug(log, context.Request.Path, e);
                error = new ApiError(500, $"Internal error ({e.GetType().Name}): {e.Message}", null, "internal_error");
            }
            if (context.Response.HasStarted) return;
            context.Response.Clear();
            context.Response.Headers["x-request-id"] = id;
            context.Response.StatusCode = error.Status;
            if (error.Status == 429) context.Response.Headers.RetryAfter = "1";
            if (error.Status == 401) context.Response.Headers.WWWAuthenticate = "Bearer";
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(error.ToJson());
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "unhandled error on {Path}")]
    private static partial void LogBug(ILogger logger, string path, Exception error);
}
