using Scion.Training.Optim;

namespace Scion.Training.Trainer;

/// <summary>Optimisation and bookkeeping settings of a fine-tuning run (the `scion finetune` options).</summary>
public sealed record TrainerOptions
{
    /// <summary>Passes over the training data; used when <see cref="Steps"/> is null.</summary>
    public int Epochs { get; init; } = 1;
    /// <summary>Optimizer steps; overrides <see cref="Epochs"/>.</summary>
    public int? Steps { get; init; }
    public float LearningRate { get; init; } = 2e-4f;
    /// <summary>Tokens per micro-batch (examples are packed up to this many).</summary>
    public int BatchTokens { get; init; } = 2048;
    /// <summary>Micro-batches per optimizer step.</summary>
    public int GradAccum { get; init; } = 1;
    public int WarmupSteps { get; init; }
    public LrDecay Schedule { get; init; } = LrDecay.Cosine;
    public float WeightDecay { get; init; }
    /// <summary>Global gradient-norm clip; 0 disables.</summary>
    public float Clip { get; init; } = 1f;
    public ulong Seed { get; init; } = 42;
    /// <summary>Evaluate on the validation set every N steps (0: only at the end).</summary>
    public int EvalEvery { get; init; }
    /// <summary>Write a checkpoint every N steps (0: only when interrupted).</summary>
    public int CheckpointEvery { get; init; }
    /// <summary>Gradient checkpointing per transformer block.</summary>
    public bool GradientCheckpointing { get; init; }

    public void Validate()
    {
        if (Steps is <= 0) throw new ArgumentException($"--steps must be positive, got {Steps}.");
        if (Steps is null && Epochs <= 0) throw new ArgumentException($"--epochs must be positive, got {Epochs}.");
        if (!(LearningRate > 0)) throw new ArgumentException($"--lr must be positive, got {LearningRate}.");
        if (BatchTokens < 2) throw new ArgumentException($"--batch-tokens must be at least 2, got {BatchTokens}.");
        if (GradAccum <= 0) throw new ArgumentException($"--grad-accum must be positive, got {GradAccum}.");
        if (WarmupSteps < 0) throw new ArgumentException($"--warmup must be non-negative, got {WarmupSteps}.");
        if (WeightDecay < 0) throw new ArgumentException($"--weight-decay must be non-negative, got {WeightDecay}.");
        if (Clip < 0) throw new ArgumentException($"--clip must be non-negative, got {Clip}.");
        if (EvalEvery < 0 || CheckpointEvery < 0) throw new ArgumentException("--eval-every and --checkpoint-every must be non-negative.");
    }
}
