using Scion.Tensors;

namespace Scion.Models.Llama;

/// <summary>Seeded random-weight models of any shape, for tests and benchmarks (`scion create`).</summary>
public static class RandomModel
{
    /// <summary>Fills a tensor source with weights for <paramref name="c"/>: matrices N(0, 1/in), norms near 1.</summary>
    public static InMemoryTensorSource Build(LlamaConfig c, ulong seed, GgmlType matrixType = GgmlType.F32)
    {
        var rng = new Xoshiro256(seed);
        var source = new InMemoryTensorSource($"<random model seed {seed}>");
        void Matrix(string name, int rows, int cols, GgmlType type)
        {
            var v = new float[(long)rows * cols];
            float std = 1f / MathF.Sqrt(cols);
            for (int i = 0; i < v.Length; i++) v[i] = (float)rng.NextGaussian() * std;
            source.AddFloats(name, v, type, cols, rows);
        }
        void Vector(string name, int n, float center, float spread)
        {
            var v = new float[n];
            for (int i = 0; i < n; i++) v[i] = center + (float)rng.NextGaussian() * spread;
            source.AddFloats(name, v, GgmlType.F32, n);
        }

        // The embedding is read one row at a time and scaled like activations, so unit variance.
        var emb = new float[(long)c.Vocab * c.Dim];
        for (int i = 0; i < emb.Length; i++) emb[i] = (float)rng.NextGaussian();
        source.AddFloats(TensorNames.TokenEmbedding, emb, matrixType, c.Dim, c.Vocab);
        for (int l = 0; l < c.Layers; l++)
        {
            string N(string p) => TensorNames.Layer(p, l);
            Vector(N(TensorNames.AttnNorm), c.Dim, 1, 0.1f);
            Matrix(N(TensorNames.AttnQ), c.QDim, c.Dim, matrixType);
            Matrix(N(TensorNames.AttnK), c.KvDim, c.Dim, matrixType);
            Matrix(N(TensorNames.AttnV), c.KvDim, c.Dim, matrixType);
            Matrix(N(TensorNames.AttnOutput), c.Dim, c.QDim, matrixType);
            if (c.QkvBias)
            {
                Vector(N(TensorNames.AttnQBias), c.QDim, 0, 0.1f);
                Vector(N(TensorNames.AttnKBias), c.KvDim, 0, 0.1f);
                Vector(N(TensorNames.AttnVBias), c.KvDim, 0, 0.1f);
            }
            Vector(N(TensorNames.FfnNorm), c.Dim, 1, 0.1f);
            Matrix(N(TensorNames.FfnGate), c.FfnDim, c.Dim, matrixType);
            Matrix(N(TensorNames.FfnUp), c.FfnDim, c.Dim, matrixType);
            Matrix(N(TensorNames.FfnDown), c.Dim, c.FfnDim, matrixType);
        }
        Vector(TensorNames.OutputNorm, c.Dim, 1, 0.1f);
        if (!c.TiedEmbeddings) Matrix(TensorNames.Output, c.Vocab, c.Dim, matrixType);
        return source;
    }

    /// <summary>A small config for tests: GQA, two layers.</summary>
    public static LlamaConfig TinyConfig(int vocab = 64) => new()
    {
        Architecture = "llama", Dim = 32, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 8, FfnDim = 48,
        Vocab = vocab, RopeDim = 8, ContextLength = 256,
    };
}
