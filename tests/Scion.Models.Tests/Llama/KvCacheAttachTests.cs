using Scion.Models.KvCache;
using Scion.Models.Llama;

namespace Scion.Models.Tests.Llama;

/// <summary>Caller-owned blocks (the serving engine's pool): the cache reads and writes them but never frees them.</summary>
public class KvCacheAttachTests
{
    private static readonly LlamaConfig Config = RandomModel.TinyConfig();

    [Fact]
    public void AttachedTablesKeepTheirBlocksThroughTruncateAndFree()
    {
        var cache = new PagedKvCache(Config, 32, blockSize: 4, externalBlocks: true);
        Assert.Equal(0, cache.FreeBlocks);
        var table = cache.Attach(5, [3, 1], 6);
        Assert.Equal(6, cache.Length(5));
        cache.Truncate(5, 2);
        Assert.Equal(2, table.Length);
        Assert.Equal([3, 1], table.Blocks);
        cache.Free(5);
        Assert.Null(cache.Table(5));
        Assert.Equal(0, cache.FreeBlocks);
        // Needing a block the caller did not provide is the cache-full error, not a silent allocation.
        cache.Attach(6, [0], 0);
        Assert.Throws<KvCacheFullException>(() => cache.Reserve(6, 5));
        Assert.Throws<InvalidOperationException>(() => cache.Attach(6, [2], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Attach(7, [8], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Attach(7, [2], 5));
    }

    [Fact]
    public void ForwardOverAnAttachedTableEqualsOneOverReservedBlocks()
    {
        using var m = new LlamaModel(Config, RandomModel.Build(Config, 3));
        int[] tokens = [1, 5, 9, 2, 7, 3];
        var own = m.Forward(new ForwardBatch().AddSequence(0, tokens, 0), new PagedKvCache(Config, 32, 4));
        var external = new PagedKvCache(Config, 32, 4, externalBlocks: true);
        external.Attach(0, [6, 2], 0);
        Assert.Equal(own, m.Forward(new ForwardBatch().AddSequence(0, tokens, 0), external));
        Assert.Equal(6, external.Length(0));
    }

    [Fact]
    public void CopyBlockCopiesEveryLayersKeysAndValues()
    {
        var cache = new PagedKvCache(Config, 32, blockSize: 4, externalBlocks: true);
        var table = cache.Attach(0, [2], 0);
        var k = Enumerable.Range(0, Config.KvDim).Select(i => i * 0.5f).ToArray();
        var v = Enumerable.Range(0, Config.KvDim).Select(i => -i * 0.25f).ToArray();
        for (int l = 0; l < Config.Layers; l++)
            for (int p = 0; p < 4; p++) cache.Write(l, table, p, k, v);
        cache.CopyBlock(2, 5);
        int keys = 4 * cache.KeyRowBytes, values = 4 * cache.ValueRowBytes; // one block
        var copy = cache.Attach(1, [5], 4);
        for (int l = 0; l < Config.Layers; l++)
        {
            Assert.Equal(cache.Keys(l).AsSpan(2 * keys, keys).ToArray(), cache.Keys(l).AsSpan(5 * keys, keys).ToArray());
            Assert.Equal(cache.Values(l).AsSpan(2 * values, values).ToArray(), cache.Values(l).AsSpan(5 * values, values).ToArray());
            var key = new float[Config.KvDim];
            var value = new float[Config.KvDim];
            for (int p = 0; p < 4; p++)
            {
                cache.ReadKey(l, copy, p, key);
                cache.ReadValue(l, copy, p, value);
                Assert.Equal(k, key);
                Assert.Equal(v, value);
            }
        }
    }
}
