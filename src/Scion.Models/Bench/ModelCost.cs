using Scion.Models.Llama;

namespace Scion.Models.Bench;

/// <summary>
/// Bytes a forward step must read and FLOPs it must do, from the model's shapes and storage types: the numerators
/// of the roofline ratios.
/// </summary>
public sealed class ModelCost
{
    private readonly LlamaConfig _c;

    /// <summary>Stored bytes of every matrix a decode step streams (all layer projections and the output), plus norms.</summary>
    public long WeightBytesPerStep { get; }
    /// <summary>Parameters of the layer projections (multiplied for every token).</summary>
    public long LayerMatmulParams { get; }
    /// <summary>Parameters of the output projection (multiplied only for rows whose logits are wanted).</summary>
    public long OutputParams { get; }
    /// <summary>Bytes of the KV cache per cached position, all layers, keys and values (half-precision cache).</summary>
    public long KvBytesPerPosition { get; }

    public ModelCost(LlamaModel model)
    {
        _c = model.Config;
        var w = model.Weights;
        long bytes = w.Output.ByteCount + (2L * _c.Layers + 1) * _c.Dim * sizeof(float);
        long layerParams = 0;
        foreach (var layer in w.Layers)
            foreach (var slot in Enum.GetValues<LinearSlot>())
            {
                var m = layer.Linear(slot);
                bytes += m.ByteCount;
                layerParams += (long)m.Rows * m.Cols;
            }
        WeightBytesPerStep = bytes;
        LayerMatmulParams = layerParams;
        OutputParams = (long)w.Output.Rows * w.Output.Cols;
        KvBytesPerPosition = model.KvFormat.BytesPerToken(_c);
    }

    /// <summary>Attention FLOPs of one token that attends to <paramref name="context"/> positions (itself included): Q·K and P·V, 2 per multiply-add.</summary>
    public double AttentionFlops(long context) => 4.0 * _c.Layers * _c.Heads * _c.HeadDim * context;

    /// <summary>FLOPs of a prefill of <paramref name="tokens"/> tokens from position 0 with logits for the last token only.</summary>
    public double PrefillFlops(int tokens) =>
        2.0 * LayerMatmulParams * tokens + 2.0 * OutputParams + AttentionFlops(1) * ((double)tokens * (tokens + 1) / 2);

    /// <summary>
    /// Bytes a decode run reads: <paramref name="steps"/> steps of <paramref name="batch"/> sequences that start at
    /// position <paramref name="start"/>: the weights once per step, and each sequence's cache up to its position.
    /// </summary>
    public double DecodeBytes(int steps, int batch, int start)
    {
        double kvPositions = 0;
        for (int i = 0; i < steps; i++) kvPositions += start + i + 1;
        return (double)steps * WeightBytesPerStep + batch * kvPositions * KvBytesPerPosition;
    }
}
