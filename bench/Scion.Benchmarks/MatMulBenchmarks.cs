using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Scion.Tensors;
using Scion.Tensors.Packed;

namespace Scion.Benchmarks;

/// <summary>
/// Decode (1 token, GEMV) and prefill (64 tokens, GEMM) at TinyLlama-1.1B projection shapes, per weight type.
/// Decode cycles through copies of the weight larger than the last-level cache so it measures DRAM streaming,
/// as a real forward pass does; compare the Throughput column (GB/s of weights) against the machine's read bandwidth
/// and prefill's (GFLOP/s) against its FMA peak. "packed" types carry the 8-row repacked copy a model load makes.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class MatMulBenchmarks
{
    [Params("F32", "F16", "BF16", "Q8_0", "Q8_0 packed", "Q4_0", "Q4_0 packed", "Q4_K", "Q6_K")]
    public string Type = "F16";

    /// <summary>rows x cols: attention projections (2048x2048), FFN gate/up (5632x2048), FFN down (2048x5632), and an
    /// odd shape whose rows and block count leave tails in every kernel: 2051 rows of an odd number of the type's
    /// blocks (2080 columns for 32-value blocks, 2304 for the 256-value K-quant blocks, which cannot hold 2080).</summary>
    [Params("2048x2048", "5632x2048", "2048x5632", OddShape)]
    public string Shape = "2048x2048";

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new ThroughputColumn(Work));
    }

    private static (double Amount, string Unit) Work(BenchmarkCase c)
    {
        var (type, _) = ParseType((string)c.Parameters["Type"]);
        var (rows, cols) = ParseShape((string)c.Parameters["Shape"], type);
        return c.Descriptor.WorkloadMethod.Name == nameof(Decode)
            ? (GgmlTypeInfo.RowBytes(type, cols) * rows, "GB/s")
            : (2.0 * rows * cols * PrefillTokens, "GFLOP/s");
    }

    private static (GgmlType Type, bool Packed) ParseType(string name) =>
        (Enum.Parse<GgmlType>(name.Split(' ')[0]), name.EndsWith(" packed", StringComparison.Ordinal));

    private const string OddShape = "2051xodd";

    private static (int Rows, int Cols) ParseShape(string shape, GgmlType type)
    {
        if (shape == OddShape) return (2051, GgmlTypeInfo.BlockSize(type) == 256 ? 9 * 256 : 2080);
        var parts = shape.Split('x');
        return (int.Parse(parts[0]), int.Parse(parts[1]));
    }

    private WeightBuffer[] _copies = [];
    private PackedWeights?[] _packed = [];
    private WeightMatrix[] _matrices = [];
    private float[] _x = [];
    private float[] _y = [];
    private int _next;
    private const int PrefillTokens = 64;

    [GlobalSetup]
    public void Setup()
    {
        var (type, packed) = ParseType(Type);
        var (rows, cols) = ParseShape(Shape, type);
        var rng = new Random(42);
        var values = new float[rows * cols];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() - 0.5) * 0.1f;
        var first = WeightBuffer.FromFloats(values, rows, cols, type);
        // Enough copies to exceed ~256 MB so consecutive decode calls never hit in cache.
        int copies = (int)Math.Clamp(256L * 1024 * 1024 / first.Matrix.ByteCount, 1, 64);
        _copies = new WeightBuffer[copies];
        _copies[0] = first;
        for (int c = 1; c < copies; c++) _copies[c] = WeightBuffer.FromBytes(first.Bytes, type, rows, cols);
        _packed = new PackedWeights?[copies];
        _matrices = new WeightMatrix[copies];
        for (int c = 0; c < copies; c++)
        {
            _packed[c] = packed ? PackedWeights.TryPack(_copies[c].Matrix) ?? throw new InvalidOperationException($"{Type} cannot be packed on this CPU.") : null;
            _matrices[c] = _packed[c] is { } p ? _copies[c].Matrix.WithPacked(p) : _copies[c].Matrix;
        }
        _x = new float[PrefillTokens * cols];
        for (int i = 0; i < _x.Length; i++) _x[i] = (float)(rng.NextDouble() - 0.5);
        _y = new float[PrefillTokens * rows];
        _ = WorkerPool.Shared;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var p in _packed) p?.Dispose();
        foreach (var c in _copies) c.Dispose();
    }

    [Benchmark(Description = "decode GEMV")]
    public void Decode()
    {
        var w = _matrices[_next++ % _matrices.Length];
        MatMul.Multiply(w, _x.AsSpan(0, w.Cols), _y, 1);
    }

    [Benchmark(Description = "prefill GEMM 64 tokens")]
    public void Prefill() => MatMul.Multiply(_matrices[0], _x, _y, PrefillTokens);
}
