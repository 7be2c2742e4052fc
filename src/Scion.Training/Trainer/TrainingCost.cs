using Scion.Models.Llama;
using Scion.Training.Model;

namespace Scion.Training.Trainer;

/// <summary>
/// The useful floating-point work of a training step, from the model's shapes and where its adapters sit: the
/// numerator of "fraction of the FMA peak". Every frozen projection costs 2·N per token forward; its input gradient
/// (another 2·N) is only computed where its input depends on a trainable adapter, that is after the first adapted
/// projection in the order the forward runs (layer by layer: q, k, v, then o, then gate and up, then down; the output
/// head last, and only for rows with a target). An adapter costs 2·r·(in + out) forward; backward 2·r·out for B's
/// gradient, 2·r·out for the gradient into its rank-r middle, 2·r·in for A's gradient, and 2·r·in for its input
/// gradient where that is needed (6·r·(in + out) in all, the input gradient included). Not counted: attention scores
/// (under 5% of a step at 256 tokens), norms and element-wise ops, DoRA's per-step weight norms, and the forward that
/// gradient checkpointing repeats (recomputation is not useful work).
/// </summary>
public sealed class TrainingCost
{
    /// <summary>Parameters of the block projections, multiplied for every token.</summary>
    public long BlockParams { get; }
    /// <summary>Parameters of the block projections whose input gradient backward computes.</summary>
    public long InputGradientParams { get; }
    /// <summary>Parameters of the output head, multiplied only for target rows.</summary>
    public long OutputParams { get; }
    /// <summary>Whether backward computes the output head's input gradient (it does when any adapter is installed).</summary>
    public bool OutputInputGradient { get; }
    /// <summary>Σ r·(in + out) over the installed adapters.</summary>
    public long AdapterParams { get; }
    /// <summary>Σ r·out over the installed adapters.</summary>
    public long AdapterOutputParams { get; }
    /// <summary>Σ r·in over the adapters whose input needs a gradient.</summary>
    public long AdapterInputGradientParams { get; }

    public TrainingCost(TrainingModel model)
    {
        var c = model.Config;
        bool upstream = false; // an adapter earlier in the forward: everything after it carries a gradient
        long block = 0, inputGrad = 0, adapters = 0, adapterOut = 0, adapterInputGrad = 0;
        for (int l = 0; l < c.Layers; l++)
        {
            bool attention = Any(model, l, LinearSlot.Q, LinearSlot.K, LinearSlot.V);
            bool output = Any(model, l, LinearSlot.O);
            bool ffnIn = Any(model, l, LinearSlot.Gate, LinearSlot.Up);
            foreach (var slot in Enum.GetValues<LinearSlot>())
            {
                // Does this projection's input depend on an adapter? q/k/v read the residual stream; o reads the
                // attention of q/k/v; gate/up the stream after o; down the SwiGLU of gate and up.
                bool inputHasGradient = slot switch
                {
                    LinearSlot.Q or LinearSlot.K or LinearSlot.V => upstream,
                    LinearSlot.O => upstream || attention,
                    LinearSlot.Gate or LinearSlot.Up => upstream || attention || output,
                    _ => upstream || attention || output || ffnIn,
                };
                var w = model.Linear(l, slot);
                long n = (long)w.Rows * w.Cols;
                block += n;
                if (inputHasGradient) inputGrad += n;
                if (model.Adapter(l, slot) is { } m)
                {
                    adapters += (long)m.Rank * (m.In + m.Out);
                    adapterOut += (long)m.Rank * m.Out;
                    if (inputHasGradient) adapterInputGrad += (long)m.Rank * m.In;
                }
            }
            upstream |= attention || output || ffnIn || model.Adapter(l, LinearSlot.Down) is not null;
        }
        BlockParams = block;
        InputGradientParams = inputGrad;
        OutputParams = (long)model.Output.Rows * model.Output.Cols;
        OutputInputGradient = upstream;
        AdapterParams = adapters;
        AdapterOutputParams = adapterOut;
        AdapterInputGradientParams = adapterInputGrad;
    }

    private static bool Any(TrainingModel model, int layer, params LinearSlot[] slots) =>
        slots.Any(s => model.Adapter(layer, s) is not null);

    /// <summary>FLOPs (2 per multiply-add) of one forward and backward over <paramref name="tokens"/> tokens of which
    /// <paramref name="targets"/> have a next-token target.</summary>
    public double StepFlops(long tokens, long targets) =>
        (2.0 * BlockParams + 2.0 * InputGradientParams
            + 4.0 * AdapterParams + 2.0 * AdapterOutputParams + 2.0 * AdapterInputGradientParams) * tokens
        + (OutputInputGradient ? 4.0 : 2.0) * OutputParams * targets;
}
