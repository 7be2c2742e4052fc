using Scion.Models.KvCache;
using Scion.Models.Llama;

namespace Scion.Models.Tests.Llama;

/// <summary>The cache's own free list: blocks taken, truncated, freed and reused, and what a forward reads after that.</summary>
public class KvCacheLifecycleTests
{
    private static readonly LlamaConfig Config = RandomModel.TinyConfig();
    private static readonly int[] Prompt = [3, 14, 15, 9, 26, 53, 5, 8, 9, 7, 9, 3, 2, 38, 4, 6];

    [Fact]
    public void BlocksAreCountedThroughReserveTruncateFreeAndClear()
    {
        var cache = new PagedKvCache(Config, 40, blockSize: 4); // 10 blocks
        Assert.Equal(10, cache.FreeBlocks);
        var a = cache.Reserve(0, 9);                            // 3 blocks
        cache.Reserve(1, 4);                                    // 1 block
        Assert.Equal(6, cache.FreeBlocks);
        Assert.Equal(3, a.Blocks.Count);
        cache.Reserve(0, 12);                                   // still 3: positions 9..11 fit the last block
        Assert.Equal(6, cache.FreeBlocks);
        var blocksOfA = a.Blocks.ToList();
        cache.Free(0);
        Assert.Equal(9, cache.FreeBlocks);
        Assert.Null(cache.Table(0));
        // Freed blocks are handed out again (first the last freed), so nothing leaks.
        var c = cache.Reserve(2, 36);                           // 9 blocks: every free one
        Assert.Equal(0, cache.FreeBlocks);
        Assert.Subset(c.Blocks.ToHashSet(), blocksOfA.ToHashSet());
        Assert.Equal(9, c.Blocks.Distinct().Count());
        var full = Assert.Throws<KvCacheFullException>(() => cache.Reserve(3, 1));
        Assert.Contains("1 more blocks of 4 tokens, 0 are free", full.Message);
        // Truncate keeps the blocks its length needs (a partial last block stays), frees the rest.
        cache.Truncate(2, 5);
        Assert.Equal(2, c.Blocks.Count);
        Assert.Equal(7, cache.FreeBlocks);
        cache.Clear();
        Assert.Equal(10, cache.FreeBlocks);
        Assert.Empty(cache.Sequences);
    }

    [Fact]
    public void ReusedBlocksHoldNothingOfTheirLastOwner()
    {
        using var m = new LlamaModel(Config, RandomModel.Build(Config, 11));
        int[] other = [7, 7, 1, 2, 60, 33, 21, 4, 5, 6, 50, 40, 30, 20, 10, 9];
        var cache = new PagedKvCache(Config, 16, blockSize: 4);  // exactly one sequence's worth
        m.Forward(new ForwardBatch().AddSequence(0, other, 0), cache);
        cache.Free(0);
        // The second sequence gets the same four blocks, full of the first one's keys and values.
        var reused = m.Forward(new ForwardBatch().AddSequence(1, Prompt, 0, allLogits: true), cache);
        var fresh = m.Forward(new ForwardBatch().AddSequence(1, Prompt, 0, allLogits: true), new PagedKvCache(Config, 16, blockSize: 4));
        Assert.Equal(fresh, reused);
    }

    [Theory]
    [InlineData(8)]  // at a block boundary
    [InlineData(10)] // inside a block: its first two positions stay, the rest are overwritten
    public void TruncateThenPrefillDifferentTokensEqualsAColdPrefill(int keep)
    {
        using var m = new LlamaModel(Config, RandomModel.Build(Config, 12));
        var cache = new PagedKvCache(Config, 64, blockSize: 4);
        m.Forward(new ForwardBatch().AddSequence(0, Prompt, 0), cache);
        cache.Truncate(0, keep);
        Assert.Equal(keep, cache.Length(0));
        int[] tail = [44, 45, 46, 47, 48, 49, 50, 51];
        var warm = m.Forward(new ForwardBatch().AddSequence(0, tail, keep, allLogits: true), cache);
        int[] whole = [.. Prompt.Take(keep), .. tail];
        var cold = m.Forward(new ForwardBatch().AddSequence(0, whole, 0, allLogits: true), new PagedKvCache(Config, 64, blockSize: 4));
        int v = Config.Vocab;
        ForwardEquivalenceTests.AssertClose(cold.AsSpan(keep * v), warm, 1e-5f);
        Assert.Equal(keep + tail.Length, cache.Length(0));
    }
}
