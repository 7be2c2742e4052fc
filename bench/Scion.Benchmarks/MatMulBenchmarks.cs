using BenchmarkDotNet.Attributes;
using Scion.Tensors;
using Scion.Tensors.Cpu;

namespace Scion.Benchmarks;

/// <summary>
/// Decode (1 token, GEMV) and prefill (64 tokens, GEMM) at TinyLlama-1.1B projection shapes, per weight type.
/// Decode cycles through copies of the weight larger than the last-level cache so it measures DRAM streaming,
/// as a real forward pass does; compare bytes/s against the machine's read bandwidth.
/// </summary>
[MemoryDiagnoser]
public class MatMulBenchmarks
{
    [Params(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K)]
    public GgmlType Type;

    /// <summary>rows x cols: attention projections (2048x2048) and FFN gate/up (5632x2048).</summary>
    [Params("2048x2048", "5632x2048")]
    public string Shape = "2048x2048";

    private WeightBuffer[] _copies = [];
    private float[] _x = [];
    private float[] _y = [];
    private int _next;
    private const int PrefillTokens = 64;

    [GlobalSetup]
    public void Setup()
    {
        var parts = Shape.Split('x');
        int rows = int.Parse(parts[0]), cols = int.Parse(parts[1]);
        var rng = new Random(42);
        var values = new float[rows * cols];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() - 0.5) * 0.1f;
        var first = WeightBuffer.FromFloats(values, rows, cols, Type);
        // Enough copies to exceed ~256 MB so consecutive decode calls never hit in cache.
        int copies = (int)Math.Clamp(256L * 1024 * 1024 / first.Matrix.ByteCount, 1, 64);
        _copies = new WeightBuffer[copies];
        _copies[0] = first;
        for (int c = 1; c < copies; c++) _copies[c] = WeightBuffer.FromBytes(first.Bytes, Type, rows, cols);
        _x = new float[PrefillTokens * cols];
        for (int i = 0; i < _x.Length; i++) _x[i] = (float)(rng.NextDouble() - 0.5);
        _y = new float[PrefillTokens * rows];
        _ = WorkerPool.Shared;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var c in _copies) c.Dispose();
    }

    [Benchmark(Description = "decode GEMV")]
    public void Decode()
    {
        var w = _copies[_next++ % _copies.Length].Matrix;
        MatMul.Multiply(w, _x.AsSpan(0, w.Cols), _y, 1);
    }

    [Benchmark(Description = "prefill GEMM 64 tokens")]
    public void Prefill() => MatMul.Multiply(_copies[0].Matrix, _x, _y, PrefillTokens);
}
