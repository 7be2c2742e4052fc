using Scion.Models.Llama;
using Scion.Serving.KvCache;

namespace Scion.Serving.Tests;

/// <summary>The block manager alone: reference counts, prefix hits, LRU eviction and copy-on-write.</summary>
public class KvBlockManagerTests
{
    private static readonly LlamaConfig Config = RandomModel.TinyConfig();

    private static KvBlockManager Manager(int blocks) => new(Config, blocks * 4, blockSize: 4);

    private static int[] Seq(int start, int count) => [.. Enumerable.Range(start, count)];

    private static readonly LlamaModel Model = new(Config, RandomModel.Build(Config, seed: 3));

    /// <summary>Admits, grows, runs the real forward over the uncached rest and commits, as the engine does.</summary>
    private static void Prefill(KvBlockManager m, int sequence, int[] tokens, string? adapter = null)
    {
        int hit = m.Admit(sequence, tokens, adapter);
        Assert.True(m.EnsureCapacity(sequence, tokens.Length));
        lock (Model) Model.Forward(new ForwardBatch().AddSequence(sequence, tokens.AsSpan(hit), hit), m.Cache);
        Assert.Equal(tokens.Length, m.Length(sequence));
        m.Commit(sequence, tokens);
    }

    [Fact]
    public void APromptFindsTheFullBlocksOfAnEarlierOneButNeverItsOwnLastToken()
    {
        var m = Manager(16);
        Prefill(m, 1, Seq(0, 10)); // blocks [0..3] [4..7] full, [8, 9] partial
        Assert.Equal((8, 0), m.Probe(Seq(0, 12), null));
        Assert.Equal((4, 0), m.Probe(Seq(0, 8), null)); // 8 tokens: the second block holds the last one
        Assert.Equal((0, 0), m.Probe(Seq(1, 12), null));
        Assert.Equal((0, 0), m.Probe(Seq(0, 12), "adapter"));
        Assert.Equal(8, m.Admit(2, Seq(0, 12), null));
        Assert.Equal(3, m.UsedBlocks); // shared, not copied
        m.Validate();
    }

    [Fact]
    public void FreedCachedBlocksStayFindableUntilTheMemoryIsNeeded()
    {
        var m = Manager(4);
        Prefill(m, 1, Seq(0, 9));
        m.Free(1);
        Assert.Equal(0, m.UsedBlocks);
        Assert.Equal(2, m.EvictableBlocks);
        Assert.Equal((8, 2), m.Probe(Seq(0, 12), null));
        // A new sequence takes the never-cached block first, then evicts the chain's later block before its first.
        Prefill(m, 2, Seq(40, 12)); // three blocks: the two free ones, then one eviction
        Assert.Equal((4, 1), m.Probe(Seq(0, 12), null));
        Assert.Equal(1, m.Evictions);
        m.Validate();
    }

    [Fact]
    public void RunningOutIsAReturnValueAndChangesNothing()
    {
        var m = Manager(3);
        Assert.Equal(0, m.Admit(1, Seq(0, 5), null));
        Assert.False(m.EnsureCapacity(1, 13));
        Assert.Equal(0, m.UsedBlocks);
        Assert.True(m.EnsureCapacity(1, 12));
        Assert.Equal(3, m.UsedBlocks);
        m.Free(1);
        Assert.Equal(0, m.UsedBlocks);
        m.Validate();
    }

    [Fact]
    public void ForksShareBlocksAndCopyASharedPartialBlockOnWrite()
    {
        var m = Manager(8);
        Prefill(m, 1, Seq(0, 6)); // one full block, one partial (2 of 4)
        m.Fork(1, 2);
        m.Fork(1, 3);
        Assert.Equal(2, m.UsedBlocks);
        Assert.True(m.WritesIntoSharedBlock(2));
        Assert.Equal(1, m.BlocksNeeded(2, 7));
        int partial = m.Cache.Table(1)!.Blocks[1];
        // Give the partial block recognisable contents; the copy must carry them.
        var key = Enumerable.Range(0, Config.KvDim).Select(i => (float)i).ToArray();
        m.Cache.Write(0, m.Cache.Table(1)!, 5, key, key);
        Assert.True(m.EnsureCapacity(2, 7));
        int copy = m.Cache.Table(2)!.Blocks[1];
        Assert.NotEqual(partial, copy);
        Assert.Equal(m.Cache.Table(1)!.Blocks[0], m.Cache.Table(2)!.Blocks[0]);
        int size = 4 * m.Cache.KeyRowBytes; // one block
        Assert.Equal(m.Cache.Keys(0).AsSpan(partial * size, size).ToArray(), m.Cache.Keys(0).AsSpan(copy * size, size).ToArray());
        var copied = new float[Config.KvDim];
        m.Cache.ReadKey(0, m.Cache.Table(2)!, 5, copied);
        Assert.Equal(key, copied);
        Assert.Equal(3, m.UsedBlocks);
        m.Validate();
        // The last two holders still share the original: one more copy, then the last writes in place.
        Assert.True(m.EnsureCapacity(3, 7));
        Assert.False(m.WritesIntoSharedBlock(1));
        Assert.True(m.EnsureCapacity(1, 7));
        Assert.Equal(partial, m.Cache.Table(1)!.Blocks[1]);
        Assert.Equal(4, m.UsedBlocks);
        foreach (int s in new[] { 1, 2, 3 }) m.Free(s);
        Assert.Equal(0, m.UsedBlocks);
        m.Validate();
    }

    [Fact]
    public void TheSameTokensUnderDifferentParentsHashDifferently()
    {
        var tokens = Seq(7, 4);
        Assert.NotEqual(BlockHash.Of(BlockHash.Root, tokens, null), BlockHash.Of(BlockHash.Of(BlockHash.Root, tokens, null), tokens, null));
        Assert.NotEqual(BlockHash.Of(BlockHash.Root, tokens, null), BlockHash.Of(BlockHash.Root, tokens, ""));
        Assert.NotEqual(BlockHash.Of(BlockHash.Root, tokens, "a"), BlockHash.Of(BlockHash.Root, tokens, "b"));
        Assert.Equal(BlockHash.Of(BlockHash.Root, tokens, "a"), BlockHash.Of(BlockHash.Root, Seq(7, 4), "a"));
    }
    [Fact]
    public void ASharedPartialBlockIsCopiedOnlyWhenThePositionsGrow()
    {
        var m = Manager(8);
        Prefill(m, 1, Seq(0, 6));
        m.Fork(1, 2);
        // Capacity for the positions already held writes nothing new: no copy, no block.
        Assert.Equal(0, m.BlocksNeeded(2, 6));
        Assert.True(m.EnsureCapacity(2, 6));
        Assert.Equal(m.Cache.Table(1)!.Blocks, m.Cache.Table(2)!.Blocks);
        Assert.Equal(2, m.UsedBlocks);
        m.Validate();
    }

    [Fact]
    public void ASequenceIsAdmittedOnceAndItsCacheNeverHandsOutBlocksItself()
    {
        var m = Manager(4);
        m.Admit(1, Seq(0, 5), null);
        Assert.Equal("Sequence 1 already holds KV blocks.", Assert.Throws<InvalidOperationException>(() => m.Admit(1, Seq(0, 5), null)).Message);
        Assert.Equal(0, m.Cache.FreeBlocks); // every block belongs to the manager's pool
        Assert.Throws<Scion.Models.KvCache.KvCacheFullException>(() => m.Cache.Reserve(9, 1));
    }

    [Fact]
    public void ValidateFindsAReferenceNoSequenceHolds()
    {
        var m = Manager(4);
        Prefill(m, 1, Seq(0, 6));
        m.Validate();
        // A leak planted behind the manager's back: one block taken and never given to a sequence.
        var pool = (BlockPool)typeof(KvBlockManager).GetField("_pool", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(m)!;
        int leaked = pool.Take()!.Value;
        Assert.Equal($"KV block {leaked}: reference count 1, but 0 sequences hold it.", Assert.Throws<InvalidOperationException>(m.Validate).Message);
        pool.Release(leaked);
        m.Validate();
        // The last block counts too.
        var last = new KvBlockManager(Config, 4 * 4, blockSize: 4);
        var lastPool = (BlockPool)typeof(KvBlockManager).GetField("_pool", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(last)!;
        for (int i = 0; i < 4; i++) lastPool.Take();
        Assert.StartsWith("KV block 0:", Assert.Throws<InvalidOperationException>(last.Validate).Message);
        for (int b = 0; b < 3; b++) lastPool.Release(b);
        Assert.Equal("KV block 3: reference count 1, but 0 sequences hold it.", Assert.Throws<InvalidOperationException>(last.Validate).Message);
    }
}
