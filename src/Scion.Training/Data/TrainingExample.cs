using Scion.Training.Autograd;

namespace Scion.Training.Data;

/// <summary>
/// One tokenized example. Targets[t] is the id the model should predict after reading Tokens[0..t], or
/// <see cref="Tape.IgnoreIndex"/> where no loss is taken (prompt tokens, user turns, the last token).
/// Tokens, Targets [T]. Line is the 1-based JSONL line it came from.
/// </summary>
public sealed record TrainingExample(int[] Tokens, int[] Targets, int Line)
{
    public int Length => Tokens.Length;
    public int TargetCount => Targets.Count(t => t != Tape.IgnoreIndex);

    /// <summary>Builds targets from a per-token mask: token t+1 is a target of position t when mask[t+1].</summary>
    public static TrainingExample FromMask(int[] tokens, bool[] mask, int line, int maxTokens)
    {
        if (tokens.Length > maxTokens)
        {
            tokens = tokens[..maxTokens];
            mask = mask[..maxTokens];
        }
        var targets = new int[tokens.Length];
        for (int t = 0; t < tokens.Length; t++) targets[t] = t + 1 < tokens.Length && mask[t + 1] ? tokens[t + 1] : Tape.IgnoreIndex;
        return new TrainingExample(tokens, targets, line);
    }
}

/// <summary>Packed examples for one forward pass: each example its own sequence (positions from 0, attention within it). All [T].</summary>
public sealed record TrainingBatch(int[] Ids, int[] Positions, int[] SequenceIds, int[] Targets)
{
    public int Tokens => Ids.Length;
    public int TargetCount => Targets.Count(t => t != Tape.IgnoreIndex);

    public static TrainingBatch Pack(IEnumerable<TrainingExample> examples)
    {
        var ids = new List<int>();
        var positions = new List<int>();
        var seqIds = new List<int>();
        var targets = new List<int>();
        int seq = 0;
        foreach (var e in examples)
        {
            ids.AddRange(e.Tokens);
            targets.AddRange(e.Targets);
            for (int i = 0; i < e.Length; i++)
            {
                positions.Add(i);
                seqIds.Add(seq);
            }
            seq++;
        }
        return new TrainingBatch([.. ids], [.. positions], [.. seqIds], [.. targets]);
    }
}
