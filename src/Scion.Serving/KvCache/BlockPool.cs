namespace Scion.Serving.KvCache;

/// <summary>
/// Reference counts, prefix hashes and the free list of the KV cache's blocks. A block with no reference is free;
/// if it still holds a cached full prefix block it stays findable by hash until it is taken for new data (evicted).
/// The free list is doubly linked (vLLM's free-block queue) so a cached block that gets a hit leaves it from the
/// middle in O(1): the least recently freed block sits at the front and is taken first; blocks freed without a hash
/// go to the front as well, so they are reused before any cached prefix is evicted.
/// </summary>
internal sealed class BlockPool
{
    private readonly int[] _refCount;                  // [blocks]
    private readonly CachedBlock?[] _cached;           // [blocks] what a hashed block holds, else null
    private readonly LinkedListNode<int>?[] _freeNode; // [blocks] its node while on the free list
    private readonly LinkedList<int> _free = new();
    private readonly Dictionary<ulong, int> _byHash = [];

    /// <param name="Hash">Chained hash of (parent hash, tokens, adapter).</param>
    private sealed record CachedBlock(ulong Hash, ulong Parent, int[] Tokens, string? Adapter);

    public BlockPool(int blockCount)
    {
        _refCount = new int[blockCount];
        _cached = new CachedBlock?[blockCount];
        _freeNode = new LinkedListNode<int>?[blockCount];
        for (int b = 0; b < blockCount; b++) _freeNode[b] = _free.AddLast(b);
    }

    public int BlockCount => _refCount.Length;
    /// <summary>Blocks without a reference: empty ones and evictable cached ones.</summary>
    public int FreeCount => _free.Count;
    public int UsedCount => BlockCount - FreeCount;
    /// <summary>Blocks findable by hash (in use or evictable).</summary>
    public int CachedCount => _byHash.Count;
    /// <summary>Free blocks that still hold a cached prefix.</summary>
    public int EvictableCount { get; private set; }
    public long Evictions { get; private set; }
    /// <summary>Most blocks in use at once since the pool was made (bench-serve's peak KV use).</summary>
    public int PeakUsedCount { get; private set; }

    public int RefCount(int block) => _refCount[block];

    public bool IsEvictable(int block) => _refCount[block] == 0 && _cached[block] is not null;

    /// <summary>Takes the least recently freed block for new data, evicting its cached prefix; null when none is free.</summary>
    public int? Take()
    {
        var node = _free.First;
        if (node is null) return null;
        int block = node.Value;
        Unfree(block);
        if (_cached[block] is { } c)
        {
            _byHash.Remove(c.Hash);
            _cached[block] = null;
            Evictions++;
        }
        _refCount[block] = 1;
        return block;
    }

    /// <summary>One more user of a block (a prefix hit or a fork); a free cached block leaves the free list.</summary>
    public void Retain(int block)
    {
        if (_refCount[block]++ == 0) Unfree(block);
    }

    /// <summary>One user fewer; at zero the block is free: cached ones at the back (evicted last), others at the front.</summary>
    public void Release(int block)
    {
        if (_refCount[block] <= 0) throw new InvalidOperationException($"KV block {block} released more often than it was taken.");
        if (--_refCount[block] > 0) return;
        if (_cached[block] is not null)
        {
            _freeNode[block] = _free.AddLast(block);
            EvictableCount++;
        }
        else _freeNode[block] = _free.AddFirst(block);
    }

    /// <summary>The cached block with this identity, verified against its stored contents; null on a miss.</summary>
    public int? Lookup(ulong hash, ulong parent, ReadOnlySpan<int> tokens, string? adapter)
    {
        if (!_byHash.TryGetValue(hash, out int block)) return null;
        var c = _cached[block]!;
        return c.Parent == parent && c.Adapter == adapter && tokens.SequenceEqual(c.Tokens) ? block : null;
    }

    /// <summary>Makes a full, in-use block findable by hash. When another block already holds the same identity
    /// (two sequences computed the same prefix at once) this one stays unhashed and is simply freed later.</summary>
    public bool Register(int block, ulong hash, ulong parent, ReadOnlySpan<int> tokens, string? adapter)
    {
        if (_cached[block] is not null || !_byHash.TryAdd(hash, block)) return false;
        _cached[block] = new CachedBlock(hash, parent, tokens.ToArray(), adapter);
        return true;
    }

    private void Unfree(int block)
    {
        _free.Remove(_freeNode[block]!);
        _freeNode[block] = null;
        if (_cached[block] is not null) EvictableCount--;
        if (UsedCount > PeakUsedCount) PeakUsedCount = UsedCount;
    }
}
