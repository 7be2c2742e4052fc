using Scion.Models.KvCache;
using Scion.Models.Llama;

namespace Scion.Serving.KvCache;

/// <summary>
/// The serving engine's KV blocks: reference-counted blocks over one <see cref="PagedKvCache"/>'s storage, automatic
/// prefix caching of full blocks, forks that share blocks (n &gt; 1) and copy-on-write of a shared partial last block.
/// Running out of blocks is a return value (false), never an exception: the scheduler decides whom to preempt.
/// Owned by the engine thread; not thread-safe.
/// </summary>
public sealed class KvBlockManager
{
    private readonly BlockPool _pool;
    private readonly Dictionary<int, SequenceBlocks> _sequences = [];

    /// <summary>One sequence's blocks: the table the forward reads, and the hashes of its leading full blocks.</summary>
    private sealed class SequenceBlocks(KvBlockTable table, string? adapter)
    {
        public KvBlockTable Table { get; } = table;
        public string? Adapter { get; } = adapter;
        /// <summary>Hash of each leading full block already hashed (registered or found), in order.</summary>
        public List<ulong> Hashes { get; } = [];
    }

    public KvBlockManager(LlamaConfig config, int maxTokens, int blockSize = 16, KvCacheFormat? format = null)
    {
        Cache = new PagedKvCache(config, maxTokens, blockSize, externalBlocks: true, format);
        _pool = new BlockPool(Cache.BlockCount);
    }

    /// <summary>The storage the forward pass reads and writes, addressed by the sequence ids used here.</summary>
    public PagedKvCache Cache { get; }
    public int BlockSize => Cache.BlockSize;
    public int TotalBlocks => _pool.BlockCount;
    public int UsedBlocks => _pool.UsedCount;
    /// <summary>Blocks that can be taken now: empty ones plus evictable cached ones.</summary>
    public int FreeBlocks => _pool.FreeCount;
    public int CachedBlocks => _pool.CachedCount;
    public int EvictableBlocks => _pool.EvictableCount;
    public long Evictions => _pool.Evictions;
    public int PeakUsedBlocks => _pool.PeakUsedCount;
    /// <summary>Prompt tokens looked up in the prefix cache, and how many of them were found.</summary>
    public long QueryTokens { get; private set; }
    public long HitTokens { get; private set; }
    public int SequenceCount => _sequences.Count;

    public bool Contains(int sequence) => _sequences.ContainsKey(sequence);

    public int Length(int sequence) => _sequences[sequence].Table.Length;

    /// <summary>What admitting these tokens would find cached: whole blocks only, and never the last token (its logits
    /// are needed, so it is recomputed, as vLLM does), plus how many of the found blocks are free now (taking them
    /// uses up free blocks like a new allocation would).</summary>
    public (int Tokens, int EvictableBlocks) Probe(ReadOnlySpan<int> tokens, string? adapter)
    {
        int tokensHit = 0, evictable = 0;
        foreach (int block in Walk(tokens, adapter, null))
        {
            tokensHit += BlockSize;
            if (_pool.IsEvictable(block)) evictable++;
        }
        return (tokensHit, evictable);
    }

    /// <summary>Gives a sequence a block table, reusing the cached blocks its tokens begin with when
    /// <paramref name="usePrefixCache"/>; returns the number of tokens already computed (a multiple of the block size).</summary>
    public int Admit(int sequence, ReadOnlySpan<int> tokens, string? adapter, bool usePrefixCache = true)
    {
        if (_sequences.ContainsKey(sequence)) throw new InvalidOperationException($"Sequence {sequence} already holds KV blocks.");
        var hashes = new List<ulong>();
        var blocks = new List<int>();
        if (usePrefixCache)
        {
            foreach (int block in Walk(tokens, adapter, hashes))
            {
                _pool.Retain(block);
                blocks.Add(block);
            }
            QueryTokens += tokens.Length;
            HitTokens += blocks.Count * BlockSize;
        }
        var state = new SequenceBlocks(Cache.Attach(sequence, blocks, blocks.Count * BlockSize), adapter);
        state.Hashes.AddRange(hashes);
        _sequences[sequence] = state;
        return blocks.Count * BlockSize;
    }

    /// <summary>Blocks that <see cref="EnsureCapacity"/> to <paramref name="length"/> positions would take.</summary>
    public int BlocksNeeded(int sequence, int length)
    {
        var t = _sequences[sequence].Table;
        int grow = Math.Max(0, (length + BlockSize - 1) / BlockSize - t.Blocks.Count);
        return grow + (length > t.Length && SharedWriteBlock(t) is not null ? 1 : 0);
    }

    /// <summary>Makes positions [0, length) writable: new blocks at the end, and a private copy of a shared partial
    /// last block about to be written. False (and nothing changed) when not enough blocks are free.</summary>
    public bool EnsureCapacity(int sequence, int length)
    {
        var t = _sequences[sequence].Table;
        if (BlocksNeeded(sequence, length) > _pool.FreeCount) return false;
        if (length > t.Length && SharedWriteBlock(t) is int index)
        {
            int copy = _pool.Take()!.Value;
            Cache.CopyBlock(t.Blocks[index], copy);
            _pool.Release(t.Blocks[index]);
            t.Blocks[index] = copy;
        }
        while (t.Blocks.Count * BlockSize < length) t.Blocks.Add(_pool.Take()!.Value);
        return true;
    }

    /// <summary>After a forward wrote positions up to the table's length: hashes every newly full block and makes it
    /// findable for later prompts.</summary>
    /// <param name="tokens">The sequence's tokens from position 0, at least its computed length.</param>
    public void Commit(int sequence, ReadOnlySpan<int> tokens)
    {
        var s = _sequences[sequence];
        int full = s.Table.Length / BlockSize;
        for (int i = s.Hashes.Count; i < full; i++)
        {
            ulong parent = i == 0 ? BlockHash.Root : s.Hashes[i - 1];
            var blockTokens = tokens.Slice(i * BlockSize, BlockSize);
            ulong hash = BlockHash.Of(parent, blockTokens, s.Adapter);
            _pool.Register(s.Table.Blocks[i], hash, parent, blockTokens, s.Adapter);
            s.Hashes.Add(hash);
        }
    }

    /// <summary>A new sequence holding the same blocks and length as <paramref name="parent"/> (n &gt; 1 samples
    /// after a shared prompt); the first of the two to write into a shared partial block copies it.</summary>
    public void Fork(int parent, int child)
    {
        var p = _sequences[parent];
        foreach (int b in p.Table.Blocks) _pool.Retain(b);
        var c = new SequenceBlocks(Cache.Attach(child, p.Table.Blocks, p.Table.Length), p.Adapter);
        c.Hashes.AddRange(p.Hashes);
        _sequences[child] = c;
    }

    /// <summary>Drops a sequence's blocks (finished, cancelled or preempted). Cached blocks stay findable until evicted;
    /// they are released last block first, so a chain's later blocks are evicted before its shared beginning.</summary>
    public void Free(int sequence)
    {
        if (!_sequences.Remove(sequence, out var s)) return;
        Cache.Detach(sequence);
        for (int i = s.Table.Blocks.Count - 1; i >= 0; i--) _pool.Release(s.Table.Blocks[i]);
    }

    public int HeldBlocks(int sequence) => _sequences[sequence].Table.Blocks.Count;

    /// <summary>Blocks only this sequence references: what freeing it gives back at once.</summary>
    public int ExclusiveBlocks(int sequence) => _sequences[sequence].Table.Blocks.Count(b => _pool.RefCount(b) == 1);

    /// <summary>The next write lands in a partial block another sequence shares (a fork): writing costs a copy.</summary>
    public bool WritesIntoSharedBlock(int sequence) => SharedWriteBlock(_sequences[sequence].Table) is not null;

    /// <summary>The index of the partial block the next write lands in, when another sequence shares it.</summary>
    private int? SharedWriteBlock(KvBlockTable t)
    {
        if (t.Length % BlockSize == 0) return null;
        int index = t.Length / BlockSize;
        return _pool.RefCount(t.Blocks[index]) > 1 ? index : null;
    }

    /// <summary>The cached blocks the tokens begin with, in order (at most (tokens - 1) / blockSize of them).</summary>
    private List<int> Walk(ReadOnlySpan<int> tokens, string? adapter, List<ulong>? hashes)
    {
        var found = new List<int>();
        ulong parent = BlockHash.Root;
        int max = (tokens.Length - 1) / BlockSize;
        for (int i = 0; i < max; i++)
        {
            var blockTokens = tokens.Slice(i * BlockSize, BlockSize);
            ulong hash = BlockHash.Of(parent, blockTokens, adapter);
            if (_pool.Lookup(hash, parent, blockTokens, adapter) is not int block) break;
            found.Add(block);
            hashes?.Add(hash);
            parent = hash;
        }
        return found;
    }

    /// <summary>Checks the reference counts against the sequences' tables (tests, and leak hunting).</summary>
    public void Validate()
    {
        var expected = new int[TotalBlocks];
        foreach (var s in _sequences.Values)
            foreach (int b in s.Table.Blocks) expected[b]++;
        for (int b = 0; b < TotalBlocks; b++)
            if (expected[b] != _pool.RefCount(b))
                throw new InvalidOperationException($"KV block {b}: reference count {_pool.RefCount(b)}, but {expected[b]} sequences hold it.");
        if (UsedBlocks != expected.Count(n => n > 0))
            throw new InvalidOperationException($"KV blocks: {UsedBlocks} counted in use, {expected.Count(n => n > 0)} held by sequences.");
    }
}
