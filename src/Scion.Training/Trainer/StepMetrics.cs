namespace Scion.Training.Trainer;

/// <summary>What one optimizer step did (one line of metrics.jsonl).</summary>
public sealed record StepMetrics(int Step, int TotalSteps, int Epoch, double Loss, float LearningRate, double GradNorm,
    int Tokens, double TokensPerSecond, double ElapsedSeconds, double EtaSeconds)
{
    /// <summary>Useful FLOPs per second since the run (or resume) started (<see cref="TrainingCost"/>).</summary>
    public double FlopsPerSecond { get; init; }

    /// <summary><see cref="FlopsPerSecond"/> over the machine's measured FMA peak, when the trainer was given one.</summary>
    public double? PeakFraction { get; init; }
}

/// <summary>A validation pass: token-mean cross-entropy and its perplexity.</summary>
public sealed record EvalResult(double Loss, long Tokens)
{
    public double Perplexity => Math.Exp(Loss);
}

/// <summary>How a run ended.</summary>
public sealed record TrainResult(int Steps, bool Interrupted, IReadOnlyList<double> Losses, EvalResult? FinalEval, string? CheckpointDirectory);
