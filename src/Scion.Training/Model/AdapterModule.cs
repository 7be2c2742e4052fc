using Scion.Models.Llama;
using Scion.Training.Autograd;

namespace Scion.Training.Model;

/// <summary>
/// One trainable adapter on one linear projection. B (and DoRA's magnitude) rows are in the BASE model's row
/// order: for a GGUF Llama base the q/k rows are in the interleaved rotary order; export permutes them to HF.
/// </summary>
public sealed class AdapterModule
{
    public required int Layer { get; init; }
    public required LinearSlot Slot { get; init; }
    /// <summary>HF module name: q_proj ... down_proj.</summary>
    public required string Module { get; init; }
    public required Tensor A { get; init; }          // [r, in]
    public required Tensor B { get; init; }          // [out, r]
    public Tensor? Magnitude { get; init; }          // [out], DoRA only
    public required float Scale { get; init; }
    public float Dropout { get; init; }
    /// <summary>The frozen weight this adapter adds to: the model's, or PiSSA's residual.</summary>
    public required IFrozenWeight Base { get; init; }
    /// <summary>PiSSA's initial A and B, subtracted again on export. [r, in] and [out, r]</summary>
    public float[]? InitialA { get; init; }
    public float[]? InitialB { get; init; }

    public int Rank => A.Shape[0];
    public int In => A.Shape[1];
    public int Out => B.Shape[0];

    public IEnumerable<Tensor> Parameters()
    {
        yield return A;
        yield return B;
        if (Magnitude is not null) yield return Magnitude;
    }

    /// <summary>y = the adapted projection of x. x [T, in] → [T, out].</summary>
    public Tensor Apply(Tape tape, Tensor x) => Magnitude is null
        ? tape.LoraLinear(x, Base, A, B, Scale, Dropout)
        : tape.DoraLinear(x, Base, A, B, Magnitude, Scale, Dropout);
}
