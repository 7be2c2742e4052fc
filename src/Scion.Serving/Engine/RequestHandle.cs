using System.Threading.Channels;

namespace Scion.Serving.Engine;

/// <summary>A submitted request: its event stream and a way to abort it. Cancelling frees its KV blocks at the next
/// step and ends every choice with <see cref="FinishReason.Cancelled"/>.</summary>
public sealed class RequestHandle
{
    private readonly RequestState _state;

    internal RequestHandle(RequestState state) => _state = state;

    public long Id => _state.Id;

    /// <summary>The request's events; completes after the <see cref="UsageEvent"/>. The engine never waits for the
    /// reader: events pile up (bounded by max tokens × n) until read.</summary>
    public ChannelReader<EngineEvent> Events => _state.Output.Reader;

    public IAsyncEnumerable<EngineEvent> ReadAllAsync(CancellationToken cancellationToken = default) =>
        Events.ReadAllAsync(cancellationToken);

    public void Cancel() => _state.Engine.Cancel(_state);

    /// <summary>Reads the whole stream into one result (non-streaming callers, tests).</summary>
    public async Task<CompletionResult> CollectAsync(CancellationToken cancellationToken = default)
    {
        var choices = Enumerable.Range(0, _state.Request.N).Select(_ => new ChoiceBuilder()).ToArray();
        IReadOnlyList<TokenLogprob?>? promptLogprobs = null;
        RequestUsage? usage = null;
        RequestTimings? timings = null;
        await foreach (var e in ReadAllAsync(cancellationToken))
        {
            switch (e)
            {
                case TokenEvent t:
                    choices[t.Index].Tokens.Add(t.TokenId);
                    choices[t.Index].Text.Append(t.Text);
                    if (t.Logprob is not null) choices[t.Index].Logprobs.Add(t.Logprob);
                    break;
                case FinishEvent f:
                    choices[f.Index].Text.Append(f.Text);
                    choices[f.Index].Reason = f.Reason;
                    choices[f.Index].Error = f.Error;
                    break;
                case PromptLogprobsEvent p: promptLogprobs = p.Logprobs; break;
                case UsageEvent u: (usage, timings) = (u.Usage, u.Timings); break;
            }
        }
        return new CompletionResult(
            [.. choices.Select(c => new CompletionChoice(c.Tokens.ToArray(), c.Text.ToString(), c.Reason, c.Logprobs.ToArray(), c.Error))],
            promptLogprobs, usage ?? throw new InvalidOperationException($"Request {Id}: the stream ended without usage."), timings!);
    }

    private sealed class ChoiceBuilder
    {
        public List<int> Tokens { get; } = [];
        public System.Text.StringBuilder Text { get; } = new();
        public List<TokenLogprob> Logprobs { get; } = [];
        public FinishReason Reason { get; set; } = FinishReason.Error;
        public Exception? Error { get; set; }
    }
}

public sealed record CompletionChoice(int[] Tokens, string Text, FinishReason FinishReason, TokenLogprob[] Logprobs, Exception? Error);

public sealed record CompletionResult(IReadOnlyList<CompletionChoice> Choices, IReadOnlyList<TokenLogprob?>? PromptLogprobs, RequestUsage Usage,
    RequestTimings? Timings = null);
