using Scion.Server.Http;

namespace Scion.Server.Endpoints;

/// <summary>Runs a stream; an error before the first byte is an ordinary error response (status and object), one
/// after it a last <c>data: {"error": ...}</c> event and <c>[DONE]</c>, because the status line is already sent.</summary>
internal static class StreamErrors
{
    public static async Task RunAsync(SseWriter sse, Submission submission, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (OperationCanceledException)
        {
            submission.Cancel();
            throw;
        }
        catch (Exception e) when (sse.Started)
        {
            submission.Cancel();
            var error = e as ApiError ?? new ApiError(500, $"The stream failed: {e.Message}", null, "internal_error");
            await sse.WriteAsync(error.ToJson());
            await sse.DoneAsync();
        }
        catch
        {
            submission.Cancel();
            throw;
        }
    }
}
