using Scion.Models.Llama;
using Scion.Training.Model;

namespace Scion.Training.Trainer;

/// <summary>
/// The useful floating-point work of a training step, from the model's shapes: the numerator of "fraction of the FMA
/// peak". Per token, every frozen projection costs 2·N for its forward and 2·N for the input gradient (frozen weights
/// get no weight gradient), the output head only for rows with a target; each adapter costs 2·r·(in + out) forward
/// and twice that backward (input gradient and the gradients of A and B). Not counted: attention scores (under 5% of
/// a step at 256 tokens), norms and elementwise ops, DoRA's weight norms (per step, not per token), and the forward
/// that gradient checkpointing repeats (recomputation is not useful work).
/// </summary>
public sealed class TrainingCost
{
    /// <summary>Parameters of the block projections, multiplied for every token.</summary>
    public long BlockParams { get; }
    /// <summary>Parameters of the output head, multiplied only for target rows.</summary>
    public long OutputParams { get; }
    /// <summary>Σ r·(in + out) over the installed adapters.</summary>
    public long AdapterParams { get; }

    public TrainingCost(TrainingModel model)
    {
        var c = model.Config;
        long block = 0;
        for (int l = 0; l < c.Layers; l++)
            foreach (var slot in Enum.GetValues<LinearSlot>())
            {
                var w = model.Linear(l, slot);
                block += (long)w.Rows * w.Cols;
            }
        BlockParams = block;
        OutputParams = (long)model.Output.Rows * model.Output.Cols;
        AdapterParams = model.Adapters().Sum(m => (long)m.Rank * (m.In + m.Out));
    }

    /// <summary>FLOPs (2 per multiply-add) of one forward and backward over <paramref name="tokens"/> tokens of which
    /// <paramref name="targets"/> have a next-token target.</summary>
    public double StepFlops(long tokens, long targets) =>
        4.0 * BlockParams * tokens + 4.0 * OutputParams * targets + 6.0 * AdapterParams * tokens;
}
