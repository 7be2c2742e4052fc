using System.Text;
using Microsoft.AspNetCore.Http;

namespace Scion.Server.Http;

/// <summary>Server-Sent Events as OpenAI sends them: <c>data: {json}\n\n</c> per chunk, flushed at once, then <c>data: [DONE]\n\n</c>.</summary>
internal sealed class SseWriter(HttpResponse response, CancellationToken cancel)
{
    private static readonly byte[] Prefix = "data: "u8.ToArray();
    private static readonly byte[] End = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    public bool Started { get; private set; }

    public async Task WriteAsync(byte[] json)
    {
        if (!Started)
        {
            response.StatusCode = 200;
            response.ContentType = "text/event-stream; charset=utf-8";
            response.Headers.CacheControl = "no-cache";
            // Proxies such as nginx would otherwise buffer the whole stream.
            response.Headers["X-Accel-Buffering"] = "no";
            Started = true;
        }
        await response.Body.WriteAsync(Prefix, cancel);
        await response.Body.WriteAsync(json, cancel);
        await response.Body.WriteAsync(End, cancel);
        await response.Body.FlushAsync(cancel);
    }

    public async Task DoneAsync()
    {
        await response.Body.WriteAsync(Done, cancel);
        await response.Body.FlushAsync(cancel);
    }

    public static string Text(byte[] json) => Encoding.UTF8.GetString(json);
}
