using Scion.Models.Formats;
using Scion.Tensors;

namespace Scion.Models.Llama;

/// <summary>
/// Tensors of a llama2.c checkpoint under GGUF slot names. llama2.c stores Q/K rows in the interleaved (Meta) order
/// that GGUF uses, so the model runs them with <see cref="RopeStyle.Interleaved"/> and no permutation.
/// </summary>
internal sealed unsafe class Llama2cTensorSource(Llama2cCheckpoint checkpoint) : ITensorSource
{
    public Llama2cCheckpoint Checkpoint { get; } = checkpoint;
    public string Path => Checkpoint.Path;

    public bool TryGet(string slotName, out TensorView view)
    {
        view = default;
        var c = Checkpoint.Config;
        switch (slotName)
        {
            case TensorNames.TokenEmbedding: view = Whole(Checkpoint.TokenEmbedding, slotName, c.Dim, c.VocabSize); return true;
            case TensorNames.Output: view = Whole(Checkpoint.Classifier, slotName, c.Dim, c.VocabSize); return true;
            case TensorNames.OutputNorm: view = Whole(Checkpoint.RmsFinal, slotName, c.Dim); return true;
        }
        if (!slotName.StartsWith("blk.", StringComparison.Ordinal)) return false;
        int dot = slotName.IndexOf('.', 4);
        if (dot < 0 || !int.TryParse(slotName.AsSpan(4, dot - 4), out int l) || l >= c.Layers) return false;
        string rest = "blk.{0}" + slotName[dot..];
        (Llama2cTensorInfo info, long cols, long rows)? hit = rest switch
        {
            TensorNames.AttnNorm => (Checkpoint.RmsAtt, c.Dim, 1),
            TensorNames.AttnQ => (Checkpoint.Wq, c.Dim, c.Dim),
            TensorNames.AttnK => (Checkpoint.Wk, c.Dim, c.KvDim),
            TensorNames.AttnV => (Checkpoint.Wv, c.Dim, c.KvDim),
            TensorNames.AttnOutput => (Checkpoint.Wo, c.Dim, c.Dim),
            TensorNames.FfnNorm => (Checkpoint.RmsFfn, c.Dim, 1),
            TensorNames.FfnGate => (Checkpoint.W1, c.Dim, c.HiddenDim),
            TensorNames.FfnDown => (Checkpoint.W2, c.HiddenDim, c.Dim),
            TensorNames.FfnUp => (Checkpoint.W3, c.Dim, c.HiddenDim),
            _ => null,
        };
        if (hit is not { } h) return false;
        long perLayer = h.cols * h.rows;
        var data = (byte*)(Checkpoint.TensorData(h.info) + perLayer * l);
        view = new TensorView(slotName, data, GgmlType.F32, h.rows == 1 ? [h.cols] : [h.cols, h.rows]);
        return true;
    }

    private TensorView Whole(Llama2cTensorInfo info, string name, params long[] shape) =>
        new(name, (byte*)Checkpoint.TensorData(info), GgmlType.F32, shape);

    public void Dispose() => Checkpoint.Dispose();
}
