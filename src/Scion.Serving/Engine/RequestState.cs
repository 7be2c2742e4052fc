using System.Threading.Channels;
using Scion.Models.Adapters;
using Scion.Serving.Adapters;

namespace Scion.Serving.Engine;

/// <summary>The engine's record of one request. Touched by the engine thread only, except the cancel flag.</summary>
internal sealed class RequestState(ServingEngine engine, long id, EngineRequest request, int[] prompt, CancellationToken cancellationToken)
{
    public ServingEngine Engine { get; } = engine;
    public long Id { get; } = id;
    public EngineRequest Request { get; } = request;
    public int[] Prompt { get; } = prompt;
    public CancellationToken CancellationToken { get; } = cancellationToken;
    public Channel<EngineEvent> Output { get; } = Channel.CreateUnbounded<EngineEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    public CancellationTokenRegistration Registration { get; set; }
    /// <summary>Stopwatch timestamps: submitted, first run in a step, first token.</summary>
    public long SubmittedAt { get; } = System.Diagnostics.Stopwatch.GetTimestamp();
    public long? StartedAt { get; set; }
    public long? FirstTokenAt { get; set; }

    public AdapterLease? Lease { get; set; }
    public LoraAdapter? Adapter => Lease?.Adapter;
    public List<SequenceState> Sequences { get; } = [];
    /// <summary>Choice 0 was forked into the others after the prompt.</summary>
    public bool Forked { get; set; }
    /// <summary>Choices without a finish event yet.</summary>
    public int Unfinished { get; set; } = request.N;
    public bool Done { get; set; }
    public int CompletionTokens { get; set; }
    public int? CachedTokens { get; set; }
    /// <summary>Prompt log-probabilities gathered so far (echo), one per prompt position; sent once complete.</summary>
    public List<TokenLogprob?>? PromptLogprobs { get; set; }
    public bool PromptLogprobsSent { get; set; }

    private int _cancelRequested;
    public bool CancelRequested => Volatile.Read(ref _cancelRequested) != 0;
    /// <summary>True the first time only.</summary>
    public bool RequestCancel() => Interlocked.Exchange(ref _cancelRequested, 1) == 0;

    public bool WantsPromptLogprobs => Request.EchoPromptLogprobs && !PromptLogprobsSent;
}
