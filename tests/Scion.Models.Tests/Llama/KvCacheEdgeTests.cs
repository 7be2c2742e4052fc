using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Models.Tests.Llama;

/// <summary>The cache's limits and messages: sizes it refuses, block ranges, truncation at block boundaries, the
/// finite check on widths that are not a multiple of the vector width, quantized keys read back, format names.</summary>
public class KvCacheEdgeTests
{
    private static readonly LlamaConfig Config = RandomModel.TinyConfig();

    [Fact]
    public void NonPositiveSizesAreRefused()
    {
        Assert.Equal("maxTokens", Assert.Throws<ArgumentOutOfRangeException>(() => new PagedKvCache(Config, 0)).ParamName);
        Assert.Equal("blockSize", Assert.Throws<ArgumentOutOfRangeException>(() => new PagedKvCache(Config, 8, blockSize: 0)).ParamName);
    }

    [Fact]
    public void ACacheBeyondTheArrayLimitIsRefusedByItsLargerHalf()
    {
        // KV width 32: a q4_0 key row is 18 bytes, an f16 value row 64. 50M tokens: keys 0.9 GB fit an array, values 3.2 GB do not.
        var wide = Config with { KvHeads = 4 };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new PagedKvCache(wide, 50_000_000, blockSize: 16, format: new KvCacheFormat(GgmlType.Q4_0, GgmlType.F16)));
        Assert.Equal("maxTokens", e.ParamName);
        Assert.StartsWith($"A KV cache of 50000000 tokens needs 3200000000 bytes per layer, above the array limit of {Array.MaxLength}.", e.Message);
    }

    [Fact]
    public void AFreshCacheHandsOutBlocksInOrder()
    {
        var cache = new PagedKvCache(Config, 16, blockSize: 4);
        Assert.Equal([0, 1, 2], cache.Reserve(0, 9).Blocks);
        Assert.Equal([3], cache.Reserve(1, 1).Blocks);
    }

    [Fact]
    public void TruncateKeepsTheBlocksThatHoldTheKeptPositions()
    {
        var cache = new PagedKvCache(Config, 16, blockSize: 4);
        var table = cache.Reserve(0, 12);
        cache.SetLength(table, 12);
        cache.Truncate(0, 5);   // positions 0..4 live in two blocks
        Assert.Equal(2, table.Blocks.Count);
        cache.Truncate(0, 4);   // exactly one full block
        Assert.Single(table.Blocks);
        Assert.Equal(4, table.Length);
        Assert.Equal(3, cache.FreeBlocks);
        cache.Truncate(0, 0);
        Assert.Empty(table.Blocks);
        Assert.Equal(4, cache.FreeBlocks);
    }

    [Fact]
    public void AttachAndCopyErrorsNameTheBlocks()
    {
        var cache = new PagedKvCache(Config, 16, blockSize: 4, externalBlocks: true);
        Assert.Equal("Block 4 is outside the cache's 4 blocks. (Parameter 'blocks')",
            Assert.Throws<ArgumentOutOfRangeException>(() => cache.Attach(1, [0, 4], 0)).Message);
        Assert.Equal("Length 9 does not fit 2 blocks of 4 tokens. (Parameter 'length')",
            Assert.Throws<ArgumentOutOfRangeException>(() => cache.Attach(1, [0, 1], 9)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Attach(1, [0], -1));
        cache.Attach(1, [0, 1], 8);
        Assert.Equal("Sequence 1 already has a block table.", Assert.Throws<InvalidOperationException>(() => cache.Attach(1, [2], 0)).Message);
        Assert.Equal("Blocks 4 and 0 must lie in [0, 4). (Parameter 'source')", Assert.Throws<ArgumentOutOfRangeException>(() => cache.CopyBlock(4, 0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.CopyBlock(0, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.CopyBlock(-1, 0));
        cache.CopyBlock(3, 0); // the last block is in range
    }

    [Theory]
    [InlineData(12, 3)]   // one vector of 8, then a scalar tail of 4
    [InlineData(12, 10)]  // the bad value in the tail
    [InlineData(24, 17)]  // three vectors, no tail
    [InlineData(24, -1)]  // all finite
    [InlineData(12, -1)]
    public void TheFiniteCheckCoversEveryValueOfAnyWidth(int kvDim, int bad)
    {
        var config = Config with { KvHeads = 2, HeadDim = kvDim / 2, RopeDim = kvDim / 2 };
        var cache = new PagedKvCache(config, 8, blockSize: 4);
        Assert.Equal(kvDim, cache.KvDim);
        var table = cache.Reserve(0, 1);
        var values = Enumerable.Range(0, kvDim).Select(i => i * 100f).ToArray();
        if (bad >= 0) values[bad] = 70000f;
        cache.Write(0, table, 0, values, new float[kvDim]);   // through the keys (transposed F16)
        Assert.Equal(bad < 0, cache.AllFinite(0));
        cache.Write(1, table, 0, new float[kvDim], values);   // through the values
        Assert.Equal(bad < 0, cache.AllFinite(1));
    }

    [Theory]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0)]
    public void QuantizedKeysReadBackAsTheirDequantizedBlocks(GgmlType type)
    {
        var wide = Config with { KvHeads = 4 };
        var cache = new PagedKvCache(wide, 8, blockSize: 4, format: new KvCacheFormat(type, GgmlType.F16));
        Assert.False(cache.KeysTransposed);
        var table = cache.Reserve(0, 6);
        var key = Enumerable.Range(0, 32).Select(i => MathF.Cos(i * 0.7f) * 2f).ToArray();
        cache.Write(1, table, 5, key, new float[32]);
        var blocks = new byte[(int)KvCacheFormat.RowBytes(type, 32)];
        Quantize.Row(type, key, blocks);
        var want = new float[32];
        Dequantize.Row(type, blocks, want);
        var got = new float[32];
        cache.ReadKey(1, table, 5, got);
        Assert.Equal(want, got);
    }

    [Fact]
    public void FormatNamesParseAndPrintAsLlamaCppSpellsThem()
    {
        Assert.Equal(GgmlType.F16, KvCacheFormat.ParseType("F16"));
        Assert.Equal(GgmlType.Q8_0, KvCacheFormat.ParseType("q8_0"));
        Assert.Equal(GgmlType.Q4_0, KvCacheFormat.ParseType("Q4_0"));
        Assert.Equal("--cache-type-k: expected one of f16, q8_0, q4_0, got 'q4_k'.",
            Assert.Throws<ArgumentException>(() => KvCacheFormat.ParseType("q4_k", "--cache-type-k")).Message);
        Assert.Equal(["f16", "q8_0", "q4_0"], KvCacheFormat.Names);
        Assert.Equal("f16", KvCacheFormat.Name(GgmlType.F16));
        Assert.Equal("q8_0", KvCacheFormat.Name(GgmlType.Q8_0));
        Assert.Equal("q4_0", KvCacheFormat.Name(GgmlType.Q4_0));
        Assert.Equal("K q8_0, V q4_0", new KvCacheFormat(GgmlType.Q8_0, GgmlType.Q4_0).ToString());
    }

    [Fact]
    public void AFormatTheAttentionCannotReadIsRefusedByName()
    {
        var wide = Config with { KvHeads = 4 };
        Assert.Equal("The V cache type must be one of f16, q8_0, q4_0, got q4_k.",
            Assert.Throws<ArgumentException>(() => new PagedKvCache(wide, 8, format: new KvCacheFormat(GgmlType.F16, GgmlType.Q4_K))).Message);
        Assert.Equal("A q8_0 K cache stores blocks of 32 values, but this model's KV width is 16 (2 KV heads x 8); use f16.",
            Assert.Throws<ArgumentException>(() => new PagedKvCache(Config, 8, format: new KvCacheFormat(GgmlType.Q8_0, GgmlType.F16))).Message);
    }
}
