using Scion.Models.KvCache;
using Scion.Models.Llama;

namespace Scion.Models.Tests.Llama;

/// <summary>The F16 cache stores keys and values rounded to nearest even and knows when any is not a finite half; a
/// quantized cache stores llama.cpp's blocks and poisons a row with a non-finite input.</summary>
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
        long row = cache.Row(table, 6);
        Assert.Equal(table.Blocks[1] * 4 + 2, row);
        // Keys are transposed inside their block: value e of slot 2 of block 1 at e·blockSize + 2.
        Assert.True(cache.KeysTransposed);
        var tile = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(cache.Keys(1).AsSpan(table.Blocks[1] * 4 * cache.KeyRowBytes, 4 * cache.KeyRowBytes));
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(cache.Values(1).AsSpan((int)row * cache.ValueRowBytes, cache.ValueRowBytes));
        var readKey = new float[kvDim];
        var readValue = new float[kvDim];
        cache.ReadKey(1, table, 6, readKey);
        cache.ReadValue(1, table, 6, readValue);
        for (int i = 0; i < kvDim; i++)
        {
            Assert.Equal((Half)key[i], tile[i * 4 + 2]);
            Assert.Equal((Half)value[i], values[i]);
            Assert.Equal((float)(Half)key[i], readKey[i]);
            Assert.Equal((float)(Half)value[i], readValue[i]);
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

    /// <summary>TinyConfig with four KV heads: a KV width of 32, one quantization block.</summary>
    private static LlamaConfig Wide() => RandomModel.TinyConfig() with { KvHeads = 4 };

    [Theory]
    [InlineData(Scion.Tensors.GgmlType.Q8_0, 34)]
    [InlineData(Scion.Tensors.GgmlType.Q4_0, 18)]
    public void QuantizedRowsAreTheQuantizersBlocks(Scion.Tensors.GgmlType type, int rowBytes)
    {
        var cache = new PagedKvCache(Wide(), 32, blockSize: 4, format: new KvCacheFormat(type, Scion.Tensors.GgmlType.F16));
        Assert.Equal(rowBytes, cache.KeyRowBytes);
        Assert.Equal(64, cache.ValueRowBytes);
        Assert.Equal((long)cache.Layers * cache.BlockCount * cache.BlockSize * (rowBytes + 64), cache.Bytes);
        var table = cache.Reserve(3, 6);
        var key = Enumerable.Range(0, 32).Select(i => MathF.Sin(i) * 3f).ToArray();
        var value = new float[32];
        cache.Write(1, table, 5, key, value);
        var want = new byte[rowBytes];
        Scion.Tensors.Quantize.Row(type, key, want);
        long row = cache.Row(table, 5);
        Assert.Equal(want, cache.Keys(1).AsSpan((int)row * rowBytes, rowBytes).ToArray());
        Assert.True(cache.AllFinite(1));
    }

    [Theory]
    [InlineData(Scion.Tensors.GgmlType.Q8_0, float.NaN)]
    [InlineData(Scion.Tensors.GgmlType.Q4_0, float.PositiveInfinity)]
    [InlineData(Scion.Tensors.GgmlType.Q8_0, 1e9f)] // finite, but its block scale (1e9 / 127) is beyond a half
    public void NonFiniteQuantizedRowsAreNoticedAndPoisoned(Scion.Tensors.GgmlType type, float bad)
    {
        var cache = new PagedKvCache(Wide(), 8, blockSize: 4, format: new KvCacheFormat(type, type));
        var table = cache.Reserve(0, 1);
        var ok = new float[32];
        var wrong = new float[32];
        wrong[7] = bad;
        cache.Write(0, table, 0, ok, wrong);
        Assert.False(cache.AllFinite(0));
        var scale = BitConverter.ToHalf(cache.Values(0), (int)cache.Row(table, 0) * cache.ValueRowBytes);
        Assert.False(Half.IsFinite(scale));
        unsafe
        {
            fixed (byte* v = cache.Values(0))
                Assert.False(float.IsFinite(Scion.Tensors.Reference.ReferenceAttention.Element(type, v + cache.Row(table, 0) * cache.ValueRowBytes, 3)));
        }
    }

    [Fact]
    public void AQuantizedCacheNeedsWholeBlocksPerPosition()
    {
        var ex = Assert.Throws<ArgumentException>(() => new PagedKvCache(RandomModel.TinyConfig(), 8, format: new KvCacheFormat(Scion.Tensors.GgmlType.F16, Scion.Tensors.GgmlType.Q8_0)));
        Assert.Contains("q8_0 V cache", ex.Message);
        Assert.Contains("KV width is 16 (2 KV heads x 8)", ex.Message);
        var bad = Assert.Throws<ArgumentException>(() => KvCacheFormat.ParseType("q5_1", "--cache-type-k"));
        Assert.Contains("--cache-type-k: expected one of f16, q8_0, q4_0, got 'q5_1'", bad.Message);
        Assert.Equal(Scion.Tensors.GgmlType.Q4_0, KvCacheFormat.ParseType("Q4_0"));
    }
}
