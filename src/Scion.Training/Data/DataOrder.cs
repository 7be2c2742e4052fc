namespace Scion.Training.Data;

/// <summary>Where the data stream stands: the epoch and the index into that epoch's shuffled order.</summary>
public readonly record struct DataPosition(int Epoch, int Cursor);

/// <summary>
/// The order examples are seen in and how they are packed into micro-batches: each epoch is a permutation drawn from
/// a generator seeded by (seed, epoch), so any position can be resumed without replaying earlier epochs; from a
/// position, examples are packed greedily (in order) while the micro-batch stays within <see cref="BatchTokens"/>.
/// </summary>
public sealed class DataOrder
{
    private readonly IReadOnlyList<TrainingExample> _examples;
    private readonly ulong _seed;
    private readonly Dictionary<int, int[]> _orders = [];

    public DataOrder(IReadOnlyList<TrainingExample> examples, int batchTokens, ulong seed, bool shuffle = true)
    {
        if (examples.Count == 0) throw new ArgumentException("No examples.", nameof(examples));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchTokens);
        _examples = examples;
        BatchTokens = batchTokens;
        _seed = seed;
        Shuffle = shuffle;
    }

    public int BatchTokens { get; }
    public bool Shuffle { get; }
    public int Count => _examples.Count;

    public int[] EpochOrder(int epoch)
    {
        if (_orders.TryGetValue(epoch, out var order)) return order;
        order = Enumerable.Range(0, _examples.Count).ToArray();
        if (Shuffle) new Xoshiro256(_seed ^ (0xD1B54A32D192ED03UL * (ulong)(epoch + 1))).Shuffle<int>(order);
        if (_orders.Count > 4) _orders.Clear();
        return _orders[epoch] = order;
    }

    /// <summary>The micro-batch starting at <paramref name="position"/> and the position after it (next epoch when this one ends).</summary>
    public (TrainingBatch Batch, DataPosition Next) Next(DataPosition position)
    {
        var order = EpochOrder(position.Epoch);
        int cursor = position.Cursor, tokens = 0;
        var chosen = new List<TrainingExample>();
        while (cursor < order.Length)
        {
            var e = _examples[order[cursor]];
            if (chosen.Count > 0 && tokens + e.Length > BatchTokens) break;
            chosen.Add(e);
            tokens += e.Length;
            cursor++;
        }
        var next = cursor >= order.Length ? new DataPosition(position.Epoch + 1, 0) : new DataPosition(position.Epoch, cursor);
        return (TrainingBatch.Pack(chosen), next);
    }

    /// <summary>Micro-batches in one epoch.</summary>
    public int BatchesInEpoch(int epoch)
    {
        int n = 0;
        var p = new DataPosition(epoch, 0);
        while (p.Epoch == epoch)
        {
            (_, p) = Next(p);
            n++;
        }
        return n;
    }

    /// <summary>Seeded split of examples into (train, validation) with round(fraction·n) validation examples, at least one.</summary>
    public static (List<TrainingExample> Train, List<TrainingExample> Validation) Split(IReadOnlyList<TrainingExample> examples, double fraction, ulong seed)
    {
        if (!(fraction > 0 && fraction < 1)) throw new ArgumentOutOfRangeException(nameof(fraction), $"Validation fraction must be in (0, 1), got {fraction}.");
        int n = examples.Count;
        int nVal = Math.Max(1, (int)Math.Round(fraction * n));
        if (nVal >= n) throw new ArgumentException($"A validation split of {fraction} leaves no training example out of {n}.");
        var order = Enumerable.Range(0, n).ToArray();
        new Xoshiro256(seed ^ 0x5851F42D4C957F2DUL).Shuffle<int>(order);
        var val = order[..nVal].Order().Select(i => examples[i]).ToList();
        var train = order[nVal..].Order().Select(i => examples[i]).ToList();
        return (train, val);
    }
}
