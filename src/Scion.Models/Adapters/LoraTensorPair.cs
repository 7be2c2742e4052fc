namespace Scion.Models.Adapters;

/// <summary>
/// One adapted projection of one layer: ΔW = scale · B·A, in fp32 and in HF row order (for q_proj/k_proj a GGUF
/// base model needs B's rows permuted with <see cref="Formats.RotaryPermutation"/>; A is not affected).
/// </summary>
public sealed record LoraTensorPair
{
    public required int Layer { get; init; }
    /// <summary>One of <see cref="LoraModules.All"/>: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj.</summary>
    public required string Module { get; init; }
    public required float[] A { get; init; } // [Rank, In]
    public required float[] B { get; init; } // [Out, Rank]
    public required int Rank { get; init; }
    public required int In { get; init; }
    public required int Out { get; init; }
    /// <summary>DoRA's per-output-row magnitude, or null for plain LoRA.</summary>
    public float[]? Magnitude { get; init; } // [Out]

    public string ModulePath => LoraModules.ModulePath(Layer, Module);

    /// <summary>Throws <see cref="ArgumentException"/> when the arrays do not have the sizes the fields state.</summary>
    public void Validate()
    {
        if (!LoraModules.IsKnown(Module)) throw new ArgumentException($"LoRA pair of layer {Layer}: unknown module '{Module}'.");
        if (Layer < 0 || Rank <= 0 || In <= 0 || Out <= 0)
            throw new ArgumentException($"LoRA pair {ModulePath}: layer {Layer}, rank {Rank}, in {In}, out {Out} must be non-negative / positive.");
        if (A.Length != (long)Rank * In) throw new ArgumentException($"LoRA pair {ModulePath}: A has {A.Length} values, expected [{Rank}, {In}].");
        if (B.Length != (long)Out * Rank) throw new ArgumentException($"LoRA pair {ModulePath}: B has {B.Length} values, expected [{Out}, {Rank}].");
        if (Magnitude is not null && Magnitude.Length != Out)
            throw new ArgumentException($"LoRA pair {ModulePath}: magnitude has {Magnitude.Length} values, expected {Out}.");
    }

    // Arrays compare by reference in a record; print shapes rather than array type names.
    public override string ToString() => $"{ModulePath} A [{Rank}, {In}] B [{Out}, {Rank}]{(Magnitude is null ? "" : " +magnitude")}";
}
