using Scion.Models.KvCache;
using Scion.Models.Llama;

namespace Scion.Models.Tests.Llama;

/// <summary>The F16 cache stores keys and values rounded to nearest even and knows when any is not a finite half.</summary>
public class KvCacheWriteTests
{
    private static PagedKvCache Cache() => new(RandomModel.TinyConfig(), 32, blockSize: 4);

    [Fact]
    public void WriteRoundsToHalfAtTheBlockTableOffset()
    {
        var cache = Cache();
        int kvDim = cache.KvDim;
        var table = cache.Reserve(0, 7);
        var key = new float[kvDim];
        var value = new float[kvDim];
        for (int i = 0; i < kvDim; i++) { key[i] = 1f + i * 1e-4f; value[i] = -0.3f * i; }
        cache.Write(1, table, 6, key, value);
        int off = cache.Offset(table, 6);
        for (int i = 0; i < kvDim; i++)
        {
            Assert.Equal((Half)key[i], cache.Keys(1)[off + i]);
            Assert.Equal((Half)value[i], cache.Values(1)[off + i]);
        }
        Assert.True(cache.AllFinite(1));
        Assert.Equal(2L * cache.Layers * cache.BlockCount * cache.BlockSize * kvDim * 2, cache.Bytes);
    }

    [Theory]
    [InlineData(65520f)]
    [InlineData(-1e6f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void NonFiniteHalvesAreNoticedUntilClear(float bad)
    {
        var cache = Cache();
        var table = cache.Reserve(0, 2);
        var ok = new float[cache.KvDim];
        var wrong = new float[cache.KvDim];
        wrong[^1] = bad;
        cache.Write(0, table, 0, ok, ok);
        cache.Write(0, table, 1, ok, [.. ok]);
        Assert.True(cache.AllFinite(0));
        cache.Write(0, table, 1, ok, wrong);
        Assert.False(cache.AllFinite(0));
        Assert.True(cache.AllFinite(1));
        cache.Clear();
        Assert.True(cache.AllFinite(0));
        cache.Reserve(0, 1);
        cache.Write(0, cache.Table(0)!, 0, wrong, ok);
        Assert.False(cache.AllFinite(0));
        Assert.Equal(65504f, (float)(Half)65519f); // the boundary the check uses: 65519 still rounds to a finite half
    }

    [Fact]
    public void WrongLengthsNameTheLayerAndPosition()
    {
        var cache = Cache();
        var table = cache.Reserve(0, 1);
        var ex = Assert.Throws<ArgumentException>(() => cache.Write(2, table, 0, new float[3], new float[cache.KvDim]));
        Assert.Contains("layer 2, position 0", ex.Message);
    }
}
