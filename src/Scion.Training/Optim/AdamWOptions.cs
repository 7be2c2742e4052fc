namespace Scion.Training.Optim;

/// <summary>AdamW hyper-parameters (PyTorch names and defaults, except weight decay which PEFT recipes set explicitly).</summary>
public sealed record AdamWOptions
{
    public float Beta1 { get; init; } = 0.9f;
    public float Beta2 { get; init; } = 0.999f;
    public float Epsilon { get; init; } = 1e-8f;

    /// <summary>Decoupled decay: p ← p·(1 − lr·WeightDecay) before the Adam update.</summary>
    public float WeightDecay { get; init; }
}
