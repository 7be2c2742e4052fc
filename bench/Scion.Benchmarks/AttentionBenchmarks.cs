using BenchmarkDotNet.Attributes;
using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Benchmarks;

/// <summary>
/// One layer of attention at TinyLlama's shape (32 query heads, 4 KV heads, Dh 64) on 2 threads: a whole prompt of
/// Context rows (causal prefill) and one decode row at that depth, over F16, Q8_0 and Q4_0 caches.
/// FLOPs of the prefill: 4 · Context·(Context+1)/2 · heads · Dh.
/// </summary>
public class AttentionBenchmarks
{
    [Params(512, 2048)]
    public int Context;

    [Params("f16", "q8_0", "q4_0")]
    public string Cache = "f16";

    private PagedKvCache _cache = null!;
    private int[] _positions = [], _last = [];
    private KvBlockTable[] _tables = [], _lastTable = [];
    private float[] _q = [], _out = [];
    private WorkerPool _pool = null!;

    [GlobalSetup]
    public void Setup()
    {
        var config = RandomModel.TinyConfig() with { Heads = 32, KvHeads = 4, HeadDim = 64, Dim = 2048, RopeDim = 64, ContextLength = 4096 };
        var type = KvCacheFormat.ParseType(Cache);
        _cache = new PagedKvCache(config, Context + 16, 16, format: new KvCacheFormat(type, type));
        var rng = new Random(1);
        var table = _cache.Reserve(0, Context);
        var k = new float[_cache.KvDim];
        var v = new float[_cache.KvDim];
        for (int p = 0; p < Context; p++)
        {
            for (int i = 0; i < k.Length; i++) { k[i] = (float)rng.NextDouble() - 0.5f; v[i] = (float)rng.NextDouble() - 0.5f; }
            _cache.Write(0, table, p, k, v);
        }
        _positions = [.. Enumerable.Range(0, Context)];
        _tables = [.. _positions.Select(_ => table)];
        _last = [Context - 1];
        _lastTable = [table];
        _q = [.. Enumerable.Range(0, Context * 2048).Select(_ => (float)rng.NextDouble() - 0.5f)];
        _out = new float[_q.Length];
        _pool = new WorkerPool(2);
    }

    [GlobalCleanup]
    public void Cleanup() => _pool.Dispose();

    [Benchmark]
    public void Prefill() => PagedAttention.Run(_q, _out, Context, _positions, _tables, _cache, 0, 32, 4, 64, 0, _pool);

    [Benchmark]
    public void DecodeRow() => PagedAttention.Run(_q.AsSpan(0, 2048), _out.AsSpan(0, 2048), 1, _last, _lastTable, _cache, 0, 32, 4, 64, 0, _pool);
}
