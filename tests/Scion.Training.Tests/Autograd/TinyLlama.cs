using Scion.Training.Autograd;
using Scion.Training.Tests.Autograd.Reference;

namespace Scion.Training.Tests.Autograd;

/// <summary>
/// A 2-layer Llama (dim 16, 4 heads, 2 KV heads, FFN 32, vocab 32) with random seeded weights and
/// LoRA on q, k, v, o, gate, up and down, written twice: with tape ops in fp32 and with the double
/// reference twins. Two packed sequences (5 and 3 tokens) with positions restarting at 0.
/// </summary>
internal sealed class TinyLlama
{
    public const int Dim = 16, Heads = 4, KvHeads = 2, HeadDim = 4, Ffn = 32, Vocab = 32, Layers = 2, Rank = 2;
    public const float Scale = 2f, Eps = 1e-5f, Theta = 10000f;
    private const int KvDim = KvHeads * HeadDim;

    public readonly int[] Ids = [1, 7, 3, 9, 30, 1, 12, 5];        // [T]
    public readonly int[] Positions = [0, 1, 2, 3, 4, 0, 1, 2];    // [T]
    public readonly int[] SeqIds = [0, 0, 0, 0, 0, 1, 1, 1];       // [T]
    public readonly int[] Targets = [-100, 3, 9, 30, -100, 12, 5, -100]; // [T], prompt and sequence ends ignored
    public int Tokens => Ids.Length;

    private readonly float[] _embed;   // [V, D]
    private readonly float[] _output;  // [V, D]
    private readonly float[] _finalNorm; // [D]
    private readonly LayerWeights[] _layers;

    /// <summary>All LoRA A and B, layer by layer in projection order (A then B).</summary>
    public readonly List<Tensor> Parameters = [];

    private sealed record Projection(float[] W, int Out, int In, Tensor A, Tensor B);

    private sealed record LayerWeights(float[] AttnNorm, float[] FfnNorm, Projection[] P); // P: q k v o gate up down

    public TinyLlama(ulong seed)
    {
        var rng = new Xoshiro256(seed);
        float[] Rand(int n, float bound) => GradCheck.Random(rng, n, bound);
        float[] Norm() => Rand(Dim, 0.3f).Select(v => 1 + v).ToArray();
        _embed = Rand(Vocab * Dim, 1f);
        _output = Rand(Vocab * Dim, 0.5f);
        _finalNorm = Norm();
        _layers = new LayerWeights[Layers];
        (int Out, int In)[] shapes = [(Dim, Dim), (KvDim, Dim), (KvDim, Dim), (Dim, Dim), (Ffn, Dim), (Ffn, Dim), (Dim, Ffn)];
        for (int l = 0; l < Layers; l++)
        {
            var p = new Projection[shapes.Length];
            for (int j = 0; j < shapes.Length; j++)
            {
                var (o, i) = shapes[j];
                var a = new float[Rank * i];
                Init.KaimingUniformLoraA(rng, a, i);
                // B is random rather than PEFT's zeros so that every A gradient is non-trivial.
                var A = Tensor.Parameter(a, Rank, i);
                var B = Tensor.Parameter(Rand(o * Rank, 0.3f), o, Rank);
                p[j] = new Projection(Rand(o * i, 1f / MathF.Sqrt(i)), o, i, A, B);
                Parameters.Add(A);
                Parameters.Add(B);
            }
            _layers[l] = new LayerWeights(Norm(), Norm(), p);
        }
    }

    public Tensor Loss(Tape tape, bool checkpoint, float dropout)
    {
        var x = tape.Embedding(Ids, new DenseFrozenWeight(_embed, Vocab, Dim));
        foreach (var layer in _layers)
            x = checkpoint ? tape.Checkpoint(h => Block(tape, layer, h, dropout), x) : Block(tape, layer, x, dropout);
        x = tape.RmsNorm(x, new Tensor(_finalNorm, Dim), Eps);
        var logits = tape.LinearFrozen(x, new DenseFrozenWeight(_output, Vocab, Dim));
        return tape.CrossEntropy(logits, Targets);
    }

    private Tensor Block(Tape tape, LayerWeights w, Tensor x, float dropout)
    {
        Tensor Proj(Tensor input, Projection p) => tape.LoraLinear(input, new DenseFrozenWeight(p.W, p.Out, p.In), p.A, p.B, Scale, dropout);
        var h = tape.RmsNorm(x, new Tensor(w.AttnNorm, Dim), Eps);
        var q = tape.Rope(Proj(h, w.P[0]), Positions, HeadDim, Theta, RopeStyle.HalfSplit);
        var k = tape.Rope(Proj(h, w.P[1]), Positions, HeadDim, Theta, RopeStyle.HalfSplit);
        var v = Proj(h, w.P[2]);
        var attn = tape.CausalAttention(q, k, v, SeqIds, Heads, KvHeads);
        x = tape.Add(x, Proj(attn, w.P[3]));
        h = tape.RmsNorm(x, new Tensor(w.FfnNorm, Dim), Eps);
        var f = tape.SwiGlu(Proj(h, w.P[4]), Proj(h, w.P[5]));
        return tape.Add(x, Proj(f, w.P[6]));
    }

    /// <summary>The same loss in double with LoRA parameters <paramref name="lora"/> (Parameters order) and dropout masks drawn like the tape draws them.</summary>
    public double ReferenceLoss(double[][] lora, ulong dropoutSeed, float dropout)
    {
        var rng = new Xoshiro256(dropoutSeed);
        int T = Tokens, n = 0;
        double[] Proj(double[] input, Projection p)
        {
            var keep = dropout > 0 ? RefOps.DropoutMask(rng, T * p.In, dropout) : null;
            var y = RefOps.LoraLinear(input, RefOps.ToDouble(p.W), lora[n], lora[n + 1], T, p.In, Rank, p.Out, Scale, keep, dropout);
            n += 2;
            return y;
        }
        var x = RefOps.Embedding(Ids, RefOps.ToDouble(_embed), Dim);
        foreach (var w in _layers)
        {
            var h = RefOps.RmsNorm(x, RefOps.ToDouble(w.AttnNorm), Dim, Eps);
            var q = RefOps.Rope(Proj(h, w.P[0]), Positions, HeadDim, Theta, halfSplit: true);
            var k = RefOps.Rope(Proj(h, w.P[1]), Positions, HeadDim, Theta, halfSplit: true);
            var v = Proj(h, w.P[2]);
            x = RefOps.Add(x, Proj(RefOps.Attention(q, k, v, SeqIds, Heads, KvHeads), w.P[3]));
            h = RefOps.RmsNorm(x, RefOps.ToDouble(w.FfnNorm), Dim, Eps);
            var f = RefOps.SwiGlu(Proj(h, w.P[4]), Proj(h, w.P[5]));
            x = RefOps.Add(x, Proj(f, w.P[6]));
        }
        x = RefOps.RmsNorm(x, RefOps.ToDouble(_finalNorm), Dim, Eps);
        var logits = RefOps.Linear(x, RefOps.ToDouble(_output), T, Dim, Vocab);
        return RefOps.CrossEntropy(logits, Targets);
    }
}
