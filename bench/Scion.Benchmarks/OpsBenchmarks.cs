using BenchmarkDotNet.Attributes;
using Scion.Tensors;

namespace Scion.Benchmarks;

/// <summary>The element-wise kernels at TinyLlama widths (hidden 2048, FFN 5632), with an odd length for tails.</summary>
public class OpsBenchmarks
{
    [Params(2048, 5632, 2051)]
    public int N;

    private float[] _a = [], _b = [], _dst = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _a = new float[N]; _b = new float[N]; _dst = new float[N];
        for (int i = 0; i < N; i++) { _a[i] = (float)rng.NextDouble() - 0.5f; _b[i] = (float)rng.NextDouble(); }
    }

    [Benchmark] public void RmsNorm() => Ops.RmsNorm(_a, _b, 1e-5f, _dst);
    [Benchmark] public void SiluMul() => Ops.SiluMul(_a, _b, _dst);
    [Benchmark] public void Softmax() { _a.CopyTo(_dst, 0); Ops.Softmax(_dst); }
    [Benchmark] public float Dot() => Ops.Dot(_a, _b);
}
