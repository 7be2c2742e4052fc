namespace Scion.Training.Optim;

/// <summary>
/// Counts micro-batches between optimizer steps. Seed each micro-batch's backward with
/// <see cref="LossScale"/> so the accumulated gradient is that of the mean loss.
/// </summary>
public sealed class GradientAccumulator
{
    public GradientAccumulator(int microBatchesPerStep)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(microBatchesPerStep);
        MicroBatchesPerStep = microBatchesPerStep;
    }

    public int MicroBatchesPerStep { get; }

    /// <summary>Micro-batches accumulated since the last optimizer step.</summary>
    public int Pending { get; private set; }

    /// <summary>d(loss) seed per micro-batch: 1 / MicroBatchesPerStep.</summary>
    public float LossScale => 1f / MicroBatchesPerStep;

    /// <summary>Call after each micro-batch's backward; true when the optimizer should step now (and the count restarts).</summary>
    public bool MicroBatchDone()
    {
        if (++Pending < MicroBatchesPerStep) return false;
        Pending = 0;
        return true;
    }

    /// <summary>Restores the count, for resuming mid-accumulation.</summary>
    public void Restore(int pending)
    {
        if (pending < 0 || pending >= MicroBatchesPerStep)
            throw new ArgumentOutOfRangeException(nameof(pending), $"Pending micro-batches must be in [0, {MicroBatchesPerStep}), found {pending}.");
        Pending = pending;
    }
}
