using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Scion.Server.Http;
using Scion.Serving.Engine;

namespace Scion.Server.Endpoints;

/// <summary>Submits a request's engine requests (all or none) and reads their events as one stream, each tagged
/// with its request's position. The request's abort token cancels every engine request at once.</summary>
internal sealed class Submission
{
    private readonly RequestHandle[] _handles;

    private Submission(RequestHandle[] handles) => _handles = handles;

    public static Submission Start(ServingEngine engine, IReadOnlyList<EngineRequest> requests, CancellationToken aborted)
    {
        var handles = new List<RequestHandle>(requests.Count);
        try
        {
            foreach (var r in requests) handles.Add(engine.Submit(r, aborted));
        }
        catch (Exception e)
        {
            foreach (var h in handles) h.Cancel();
            throw e switch
            {
                EngineOverloadedException => new ApiError(429, e.Message, null, "queue_full"),
                ArgumentException a => ApiError.FromArgument(a),
                _ => e,
            };
        }
        return new Submission([.. handles]);
    }

    public int Count => _handles.Length;

    public void Cancel()
    {
        foreach (var h in _handles) h.Cancel();
    }

    public Task<CompletionResult[]> CollectAsync(CancellationToken cancel) => Task.WhenAll(_handles.Select(h => h.CollectAsync(cancel)));

    /// <summary>Events of every request as they come: (request index, event).</summary>
    public async IAsyncEnumerable<(int Request, EngineEvent Event)> ReadAsync([EnumeratorCancellation] CancellationToken cancel)
    {
        if (_handles.Length == 1)
        {
            await foreach (var e in _handles[0].ReadAllAsync(cancel)) yield return (0, e);
            yield break;
        }
        var merged = Channel.CreateUnbounded<(int, EngineEvent)>(new UnboundedChannelOptions { SingleReader = true });
        var pumps = _handles.Select(async (h, i) =>
        {
            await foreach (var e in h.ReadAllAsync(cancel)) await merged.Writer.WriteAsync((i, e), cancel);
        }).ToArray();
        _ = Task.WhenAll(pumps).ContinueWith(t => merged.Writer.TryComplete(t.Exception), TaskScheduler.Default);
        await foreach (var item in merged.Reader.ReadAllAsync(cancel)) yield return item;
    }
}
