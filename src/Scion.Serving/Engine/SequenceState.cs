using Scion.Models.Generation;
using Scion.Models.Sampling;
using Scion.Models.Tokenization;

namespace Scion.Serving.Engine;

/// <summary>One choice of a request: its tokens, how many are in the KV cache, and the per-sequence generation state
/// (sampler RNG, streaming decoder, stop matcher) that must survive a preemption so the output does not change.</summary>
internal sealed class SequenceState
{
    public SequenceState(int id, int index, RequestState request, Sampler sampler, Tokenizer? tokenizer)
    {
        Id = id;
        Index = index;
        Request = request;
        Sampler = sampler;
        Tokens = [.. request.Prompt];
        // The reply continues the prompt, so its first "▁word" keeps its space.
        Decoder = tokenizer is null ? null : new StreamingDecoder(tokenizer, skipSpecial: true, atSequenceStart: false);
        Stops = new StopStringMatcher(request.Request.Stop);
    }

    /// <summary>The KV cache's sequence id.</summary>
    public int Id { get; }
    public int Index { get; }
    public RequestState Request { get; }
    /// <summary>Prompt then generated tokens; the last generated one is not computed yet while decoding.</summary>
    public List<int> Tokens { get; }
    public int PromptLength => Request.Prompt.Length;
    public int Generated => Tokens.Count - PromptLength;
    /// <summary>Tokens whose keys and values are in the cache (0 while waiting).</summary>
    public int Computed { get; set; }
    public bool Running { get; set; }
    public bool Finished { get; set; }
    public Sampler Sampler { get; }
    public StreamingDecoder? Decoder { get; }
    public StopStringMatcher Stops { get; }
    /// <summary>Scheduling order: the request's arrival, then the choice.</summary>
    public long Arrival => Request.Id * EngineRequest.MaxChoices + Index;
    public string? AdapterName => Request.Request.Adapter;
    /// <summary>Stopwatch timestamp of this choice's previous token (inter-token latency).</summary>
    public long LastTokenAt { get; set; }
}
