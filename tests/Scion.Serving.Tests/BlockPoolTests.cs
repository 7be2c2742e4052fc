using Scion.Serving.KvCache;

namespace Scion.Serving.Tests;

/// <summary>The pool under the block manager: a hash hit is trusted only when the stored block really holds the same
/// parent, tokens and adapter (64-bit hashes collide), double registration and double release are refused, and the
/// evictable count follows blocks in and out of the free list.</summary>
public class BlockPoolTests
{
    private const ulong Hash = 0x1234, Parent = 0x99;
    private static readonly int[] Tokens = [5, 6, 7, 8];

    private static (BlockPool Pool, int Block) Registered()
    {
        var pool = new BlockPool(4);
        int block = pool.Take()!.Value;
        Assert.True(pool.Register(block, Hash, Parent, Tokens, "a"));
        return (pool, block);
    }

    [Fact]
    public void AHashHitIsVerifiedAgainstTheStoredBlock()
    {
        var (pool, block) = Registered();
        Assert.Equal(block, pool.Lookup(Hash, Parent, Tokens, "a"));
        // The same hash with anything else different is a collision, not a hit.
        Assert.Null(pool.Lookup(Hash, Parent, [5, 6, 7, 9], "a"));
        Assert.Null(pool.Lookup(Hash, Parent + 1, Tokens, "a"));
        Assert.Null(pool.Lookup(Hash, Parent, Tokens, "b"));
        Assert.Null(pool.Lookup(Hash, Parent, Tokens, null));
        Assert.Null(pool.Lookup(Hash + 1, Parent, Tokens, "a"));
    }

    [Fact]
    public void ABlockOrAHashIsRegisteredOnce()
    {
        var (pool, block) = Registered();
        Assert.False(pool.Register(block, Hash + 1, Parent, Tokens, "a")); // the block already holds a prefix
        int other = pool.Take()!.Value;
        Assert.False(pool.Register(other, Hash, Parent, Tokens, "a"));     // another block has this identity
        Assert.Null(pool.Lookup(Hash + 1, Parent, Tokens, "a"));
        Assert.Equal(1, pool.CachedCount);
        Assert.True(pool.Register(other, Hash + 2, Parent, Tokens, "a"));
        Assert.Equal(2, pool.CachedCount);
    }

    [Fact]
    public void ReleasingABlockMoreOftenThanItWasTakenIsRefused()
    {
        var (pool, block) = Registered();
        pool.Release(block);
        Assert.Equal($"KV block {block} released more often than it was taken.",
            Assert.Throws<InvalidOperationException>(() => pool.Release(block)).Message);
        Assert.Equal(0, pool.RefCount(block));
    }

    [Fact]
    public void TheEvictableCountFollowsCachedBlocksOnAndOffTheFreeList()
    {
        var (pool, block) = Registered();
        Assert.Equal(0, pool.EvictableCount);
        pool.Release(block);
        Assert.Equal(1, pool.EvictableCount);
        Assert.True(pool.IsEvictable(block));
        pool.Retain(block); // a prefix hit takes it back off the free list
        Assert.Equal(0, pool.EvictableCount);
        Assert.False(pool.IsEvictable(block));
        Assert.Equal(1, pool.UsedCount);
        pool.Release(block);
        // Taking blocks for new data uses the never-cached ones first, then evicts.
        for (int i = 0; i < 3; i++) Assert.NotEqual(block, pool.Take());
        Assert.Equal(1, pool.EvictableCount);
        Assert.Equal(block, pool.Take());
        Assert.Equal(0, pool.EvictableCount);
        Assert.Equal(1, pool.Evictions);
        Assert.Null(pool.Lookup(Hash, Parent, Tokens, "a"));
        Assert.Equal(4, pool.PeakUsedCount);
    }
}
