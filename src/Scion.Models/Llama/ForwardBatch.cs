using Scion.Models.Adapters;

namespace Scion.Models.Llama;

/// <summary>
/// A flat batch of tokens from any number of sequences (vLLM's shape): each row has a token, its position, its
/// sequence, whether its logits are wanted, and the adapter of its sequence. Single-prompt generation is a batch of one.
/// </summary>
public sealed class ForwardBatch
{
    private readonly List<int> _tokens = [];
    private readonly List<int> _positions = [];
    private readonly List<int> _sequences = [];
    private readonly List<int> _logitRows = [];
    private readonly List<LoraAdapter?> _adapters = [];

    public int Count => _tokens.Count;
    public IReadOnlyList<int> Tokens => _tokens;
    public IReadOnlyList<int> Positions => _positions;
    public IReadOnlyList<int> Sequences => _sequences;
    /// <summary>Rows whose logits the forward returns, in order.</summary>
    public IReadOnlyList<int> LogitRows => _logitRows;
    public IReadOnlyList<LoraAdapter?> Adapters => _adapters;

    public ForwardBatch Add(int sequence, int token, int position, bool wantLogits = false, LoraAdapter? adapter = null)
    {
        if (wantLogits) _logitRows.Add(_tokens.Count);
        _tokens.Add(token);
        _positions.Add(position);
        _sequences.Add(sequence);
        _adapters.Add(adapter);
        return this;
    }

    /// <summary>Adds a run of tokens of one sequence at consecutive positions from <paramref name="start"/>; logits for the last only, or all.</summary>
    public ForwardBatch AddSequence(int sequence, ReadOnlySpan<int> tokens, int start, LoraAdapter? adapter = null, bool allLogits = false)
    {
        for (int i = 0; i < tokens.Length; i++) Add(sequence, tokens[i], start + i, allLogits || i == tokens.Length - 1, adapter);
        return this;
    }

    public void Clear()
    {
        _tokens.Clear(); _positions.Clear(); _sequences.Clear(); _logitRows.Clear(); _adapters.Clear();
    }

    /// <summary>Maximal runs of consecutive rows with the same adapter.</summary>
    public AdapterSegment[] Segments()
    {
        var segments = new List<AdapterSegment>();
        int start = 0;
        for (int i = 1; i <= _adapters.Count; i++)
        {
            if (i == _adapters.Count || !ReferenceEquals(_adapters[i], _adapters[start]))
            {
                segments.Add(new AdapterSegment(start, i - start, _adapters[start]));
                start = i;
            }
        }
        return [.. segments];
    }
}
