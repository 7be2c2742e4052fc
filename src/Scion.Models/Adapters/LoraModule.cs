namespace Scion.Models.Adapters;

/// <summary>
/// One adapted linear: y += Scale · B (A x). With DoRA, the adapted output is further multiplied per row by
/// <see cref="DoraFactor"/> = magnitude / ‖W + Scale·B·A‖ (row norm over the input dimension).
/// </summary>
public sealed class LoraModule
{
    public required int Rank { get; init; }
    public required int In { get; init; }
    public required int Out { get; init; }
    public required float[] A { get; init; }      // [r, in]
    public required float[] B { get; init; }      // [out, r]
    public required float Scale { get; init; }
    public float[]? DoraFactor { get; init; }     // [out]
}
