using Scion.Tensors;

namespace Scion.Models.Llama;

/// <summary>Seeded random-weight models of any shape, for tests and benchmarks (`scion create`).</summary>
public static class RandomModel
{
    /// <summary>One tensor of a random model: GGUF slot name, ggml-order shape, and whether it is a matrix (else a norm or bias, kept F32).</summary>
    public sealed record TensorSpec(string Name, long[] Shape, bool IsMatrix);

    /// <summary>Fills a tensor source with weights for <paramref name="c"/>: matrices N(0, 1/in), norms near 1.</summary>
    public static InMemoryTensorSource Build(LlamaConfig c, ulong seed, GgmlType matrixType = GgmlType.F32)
    {
        var source = new InMemoryTensorSource($"<random model seed {seed}>");
        foreach (var (spec, values) in Generate(c, seed))
            source.AddFloats(spec.Name, values, spec.IsMatrix ? matrixType : GgmlType.F32, spec.Shape);
        return source;
    }

    /// <summary>The tensors <see cref="Generate"/> yields, in the same order, without generating values.</summary>
    public static IReadOnlyList<TensorSpec> Layout(LlamaConfig c)
    {
        var list = new List<TensorSpec> { new(TensorNames.TokenEmbedding, [c.Dim, c.Vocab], true) };
        for (int l = 0; l < c.Layers; l++)
        {
            string N(string p) => TensorNames.Layer(p, l);
            list.Add(new(N(TensorNames.AttnNorm), [c.Dim], false));
            list.Add(new(N(TensorNames.AttnQ), [c.Dim, c.QDim], true));
            list.Add(new(N(TensorNames.AttnK), [c.Dim, c.KvDim], true));
            list.Add(new(N(TensorNames.AttnV), [c.Dim, c.KvDim], true));
            list.Add(new(N(TensorNames.AttnOutput), [c.QDim, c.Dim], true));
            if (c.QkvBias)
            {
                list.Add(new(N(TensorNames.AttnQBias), [c.QDim], false));
                list.Add(new(N(TensorNames.AttnKBias), [c.KvDim], false));
                list.Add(new(N(TensorNames.AttnVBias), [c.KvDim], false));
            }
            list.Add(new(N(TensorNames.FfnNorm), [c.Dim], false));
            list.Add(new(N(TensorNames.FfnGate), [c.Dim, c.FfnDim], true));
            list.Add(new(N(TensorNames.FfnUp), [c.Dim, c.FfnDim], true));
            list.Add(new(N(TensorNames.FfnDown), [c.FfnDim, c.Dim], true));
        }
        list.Add(new(TensorNames.OutputNorm, [c.Dim], false));
        if (!c.TiedEmbeddings) list.Add(new(TensorNames.Output, [c.Dim, c.Vocab], true));
        return list;
    }

    /// <summary>
    /// Generates the tensors of <see cref="Layout"/> lazily, one at a time, from one seeded stream, so a model far
    /// larger than memory can be written tensor by tensor (`scion create`) and still equal <see cref="Build"/>'s.
    /// Values: [rows, cols] row-major.
    /// </summary>
    public static IEnumerable<(TensorSpec Spec, float[] Values)> Generate(LlamaConfig c, ulong seed)
    {
        var rng = new Xoshiro256(seed);
        foreach (var spec in Layout(c))
        {
            long count = spec.Shape.Aggregate(1L, (a, b) => a * b);
            var v = new float[count];
            if (spec.Name == TensorNames.TokenEmbedding)
            {
                // The embedding is read one row at a time and scaled like activations, so unit variance.
                for (long i = 0; i < v.LongLength; i++) v[i] = (float)rng.NextGaussian();
            }
            else if (spec.IsMatrix)
            {
                float std = 1f / MathF.Sqrt(spec.Shape[0]);
                for (long i = 0; i < v.LongLength; i++) v[i] = (float)rng.NextGaussian() * std;
            }
            else
            {
                // Norm weights sit near 1, biases near 0.
                bool bias = spec.Name.EndsWith(".bias", StringComparison.Ordinal);
                float center = bias ? 0 : 1, spread = 0.1f;
                for (long i = 0; i < v.LongLength; i++) v[i] = center + (float)rng.NextGaussian() * spread;
            }
            yield return (spec, v);
        }
    }

    /// <summary>A small config for tests: GQA, two layers.</summary>
    public static LlamaConfig TinyConfig(int vocab = 64) => new()
    {
        Architecture = "llama", Dim = 32, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 8, FfnDim = 48,
        Vocab = vocab, RopeDim = 8, ContextLength = 256,
    };
}
