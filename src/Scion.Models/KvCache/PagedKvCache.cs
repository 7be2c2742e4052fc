using Scion.Models.Llama;

namespace Scion.Models.KvCache;

/// <summary>
/// Keys and values of every layer in fixed-size blocks shared by all sequences, addressed through per-sequence
/// block tables (vLLM's paged attention layout), so sequences grow, free and swap without moving data.
/// Entries are stored as F16: the forward pass rounds keys and values to half before caching them anyway (llama.cpp's
/// default F16 cache numerics), so half storage loses nothing and halves the cache's memory and attention's reads.
/// </summary>
public sealed class PagedKvCache
{
    private readonly Half[][] _keys;   // per layer: [blocks, blockSize, Hkv*Dh]
    private readonly Half[][] _values; // per layer: [blocks, blockSize, Hkv*Dh]
    private readonly Stack<int> _free;
    private readonly Dictionary<int, KvBlockTable> _tables = [];

    public int BlockSize { get; }
    public int BlockCount { get; }
    public int KvDim { get; }
    public int Layers { get; }
    public int FreeBlocks => _free.Count;
    public long Bytes => 2L * Layers * BlockCount * BlockSize * KvDim * 2L; // two bytes per half

    public PagedKvCache(LlamaConfig config, int maxTokens, int blockSize = 16)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        BlockSize = blockSize;
        BlockCount = (maxTokens + blockSize - 1) / blockSize;
        KvDim = config.KvDim;
        Layers = config.Layers;
        long perLayer = (long)BlockCount * blockSize * KvDim;
        if (perLayer > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(maxTokens), $"A KV cache of {maxTokens} tokens needs {perLayer} halves per layer, above the array limit.");
        _keys = new Half[Layers][];
        _values = new Half[Layers][];
        for (int l = 0; l < Layers; l++)
        {
            _keys[l] = new Half[perLayer];
            _values[l] = new Half[perLayer];
        }
        _free = new Stack<int>(Enumerable.Range(0, BlockCount).Reverse());
    }

    public IEnumerable<int> Sequences => _tables.Keys;

    public KvBlockTable? Table(int sequence) => _tables.GetValueOrDefault(sequence);

    public int Length(int sequence) => _tables.TryGetValue(sequence, out var t) ? t.Length : 0;

    /// <summary>Makes positions [0, length) of a sequence addressable, taking blocks from the free list.</summary>
    public KvBlockTable Reserve(int sequence, int length)
    {
        if (!_tables.TryGetValue(sequence, out var table)) _tables[sequence] = table = new KvBlockTable();
        int needed = (length + BlockSize - 1) / BlockSize;
        if (needed - table.Blocks.Count > _free.Count)
            throw new KvCacheFullException($"KV cache is full: sequence {sequence} needs {needed - table.Blocks.Count} more blocks of {BlockSize} tokens, {_free.Count} are free.");
        while (table.Blocks.Count < needed) table.Blocks.Add(_free.Pop());
        return table;
    }

    /// <summary>Keeps only positions [0, length) of a sequence (for re-prefill or rollback) and frees whole unused blocks.</summary>
    public void Truncate(int sequence, int length)
    {
        if (!_tables.TryGetValue(sequence, out var table)) return;
        table.Length = Math.Min(table.Length, length);
        int keep = (length + BlockSize - 1) / BlockSize;
        while (table.Blocks.Count > keep)
        {
            _free.Push(table.Blocks[^1]);
            table.Blocks.RemoveAt(table.Blocks.Count - 1);
        }
    }

    public void Free(int sequence)
    {
        if (!_tables.Remove(sequence, out var table)) return;
        for (int i = table.Blocks.Count - 1; i >= 0; i--) _free.Push(table.Blocks[i]);
    }

    public void Clear()
    {
        foreach (var s in _tables.Keys.ToList()) Free(s);
    }

    /// <summary>Offset of (block table, position) inside a layer's key or value array.</summary>
    public int Offset(KvBlockTable table, int position) =>
        (table.Blocks[position / BlockSize] * BlockSize + position % BlockSize) * KvDim;

    /// <summary>A layer's keys, [blocks, blockSize, Hkv*Dh] halves; index with <see cref="Offset"/>.</summary>
    public Half[] Keys(int layer) => _keys[layer];
    /// <summary>A layer's values, [blocks, blockSize, Hkv*Dh] halves; index with <see cref="Offset"/>.</summary>
    public Half[] Values(int layer) => _values[layer];

    internal void SetLength(KvBlockTable table, int length) => table.Length = length;
}
