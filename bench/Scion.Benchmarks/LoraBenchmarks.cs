using BenchmarkDotNet.Attributes;
using Scion.Models.Adapters;
using Scion.Models.Llama;
using Scion.Tensors;
using Scion.Tensors.Packed;

namespace Scion.Benchmarks;

/// <summary>
/// One decode step's q, v and o projections of a TinyLlama-1.1B layer (2048 wide, 256-wide V under GQA) for 32
/// sequences: the base products alone, and with rank-8 adapters on q/v/o — 32 distinct adapters (one row each),
/// or one adapter shared by all 32 rows — applied by grouped shrink/expand, and the previous per-row dot products
/// for comparison. Weights and adapters cycle through <see cref="Layers"/> copies, so each step reads them from
/// memory as a real forward's layers do.
/// </summary>
[MemoryDiagnoser]
public class LoraBenchmarks
{
    [Params(GgmlType.Q4_0, GgmlType.Q8_0)]
    public GgmlType Type = GgmlType.Q4_0;

    private const int Dim = 2048, KvDim = 256, Rows = 32, Rank = 8, Layers = 8;

    private WeightBuffer[] _q = [], _v = [], _o = [];
    private WeightMatrix[] _qm = [], _vm = [], _om = []; // with the packed copy a model load makes, where the CPU has one
    private LoraAdapter[][] _distinct = []; // [Layers][Rows]
    private LoraAdapter[] _shared = [];     // [Layers]
    private AdapterRowGroups[] _distinctGroups = [], _sharedGroups = [];
    private float[] _x = [], _yq = [], _yv = [], _yo = [];
    private int _layer;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Xoshiro256(3);
        float[] Gaussian(int n, float std) { var v = new float[n]; for (int i = 0; i < n; i++) v[i] = (float)rng.NextGaussian() * std; return v; }
        WeightBuffer Weight(int rows, int cols) => WeightBuffer.FromFloats(Gaussian(rows * cols, 1f / MathF.Sqrt(cols)), rows, cols, Type);
        LoraModule Module(int outDim, int inDim) => new() { Rank = Rank, In = inDim, Out = outDim, Scale = 2f, A = Gaussian(Rank * inDim, 0.02f), B = Gaussian(outDim * Rank, 0.02f) };
        LoraAdapter Adapter(string name) => new LoraAdapter(name, 1)
        {
            [0, LinearSlot.Q] = Module(Dim, Dim), [0, LinearSlot.V] = Module(KvDim, Dim), [0, LinearSlot.O] = Module(Dim, Dim),
        }.Prepare();

        _q = new WeightBuffer[Layers]; _v = new WeightBuffer[Layers]; _o = new WeightBuffer[Layers];
        _qm = new WeightMatrix[Layers]; _vm = new WeightMatrix[Layers]; _om = new WeightMatrix[Layers];
        _distinct = new LoraAdapter[Layers][]; _shared = new LoraAdapter[Layers];
        _distinctGroups = new AdapterRowGroups[Layers]; _sharedGroups = new AdapterRowGroups[Layers];
        for (int l = 0; l < Layers; l++)
        {
            _q[l] = Weight(Dim, Dim); _v[l] = Weight(KvDim, Dim); _o[l] = Weight(Dim, Dim);
            _qm[l] = Packed(_q[l]); _vm[l] = Packed(_v[l]); _om[l] = Packed(_o[l]);
            _distinct[l] = Enumerable.Range(0, Rows).Select(r => Adapter($"l{l}a{r}")).ToArray();
            _shared[l] = Adapter($"l{l}shared");
            _distinctGroups[l] = AdapterRowGroups.Of(_distinct[l]);
            _sharedGroups[l] = AdapterRowGroups.Of(Enumerable.Repeat<LoraAdapter?>(_shared[l], Rows).ToArray());
        }
        _x = Gaussian(Rows * Dim, 1f);
        _yq = new float[Rows * Dim]; _yv = new float[Rows * KvDim]; _yo = new float[Rows * Dim];
    }

    private readonly List<PackedWeights> _packs = [];

    private WeightMatrix Packed(WeightBuffer w)
    {
        if (PackedWeights.TryPack(w.Matrix) is not { } p) return w.Matrix;
        _packs.Add(p);
        return w.Matrix.WithPacked(p);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var p in _packs) p.Dispose();
        foreach (var w in _q.Concat(_v).Concat(_o)) w.Dispose();
    }

    private int NextLayer() => _layer = (_layer + 1) % Layers;

    private void BaseProducts(int l)
    {
        MatMul.Multiply(_qm[l], _x, _yq, Rows);
        MatMul.Multiply(_vm[l], _x, _yv, Rows);
        MatMul.Multiply(_om[l], _x, _yo, Rows);
    }

    private void Grouped(AdapterRowGroups groups)
    {
        LoraApply.AddGroups(0, LinearSlot.Q, _x, _yq, Dim, Dim, groups, WorkerPool.Shared);
        LoraApply.AddGroups(0, LinearSlot.V, _x, _yv, Dim, KvDim, groups, WorkerPool.Shared);
        LoraApply.AddGroups(0, LinearSlot.O, _x, _yo, Dim, Dim, groups, WorkerPool.Shared);
    }

    [Benchmark(Baseline = true)]
    public void BaseOnly() => BaseProducts(NextLayer());

    [Benchmark]
    public void Distinct32Grouped()
    {
        int l = NextLayer();
        BaseProducts(l);
        Grouped(_distinctGroups[l]);
    }

    [Benchmark]
    public void Shared1Grouped()
    {
        int l = NextLayer();
        BaseProducts(l);
        Grouped(_sharedGroups[l]);
    }

    [Benchmark]
    public void Distinct32AdaptersOnly() => Grouped(_distinctGroups[NextLayer()]);

    [Benchmark]
    public void Shared1AdaptersOnly() => Grouped(_sharedGroups[NextLayer()]);

    /// <summary>The formulation before grouping: per row, rank dots over the input, then a dot of length rank per output.</summary>
    [Benchmark]
    public void Distinct32PerRowDots()
    {
        int l = NextLayer();
        BaseProducts(l);
        for (int r = 0; r < Rows; r++)
        {
            var a = _distinct[l][r];
            PerRow(a[0, LinearSlot.Q]!, _x.AsSpan(r * Dim, Dim), _yq.AsSpan(r * Dim, Dim));
            PerRow(a[0, LinearSlot.V]!, _x.AsSpan(r * Dim, Dim), _yv.AsSpan(r * KvDim, KvDim));
            PerRow(a[0, LinearSlot.O]!, _x.AsSpan(r * Dim, Dim), _yo.AsSpan(r * Dim, Dim));
        }
    }

    private static void PerRow(LoraModule m, ReadOnlySpan<float> x, Span<float> y)
    {
        Span<float> ax = stackalloc float[m.Rank];
        for (int j = 0; j < m.Rank; j++) ax[j] = Ops.Dot(m.A.AsSpan(j * m.In, m.In), x) * m.Scale;
        for (int o = 0; o < m.Out; o++) y[o] += Ops.Dot(m.B.AsSpan(o * m.Rank, m.Rank), ax);
    }
}
