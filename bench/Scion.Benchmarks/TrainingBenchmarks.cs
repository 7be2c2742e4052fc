using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Scion.Tensors;
using Scion.Tensors.Packed;
using Scion.Training.Autograd;
using Scion.Training.Model;

namespace Scion.Benchmarks;

/// <summary>
/// The frozen-weight products of one LoRA training step at the 100M preset's shapes (dim 768, FFN 2048, vocab 32000)
/// for a micro-batch of 512 tokens, per stored type: the forward y = x Wᵀ (the inference kernels, over the packed copy
/// a model load makes where the CPU has one) and the input gradient dx += dy W (dequantized row panels and the panel
/// kernel). Throughput is useful GFLOP/s (2 per multiply-add); compare it with the FMA peak `scion bench` measures.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class TrainingProductBenchmarks
{
    [Params(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K)]
    public GgmlType Type = GgmlType.F16;

    /// <summary>rows x cols of W: q/o, gate/up, down, the output head.</summary>
    [Params("768x768", "2048x768", "768x2048", "32000x768")]
    public string Shape = "768x768";

    internal const int Tokens = 512;

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new ThroughputColumn(Work));
    }

    private static (double Amount, string Unit) Work(BenchmarkCase c)
    {
        var (rows, cols) = ParseShape((string)c.Parameters["Shape"]);
        return (2.0 * rows * cols * Tokens, "GFLOP/s");
    }

    private static (int Rows, int Cols) ParseShape(string shape)
    {
        var parts = shape.Split('x');
        return (int.Parse(parts[0]), int.Parse(parts[1]));
    }

    private WeightBuffer? _buffer;
    private PackedWeights? _packed;
    private FrozenMatrix? _w;
    private float[] _x = [], _y = [], _dy = [], _dx = [];

    [GlobalSetup]
    public void Setup()
    {
        var (rows, cols) = ParseShape(Shape);
        var rng = new Xoshiro256(5);
        var values = new float[rows * cols];
        for (int i = 0; i < values.Length; i++) values[i] = (float)rng.NextGaussian() / MathF.Sqrt(cols);
        _buffer = WeightBuffer.FromFloats(values, rows, cols, Type);
        _packed = PackedWeights.TryPack(_buffer.Matrix);
        _w = new FrozenMatrix(_packed is null ? _buffer.Matrix : _buffer.Matrix.WithPacked(_packed));
        _x = new float[Tokens * cols];
        _dy = new float[Tokens * rows];
        for (int i = 0; i < _x.Length; i++) _x[i] = (float)rng.NextGaussian();
        for (int i = 0; i < _dy.Length; i++) _dy[i] = (float)rng.NextGaussian() * 1e-3f;
        _y = new float[Tokens * rows];
        _dx = new float[Tokens * cols];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _packed?.Dispose();
        _buffer?.Dispose();
    }

    [Benchmark(Description = "forward x·Wᵀ")]
    public void Forward() => _w!.Forward(_x, _y, Tokens);

    [Benchmark(Description = "input gradient dy·W")]
    public void BackwardInput() => _w!.BackwardInput(_dy, _dx, Tokens);
}

/// <summary>
/// The tape's own products in one training step of the 100M preset (512 tokens as two 256-token sequences), forward
/// and backward together: a rank-8 LoRA branch on a 2048 × 768 projection (shrink, expand and their three gradient
/// products), causal attention of one layer (12 heads, 4 KV heads, head size 64), the fused output head and
/// cross-entropy over an F16 32000 × 768 head, and DoRA's per-step weight norms of an F16 2048 × 768 projection.
/// Throughput counts useful FLOPs only (attention: Q·Kᵀ and P·V forward, their four gradient products backward).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class TrainingOpBenchmarks
{
    private const int Tokens = TrainingProductBenchmarks.Tokens, Seq = 256, Dim = 768, Ffn = 2048, Rank = 8;
    private const int Heads = 12, KvHeads = 4, HeadDim = 64, Vocab = 32000;

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new ThroughputColumn(Work));
    }

    private static (double Amount, string Unit) Work(BenchmarkCase c)
    {
        double pairs = Tokens / Seq * (Seq * (Seq + 1) / 2.0);
        return c.Descriptor.WorkloadMethod.Name switch
        {
            nameof(LoraBranch) => (6.0 * Rank * (Dim + Ffn) * Tokens, "GFLOP/s"),
            nameof(Attention) => (12.0 * pairs * Heads * HeadDim, "GFLOP/s"),
            nameof(OutputHeadLoss) => (4.0 * Vocab * Dim * Tokens, "GFLOP/s"),
            _ => (2.0 * Rank * Ffn * Dim, "GFLOP/s"), // DoRA norms: the B·A product of every row
        };
    }

    private Tensor _x = null!, _a = null!, _b = null!, _q = null!, _k = null!, _v = null!, _h = null!;
    private float[] _dyLora = [], _dyAttention = [];
    private int[] _seqIds = [], _targets = [];
    private WeightBuffer? _head, _proj;
    private FrozenMatrix? _headW, _projW;

    private static Tensor Random(Xoshiro256 rng, float std, bool grad, params int[] shape)
    {
        var v = new float[shape.Aggregate(1, (p, d) => p * d)];
        for (int i = 0; i < v.Length; i++) v[i] = (float)rng.NextGaussian() * std;
        return grad ? Tensor.Parameter(v, shape) : new Tensor(v, shape);
    }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Xoshiro256(9);
        _x = Random(rng, 1, true, Tokens, Dim);
        _a = Random(rng, 0.02f, true, Rank, Dim);
        _b = Random(rng, 0.02f, true, Ffn, Rank);
        _dyLora = Random(rng, 1e-3f, false, Tokens, Ffn).Data;
        _q = Random(rng, 1, true, Tokens, Heads * HeadDim);
        _k = Random(rng, 1, true, Tokens, KvHeads * HeadDim);
        _v = Random(rng, 1, true, Tokens, KvHeads * HeadDim);
        _dyAttention = Random(rng, 1e-3f, false, Tokens, Heads * HeadDim).Data;
        _seqIds = Enumerable.Range(0, Tokens).Select(t => t / Seq).ToArray();
        _h = Random(rng, 1, true, Tokens, Dim);
        _targets = Enumerable.Range(0, Tokens).Select(t => (int)(rng.NextUInt64() % Vocab)).ToArray();
        _head = WeightBuffer.FromFloats(Random(rng, 0.02f, false, Vocab, Dim).Data, Vocab, Dim, GgmlType.F16);
        _headW = new FrozenMatrix(_head.Matrix);
        _proj = WeightBuffer.FromFloats(Random(rng, 0.02f, false, Ffn, Dim).Data, Ffn, Dim, GgmlType.F16);
        _projW = new FrozenMatrix(_proj.Matrix);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _head?.Dispose();
        _proj?.Dispose();
    }

    private static void Reset(params Tensor[] ts)
    {
        foreach (var t in ts) t.Grad = null;
    }

    [Benchmark(Description = "LoRA r8 2048x768 fwd+bwd")]
    public void LoraBranch()
    {
        Reset(_x, _a, _b);
        var tape = new Tape();
        var y = tape.Lora(_x, _a, _b, 2f);
        tape.Backward(y, _dyLora);
    }

    [Benchmark(Description = "attention 2x256 fwd+bwd")]
    public void Attention()
    {
        Reset(_q, _k, _v);
        var tape = new Tape();
        var o = tape.CausalAttention(_q, _k, _v, _seqIds, Heads, KvHeads);
        tape.Backward(o, _dyAttention);
    }

    [Benchmark(Description = "output head + loss fwd+bwd")]
    public void OutputHeadLoss()
    {
        Reset(_h);
        var tape = new Tape();
        tape.Backward(tape.LinearCrossEntropy(_h, _headW!, _targets));
    }

    [Benchmark(Description = "DoRA norms 2048x768 F16")]
    public void DoraNorms()
    {
        var norms = new float[Ffn];
        Tape.DoraWeightNorms(_projW!, _a.Data, _b.Data, Rank, 2f, norms);
    }
}
