using Scion.Models.Formats;
using Scion.Tensors;

namespace Scion.Models.Llama;

/// <summary>One transformer block's weights. Matrices are [rows = out, cols = in] views into the mapped file.</summary>
public sealed class LlamaLayerWeights
{
    public required float[] AttnNorm { get; init; }   // [D]
    public required WeightMatrix Q { get; init; }      // [H*Dh, D]
    public required WeightMatrix K { get; init; }      // [Hkv*Dh, D]
    public required WeightMatrix V { get; init; }      // [Hkv*Dh, D]
    public required WeightMatrix O { get; init; }      // [D, H*Dh]
    public float[]? QBias { get; init; }               // [H*Dh]
    public float[]? KBias { get; init; }               // [Hkv*Dh]
    public float[]? VBias { get; init; }               // [Hkv*Dh]
    public required float[] FfnNorm { get; init; }    // [D]
    public required WeightMatrix Gate { get; init; }   // [F, D]
    public required WeightMatrix Up { get; init; }     // [F, D]
    public required WeightMatrix Down { get; init; }   // [D, F]

    public WeightMatrix Linear(LinearSlot slot) => slot switch
    {
        LinearSlot.Q => Q, LinearSlot.K => K, LinearSlot.V => V, LinearSlot.O => O,
        LinearSlot.Gate => Gate, LinearSlot.Up => Up, LinearSlot.Down => Down,
        _ => throw new ArgumentOutOfRangeException(nameof(slot)),
    };

    /// <summary>A copy with every linear weight passed through <paramref name="map"/> (e.g. to attach packed copies).</summary>
    public LlamaLayerWeights WithLinears(Func<WeightMatrix, WeightMatrix> map) => new()
    {
        AttnNorm = AttnNorm, Q = map(Q), K = map(K), V = map(V), O = map(O), QBias = QBias, KBias = KBias, VBias = VBias,
        FfnNorm = FfnNorm, Gate = map(Gate), Up = map(Up), Down = map(Down),
    };
}

/// <summary>All weights of a Llama-family model, resolved and shape-checked once at load.</summary>
public sealed class LlamaWeights
{
    public required WeightMatrix TokenEmbedding { get; init; } // [V, D]
    public required float[] OutputNorm { get; init; }          // [D]
    public required WeightMatrix Output { get; init; }         // [V, D] (the embedding when tied)
    public float[]? RopeFreqFactors { get; init; }             // [RopeDim/2] llama3-style per-frequency divisors
    public required LlamaLayerWeights[] Layers { get; init; }

    /// <summary>A copy with the layers' linear weights and the output matrix passed through <paramref name="map"/>;
    /// the token embedding stays as it is (it is read by rows).</summary>
    public LlamaWeights WithLinears(Func<WeightMatrix, WeightMatrix> map) => new()
    {
        TokenEmbedding = TokenEmbedding, OutputNorm = OutputNorm, Output = map(Output), RopeFreqFactors = RopeFreqFactors,
        Layers = Layers.Select(l => l.WithLinears(map)).ToArray(),
    };

    public static LlamaWeights Resolve(ITensorSource source, LlamaConfig c)
    {
        TensorView Get(string pattern, int layer, params long[] expected)
        {
            string name = TensorNames.Layer(pattern, layer);
            if (!source.TryGet(name, out var view))
                throw new ModelFormatException($"{source.Path}: tensor '{name}' is missing.");
            bool same = view.Shape.Length >= expected.Length && expected.Select((e, i) => view.Shape[i] == e).All(b => b)
                && view.Shape.Skip(expected.Length).All(d => d == 1);
            if (!same)
                throw new ModelFormatException($"{source.Path}: tensor '{name}' has shape [{string.Join(", ", view.Shape)}], expected [{string.Join(", ", expected)}] (ggml order).");
            if (expected.Length == 2 && !GgmlTypeInfo.IsSupportedForCompute(view.Type))
                throw new ModelFormatException($"{source.Path}: tensor '{name}' has type {view.Type}, which the kernels do not support (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K).");
            return view;
        }
        float[]? Optional(string pattern, int layer, long size)
            => source.TryGet(TensorNames.Layer(pattern, layer), out _) ? Get(pattern, layer, size).ToFloats() : null;

        var layers = new LlamaLayerWeights[c.Layers];
        for (int l = 0; l < c.Layers; l++)
        {
            layers[l] = new LlamaLayerWeights
            {
                AttnNorm = Get(TensorNames.AttnNorm, l, c.Dim).ToFloats(),
                Q = Get(TensorNames.AttnQ, l, c.Dim, c.QDim).AsMatrix(),
                K = Get(TensorNames.AttnK, l, c.Dim, c.KvDim).AsMatrix(),
                V = Get(TensorNames.AttnV, l, c.Dim, c.KvDim).AsMatrix(),
                O = Get(TensorNames.AttnOutput, l, c.QDim, c.Dim).AsMatrix(),
                QBias = Optional(TensorNames.AttnQBias, l, c.QDim),
                KBias = Optional(TensorNames.AttnKBias, l, c.KvDim),
                VBias = Optional(TensorNames.AttnVBias, l, c.KvDim),
                FfnNorm = Get(TensorNames.FfnNorm, l, c.Dim).ToFloats(),
                Gate = Get(TensorNames.FfnGate, l, c.Dim, c.FfnDim).AsMatrix(),
                Up = Get(TensorNames.FfnUp, l, c.Dim, c.FfnDim).AsMatrix(),
                Down = Get(TensorNames.FfnDown, l, c.FfnDim, c.Dim).AsMatrix(),
            };
        }
        var embedding = Get(TensorNames.TokenEmbedding, 0, c.Dim, c.Vocab);
        var output = c.TiedEmbeddings ? embedding : Get(TensorNames.Output, 0, c.Dim, c.Vocab);
        return new LlamaWeights
        {
            TokenEmbedding = embedding.AsMatrix(),
            OutputNorm = Get(TensorNames.OutputNorm, 0, c.Dim).ToFloats(),
            Output = output.AsMatrix(),
            RopeFreqFactors = source.TryGet(TensorNames.RopeFreqs, out _) ? Get(TensorNames.RopeFreqs, 0, c.RopeDim / 2).ToFloats() : null,
            Layers = layers,
        };
    }
}
